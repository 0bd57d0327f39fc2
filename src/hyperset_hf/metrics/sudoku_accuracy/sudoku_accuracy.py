# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Sudoku accuracy: cell accuracy, board accuracy and validity of predicted Sudoku solutions, as an `evaluate` metric.

This script is self-contained (it imports only numpy, datasets and evaluate), so that `evaluate.load` can copy it alone
into its modules cache. The functions marked `# Copied from hyperset_hf.metrics.<name>` are kept identical to those of
`hyperset_hf.metrics`, which also exposes them without `evaluate`.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
import numpy as np


_CITATION = """\
@inproceedings{hu2026hyperset,
  title     = {Hyper-{SET}: Designing Transformers via Hyperspherical Energy Minimization},
  author    = {Hu, Yunzhe and Zou, Difan and Xu, Dong},
  booktitle = {International Conference on Learning Representations},
  year      = {2026},
  eprint    = {2502.11646},
  archivePrefix = {arXiv},
  url       = {https://arxiv.org/abs/2502.11646}
}
"""

_DESCRIPTION = """\
Sudoku accuracy scores predicted solutions of 9x9 Sudoku puzzles, as in the Sudoku experiments of Hyper-SET (and of
the recurrent relational network / SATNet line of work it compares with). It returns three numbers in [0, 1]:

- cell_accuracy: the fraction of the blank cells of the puzzles that are predicted correctly, pooled over all boards
  (the givens are not counted, since a model that copies its input gets them right for free);
- board_accuracy: the fraction of boards whose blank cells are all correct (a board counts as solved);
- validity: the fraction of boards whose predicted grid is a valid completed Sudoku (each row, column and 3x3 box holds
  the digits 1-9 exactly once) and keeps every given of the puzzle. A valid grid that differs from the reference still
  counts as valid, so validity can exceed board accuracy on puzzles with several solutions.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of grids): the predicted complete grids, digits 1-9.
    references (`list` of grids): the solution grids, digits 1-9. They must agree with the givens of the puzzles.
    puzzles (`list` of grids): the puzzle grids, 0 for blank cells and 1-9 for givens.

    A grid is a list of 81 integers in row-major order, or an 81-character string ('0' or '.' for blanks in puzzles).
    Within one call, use the same form (all integer lists or all strings) for the three inputs.

Returns:
    cell_accuracy (`float`): correct blank cells / blank cells, pooled over all boards (1.0 if no cell is blank).
    board_accuracy (`float`): fraction of boards with every blank cell correct.
    validity (`float`): fraction of boards whose prediction is a valid completed Sudoku that keeps the puzzle's givens.

Raises:
    `ValueError`: naming the input and the board index, e.g. "predictions[3]: expected 81 cells, got a string of 80
    characters" or "puzzles[1]: expected digits 0-9 (0 = blank), got 12 at cell 7 (row 1, column 8)"; also when the
    numbers of predictions, references and puzzles differ, or a reference disagrees with a given of its puzzle.

Examples:

    The second prediction gets one blank cell wrong (its row then repeats a digit, so it is not valid either); the
    puzzle has 51 blank cells.

    >>> from hyperset_hf.metrics import load_sudoku_metric  # or evaluate.load("path/to/sudoku_accuracy")
    >>> sudoku_accuracy = load_sudoku_metric()
    >>> puzzle = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
    >>> solution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
    >>> wrong = solution[:2] + "3" + solution[3:]  # cell 2 (row 1, column 3) is blank; 4 -> 3
    >>> results = sudoku_accuracy.compute(
    ...     predictions=[solution, wrong], references=[solution, solution], puzzles=[puzzle, puzzle]
    ... )
    >>> print({name: round(value, 4) for name, value in results.items()})
    {'cell_accuracy': 0.9902, 'board_accuracy': 0.5, 'validity': 0.5}
"""


# Copied from hyperset_hf.metrics._parse_grid
def _parse_grid(grid: Any, name: str, index: int, allow_blank: bool) -> np.ndarray:
    """One grid (81-character string or 81 integers, flat or 9x9) -> `int8` array of shape `(81,)`, or a `ValueError`
    that names the input and the board index."""
    where = f"{name}[{index}]"
    expected = "digits 0-9 (0 = blank)" if allow_blank else "digits 1-9"
    if isinstance(grid, bytes):
        grid = grid.decode("ascii", errors="replace")
    if isinstance(grid, str):
        text = grid.strip()
        if len(text) != 81:
            raise ValueError(f"{where}: expected 81 cells, got a string of {len(text)} characters")
        allowed = "0123456789." if allow_blank else "123456789"
        for position, character in enumerate(text):
            if character not in allowed:
                expected_text = "digits 0-9 ('0' or '.' = blank)" if allow_blank else expected
                raise ValueError(
                    f"{where}: expected {expected_text}, got {character!r} at cell {position} "
                    f"(row {position // 9 + 1}, column {position % 9 + 1})"
                )
        return (np.frombuffer(text.replace(".", "0").encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
    try:
        array = np.asarray(grid)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: expected 81 cells (a sequence of integers or an 81-character string)") from None
    if array.ndim == 0:
        raise ValueError(f"{where}: expected a grid of 81 cells, got the scalar {grid!r} (pass one grid per board)")
    if array.size != 81:
        raise ValueError(f"{where}: expected 81 cells, got {array.size}")
    if array.shape not in ((81,), (9, 9)):
        raise ValueError(f"{where}: expected 81 cells of shape (81,) or (9, 9), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{where}: expected integer cells ({expected}), got dtype {array.dtype}")
    flat = array.reshape(81)
    bad = np.flatnonzero((flat < (0 if allow_blank else 1)) | (flat > 9) | (flat != np.round(flat)))
    if bad.size:
        position = int(bad[0])
        raise ValueError(
            f"{where}: expected {expected}, got {flat[position].item()!r} at cell {position} "
            f"(row {position // 9 + 1}, column {position % 9 + 1})"
        )
    return flat.astype(np.int8)


# Copied from hyperset_hf.metrics._parse_grids
def _parse_grids(grids: Any, name: str, allow_blank: bool) -> np.ndarray:
    """A batch of grids -> `int8` array of shape `(num_boards, 81)`. Integer arrays of shape `(N, 81)` or `(N, 9, 9)`
    are checked in one vectorised pass; anything else (strings, ragged lists) board by board."""
    if isinstance(grids, (str, bytes)):
        raise ValueError(f"{name}: expected a list of grids (one per board), got a single string")
    try:
        array = np.asarray(grids)
    except (ValueError, TypeError):
        array = None
    if (
        array is not None
        and array.ndim in (2, 3)
        and array.shape[1:] in ((81,), (9, 9))
        and (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))
    ):
        flat = array.reshape(len(array), 81)
        bad = ((flat < (0 if allow_blank else 1)) | (flat > 9) | (flat != np.round(flat))).any(axis=1)
        if bad.any():
            index = int(np.argmax(bad))
            _parse_grid(flat[index], name, index, allow_blank)  # raises the detailed error
        return flat.astype(np.int8)
    parsed = [_parse_grid(grid, name, index, allow_blank) for index, grid in enumerate(grids)]
    return np.stack(parsed) if parsed else np.zeros((0, 81), dtype=np.int8)


# Copied from hyperset_hf.metrics.sudoku_metrics
def sudoku_metrics(predictions: Any, references: Any, puzzles: Any) -> dict[str, float]:
    """Cell accuracy, board accuracy and validity of predicted Sudoku solutions.

    Args:
        predictions (list of grids): the predicted complete grids, digits 1-9.
        references (list of grids): the solutions, digits 1-9; they must agree with the givens of the puzzles.
        puzzles (list of grids): the puzzles, 0 for blank cells and 1-9 for givens.

            A grid is 81 integers in row-major order (a list, or an array of shape `(81,)` or `(9, 9)`), or an
            81-character string (`'0'` or `'.'` for blanks). A whole batch may also be one integer array of shape
            `(N, 81)` or `(N, 9, 9)`.

    Returns:
        `dict` with three `float`s in [0, 1]:

        - `cell_accuracy`: correct blank cells / blank cells, pooled over all boards (givens are not counted; 1.0
          when no puzzle has a blank cell);
        - `board_accuracy`: fraction of boards whose blank cells are all correct;
        - `validity`: fraction of boards whose predicted grid is a valid completed Sudoku (each row, column and 3x3 box
          holds 1-9 once) and keeps every given of the puzzle, whether or not it equals the reference.

    Raises:
        `ValueError`: if the numbers of predictions, references and puzzles differ or are 0, or if a grid is malformed
        (e.g. `"predictions[3]: expected 81 cells, got a string of 80 characters"`, `"puzzles[1]: expected digits 0-9
        (0 = blank), got 12 at cell 7 (row 1, column 8)"`), or if a reference disagrees with a given of its puzzle.

    Example:

    ```python
    >>> from hyperset_hf.metrics import sudoku_metrics
    >>> puzzle = "530070000600195000098000060800060003400800001700020006060000280000419005000080079"
    >>> solution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
    >>> wrong = "4" + solution[1:]  # a given changed: blank cells still right, grid no longer valid
    >>> sudoku_metrics(predictions=[solution, wrong], references=[solution] * 2, puzzles=[puzzle] * 2)
    {'cell_accuracy': 1.0, 'board_accuracy': 1.0, 'validity': 0.5}

    ```
    """
    inputs = {"predictions": predictions, "references": references, "puzzles": puzzles}
    for name, value in inputs.items():
        if value is None:
            raise ValueError(f"{name}: expected a list of grids (one per board), got None")
    inputs = {name: value if hasattr(value, "__len__") else list(value) for name, value in inputs.items()}
    counts = [len(value) for value in inputs.values()]
    if len(set(counts)) > 1:
        raise ValueError(
            "expected as many predictions, references and puzzles (one of each per board), got "
            f"{counts[0]} predictions, {counts[1]} references and {counts[2]} puzzles"
        )
    if counts[0] == 0:
        raise ValueError("expected at least one board, got 0 predictions, references and puzzles")
    predicted = _parse_grids(inputs["predictions"], "predictions", allow_blank=False)
    solution = _parse_grids(inputs["references"], "references", allow_blank=False)
    puzzle = _parse_grids(inputs["puzzles"], "puzzles", allow_blank=True)

    given = puzzle > 0
    disagreement = (given & (solution != puzzle)).any(axis=1)
    if disagreement.any():
        index = int(np.argmax(disagreement))
        cell = int(np.argmax(given[index] & (solution[index] != puzzle[index])))
        raise ValueError(
            f"references[{index}]: expected to agree with the givens of puzzles[{index}], got {solution[index, cell]} "
            f"instead of the given {puzzle[index, cell]} at cell {cell} (row {cell // 9 + 1}, column {cell % 9 + 1})"
        )

    blank = ~given
    correct = predicted == solution
    num_blank = int(blank.sum())
    cell_accuracy = float((correct & blank).sum() / num_blank) if num_blank else 1.0
    board_accuracy = float((correct | given).all(axis=1).mean())

    # A complete grid is valid iff each of its 27 units (9 rows, 9 columns, 9 boxes) sorts to 1..9.
    rows = predicted.reshape(-1, 9, 9)
    columns = rows.transpose(0, 2, 1)
    boxes = rows.reshape(-1, 3, 3, 3, 3).transpose(0, 1, 3, 2, 4).reshape(-1, 9, 9)
    units = np.concatenate([rows, columns, boxes], axis=1)
    is_complete_sudoku = (np.sort(units, axis=-1) == np.arange(1, 10, dtype=units.dtype)).all(axis=(1, 2))
    keeps_givens = (~given | (predicted == puzzle)).all(axis=1)
    validity = float((is_complete_sudoku & keeps_givens).mean())

    return {"cell_accuracy": cell_accuracy, "board_accuracy": board_accuracy, "validity": validity}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SudokuAccuracy(evaluate.Metric):
    """Cell accuracy, board accuracy and validity of predicted Sudoku solutions."""

    def _info(self) -> evaluate.MetricInfo:
        def features(cell_type: datasets.Value | datasets.Sequence) -> datasets.Features:
            return datasets.Features({"predictions": cell_type, "references": cell_type, "puzzles": cell_type})

        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # Grids as integer lists or as 81-character strings. Lengths and digit ranges are checked in `_compute`
            # (no fixed length here), so that a bad board raises an error that names its index.
            features=[
                features(datasets.Sequence(datasets.Value("int64"))),
                features(datasets.Value("string")),
            ],
            reference_urls=["https://arxiv.org/abs/2502.11646"],
        )

    def add_batch(self, *, predictions=None, references=None, **kwargs) -> None:
        """Adds a batch of boards (`predictions`, `references` and `puzzles`, one of each per board)."""
        puzzles = kwargs.get("puzzles")
        inputs = (predictions, references, puzzles)
        counts = {len(value) for value in inputs if hasattr(value, "__len__")}
        missing = any(value is None for value in inputs)
        if "puzzles" in kwargs and (missing or len(counts) > 1 or (0 in counts and self.writer is None)):
            # Raise the `ValueError` of `sudoku_metrics`, not evaluate's `TypeError` / `IndexError` (it infers the
            # input format from the first board of the first batch).
            sudoku_metrics(predictions=predictions, references=references, puzzles=puzzles)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def _compute(self, predictions: Any, references: Any, puzzles: Any) -> dict[str, float]:
        return sudoku_metrics(predictions=predictions, references=references, puzzles=puzzles)
