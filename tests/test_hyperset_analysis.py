"""Analysis metrics (effective rank, rank, average angle in two definitions) on hand-made inputs with known answers,
the per-iteration diagnostics of a model, and the plotting helpers."""

import doctest
import math

import pytest
import torch
from conftest import activate_step_sizes, tiny_config

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku, analysis
from hyperset_hf.analysis import (
    average_angle,
    collect_diagnostics,
    effective_rank,
    iteration_diagnostics,
    matrix_rank,
    summarize,
)


def test_effective_rank_of_known_spectra():
    # k equal singular values -> effective rank k; one -> 1; singular values (3, 1) -> exp(H(3/4, 1/4))
    assert effective_rank(torch.eye(5, 3, dtype=torch.float64)).item() == pytest.approx(3.0, abs=1e-12)
    rank_one = torch.outer(torch.arange(1.0, 5.0), torch.tensor([1.0, -2.0, 0.5]))
    assert effective_rank(rank_one.double()).item() == pytest.approx(1.0, abs=1e-9)
    diagonal = torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64))
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert effective_rank(diagonal).item() == pytest.approx(math.exp(entropy), abs=1e-12)
    # a rotation does not change it; an all-zero matrix is 0, not NaN; batched shapes are kept
    rotation, _ = torch.linalg.qr(torch.randn(2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    assert effective_rank(rotation @ diagonal).item() == pytest.approx(math.exp(entropy), abs=1e-12)
    assert effective_rank(torch.zeros(4, 3)).item() == 0.0
    assert effective_rank(torch.eye(4).expand(2, 3, 4, 4)).shape == (2, 3)


def test_matrix_rank_of_known_matrices():
    matrices = torch.stack([torch.eye(4), torch.diag(torch.tensor([1.0, 1.0, 0.0, 0.0])), torch.zeros(4, 4)])
    assert matrix_rank(matrices).tolist() == [4, 2, 0]


def test_average_angle_definitions_on_known_configurations():
    orthogonal = torch.eye(3)  # every pair at 90 degrees under both definitions
    for definition in analysis.ANGLE_DEFINITIONS:
        assert average_angle(orthogonal, definition).item() == pytest.approx(90.0, abs=1e-4)
    # three unit vectors 120 degrees apart in a plane (scaled: the angle ignores the norm)
    angles = torch.tensor([0.0, 2 * math.pi / 3, 4 * math.pi / 3], dtype=torch.float64)
    norms = torch.tensor([[1.0], [2.0], [0.5]], dtype=torch.float64)
    triangle = torch.stack([angles.cos(), angles.sin()], dim=-1) * norms
    assert average_angle(triangle, "mean_of_angles").item() == pytest.approx(120.0, abs=1e-9)
    assert average_angle(triangle, "angle_of_mean_cosine").item() == pytest.approx(120.0, abs=1e-9)
    # [e1, e1, e2]: ordered pairs 2 x 0 degrees and 4 x 90 degrees -> mean of angles 60, mean cosine 1/3
    tokens = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert average_angle(tokens, "mean_of_angles").item() == pytest.approx(60.0, abs=1e-9)
    expected = math.degrees(math.acos(1 / 3))  # 70.53 degrees: the two definitions differ (Jensen)
    assert average_angle(tokens, "angle_of_mean_cosine").item() == pytest.approx(expected, abs=1e-9)
    assert average_angle(tokens.expand(4, 2, 3, 2)).shape == (4, 2)


def test_bad_metric_inputs_are_refused():
    with pytest.raises(ValueError, match="definition"):
        average_angle(torch.eye(3), "median")
    with pytest.raises(ValueError, match="at least 2 tokens"):
        average_angle(torch.ones(1, 4))


def test_iteration_diagnostics_of_a_model(pixel_values):
    model = activate_step_sizes(HyperSETForImageClassification(tiny_config(num_recurrences=3))).eval()
    diagnostics = iteration_diagnostics(model, {"pixel_values": pixel_values}, num_recurrences=5)
    assert set(diagnostics) == set(analysis.DIAGNOSTIC_KEYS)
    assert diagnostics["energy"].shape == (3, 6) and diagnostics["effective_rank"].shape == (3, 4, 6)
    with torch.no_grad():
        outputs = model(pixel_values, num_recurrences=5, output_energies=True, output_hidden_states=True)
    torch.testing.assert_close(diagnostics["energy"], outputs.energies[0])
    torch.testing.assert_close(diagnostics["attention_energy"], outputs.attention_energies[0])
    # entry 3 = the state after iteration 3, measured on its normalised head projections directly
    attention = model.hyperset.encoder.layers[0].attention
    heads = torch.nn.functional.rms_norm(attention.project_heads(outputs.hidden_states[3]), (8,)).double()
    torch.testing.assert_close(diagnostics["effective_rank"][..., 3], effective_rank(heads))
    torch.testing.assert_close(diagnostics["average_angle_mean_of_angles"][..., 3], average_angle(heads))
    assert (diagnostics["rank"] == 8).all()  # 17 tokens in 8 head dimensions: full rank
    angles = diagnostics["average_angle_mean_of_angles"]
    assert (angles > 0).all() and (angles < 180).all()


def test_collect_and_summarize_over_batches():
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset(
        "sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32, time_embedding_size=8, num_recurrences=2
    )
    model = HyperSETForSudoku(config).eval()
    generator = torch.Generator().manual_seed(0)
    batches = [{"input_ids": torch.randint(0, 10, (size, 81), generator=generator)} for size in (2, 3)]
    collected = collect_diagnostics(model, batches)
    assert collected["energy"].shape == (5, 3) and collected["rank"].shape == (5, 2, 3)
    mean, std = summarize(collected["effective_rank"])
    per_sample = collected["effective_rank"].double().mean(dim=1)
    torch.testing.assert_close(mean, per_sample.mean(0))
    torch.testing.assert_close(std, per_sample.std(0))
    baseline = HyperSETConfig.from_preset(
        "sudoku-transformer", hidden_size=16, num_attention_heads=2, intermediate_size=32
    )
    with pytest.raises(ValueError, match="energy-based"):
        iteration_diagnostics(HyperSETForSudoku(baseline), batches[0])


def test_plotting_draws_mean_and_spread(tmp_path, pixel_values):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    model = activate_step_sizes(HyperSETForImageClassification(tiny_config(num_recurrences=3))).eval()
    diagnostics = iteration_diagnostics(model, {"pixel_values": pixel_values})
    figure = analysis.plot_diagnostics(diagnostics, ["energy", "effective_rank"], trained_iterations=3, title="tiny")
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 2
    mean, _ = summarize(diagnostics["effective_rank"])
    line = axes[1].lines[0]
    assert list(line.get_xdata()) == [0, 1, 2, 3]
    assert line.get_ydata() == pytest.approx(mean.numpy())
    assert len(axes[0].collections) == 1  # the spread band
    figure.savefig(tmp_path / "trajectories.png")
    assert (tmp_path / "trajectories.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="Unknown diagnostics"):
        analysis.plot_diagnostics(diagnostics, ["entropy"])


def test_module_docstring_example_runs():
    results = doctest.testmod(analysis, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0
