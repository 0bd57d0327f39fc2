# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Sudoku accuracy: cell accuracy, board accuracy and validity of predicted Sudoku solutions, as an `evaluate` metric.

The computation lives in `hyperset_hf.metrics` (the plain numpy function, also usable without `evaluate`); this
script only wraps it as an `evaluate.Metric`, so it needs the package installed (it ships inside it).
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate

from hyperset_hf.metrics import sudoku_metrics


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
