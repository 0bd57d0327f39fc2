# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the Sudoku metric: `hyperset_hf.metrics.sudoku_metrics` and the `evaluate` module `sudoku_accuracy` loaded
from its folder (offline), on hand-made boards with exact expected values."""

import doctest
import importlib
import inspect
import itertools
import os
import socket

import numpy as np
import pytest
import torch

from hyperset_hf import metrics
from hyperset_hf.metrics import SUDOKU_METRIC_PATH, load_sudoku_metric, sudoku_metrics
from hyperset_hf.data.sudoku import check_solution


# The Wikipedia example puzzle (30 givens, 51 blanks) and its unique solution.
PUZZLE = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"
SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
KEYS = {"cell_accuracy", "board_accuracy", "validity"}


def digits(text):
    return [int(character) for character in text]


def as_text(grid):
    return "".join(str(int(digit)) for digit in np.asarray(grid).reshape(81))


def blank(grid, cells):
    """The grid with the given cells set to 0."""
    grid = np.array(digits(grid) if isinstance(grid, str) else grid).reshape(81)
    grid[list(cells)] = 0
    return grid.tolist()


def is_valid_completion(prediction, puzzle):
    """Independent check with the data module: complete, no repeated digit, keeps the givens."""
    try:
        check_solution(as_text(prediction), as_text(puzzle))
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def sudoku_accuracy():
    return load_sudoku_metric()


def both(sudoku_accuracy, **inputs):
    """The results of the numpy function and of the evaluate module, checked to be equal."""
    expected = sudoku_metrics(**inputs)
    assert set(expected) == KEYS
    assert all(type(value) is float for value in expected.values())
    assert sudoku_accuracy.compute(**inputs) == expected
    return expected


# ---------------------------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["lists", "strings", "dot strings"])
def test_perfect_prediction(sudoku_accuracy, form):
    puzzle = {"lists": digits(PUZZLE), "strings": PUZZLE, "dot strings": PUZZLE.replace("0", ".")}[form]
    solution = SOLUTION if "strings" in form else digits(SOLUTION)
    results = both(sudoku_accuracy, predictions=[solution] * 3, references=[solution] * 3, puzzles=[puzzle] * 3)
    assert results == {"cell_accuracy": 1.0, "board_accuracy": 1.0, "validity": 1.0}


@pytest.mark.parametrize("num_blanks", [1, 10, 51])
def test_one_wrong_blank_cell_in_one_of_two_boards(sudoku_accuracy, num_blanks):
    blanks = range(81 - num_blanks, 81)  # the last cells
    puzzle = blank(SOLUTION, blanks)
    wrong = digits(SOLUTION)
    wrong[80] = wrong[80] % 9 + 1  # a blank cell, now a repeated digit in its row
    assert not is_valid_completion(wrong, puzzle)
    results = both(
        sudoku_accuracy,
        predictions=[digits(SOLUTION), wrong],
        references=[digits(SOLUTION)] * 2,
        puzzles=[puzzle] * 2,
    )
    assert results == {
        "cell_accuracy": (2 * num_blanks - 1) / (2 * num_blanks),
        "board_accuracy": 0.5,
        "validity": 0.5,
    }


def test_cell_accuracy_pools_blank_cells_over_boards(sudoku_accuracy):
    # Board 0: 2 blanks, both wrong; board 1: 6 blanks, all right -> 6 / 8 (the mean per board would be 0.5).
    puzzles = [blank(SOLUTION, [0, 1]), blank(SOLUTION, range(10, 16))]
    wrong = digits(SOLUTION)
    wrong[0], wrong[1] = wrong[1], wrong[0]
    results = both(
        sudoku_accuracy, predictions=[wrong, digits(SOLUTION)], references=[digits(SOLUTION)] * 2, puzzles=puzzles
    )
    assert results == {"cell_accuracy": 0.75, "board_accuracy": 0.5, "validity": 0.5}


def test_a_given_changed_by_a_valid_relabelling_is_not_valid(sudoku_accuracy):
    # Exchanging the digits 1 and 2 everywhere gives a valid Sudoku that contradicts the givens 1 and 2 of the puzzle.
    relabelled = [{1: 2, 2: 1}.get(digit, digit) for digit in digits(SOLUTION)]
    assert is_valid_completion(relabelled, [0] * 81)
    assert not is_valid_completion(relabelled, digits(PUZZLE))
    blanks = [cell for cell in range(81) if PUZZLE[cell] == "0"]
    right_blanks = sum(SOLUTION[cell] not in "12" for cell in blanks)
    assert (len(blanks), right_blanks) == (51, 38)  # 1 and 2 fill 18 cells, 5 of them givens (three 1s, two 2s)
    results = both(
        sudoku_accuracy,
        predictions=[relabelled, digits(SOLUTION)],
        references=[digits(SOLUTION)] * 2,
        puzzles=[digits(PUZZLE)] * 2,
    )
    assert results == {"cell_accuracy": (38 + 51) / (2 * 51), "board_accuracy": 0.5, "validity": 0.5}


def test_board_accuracy_ignores_givens_but_validity_does_not(sudoku_accuracy):
    changed_given = digits(SOLUTION)
    changed_given[0] = 4  # cell 0 is a given 5
    results = both(
        sudoku_accuracy, predictions=[changed_given], references=[digits(SOLUTION)], puzzles=[digits(PUZZLE)]
    )
    assert results == {"cell_accuracy": 1.0, "board_accuracy": 1.0, "validity": 0.0}


def _deadly_rectangle(grid):
    """Rows r1, r2 and columns c1, c2 whose four cells hold a, b / b, a and lie in exactly two boxes: exchanging a
    and b there gives another valid grid."""
    cells = np.array(digits(grid)).reshape(9, 9)
    for (r1, r2), (c1, c2) in itertools.product(itertools.combinations(range(9), 2), repeat=2):
        boxes = {(r // 3, c // 3) for r in (r1, r2) for c in (c1, c2)}
        if cells[r1, c1] == cells[r2, c2] and cells[r1, c2] == cells[r2, c1] and len(boxes) == 2:
            return r1, r2, c1, c2
    raise AssertionError("no deadly rectangle")


def test_another_valid_completion_is_valid_but_not_correct(sudoku_accuracy):
    # A puzzle whose 4 blanks form a deadly rectangle has two completions; predict the one that is not the reference.
    r1, r2, c1, c2 = _deadly_rectangle(SOLUTION)
    rectangle = [9 * r + c for r in (r1, r2) for c in (c1, c2)]
    puzzle = blank(SOLUTION, rectangle)
    a, b = int(SOLUTION[9 * r1 + c1]), int(SOLUTION[9 * r1 + c2])
    other = digits(SOLUTION)
    for cell in rectangle:
        other[cell] = a + b - other[cell]  # exchanges a and b
    assert sum(x != y for x, y in zip(other, digits(SOLUTION))) == 4
    assert is_valid_completion(other, puzzle)

    # A puzzle with its first band blank; exchanging the first two rows keeps a valid grid (18 of 27 blanks change).
    band_puzzle = blank(SOLUTION, range(27))
    swapped_rows = SOLUTION[9:18] + SOLUTION[:9] + SOLUTION[18:]
    assert is_valid_completion(digits(swapped_rows), band_puzzle)

    results = both(
        sudoku_accuracy,
        predictions=[other, digits(swapped_rows)],
        references=[digits(SOLUTION)] * 2,
        puzzles=[puzzle, band_puzzle],
    )
    assert results == {"cell_accuracy": 9 / 31, "board_accuracy": 0.0, "validity": 1.0}


def _swap(grid, cell_a, cell_b):
    grid = digits(grid)
    grid[cell_a], grid[cell_b] = grid[cell_b], grid[cell_a]
    return grid


@pytest.mark.parametrize(
    "prediction, broken",
    [
        (_swap(SOLUTION, 0, 1), "columns"),  # two cells of row 1 in box 1: rows and boxes still valid
        (_swap(SOLUTION, 0, 9), "rows"),  # two cells of column 1 in box 1: columns and boxes still valid
        (digits(SOLUTION[27:36] + SOLUTION[9:27] + SOLUTION[:9] + SOLUTION[36:]), "boxes"),  # rows 1 and 4
        ([(row + column) % 9 + 1 for row in range(9) for column in range(9)], "boxes"),  # a cyclic Latin square
        ([column + 1 for row in range(9) for column in range(9)], "columns and boxes"),
    ],
)
def test_validity_checks_rows_columns_and_boxes(sudoku_accuracy, prediction, broken):
    grid = np.array(prediction).reshape(9, 9)
    boxes = grid.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 9)
    units = {"rows": grid, "columns": grid.T, "boxes": boxes}
    invalid = {name for name, lines in units.items() if any(sorted(line) != list(range(1, 10)) for line in lines)}
    assert invalid == set(broken.split(" and "))
    results = both(
        sudoku_accuracy,
        predictions=[prediction, digits(SOLUTION)],
        references=[digits(SOLUTION)] * 2,
        puzzles=[[0] * 81] * 2,  # no givens: only the rules count
    )
    assert results["board_accuracy"] == 0.5
    assert results["validity"] == 0.5


def test_puzzles_without_blanks(sudoku_accuracy):
    # No blank cell: nothing to get wrong, so cell and board accuracy are 1; validity still checks the grid.
    results = both(sudoku_accuracy, predictions=[SOLUTION] * 2, references=[SOLUTION] * 2, puzzles=[SOLUTION] * 2)
    assert results == {"cell_accuracy": 1.0, "board_accuracy": 1.0, "validity": 1.0}


def test_array_inputs(sudoku_accuracy):
    # (N, 81) and (N, 9, 9) integer arrays, e.g. the argmax of a model's logits + 1, numpy or torch.
    solution = np.array(digits(SOLUTION))
    puzzle = np.array(digits(PUZZLE))
    wrong = solution.copy()
    wrong[2] = 3  # a blank cell
    predictions, references, puzzles = np.stack([solution, wrong]), np.stack([solution] * 2), np.stack([puzzle] * 2)
    expected = {"cell_accuracy": 101 / 102, "board_accuracy": 0.5, "validity": 0.5}
    assert sudoku_metrics(predictions, references, puzzles) == expected
    as_9x9 = [array.reshape(2, 9, 9) for array in (predictions, references, puzzles)]
    assert sudoku_metrics(*as_9x9) == expected
    assert sudoku_metrics(torch.from_numpy(predictions), torch.from_numpy(references), torch.from_numpy(puzzles)) == (
        expected
    )
    assert sudoku_metrics(list(predictions.astype(np.float32)), list(references), [PUZZLE] * 2) == expected
    for dtype in (np.int64, np.int8):
        arrays = {"predictions": predictions, "references": references, "puzzles": puzzles}
        assert sudoku_accuracy.compute(**{key: array.astype(dtype) for key, array in arrays.items()}) == expected


def test_evaluate_module_agrees_with_numpy_function(sudoku_accuracy):
    # Random corruptions of relabelled solutions, scored in one call, in batches, and as strings.
    rng = np.random.default_rng(0)
    predictions, references, puzzles = [], [], []
    for _ in range(40):
        relabel = np.concatenate([[0], rng.permutation(9) + 1])
        solution = relabel[digits(SOLUTION)]
        puzzle = np.where(rng.random(81) < rng.uniform(0.2, 0.8), 0, solution)
        prediction = solution.copy()
        wrong = rng.choice(81, size=rng.integers(0, 4), replace=False)
        prediction[wrong] = rng.integers(1, 10, size=wrong.size)
        if rng.random() < 0.2:  # a valid grid that contradicts the givens
            prediction = np.concatenate([[0], rng.permutation(9) + 1])[solution]
        predictions.append(prediction.tolist())
        references.append(solution.tolist())
        puzzles.append(puzzle.tolist())
    expected = sudoku_metrics(predictions, references, puzzles)
    assert 0 < expected["board_accuracy"] < expected["cell_accuracy"] < 1
    assert 0 < expected["validity"] < 1

    assert sudoku_accuracy.compute(predictions=predictions, references=references, puzzles=puzzles) == expected
    for start in range(0, 40, 16):
        batch = slice(start, start + 16)
        sudoku_accuracy.add_batch(
            predictions=predictions[batch], references=references[batch], puzzles=puzzles[batch]
        )
    assert sudoku_accuracy.compute() == expected
    as_texts = [[as_text(grid) for grid in grids] for grids in (predictions, references, puzzles)]
    assert sudoku_accuracy.compute(predictions=as_texts[0], references=as_texts[1], puzzles=as_texts[2]) == expected


def test_evaluate_module_wraps_the_package_function(sudoku_accuracy):
    # one copy of the computation: the evaluate script calls the package's numpy function
    module = importlib.import_module(type(sudoku_accuracy).__module__)
    for name in ("sudoku_metrics",):
        assert getattr(module, name) is getattr(metrics, name), name


def test_load_sudoku_metric_offline(monkeypatch):
    import evaluate

    assert os.environ["HF_HUB_OFFLINE"] == "1"

    def no_network(*args, **kwargs):
        raise AssertionError("the Sudoku metric tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert os.path.isfile(os.path.join(SUDOKU_METRIC_PATH, "sudoku_accuracy.py"))
    assert os.path.isfile(os.path.join(SUDOKU_METRIC_PATH, "README.md"))
    for module in (load_sudoku_metric(keep_in_memory=True), evaluate.load(SUDOKU_METRIC_PATH)):
        assert isinstance(module, evaluate.EvaluationModule)
        assert module.name == "sudoku_accuracy"
        assert "2502.11646" in module.citation
        assert module.compute(predictions=[SOLUTION], references=[SOLUTION], puzzles=[PUZZLE]) == {
            "cell_accuracy": 1.0,
            "board_accuracy": 1.0,
            "validity": 1.0,
        }


def test_metrics_module_does_not_import_evaluate():
    source = inspect.getsource(metrics)
    assert [line for line in source.splitlines() if line.strip().startswith("import evaluate")] == [
        "    import evaluate  # optional for model code, so imported here"
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------------


def _inputs(**overrides):
    inputs = {"predictions": [SOLUTION] * 3, "references": [SOLUTION] * 3, "puzzles": [PUZZLE] * 3}
    for name, (index, value) in overrides.items():
        inputs[name] = list(inputs[name])
        inputs[name][index] = value
    return inputs


BAD_BOARDS = [
    ("predictions", SOLUTION[:80], r"predictions\[1\]: expected 81 cells, got a string of 80 characters"),
    ("predictions", digits(SOLUTION) + [1], r"predictions\[1\]: expected 81 cells, got 82"),
    ("predictions", SOLUTION[:40] + "0" + SOLUTION[41:], r"predictions\[1\]: expected digits 1-9, got '0' at cell 40"),
    ("predictions", SOLUTION[:40] + "x" + SOLUTION[41:], r"predictions\[1\]: expected digits 1-9, got 'x' at cell 40"),
    ("predictions", blank(SOLUTION, [40]), r"predictions\[1\]: expected digits 1-9, got 0 at cell 40 \(row 5, col"),
    ("predictions", digits(SOLUTION[:80]) + [10], r"predictions\[1\]: expected digits 1-9, got 10 at cell 80"),
    ("predictions", digits(SOLUTION[:80]) + [2.5], r"predictions\[1\]: expected digits 1-9, got 2.5 at cell 80"),
    ("predictions", 5, r"predictions\[1\]: expected a grid of 81 cells, got the scalar 5"),
    ("predictions", [[1, 2], [3]], r"predictions\[1\]: expected 81 cells"),
    ("references", digits(SOLUTION)[:9], r"references\[1\]: expected 81 cells, got 9"),
    ("references", SOLUTION.replace("9", "."), r"references\[1\]: expected digits 1-9, got '.' at cell 6"),
    ("references", SOLUTION[:1] + "1" + SOLUTION[2:], r"references\[1\]: expected to agree with the givens of puzzl"),
    ("puzzles", PUZZLE + "0", r"puzzles\[1\]: expected 81 cells, got a string of 82 characters"),
    ("puzzles", digits(PUZZLE[:80]) + [-1], r"puzzles\[1\]: expected digits 0-9 \(0 = blank\), got -1 at cell 80"),
    ("puzzles", digits(PUZZLE[:80]) + [12], r"puzzles\[1\]: expected digits 0-9 \(0 = blank\), got 12 at cell 80"),
    ("puzzles", PUZZLE[:80] + "/", r"puzzles\[1\]: expected digits 0-9 \('0' or '.' = blank\), got '/' at cell 80"),
]


@pytest.mark.parametrize("name, bad_board, message", BAD_BOARDS)
def test_bad_board_raises_naming_its_index(sudoku_accuracy, name, bad_board, message):
    inputs = _inputs(**{name: (1, bad_board)})
    with pytest.raises(ValueError, match=message):
        sudoku_metrics(**inputs)
    # The evaluate module takes one form per call (all strings or all integer lists) that Arrow can encode, so it
    # sees only the bad strings and bad integer lists; it must then raise the same error.
    integer_list = isinstance(bad_board, list) and all(isinstance(cell, int) for cell in bad_board)
    if integer_list:
        inputs = {key: [digits(g) if isinstance(g, str) else g for g in grids] for key, grids in inputs.items()}
    if integer_list or isinstance(bad_board, str):
        with pytest.raises(ValueError, match=message):
            sudoku_accuracy.compute(**inputs)


def test_bad_board_in_an_array_raises_naming_its_index():
    predictions = np.array([digits(SOLUTION)] * 4)
    predictions[2, 80] = 0
    with pytest.raises(ValueError, match=r"predictions\[2\]: expected digits 1-9, got 0 at cell 80 \(row 9, colu"):
        sudoku_metrics(predictions, [SOLUTION] * 4, [PUZZLE] * 4)
    puzzles = np.array([digits(PUZZLE)] * 4).reshape(4, 9, 9)
    puzzles[3, 0, 1] = 10
    with pytest.raises(ValueError, match=r"puzzles\[3\]: expected digits 0-9 \(0 = blank\), got 10 at cell 1"):
        sudoku_metrics([SOLUTION] * 4, [SOLUTION] * 4, puzzles)


@pytest.mark.parametrize(
    "counts, message",
    [
        ((2, 3, 3), "got 2 predictions, 3 references and 3 puzzles"),
        ((3, 3, 1), "got 3 predictions, 3 references and 1 puzzles"),
        ((0, 3, 3), "got 0 predictions, 3 references and 3 puzzles"),
        ((0, 0, 0), "expected at least one board, got 0 predictions, references and puzzles"),
    ],
)
def test_mismatched_or_empty_inputs_raise(sudoku_accuracy, counts, message):
    inputs = {
        "predictions": [SOLUTION] * counts[0],
        "references": [SOLUTION] * counts[1],
        "puzzles": [PUZZLE] * counts[2],
    }
    with pytest.raises(ValueError, match=message):
        sudoku_metrics(**inputs)
    with pytest.raises(ValueError, match=message):
        sudoku_accuracy.compute(**inputs)


def test_missing_or_single_grid_inputs_raise(sudoku_accuracy):
    with pytest.raises(ValueError, match=r"puzzles: expected a list of grids \(one per board\), got None"):
        sudoku_metrics([SOLUTION], [SOLUTION], None)
    with pytest.raises(ValueError, match=r"puzzles: expected a list of grids \(one per board\), got None"):
        sudoku_accuracy.compute(predictions=[SOLUTION], references=[SOLUTION], puzzles=None)
    with pytest.raises(ValueError, match="predictions: expected a list of grids .* got a single string"):
        sudoku_metrics(SOLUTION, SOLUTION, PUZZLE)


# ---------------------------------------------------------------------------------------------------------------------
# Documentation examples
# ---------------------------------------------------------------------------------------------------------------------


def test_docstring_and_metric_card_examples(sudoku_accuracy):
    options = doctest.NORMALIZE_WHITESPACE
    assert doctest.testmod(metrics, optionflags=options) == (0, 9)  # sudoku_metrics 5, masked_region_psnr 4
    module = importlib.import_module(type(sudoku_accuracy).__module__)
    test = doctest.DocTestParser().get_doctest(module._KWARGS_DESCRIPTION, {}, "_KWARGS_DESCRIPTION", None, 0)
    runner = doctest.DocTestRunner(optionflags=options)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, 7)
    card = os.path.join(SUDOKU_METRIC_PATH, "README.md")
    assert doctest.testfile(card, module_relative=False, optionflags=options) == (0, 7)
