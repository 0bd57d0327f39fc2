"""HyperSETForSudoku and the Transformer baseline: presets, forward semantics, loss, saving, Auto classes, training."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import activate_step_sizes
from transformers import AutoModel, AutoModelForTokenClassification

from hyperset_hf import HyperSETConfig, HyperSETForSudoku, HyperSETModel
from hyperset_hf.data.sudoku import augment, random_solution, to_model_inputs


def small_config(preset="sudoku", **overrides):
    values = dict(hidden_size=32, num_attention_heads=4, intermediate_size=128, num_recurrences=4, time_embedding_size=16)
    values.update(overrides)
    return HyperSETConfig.from_preset(preset, **values)


def random_boards(batch_size=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    solutions = torch.randint(1, 10, (batch_size, 81), generator=generator)
    blanks = torch.rand(batch_size, 81, generator=generator) < 0.6
    input_ids = torch.where(blanks, torch.zeros_like(solutions), solutions)
    labels = torch.where(blanks, solutions - 1, torch.full_like(solutions, -100))
    return input_ids, labels


# --- presets and parameter counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "expected"), [("sudoku", 5_195_584), ("sudoku-transformer", 7_156_992)])
def test_paper_parameter_counts(preset, expected):
    with torch.device("meta"):
        model = HyperSETForSudoku(HyperSETConfig.from_preset(preset))
    assert model.num_parameters() == expected


def test_sudoku_preset_matches_the_paper():
    config = HyperSETConfig.from_preset("sudoku")
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (768, 12, 3072)
    assert (config.num_layers, config.num_recurrences, config.hidden_act) == (1, 24, "relu")
    assert config.share_qkv_norm and config.step_size_conditioning == "initial_state"
    assert config.step_size_network_type == "unnormalized" and config.embedding_dropout_prob == 0.1
    assert config.id2label[0] == "1" and config.id2label[8] == "9" and config.label2id["5"] == 4
    with pytest.raises(ValueError, match="Unknown preset 'sudoku-large'"):
        HyperSETConfig.from_preset("sudoku-large")


def test_unnormalized_step_size_network_has_no_norms_and_sees_raw_x0():
    model = HyperSETForSudoku(small_config()).eval()
    network = model.hyperset.encoder.step_size_network
    assert not any("norm" in name for name, _ in network.named_parameters())
    activate_step_sizes(model)
    input_ids, _ = random_boards()
    x0 = model.hyperset.embeddings(input_ids)
    conditions = network.time_conditions(2, x0.device, x0.dtype)
    # c_t = Linear(GELU(Linear(sin(t))))
    from hyperset_hf.modeling_hyperset import iteration_embedding

    embedding = iteration_embedding(torch.arange(1, 3), 16)
    expected = network.time_hidden_projection(torch.nn.functional.gelu(network.time_embedding_projection(embedding)))
    torch.testing.assert_close(conditions, expected)
    # second iteration: step sizes from c_2 + x_0 (not x_1, not normalised)
    state_one = model.hyperset(input_ids=input_ids, num_recurrences=1).last_hidden_state
    alpha, beta = network.step_sizes(conditions[1], x0)
    layer = model.hyperset.encoder.layers[0]
    direction, _ = layer.attention(state_one)
    manual = state_one - alpha * direction
    manual = manual + beta * layer.feedforward(manual)
    torch.testing.assert_close(model.hyperset(input_ids=input_ids, num_recurrences=2).last_hidden_state, manual)


# --- forward semantics -----------------------------------------------------------------------------------------------


def test_at_initialisation_every_iteration_is_the_identity():
    model = HyperSETForSudoku(small_config()).eval()
    input_ids, _ = random_boards()
    outputs = model.hyperset(input_ids=input_ids, output_hidden_states=True)
    for state in outputs.hidden_states[1:]:
        torch.testing.assert_close(state, outputs.hidden_states[0])


def test_logits_shape_energies_and_more_iterations_at_test_time():
    model = activate_step_sizes(HyperSETForSudoku(small_config()), std=0.02).eval()
    input_ids, _ = random_boards()
    outputs = model(input_ids, num_recurrences=10, output_energies=True, output_attentions=True)
    assert outputs.logits.shape == (3, 81, 9)
    assert outputs.energies[0].shape == (3, 11)
    assert len(outputs.attentions) == 10 and outputs.attentions[0].shape == (3, 4, 81, 81)
    # shared q/k/v norm: the bi-softmax matrix is exactly symmetric
    torch.testing.assert_close(outputs.attentions[3], outputs.attentions[3].transpose(-1, -2))


def test_energy_decreases_with_small_step_sizes():
    torch.manual_seed(0)
    config = small_config(num_recurrences=12)
    model = HyperSETForSudoku(config).double().eval()
    network = model.hyperset.encoder.step_size_network
    with torch.no_grad():  # constant alpha = beta = 0.01 through the bias of the step-size head
        network.step_size_projection.bias.fill_(0.01)
    outputs = model(random_boards()[0], output_energies=True)
    energies = outputs.energies[0]
    assert (energies[:, 1:] < energies[:, :-1]).all(), energies


def test_loss_is_cross_entropy_over_blank_cells_only():
    model = activate_step_sizes(HyperSETForSudoku(small_config())).eval()
    input_ids, labels = random_boards()
    outputs = model(input_ids, labels=labels)
    blank = labels != -100
    expected = torch.nn.functional.cross_entropy(outputs.logits[blank], labels[blank])
    torch.testing.assert_close(outputs.loss, expected)
    # changing the logits' targets on given cells changes nothing
    other_labels = labels.clone()
    other_labels[~blank] = -100
    torch.testing.assert_close(model(input_ids, labels=other_labels).loss, outputs.loss)


def test_solve_keeps_the_givens():
    model = activate_step_sizes(HyperSETForSudoku(small_config())).eval()
    puzzle = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
    input_ids = torch.tensor([[int(c) if c != "." else 0 for c in puzzle]] * 2)
    grids = model.solve(input_ids)
    given = input_ids > 0
    assert torch.equal(grids[given], input_ids[given])
    assert grids.min() >= 1 and grids.max() <= 9


def test_transformer_baseline_runs_and_has_no_energy():
    model = HyperSETForSudoku(small_config("sudoku-transformer")).eval()
    assert not hasattr(model.hyperset.encoder, "step_size_network")
    input_ids, labels = random_boards()
    outputs = model(input_ids, labels=labels, num_recurrences=6, output_attentions=True)
    assert outputs.logits.shape == (3, 81, 9) and torch.isfinite(outputs.loss)
    # row-softmax attention: rows sum to one
    torch.testing.assert_close(outputs.attentions[0].sum(-1), torch.ones(3, 4, 81))
    with pytest.raises(ValueError, match="has no energy"):
        model(input_ids, output_energies=True)


@pytest.mark.parametrize("preset", ["sudoku", "sudoku-transformer"])
def test_batch_equals_single_and_dropout_only_in_training(preset):
    model = activate_step_sizes(HyperSETForSudoku(small_config(preset))) if preset == "sudoku" else None
    model = model or HyperSETForSudoku(small_config(preset))
    model.eval()
    input_ids, _ = random_boards()
    batch = model(input_ids).logits
    for index in range(3):
        torch.testing.assert_close(model(input_ids[index : index + 1]).logits[0], batch[index], atol=1e-5, rtol=1e-5)
    model.train()
    torch.manual_seed(1)
    first = model(input_ids).logits
    torch.manual_seed(2)
    assert not torch.allclose(first, model(input_ids).logits)  # embedding dropout 0.1 is active in training


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_ids", "message"),
    [
        (torch.zeros(2, 80, dtype=torch.long), r"shape \(batch_size, 81\).*got \(2, 80\)"),
        (torch.zeros(81, dtype=torch.long), r"got \(81,\)"),
        (torch.zeros(2, 81), "integer tensor"),
        (torch.full((2, 81), 3).index_put_((torch.tensor([1]), torch.tensor([7])), torch.tensor(10)), "board 1, cell 7 has 10"),
        (torch.full((2, 81), -1), "board 0, cell 0 has -1"),
    ],
)
def test_bad_input_ids_raise_clear_errors(input_ids, message):
    model = HyperSETForSudoku(small_config())
    with pytest.raises(ValueError, match=message):
        model(input_ids)


def test_bad_labels_and_wrong_inputs_raise_clear_errors():
    model = HyperSETForSudoku(small_config())
    input_ids, labels = random_boards()
    labels[2, 5] = 9
    with pytest.raises(ValueError, match="board 2, cell 5 has 9"):
        model(input_ids, labels=labels)
    with pytest.raises(ValueError, match="must have the shape of `input_ids`"):
        model(input_ids, labels=labels[:, :80])
    with pytest.raises(ValueError, match="pass `input_ids`"):
        model.hyperset(pixel_values=torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="num_recurrences"):
        model(input_ids, num_recurrences=0)
    with pytest.raises(ValueError, match="input_type='sudoku'"):
        HyperSETForSudoku(HyperSETConfig(hidden_size=32, num_attention_heads=4))
    with pytest.raises(ValueError, match="`layer_type` must be one of"):
        small_config(layer_type="lstm")
    with pytest.raises(ValueError, match="`embedding_dropout_prob` must be in"):
        small_config(embedding_dropout_prob=1.5)


# --- saving, Auto classes, remote code -------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["sudoku", "sudoku-transformer"])
def test_save_load_round_trip_through_auto_classes(preset, tmp_path):
    model = HyperSETForSudoku(small_config(preset))
    if preset == "sudoku":
        activate_step_sizes(model)
    model.eval()
    model.save_pretrained(tmp_path)
    input_ids, _ = random_boards()
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert type(reloaded) is HyperSETForSudoku
    assert torch.equal(model(input_ids).logits, reloaded(input_ids).logits)
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert type(base) is HyperSETModel and base.main_input_name == "input_ids"
    assert torch.equal(base(input_ids=input_ids).last_hidden_state, model.hyperset(input_ids=input_ids).last_hidden_state)


REMOTE_SCRIPT = """
import sys, torch
from transformers import AutoModelForTokenClassification
assert "hyperset_hf" not in sys.modules
model = AutoModelForTokenClassification.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
expected = torch.load(sys.argv[1] + "/expected.pt")
assert "hyperset_hf" not in sys.modules
assert type(model).__name__ == "HyperSETForSudoku"
outputs = model(expected["input_ids"], output_energies=True)
assert torch.equal(outputs.logits, expected["logits"])
assert torch.equal(outputs.energies[0], expected["energies"])
print("REMOTE SUDOKU OK")
"""


def test_remote_code_sudoku_in_a_fresh_process(tmp_path):
    model = activate_step_sizes(HyperSETForSudoku(small_config())).eval()
    folder = tmp_path / "repo"
    model.save_pretrained(folder)
    input_ids, _ = random_boards()
    with torch.no_grad():
        outputs = model(input_ids, output_energies=True)
    torch.save({"input_ids": input_ids, "logits": outputs.logits, "energies": outputs.energies[0]}, folder / "expected.pt")
    script = tmp_path / "remote.py"
    script.write_text(REMOTE_SCRIPT)
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "HF_MODULES_CACHE")}
    environment.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), PYTHONNOUSERSITE="1")
    result = subprocess.run(
        [sys.executable, str(script), str(folder)], cwd=tmp_path, env=environment, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REMOTE SUDOKU OK" in result.stdout


# --- learning --------------------------------------------------------------------------------------------------------


def easy_boards(solutions, count, rng):
    """Boards where every cell of one random digit is blank: the unique answer is the digit missing from the global
    counts, which a single attention step can read. Returns `to_model_inputs` tensors."""
    grids = np.stack([augment(solutions[i % len(solutions)], solutions[i % len(solutions)], rng)[1] for i in range(count)])
    puzzles = grids.copy()
    for puzzle in puzzles:
        puzzle[puzzle == rng.integers(1, 10)] = 0
    return to_model_inputs({"puzzle": puzzles, "solution": grids})


def test_short_training_on_easy_puzzles_lifts_cell_accuracy_well_above_chance():
    """A d=32 Hyper-SET trained with AdamW for 100 steps on easy boards (see `easy_boards`) goes from the 1/9 = 11% of
    guessing to nearly every blank right on new boards."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    solutions = np.stack([random_solution(rng) for _ in range(8)])
    config = small_config(num_recurrences=2, embedding_dropout_prob=0.0)
    model = HyperSETForSudoku(config)
    test = easy_boards(solutions, 200, rng)
    blank = test["labels"] != -100

    def cell_accuracy():
        model.eval()
        with torch.no_grad():
            predictions = model(test["input_ids"]).logits.argmax(-1)
        model.train()
        return (predictions[blank] == test["labels"][blank]).float().mean().item()

    before = cell_accuracy()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.0)
    for _ in range(100):
        batch = easy_boards(solutions, 32, rng)
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = cell_accuracy()
    assert before < 0.2, before
    assert after > 0.9, after
