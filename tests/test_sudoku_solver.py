# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the "sudoku-solving" pipeline (`hyperset_hf.pipeline_sudoku`) and the `hyperset-hf solve` command."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY

import hyperset_hf
from hyperset_hf import HyperSETConfig, HyperSETForSudoku
from hyperset_hf import cli
from hyperset_hf.pipeline_sudoku import (
    SUDOKU_SOLVING_TASK,
    SudokuSolvingPipeline,
    format_grid,
    parse_puzzle,
    register_sudoku_pipeline,
    validate_solution,
)
from hyperset_hf.data.sudoku import generate_puzzle, grid_to_string

from conftest import activate_step_sizes, tiny_config


# Arto Inkala's "world's hardest Sudoku" (2012) and its unique solution.
HARD_PUZZLE = "800000000003600000070090200050007000000045700000100030001000068008500010090000400"
HARD_SOLUTION = "812753649943682175675491283154237896369845721287169534521974368438526917796318452"
DEFAULT_RECURRENCES = 4
OUTPUT_KEYS = {
    "num_rounds",
    "iterations_used",
    "committed_round",
    "puzzle",
    "solution",
    "grid",
    "is_valid",
    "problem",
    "confidence",
    "num_recurrences",
    "energies",
    "attention_energies",
    "feedforward_energies",
}


def tiny_sudoku_model(seed=0, preset="sudoku", **overrides):
    torch.manual_seed(seed)
    values = dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, num_recurrences=DEFAULT_RECURRENCES)
    values.update(overrides)
    model = HyperSETForSudoku(HyperSETConfig.from_preset(preset, **values))
    if model.config.layer_type == "hyperset":
        activate_step_sizes(model, std=0.2, seed=seed)  # so that the energy actually changes over the iterations
    return model.eval()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny-hyperset-sudoku")
    tiny_sudoku_model().save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def solver(model_dir):
    return pipeline(SUDOKU_SOLVING_TASK, model=str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def puzzles():
    rng = np.random.default_rng(7)
    return [grid_to_string(generate_puzzle(num_givens, rng)[0]) for num_givens in (30, 36, 42)]


def one_hot_logits(solution, scale=20.0):
    digits = torch.tensor([int(c) for c in solution]) - 1
    return torch.nn.functional.one_hot(digits, 9).float().unsqueeze(0) * scale


# ---------------------------------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------------------------------


def test_task_is_registered_idempotently(caplog):
    assert SUDOKU_SOLVING_TASK in PIPELINE_REGISTRY.get_supported_tasks()
    assert PIPELINE_REGISTRY.supported_tasks[SUDOKU_SOLVING_TASK]["impl"] is SudokuSolvingPipeline
    with caplog.at_level("WARNING"):
        register_sudoku_pipeline()
    assert "already registered" not in caplog.text


def test_pipeline_from_folder_needs_no_tokenizer(solver, model_dir):
    assert not any("token" in path.name for path in model_dir.iterdir())
    assert isinstance(solver, SudokuSolvingPipeline)
    assert isinstance(solver.model, HyperSETForSudoku)
    assert solver.tokenizer is None and solver.image_processor is None and solver.feature_extractor is None
    assert not solver.model.training


def test_output_keys_and_shapes(solver):
    result = solver(HARD_PUZZLE)
    assert set(result) == OUTPUT_KEYS
    assert result["puzzle"] == HARD_PUZZLE
    assert re.fullmatch(r"[1-9]{81}", result["solution"])
    assert isinstance(result["is_valid"], bool)
    assert (result["problem"] is None) == result["is_valid"]
    assert 1 / 9 <= result["confidence"] <= 1
    assert result["num_recurrences"] == DEFAULT_RECURRENCES
    # iterative decoding (the default): rounds of num_recurrences iterations, every blank committed in one of them
    rounds = result["committed_round"]
    assert result["num_rounds"] == max(rounds) + 1 and result["iterations_used"] == result["num_rounds"] * DEFAULT_RECURRENCES
    assert all((r == -1) == (c != "0") for r, c in zip(rounds, HARD_PUZZLE.replace(".", "0")))
    one_pass = solver(HARD_PUZZLE, decoding="one_pass")
    assert one_pass["num_rounds"] == 1 and set(one_pass["committed_round"]) <= {-1, 0}
    for key in ("energies", "attention_energies", "feedforward_energies"):
        assert len(result[key]) == DEFAULT_RECURRENCES + 1
        assert all(isinstance(value, float) for value in result[key])
    np.testing.assert_allclose(
        result["energies"],
        np.add(result["attention_energies"], result["feedforward_energies"]),
        rtol=1e-5,
        atol=1e-3,
    )
    assert len(set(result["energies"])) > 1  # the step sizes are active, so the state moves
    lines = result["grid"].splitlines()
    assert len(lines) == 11 and lines[3] == lines[7] == "------+-------+------"
    assert parse_puzzle(result["grid"]).tolist() == [int(c) for c in result["solution"]]


def test_givens_are_kept(solver, puzzles):
    for puzzle in [HARD_PUZZLE, *puzzles]:
        solution = solver(puzzle)["solution"]
        assert all(given in ("0", digit) for given, digit in zip(puzzle, solution))


@pytest.mark.parametrize("num_recurrences", [1, 3, 9])
def test_num_recurrences_sets_the_energy_trace(solver, num_recurrences):
    """One pass: the pipeline's energies are those of the model's forward on the puzzle."""
    result = solver(HARD_PUZZLE, num_recurrences=num_recurrences, decoding="one_pass")
    assert result["num_recurrences"] == num_recurrences
    assert len(result["energies"]) == num_recurrences + 1
    input_ids = torch.tensor([[int(c) for c in HARD_PUZZLE]])
    with torch.no_grad():
        outputs = solver.model(input_ids=input_ids, num_recurrences=num_recurrences, output_energies=True)
    np.testing.assert_allclose(result["energies"], outputs.energies[0][0].numpy(), rtol=1e-5)
    assert result["solution"] == grid_to_string(solver.model.solve(input_ids, num_recurrences, decoding="one_pass")[0].numpy())
    # the first entry is the energy of x_0, which does not depend on the number of iterations
    np.testing.assert_allclose(result["energies"][0], solver(HARD_PUZZLE, num_recurrences=2, decoding="one_pass")["energies"][0], rtol=1e-6)


def test_num_recurrences_at_construction(model_dir):
    solver = pipeline(SUDOKU_SOLVING_TASK, model=str(model_dir), device="cpu", num_recurrences=2)
    assert solver(HARD_PUZZLE)["num_recurrences"] == 2
    assert solver(HARD_PUZZLE, num_recurrences=5)["num_recurrences"] == 5


def assert_same_result(left, right):
    assert {key: left[key] for key in left if "energies" not in key and key != "confidence"} == {
        key: right[key] for key in right if "energies" not in key and key != "confidence"
    }
    assert left["confidence"] == pytest.approx(right["confidence"], rel=1e-5)
    np.testing.assert_allclose(left["energies"], right["energies"], rtol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_batch_matches_single_inputs(solver, puzzles, batch_size):
    batch = [HARD_PUZZLE, *puzzles]
    singles = [solver(puzzle, num_recurrences=3) for puzzle in batch]
    results = solver(batch, num_recurrences=3, batch_size=batch_size)
    assert isinstance(results, list) and len(results) == len(batch)
    for single, result in zip(singles, results):
        assert_same_result(single, result)


def test_input_formats_agree(model_dir):
    solver = pipeline(SUDOKU_SOLVING_TASK, model=str(model_dir), device="cpu", num_recurrences=1)
    reference = solver(HARD_PUZZLE)
    digits = [int(c) for c in HARD_PUZZLE]
    variants = [
        HARD_PUZZLE.replace("0", "."),
        f"  {HARD_PUZZLE}\n",
        format_grid(HARD_PUZZLE),  # a drawn grid with | - + separators, '.' blanks and newlines
        "\n".join(" ".join(HARD_PUZZLE[row * 9 : row * 9 + 9]) for row in range(9)),
        digits,
        tuple(digits),
        [digits[row * 9 : row * 9 + 9] for row in range(9)],  # 9 x 9 nested list
        np.array(digits).reshape(9, 9),
        torch.tensor(digits),
    ]
    for variant in variants:
        assert_same_result(solver(variant), reference)
    # 2-D tensors / arrays of shape (B, 81) are batches
    batch = solver(torch.tensor([digits, digits]))
    assert isinstance(batch, list) and len(batch) == 2
    assert_same_result(batch[1], reference)
    assert solver([]) == []


@pytest.mark.parametrize(
    "bad_input, message",
    [
        (HARD_PUZZLE[:-1], "puzzle: expected 81 cells, got a string of 80 characters"),
        (HARD_PUZZLE + "1", "puzzle: expected 81 cells, got a string of 82 characters"),
        (HARD_PUZZLE[:5] + "x" + HARD_PUZZLE[6:], "puzzle: invalid character 'x' at position 5"),
        (" 8" + HARD_PUZZLE[1:20] + "?" + HARD_PUZZLE[21:], "puzzle: invalid character '?' at position 21"),
        ([0, 0, 0, 12] + [0] * 77, "puzzle: expected digits 0-9 (0 = blank), got 12 at cell 3 (row 1, column 4)"),
        ([0, -1] + [0] * 79, "puzzle: expected digits 0-9 (0 = blank), got -1 at cell 1 (row 1, column 2)"),
        ([HARD_PUZZLE, HARD_PUZZLE[:3] + "a" + HARD_PUZZLE[4:]], "puzzle 1: invalid character 'a' at position 3"),
        ([HARD_PUZZLE, "123"], "puzzle 1: expected 81 cells, got a string of 3 characters"),
        ("55" + "0" * 79, "puzzle: digit 5 repeated in row 1"),
        ([HARD_PUZZLE, "5" + "0" * 8 + "5" + "0" * 71], "puzzle 1: digit 5 repeated in column 1"),
        (None, "puzzle: expected an 81-character string or a sequence of 81 integers, got NoneType"),
        (42, "puzzle: expected an 81-character string or a sequence of 81 integers, got int"),
    ],
)
def test_bad_inputs_raise_value_error(solver, bad_input, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        solver(bad_input)


def test_clashing_givens_can_be_allowed(solver):
    result = solver("55" + "0" * 79, check_givens=False)
    assert result["solution"].startswith("55") and not result["is_valid"]
    assert re.fullmatch(r"solution repeats digit [1-9] in row 1", result["problem"])


def test_bad_parameters(solver):
    for value in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="num_recurrences"):
            solver(HARD_PUZZLE, num_recurrences=value)
    with pytest.raises(TypeError, match="num_recurrence"):
        solver(HARD_PUZZLE, num_recurrence=3)


def test_postprocess_is_valid_logic(solver):
    input_ids = torch.tensor([[int(c) for c in HARD_PUZZLE]])
    blank = input_ids == 0
    outputs = {
        "input_ids": input_ids, "grids": torch.tensor([[int(c) for c in HARD_SOLUTION]]),
        "committed_round": torch.where(blank, 0, -1), "confidence": torch.tensor([1.0]), "num_rounds": torch.tensor([1]),
        "iterations_used": torch.tensor([6]), "num_recurrences": torch.tensor([6]),
    }  # fmt: skip
    result = solver.postprocess(outputs)
    assert result["solution"] == HARD_SOLUTION and result["is_valid"] and result["problem"] is None
    assert result["num_recurrences"] == 6 and result["energies"] is None and result["num_rounds"] == 1
    assert result["confidence"] == pytest.approx(1.0, abs=1e-6)
    assert result["committed_round"] == torch.where(blank, 0, -1)[0].tolist()

    # a wrong digit in a blank cell (row 1, column 2): the grid is no longer a valid Sudoku
    wrong = HARD_SOLUTION[0] + HARD_SOLUTION[2] + HARD_SOLUTION[2:]
    result = solver.postprocess({**outputs, "grids": torch.tensor([[int(c) for c in wrong]])})
    assert result["solution"] == wrong and not result["is_valid"]
    assert result["problem"] == f"solution repeats digit {HARD_SOLUTION[2]} in row 1"

    # energies for two layers come back as one list per layer
    energies = torch.arange(2 * 7, dtype=torch.float32).reshape(1, 2, 7)
    result = solver.postprocess(
        {**outputs, "energies": energies, "attention_energies": energies, "feedforward_energies": energies}
    )
    assert result["energies"] == energies[0].tolist()


def test_perfect_model_end_to_end(monkeypatch):
    model = tiny_sudoku_model()
    original_forward = model.forward

    def forward_predicting_the_solution(*args, **kwargs):
        outputs = original_forward(*args, **kwargs)
        outputs.logits = one_hot_logits(HARD_SOLUTION).expand_as(outputs.logits).clone()
        return outputs

    monkeypatch.setattr(model, "forward", forward_predicting_the_solution)
    solver = SudokuSolvingPipeline(model=model, device="cpu")
    result = solver(HARD_PUZZLE, num_recurrences=2)
    assert result["is_valid"] and result["solution"] == HARD_SOLUTION and result["problem"] is None
    assert len(result["energies"]) == 3
    assert "8 1 2 | 7 5 3 | 6 4 9" in result["grid"]


def test_pipeline_from_model_object_multi_layer_and_baseline():
    solver = pipeline(SUDOKU_SOLVING_TASK, model=tiny_sudoku_model(num_layers=2), device="cpu")
    result = solver(HARD_PUZZLE, num_recurrences=3)
    assert len(result["energies"]) == 2 and all(len(layer) == 4 for layer in result["energies"])

    baseline = tiny_sudoku_model(preset="sudoku-transformer")
    result = pipeline(SUDOKU_SOLVING_TASK, model=baseline, device="cpu")(HARD_PUZZLE, num_recurrences=2)
    assert result["energies"] is None and result["num_recurrences"] == 2
    assert all(given in ("0", digit) for given, digit in zip(HARD_PUZZLE, result["solution"]))


def test_non_sudoku_model_is_rejected():
    with pytest.raises(ValueError, match="Hyper-SET Sudoku model"):
        SudokuSolvingPipeline(model=hyperset_hf.HyperSETForImageClassification(tiny_config()), device="cpu")


def test_helpers():
    assert format_grid(HARD_PUZZLE).splitlines()[0] == "8 . . | . . . | . . ."
    assert format_grid(HARD_SOLUTION).splitlines()[4] == "1 5 4 | 2 3 7 | 8 9 6"
    assert grid_to_string(parse_puzzle(format_grid(HARD_PUZZLE))) == HARD_PUZZLE
    assert validate_solution(HARD_SOLUTION, HARD_PUZZLE) == (True, None)
    assert validate_solution(HARD_SOLUTION, "7" + HARD_PUZZLE[1:]) == (
        False,
        "solution disagrees with given 7 at row 1, column 1",
    )
    assert validate_solution(HARD_PUZZLE) == (False, "solution is incomplete (blank at row 1, column 2)")


# ---------------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------------


def run_cli(*args):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop(cli.MODEL_ENV_VARIABLE, None)
    return subprocess.run(
        [sys.executable, "-m", "hyperset_hf", *args], capture_output=True, text=True, env=env, timeout=120
    )


ENERGY_ROW = re.compile(r"^\s*(\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s*$")


def test_cli_solve_prints_grids_and_energies(model_dir, solver):
    completed = run_cli("solve", HARD_PUZZLE, "--model", str(model_dir), "--num-recurrences", "3")
    expected = solver(HARD_PUZZLE, num_recurrences=3)
    assert completed.returncode == (0 if expected["is_valid"] else 1), completed.stderr
    output = completed.stdout
    assert format_grid(HARD_PUZZLE) in output  # the puzzle
    assert expected["grid"] in output  # the solved grid
    assert expected["solution"] in output
    assert ("Valid: yes" if expected["is_valid"] else "Valid: no") in output
    rows = [ENERGY_ROW.match(line) for line in output.splitlines()]
    rows = [row for row in rows if row]
    assert [int(row.group(1)) for row in rows] == [0, 1, 2, 3]
    for row, total in zip(rows, expected["energies"]):
        assert float(row.group(2)) == pytest.approx(total, rel=1e-4)
        assert float(row.group(2)) == pytest.approx(float(row.group(3)) + float(row.group(4)), rel=1e-4, abs=1e-3)


def test_cli_invalid_puzzle_fails_with_message(model_dir):
    completed = run_cli("solve", HARD_PUZZLE[:5] + "x" + HARD_PUZZLE[6:], "--model", str(model_dir))
    assert completed.returncode == 2
    assert "invalid character 'x' at position 5" in completed.stderr
    assert completed.stdout == ""


def test_cli_in_process_exit_codes_and_json(model_dir, capsys, monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    # a complete, valid grid: every cell is a given, so the prediction is valid -> exit status 0
    assert cli.main(["solve", HARD_SOLUTION, "--model", str(model_dir), "--num-recurrences", "2"]) == 0
    output = capsys.readouterr().out
    assert "Valid: yes" in output and "Energy per iteration" in output

    # the model from the environment variable, JSON output
    monkeypatch.setenv(cli.MODEL_ENV_VARIABLE, str(model_dir))
    status = cli.main(["solve", HARD_PUZZLE, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert set(result) == OUTPUT_KEYS | DECODING_KEYS and result["num_recurrences"] == DEFAULT_RECURRENCES
    assert result["decoding"] == "iterative" and result["rule_mask"] is False  # the defaults
    assert result["num_copies"] == 1 and result["selection"] == "confidence"
    assert status == (0 if result["is_valid"] else 1)


DECODING_KEYS = {"decoding", "rule_mask", "num_copies", "selection"}  # what the CLI adds to the pipeline's result


@pytest.mark.parametrize("selection", ["confidence", "energy", "vote"])
def test_cli_copies_and_selection_reach_the_pipeline(selection, model_dir, solver, capsys, monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    arguments = ["solve", HARD_PUZZLE, "--model", str(model_dir), "--num-recurrences", "2", "--copies", "3"]
    expected = solver(HARD_PUZZLE, num_recurrences=2, num_copies=3, selection=selection)
    alone = solver(HARD_PUZZLE, num_recurrences=2)
    assert expected["iterations_used"] > alone["iterations_used"]  # all three copies' iterations
    cli.main([*arguments, "--selection", selection, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result == {**expected, "decoding": "iterative", "rule_mask": False, "num_copies": 3, "selection": selection}
    cli.main([*arguments, "--selection", selection])
    assert f"; the grid kept by {selection} from 3 symmetric copies; no Sudoku rules used" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, decoding, rule_mask",
    [
        ([], "iterative", False),  # the model's recommendation: this config has none, so solve()'s default
        (["--decoding", "iterative"], "iterative", False),
        (["--decoding", "one_pass"], "one_pass", False),
        (["--rule-mask"], "iterative", True),
        (["--decoding", "one_pass", "--rule-mask"], "one_pass", True),
    ],
)
def test_cli_decoding_options_reach_the_pipeline(options, decoding, rule_mask, model_dir, solver, capsys,
                                                 monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    arguments = ["solve", HARD_PUZZLE, "--model", str(model_dir), "--num-recurrences", "2", *options]
    expected = solver(HARD_PUZZLE, num_recurrences=2, decoding=decoding, rule_mask=rule_mask)

    status = cli.main([*arguments, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert status == (0 if expected["is_valid"] else 1)
    assert result == {**expected, "decoding": decoding, "rule_mask": rule_mask, "num_copies": 1, "selection": "confidence"}
    blanks = [index for index, character in enumerate(HARD_PUZZLE) if character == "0"]
    assert all(result["committed_round"][index] == -1 for index in range(81) if index not in blanks)
    if decoding == "one_pass":
        assert result["num_rounds"] == 1 and result["iterations_used"] == 2
        assert {result["committed_round"][index] for index in blanks} == {0}
    else:
        assert result["num_rounds"] > 1 and result["iterations_used"] == 2 * result["num_rounds"]
        assert max(result["committed_round"]) == result["num_rounds"] - 1

    cli.main(arguments)
    report = capsys.readouterr().out
    if decoding == "one_pass":
        assert "Solution (one pass):" in report
        assert "Decoding: one pass (the paper's protocol), 2 iterations" in report
        assert "Energy per iteration:" in report
    else:
        assert "Solution (iterative decoding):" in report
        assert (f"Decoding: iterative, {result['num_rounds']} rounds of 2 iterations "
                f"({result['iterations_used']} iterations in all)") in report
        assert f"Energy per iteration of the last round (round {result['num_rounds']}):" in report
    assert ("; Sudoku rules used (--rule-mask)" if rule_mask else "; no Sudoku rules used") in report
    rows = [ENERGY_ROW.match(line) for line in report.splitlines()]
    totals = [float(row.group(2)) for row in rows if row]
    assert totals == pytest.approx(expected["energies"], rel=1e-4)  # the last round's energies


def test_cli_default_decoding_is_the_models_recommendation(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    model = tiny_sudoku_model()
    model.config.sudoku_decoding = {"decoding": "one_pass"}
    model.save_pretrained(tmp_path)
    cli.main(["solve", HARD_PUZZLE, "--model", str(tmp_path), "--num-recurrences", "2", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["decoding"] == "one_pass" and result["num_rounds"] == 1
    cli.main(["solve", HARD_PUZZLE, "--model", str(tmp_path), "--num-recurrences", "2", "--decoding", "iterative",
              "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["decoding"] == "iterative" and result["num_rounds"] > 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["solve", HARD_PUZZLE, "--num-recurrences", "0"], "--num-recurrences: must be a positive integer, got 0"),
        (["solve", HARD_PUZZLE, "--num-recurrences", "-2"], "must be a positive integer"),
        (["solve", HARD_PUZZLE, "--num-recurrences", "two"], "must be a positive integer, got 'two'"),
        (["solve", HARD_PUZZLE[:80]], "puzzle: expected 81 cells, got a string of 80 characters"),
        (["solve", "55" + "0" * 79, "--model", "MODEL"], "puzzle: digit 5 repeated in row 1"),
        (["solve", HARD_PUZZLE, "--model", "./no/such/folder"], "model folder not found: ./no/such/folder"),
        (["solve", HARD_PUZZLE], "no Sudoku model given and no default checkpoint found"),
        (["solve", HARD_PUZZLE, "--decoding", "two_pass"], "argument --decoding: invalid choice: 'two_pass'"),
        (["solve", HARD_PUZZLE, "--decoding"], "argument --decoding: expected one argument"),
        (["solve", HARD_PUZZLE, "--rule-mask=yes"], "argument --rule-mask: ignored explicit argument 'yes'"),
        (["solve", HARD_PUZZLE, "--copies", "0"], "argument --copies: must be a positive integer, got 0"),
        (["solve", HARD_PUZZLE, "--selection", "best"], "argument --selection: invalid choice: 'best'"),
    ],
)
def test_cli_usage_errors(arguments, message, model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    monkeypatch.setattr(cli, "default_model_candidates", lambda: [tmp_path / "hyperset-sudoku"])
    arguments = [str(model_dir) if argument == "MODEL" else argument for argument in arguments]
    with pytest.raises(SystemExit) as raised:
        cli.main(arguments)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_default_model_resolution(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    shipped = tmp_path / "checkpoints" / "hyperset-sudoku"
    monkeypatch.setattr(cli, "default_model_candidates", lambda: [tmp_path / "missing", shipped])
    with pytest.raises(FileNotFoundError, match=cli.MODEL_ENV_VARIABLE):
        cli.resolve_default_model()
    shipped.mkdir(parents=True)
    (shipped / "config.json").write_text("{}")
    assert cli.resolve_default_model() == str(shipped)
    monkeypatch.setenv(cli.MODEL_ENV_VARIABLE, str(model_dir))
    assert cli.resolve_default_model() == str(model_dir)
    monkeypatch.setenv(cli.MODEL_ENV_VARIABLE, str(tmp_path / "no-such-model"))
    with pytest.raises(SystemExit):
        cli.main(["solve", HARD_PUZZLE])
    assert f"model folder not found: {tmp_path / 'no-such-model'} (from ${cli.MODEL_ENV_VARIABLE})" in (
        capsys.readouterr().err
    )


def test_cli_default_candidates_include_package_data():
    candidates = cli.default_model_candidates()
    package_dir = os.path.dirname(os.path.abspath(hyperset_hf.__file__))
    assert str(candidates[0]) == os.path.join(package_dir, "checkpoints", "hyperset-sudoku")
    assert all(path.name == "hyperset-sudoku" for path in candidates)


def test_dataset_inputs(model_dir, puzzles):
    import datasets

    solver = pipeline(SUDOKU_SOLVING_TASK, model=str(model_dir), device="cpu", num_recurrences=1)
    dataset = datasets.Dataset.from_dict({"puzzle": puzzles, "solution": ["0" * 81] * len(puzzles)})
    expected = [solver(puzzle) for puzzle in puzzles]
    for result, reference in zip(solver(dataset, batch_size=2), expected):
        assert_same_result(result, reference)
    assert_same_result(solver(dataset[0]), expected[0])  # a row dict
    streamed = list(solver((puzzle for puzzle in puzzles), batch_size=2))  # a generator streams
    for result, reference in zip(streamed, expected):
        assert_same_result(result, reference)


def test_folder_saved_by_the_pipeline(model_dir, tmp_path, capsys, monkeypatch):
    # Pipeline.save_pretrained writes config.custom_pipelines (remote code for Hub users without hyperset_hf); the
    # local pipeline class still loads it when named explicitly, as the command line does.
    solver = pipeline(SUDOKU_SOLVING_TASK, model=str(model_dir), device="cpu")
    solver.save_pretrained(tmp_path)
    assert "sudoku-solving" in json.loads((tmp_path / "config.json").read_text())["custom_pipelines"]
    reloaded = pipeline(SUDOKU_SOLVING_TASK, model=str(tmp_path), device="cpu", pipeline_class=SudokuSolvingPipeline)
    assert type(reloaded) is SudokuSolvingPipeline
    assert_same_result(reloaded(HARD_PUZZLE), solver(HARD_PUZZLE))
    monkeypatch.delenv(cli.MODEL_ENV_VARIABLE, raising=False)
    assert cli.main(["solve", HARD_SOLUTION, "--model", str(tmp_path), "--num-recurrences", "1"]) == 0
    assert "Valid: yes" in capsys.readouterr().out


def test_command_help_imports_neither_torch_nor_transformers():
    """`hyperset-hf --help` starts at once: the command (`hyperset_hf_cli`, beside the package) imports the package and
    its models only for the subcommands that need them."""
    script = (
        "import sys\n"
        "sys.argv = ['hyperset-hf', '--help']\n"
        "from hyperset_hf_cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(name for name in ('torch', 'transformers', 'hyperset_hf') if name in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "solve" in result.stdout  # the help itself was printed

    # the solve subcommand's help too, with its decoding options
    result = subprocess.run([sys.executable, "-c", script.replace("'--help'", "'solve', '--help'")],
                            capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "--decoding {iterative,one_pass}" in result.stdout and "--rule-mask" in result.stdout
    assert "use the Sudoku rules" in result.stdout
