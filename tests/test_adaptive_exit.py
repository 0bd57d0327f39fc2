"""Adaptive test-time compute: per-sample early exit on the relative energy (or state) change, with the number of
iterations each sample used; batch results equal single-sample results; a threshold of zero is the fixed depth."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_config, tiny_sudoku_model

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku


MAX_ITERATIONS = 8


def _sudoku_model(**overrides):
    return tiny_sudoku_model(num_recurrences=MAX_ITERATIONS, **overrides).double().eval()


@pytest.fixture(scope="module")
def puzzles():
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 10, (6, 81), generator=generator) * (torch.rand(6, 81, generator=generator) < 0.4)


def _relative_changes(model, puzzles, criterion):
    """(batch, T) relative change at every iteration of a fixed-depth run."""
    with torch.no_grad():
        outputs = model(puzzles, output_energies=True, output_hidden_states=True)
    if criterion == "energy":
        energies = outputs.energies[0]
        return (energies[:, 1:] - energies[:, :-1]).abs() / energies[:, :-1].abs()
    states = torch.stack(outputs.hidden_states, dim=1)
    return (states[:, 1:] - states[:, :-1]).norm(dim=(2, 3)) / states[:, :-1].norm(dim=(2, 3))


def _threshold_splitting_the_batch(changes):
    """A threshold that some samples reach before the last iteration and others never reach."""
    smallest = changes[:, :-1].min(dim=1).values.sort().values
    gaps = smallest[1:] - smallest[:-1]
    index = int(gaps[1:-1].argmax()) + 1  # keep at least one sample on each side
    return float((smallest[index] + smallest[index + 1]) / 2)


@pytest.mark.parametrize("min_recurrences", [1, 3])
@pytest.mark.parametrize("criterion", ["energy", "state"])
def test_samples_exit_at_the_first_iteration_below_the_threshold(puzzles, criterion, min_recurrences):
    model = _sudoku_model()
    changes = _relative_changes(model, puzzles, criterion)
    changes[:, : min_recurrences - 1] = float("inf")  # no exit before the minimum
    threshold = _threshold_splitting_the_batch(changes)
    below = changes < threshold
    never = torch.full_like(below[:, 0], MAX_ITERATIONS, dtype=torch.long)
    expected = torch.where(below.any(1), below.int().argmax(1) + 1, never)
    with torch.no_grad():
        outputs = model(
            puzzles, adaptive_exit_threshold=threshold, adaptive_exit_criterion=criterion,
            adaptive_exit_min_recurrences=min_recurrences, output_energies=True, output_hidden_states=True,
        )  # fmt: skip
        # the same exits when the energies are not returned (they are then computed only where needed)
        lean = model(
            puzzles, adaptive_exit_threshold=threshold, adaptive_exit_criterion=criterion,
            adaptive_exit_min_recurrences=min_recurrences,
        )  # fmt: skip
    assert torch.equal(outputs.iterations_used, expected) and torch.equal(lean.iterations_used, expected)
    assert (expected >= min_recurrences).all()
    # samples that converged early report fewer iterations than the others
    assert (expected < MAX_ITERATIONS).any() and (expected == MAX_ITERATIONS).any()
    with torch.no_grad():
        fixed = model(puzzles, output_hidden_states=True, output_energies=True)
    for sample, used in enumerate(expected.tolist()):
        # up to its exit a sample follows the fixed-depth trajectory, afterwards it stops changing
        for iteration in range(MAX_ITERATIONS + 1):
            reference = fixed.hidden_states[min(iteration, used)][sample]
            torch.testing.assert_close(outputs.hidden_states[iteration][sample], reference, rtol=1e-12, atol=1e-12)
        assert torch.equal(outputs.hidden_states[used][sample], outputs.hidden_states[-1][sample])
        energies = outputs.energies[0][sample]
        assert torch.equal(energies[used:], energies[used].expand(MAX_ITERATIONS + 1 - used))
        alone = model(puzzles[sample : sample + 1], num_recurrences=used).logits[0]
        torch.testing.assert_close(outputs.logits[sample], alone)


@pytest.mark.parametrize("criterion", ["energy", "state"])
def test_batch_results_equal_single_sample_results(puzzles, criterion):
    model = _sudoku_model()
    threshold = _threshold_splitting_the_batch(_relative_changes(model, puzzles, criterion))
    with torch.no_grad():
        exit_arguments = dict(adaptive_exit_threshold=threshold, adaptive_exit_criterion=criterion)
        batch = model(puzzles, output_energies=True, **exit_arguments)
        for sample in range(len(puzzles)):
            single = model(puzzles[sample : sample + 1], output_energies=True, **exit_arguments)
            assert single.iterations_used.tolist() == [batch.iterations_used[sample].item()]
            torch.testing.assert_close(single.logits[0], batch.logits[sample], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(single.energies[0][0], batch.energies[0][sample], rtol=1e-12, atol=1e-12)
    assert len(set(batch.iterations_used.tolist())) > 1


def test_threshold_zero_reproduces_the_fixed_depth(puzzles):
    model = _sudoku_model()
    with torch.no_grad():
        outputs = dict(output_energies=True, output_hidden_states=True, output_attentions=True)
        fixed = model(puzzles, num_recurrences=6, **outputs)
        adaptive = model(puzzles, num_recurrences=6, adaptive_exit_threshold=0, **outputs)
    assert fixed.iterations_used is None
    assert adaptive.iterations_used.tolist() == [6] * len(puzzles)
    assert torch.equal(adaptive.logits, fixed.logits)
    for name in ("hidden_states", "attentions", "energies", "attention_energies", "feedforward_energies"):
        assert all(torch.equal(a, b) for a, b in zip(getattr(adaptive, name), getattr(fixed, name))), name


def test_several_layers_sum_the_iterations_and_the_config_sets_the_default(pixel_values):
    model = activate_step_sizes(HyperSETForImageClassification(tiny_config(num_layers=2, num_recurrences=3))).eval()
    with torch.no_grad():
        assert model(pixel_values, adaptive_exit_threshold=0.0).iterations_used.tolist() == [6, 6, 6]
        assert model(pixel_values, adaptive_exit_threshold=1e9).iterations_used.tolist() == [2, 2, 2]  # 1 per layer
        at_least_two = model(pixel_values, adaptive_exit_threshold=1e9, adaptive_exit_min_recurrences=2)
        assert at_least_two.iterations_used.tolist() == [4, 4, 4]
        model.config.adaptive_exit_threshold = 1e9
        outputs = model(pixel_values, adaptive_exit_criterion="state", output_hidden_states=True)
    assert outputs.iterations_used.tolist() == [2, 2, 2]
    assert torch.equal(outputs.hidden_states[1], outputs.hidden_states[3])  # frozen after one iteration of layer 0
    assert not torch.equal(outputs.hidden_states[3], outputs.hidden_states[4])  # layer 1 starts again


def test_transformer_baseline_exits_on_the_state_only(puzzles):
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset(
        "sudoku-transformer", hidden_size=16, num_attention_heads=2, intermediate_size=32, num_recurrences=5
    )
    model = HyperSETForSudoku(config).eval()
    with torch.no_grad():
        fixed = model(puzzles).logits
        assert torch.equal(model(puzzles, adaptive_exit_threshold=0.0, adaptive_exit_criterion="state").logits, fixed)
    with pytest.raises(ValueError, match="has no energy"):
        model(puzzles, adaptive_exit_threshold=0.1)


def test_adaptive_exit_is_for_inference(puzzles):
    # adaptive exit runs beside the training loop, without gradient (as `generate` beside `forward`)
    model = _sudoku_model()
    labels = torch.randint(0, 9, (6, 81), generator=torch.Generator().manual_seed(1))
    model.train()
    with pytest.raises(ValueError, match="inference feature"):
        model(puzzles, labels=labels, adaptive_exit_threshold=0.1, adaptive_exit_criterion="state")
    with torch.no_grad():  # a training-mode model under no_grad (e.g. evaluation inside a training loop) may exit
        outputs = model(puzzles, adaptive_exit_threshold=0.0, adaptive_exit_criterion="state")
    assert outputs.iterations_used.tolist() == [MAX_ITERATIONS] * len(puzzles)
    assert not outputs.logits.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(adaptive_exit_threshold=-0.1), "adaptive_exit_threshold"),
        (dict(adaptive_exit_threshold="small"), "adaptive_exit_threshold"),
        (dict(adaptive_exit_threshold=0.1, adaptive_exit_criterion="logits"), "adaptive_exit_criterion"),
        (dict(adaptive_exit_threshold=0.1, adaptive_exit_min_recurrences=0), "adaptive_exit_min_recurrences"),
    ],
)
def test_bad_adaptive_exit_arguments_are_refused(puzzles, kwargs, message):
    model = _sudoku_model()
    with pytest.raises(ValueError, match=message):
        model(puzzles, **kwargs)
