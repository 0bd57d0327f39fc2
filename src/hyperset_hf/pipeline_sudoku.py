# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""A `transformers` pipeline that solves Sudoku puzzles with a Hyper-SET Sudoku model.

Importing this module registers the task `"sudoku-solving"` with `transformers.pipelines.PIPELINE_REGISTRY`, so
that this works:

```python
import hyperset_hf  # registers the Hyper-SET models and the "sudoku-solving" task
from transformers import pipeline

solver = pipeline("sudoku-solving", model="path/to/hyperset-sudoku")
result = solver(".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61", num_recurrences=32)
result["solution"], result["is_valid"], result["energies"]  # 81 digits, bool, num_recurrences + 1 floats
print(result["grid"])
```

The pipeline needs no tokenizer, image processor or feature extractor: a puzzle is parsed directly into the model's
`input_ids` (the 81 digits, 0 = blank). See [`SudokuSolvingPipeline`] for the accepted inputs and the output format.

Saving: `model.save_pretrained(folder)` gives a folder that the pipeline loads directly.
`solver.save_pretrained(folder)` (the standard `Pipeline.save_pretrained`) also writes this module and
`config.custom_pipelines`, so that `pipeline("sudoku-solving", model=folder_or_hub_id, trust_remote_code=True)` works
without `hyperset_hf` installed; with such a folder, transformers asks for `trust_remote_code=True` even when
`hyperset_hf` is imported, unless `pipeline_class=SudokuSolvingPipeline` is passed (as the `hyperset-hf` command does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForTokenClassification
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines.base import Pipeline

from .input_checks import as_count
from .pipeline_checks import (
    UnsuitableCheckpoint,
    check_batch_size,
    refuse_model,
    stacking_iterator,
    task_model_loader,
)
from .sudoku_rules import (
    BLANK_CHARACTERS,
    MAX_ROW_STRING_LENGTH,
    _first_repetition,
    check_puzzle,
    check_solution,
    first_invalid_character,
    grid_to_string,
    parse_grid,
    solve,
)


__all__ = [
    "SUDOKU_SOLVING_TASK",
    "SudokuSolvingPipeline",
    "format_grid",
    "parse_puzzle",
    "register_sudoku_pipeline",
    "validate_solution",
]

SUDOKU_SOLVING_TASK = "sudoku-solving"

NUM_CELLS = 81


# ---------------------------------------------------------------------------------------------------------------------
# Parsing, rendering, checking
# ---------------------------------------------------------------------------------------------------------------------


def parse_puzzle(puzzle, index: int | None = None) -> np.ndarray:
    """Parses one puzzle, tolerating grid drawings: [`hyperset_hf.sudoku_rules.parse_grid`], with a character that
    can stand in no grid named by its position in the string as given.

    Args:
        puzzle: one of the forms of `parse_grid`:
            - a string (or `bytes`): 81 cells, digits 1-9 and a blank (`'0'`, `'.'`, `'-'`, `'_'` or `'*'`), with
              whitespace, commas, brackets and `|`, `+` skipped (an empty comma-separated field is a blank); or nine
              row lines (a printed grid, with rule lines such as `------+-------+------` skipped, so the output of
              [`format_grid`] parses back); spaces are blanks in a line of exactly 81 characters and in rows of at
              most 9 characters;
            - a list or tuple of 81 cells, of nine rows of nine cells or of nine row strings (`"53..7...."`); a cell
              is an integer 0-9, a one-character string as above, or None (blank);
            - a NumPy array or torch tensor of shape `(81,)` or `(9, 9)` (0 = blank).
        index (`int`, *optional*): the puzzle's index in a batch, used in error messages.

    Returns:
        `np.ndarray` of dtype `int8` and shape `(81,)`, 0 = blank.

    Raises:
        `ValueError`: naming the problem and the offending value, e.g. `"puzzle: invalid character 'x' at position 12"`
            (position in the string as given), `"puzzle 3: expected 81 cells, got 80"` or
            `"puzzle: expected digits 0-9 (0 = blank), got 12 at cell 4 (row 1, column 5)"`.
    """
    prefix = "puzzle" if index is None else f"puzzle {index}"
    if isinstance(puzzle, (bytes, bytearray)):
        puzzle = bytes(puzzle).decode("ascii", errors="replace")
    if isinstance(puzzle, str):
        position = first_invalid_character(puzzle)
        if position is not None:
            raise ValueError(f"{prefix}: invalid character {puzzle[position]!r} at position {position}")
        return parse_grid(puzzle, index)
    if not isinstance(puzzle, (np.ndarray, torch.Tensor, Sequence)):
        raise ValueError(
            f"{prefix}: expected an 81-character string or a sequence of 81 integers, got {type(puzzle).__name__} "
            f"{puzzle!r:.60} (also accepted: 9 rows, a printed grid, an array or tensor of shape (81,) or (9, 9))"
        )
    return parse_grid(puzzle, index)


def format_grid(grid, blank: str = ".") -> str:
    """Renders a grid as 9 lines of text with box separators, blanks shown as `blank`:

    ```text
    5 3 . | . 7 . | . . .
    6 . . | 1 9 5 | . . .
    . 9 8 | . . . | . 6 .
    ------+-------+------
    ...
    ```

    Args:
        grid (`str` or array-like of 81 digits): the grid (0 or `'.'` = blank).
        blank (`str`, *optional*, defaults to `"."`): the character shown for blank cells, one of `'.'`, `'0'`,
            `'-'`, `'_'` or `'*'` (so that the grid parses back).

    Returns:
        `str` of 11 lines (9 rows and 2 separator lines), without a trailing newline.
    """
    if not isinstance(blank, str) or len(blank) != 1 or blank not in BLANK_CHARACTERS:
        raise ValueError(f"`blank` must be one of {list(BLANK_CHARACTERS)} (a blank the parser reads), got {blank!r}.")
    cells = parse_puzzle(grid).reshape(9, 9)
    lines = []
    for row in range(9):
        if row in (3, 6):
            lines.append("------+-------+------")
        digits = [str(int(digit)) if digit else blank for digit in cells[row]]
        lines.append(" | ".join(" ".join(digits[stack : stack + 3]) for stack in (0, 3, 6)))
    return "\n".join(lines)


def validate_solution(solution, puzzle=None) -> tuple[bool, str | None]:
    """Whether `solution` is a complete, valid Sudoku that keeps the givens of `puzzle`.

    Uses [`hyperset_hf.sudoku_data.check_solution`].

    Returns:
        `(is_valid, problem)`: `problem` is `None` for a valid solution, else the reason, e.g.
        `"solution repeats digit 3 in column 4"` or `"solution disagrees with given 7 at row 1, column 3"`.
    """
    try:
        check_solution(solution, puzzle)
    except ValueError as error:
        message = str(error)
        return False, message.split(": ", 1)[1] if message.startswith("puzzle: ") else message
    return True, None


class _ParsedPuzzle:
    """A puzzle already parsed and checked by `SudokuSolvingPipeline.__call__` (carries its index in the batch)."""

    __slots__ = ("grid", "index")

    def __init__(self, grid: np.ndarray, index: int | None):
        self.grid = grid
        self.index = index


def _is_cell(value) -> bool:
    """A number, a 0-d array or tensor, a one-character string or None: one cell of a grid."""
    if value is None or isinstance(value, (Number, np.number)):
        return True
    if isinstance(value, str):
        return len(value) <= 1
    return isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0


def _is_single_puzzle(inputs) -> bool:
    """One puzzle rather than a batch: a string, a flat sequence of cells, nine rows of nine cells, a list of short
    row strings (each at most `MAX_ROW_STRING_LENGTH` characters: the lines of one grid), or an array / tensor of shape
    (81,) or (9, 9) (anything else an array can be: a batch `(B, 81)` / `(B, 9, 9)`, or refused by the parser)."""
    if isinstance(inputs, (str, bytes)):
        return True
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "USO" and inputs.ndim > 0:
        inputs = inputs.tolist()
    if isinstance(inputs, (np.ndarray, torch.Tensor)):
        shape = tuple(inputs.shape)
        return not ((len(shape) == 2 and shape[1] == NUM_CELLS) or (len(shape) == 3 and shape[1:] == (9, 9)))
    if isinstance(inputs, Sequence) and len(inputs) > 0:
        if all(_is_cell(value) for value in inputs):
            return True
        if all(isinstance(value, str) for value in inputs):
            return all(len(value) <= MAX_ROW_STRING_LENGTH and "\n" not in value for value in inputs)
        if len(inputs) == 9 and all(
            isinstance(row, (Sequence, np.ndarray, torch.Tensor))
            and not isinstance(row, (str, bytes))
            and len(row) == 9
            and all(_is_cell(value) for value in row)
            for row in inputs
        ):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------------------------------


SUDOKU_MODEL_KIND = "a Hyper-SET Sudoku model (HyperSETForSudoku: model_type 'hyperset', input_type 'sudoku', 9 labels)"


def _is_sudoku_config(config) -> bool:
    return getattr(config, "input_type", None) == "sudoku" and getattr(config, "num_labels", None) == 9


DECODING_OPTIONS = ("decoding", "reveal_fraction", "confidence_threshold", "warm_start", "rule_mask", "num_copies",
                    "selection", "seed")  # fmt: skip


class SudokuSolvingPipeline(Pipeline):
    """Solves Sudoku puzzles with a Hyper-SET Sudoku model ([`HyperSETForSudoku`]) and reports the energy descent.

    Build it with `transformers.pipeline("sudoku-solving", model=folder_or_model)` after `import hyperset_hf`, or
    directly with `SudokuSolvingPipeline(model=model)`. No tokenizer is needed or loaded. The model is put in eval
    mode.

    Inputs (`__call__`):
        - one puzzle: an 81-character string (`'0'`, `'.'`, `'-'`, `'_'` or `'*'` for blanks; whitespace, commas,
          brackets and the grid-drawing characters `|` and `+` are ignored; an empty comma-separated field is a
          blank), a printed 9 x 9 grid (nine row lines, rule lines
          such as `------+-------+------` skipped; spaces are blanks in rows of at most 9 characters), a list or tuple
          of 81 cells (integers 0-9, one-character strings, None = blank), nine rows of nine cells (lists, tuples,
          arrays, digit strings), nine row strings (each at most 40 characters), or a NumPy array / torch tensor of
          shape `(81,)` or `(9, 9)` (see [`parse_puzzle`]);
        - a batch: a list of puzzles, an array / tensor of shape `(B, 81)` or `(B, 9, 9)`, a NumPy array of puzzle
          strings, or a `datasets.Dataset` with a `puzzle` column (these return a list), or a generator /
          `KeyDataset` (these stream: an iterator is returned). Dicts with a `puzzle` key (dataset rows) are accepted
          wherever a puzzle is. `batch_size=k` (a positive integer) runs `k` puzzles per forward pass.

    Parameters (at construction or per call):
        num_recurrences (`int`, *optional*): iterations of the energy descent (per round); defaults to
            `model.config.num_recurrences`. Must be a positive integer.
        decoding (`str`, *optional*): `"iterative"` (default: MaskGIT-style rounds that commit the most confident
            blanks) or `"one_pass"` (the paper's protocol); the pipeline calls `model.solve()`, so the model's
            recommended decoding (`config.sudoku_decoding`) applies.
        reveal_fraction, confidence_threshold, warm_start, rule_mask, num_copies, selection, seed (*optional*):
            decoding options of [`HyperSETForSudoku.solve`] (`rule_mask=True` uses the Sudoku rules, off by default;
            `num_copies=K` decodes K symmetric copies of each puzzle and keeps one by `selection`).
        check_givens (`bool`, *optional*, defaults to True): raise a `ValueError` for a puzzle whose givens repeat a
            digit in a row, column or box (such a puzzle has no solution).

    Returns:
        For one puzzle a `dict`, for a batch a list of them, with:
        - `puzzle` (`str`): the puzzle as 81 characters, `'0'` for blanks;
        - `solution` (`str`): the filled grid as 81 digits 1-9 (the givens are kept, the blanks get the most likely
          digit);
        - `grid` (`str`): the solution rendered by [`format_grid`] (9 x 9 with box separators);
        - `is_valid` (`bool`): whether `solution` is a complete, valid Sudoku that keeps the givens;
        - `problem` (`str` or `None`): why it is not valid (e.g. `"solution repeats digit 3 in column 4"`);
        - `confidence` (`float`): the mean over the blank cells of the probability of the committed digit when it
          was committed (1.0 without blanks);
        - `num_recurrences` (`int`): the iterations per round; `num_rounds` (`int`): the forward passes run (1 for
          one pass); `iterations_used` (`int`): all iterations over the rounds;
        - `committed_round` (`list` of 81 `int`): the round (0-based) in which each blank was committed, -1 for a given;
        - `energies`, `attention_energies`, `feedforward_energies`: the total / attention / feedforward energy of the
          initial state x_0 and after every iteration of the LAST round (the only round in one-pass decoding). For a
          one-layer model (the paper's Sudoku model) each is a list of `num_recurrences + 1` floats; for a model with
          several layers, a list with one such list per layer. `None` for the Transformer baseline
          (`config.layer_type="transformer"`), which has no energy.

    Raises:
        `ValueError`: for a malformed puzzle, naming the offending value and, in a batch, the puzzle's index
            (`"puzzle 2: invalid character 'x' at position 5"`, `"puzzle: expected 81 cells, got 80"`); for clashing
            givens (`"puzzle: digit 4 repeated in row 2"`); for a `num_recurrences` or `batch_size` that is not a
            positive integer; for a model (or checkpoint) of another kind, in one line naming it.
        `TypeError`: for an unknown parameter, or a `check_givens` that is not True or False.
    """

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, model, *args, **kwargs):
        if isinstance(model, UnsuitableCheckpoint) or not _is_sudoku_config(getattr(model, "config", None)):
            refuse_model(SUDOKU_SOLVING_TASK, model, SUDOKU_MODEL_KIND)
        if "batch_size" in kwargs:
            kwargs["batch_size"] = check_batch_size(kwargs["batch_size"])
        super().__init__(model, *args, **kwargs)
        self.model.eval()

    @property
    def is_energy_based(self) -> bool:
        return getattr(self.model.config, "layer_type", "hyperset") == "hyperset"

    def _sanitize_parameters(self, num_recurrences=None, check_givens=None, **kwargs):
        unknown = sorted(set(kwargs) - set(DECODING_OPTIONS))
        if unknown:
            raise TypeError(
                f"Unexpected parameter(s) for the sudoku-solving pipeline: {', '.join(unknown)}; the parameters are "
                f"num_recurrences, check_givens and {', '.join(DECODING_OPTIONS)}."
            )
        preprocess_params = {}
        forward_params = {name: value for name, value in kwargs.items() if value is not None}
        if num_recurrences is not None:
            forward_params["num_recurrences"] = as_count(num_recurrences, "num_recurrences")
        if check_givens is not None:
            if not isinstance(check_givens, (bool, np.bool_)):
                raise TypeError(f"`check_givens` must be True or False, got {check_givens!r}.")
            preprocess_params["check_givens"] = bool(check_givens)
        return preprocess_params, forward_params, {}

    def __call__(self, inputs, *args, **kwargs):
        """Solves one puzzle (returns a `dict`) or a list of puzzles (returns a list of `dict`); see the class
        docstring. Lists and arrays are parsed eagerly, so a malformed puzzle raises before any model computation,
        with its index in the batch."""
        if "batch_size" in kwargs:
            kwargs["batch_size"] = check_batch_size(kwargs["batch_size"])
        check_givens = kwargs.get("check_givens")
        if check_givens is None:
            check_givens = self._preprocess_params.get("check_givens", True)
        column_names = getattr(inputs, "column_names", None)
        if isinstance(column_names, list) and "puzzle" in column_names:  # a `datasets.Dataset` with a puzzle column
            inputs = list(inputs["puzzle"])
        if _is_single_puzzle(inputs):
            return super().__call__(self._parse(inputs, None, check_givens), *args, **kwargs)
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "USO":
            inputs = inputs.tolist()
        if isinstance(inputs, (np.ndarray, torch.Tensor)):
            inputs = list(inputs)
        if isinstance(inputs, Sequence) and not isinstance(inputs, (str, bytes)):
            if len(inputs) == 0:
                return []
            parsed = [self._parse(puzzle, index, check_givens) for index, puzzle in enumerate(inputs)]
            return super().__call__(parsed, *args, **kwargs)
        return super().__call__(inputs, *args, **kwargs)  # a dataset or generator, parsed lazily in `preprocess`

    @staticmethod
    def _parse(puzzle, index: int | None, check_givens: bool) -> _ParsedPuzzle:
        if isinstance(puzzle, Mapping) and "puzzle" in puzzle:  # a dataset row
            puzzle = puzzle["puzzle"]
        grid = parse_puzzle(puzzle, index)
        if check_givens:
            check_puzzle(grid, index, require_solvable=False)
        return _ParsedPuzzle(grid, index)

    def preprocess(self, inputs, check_givens: bool = True) -> dict[str, torch.Tensor]:
        if not isinstance(inputs, _ParsedPuzzle):
            inputs = self._parse(inputs, None, check_givens)
        return {"input_ids": torch.as_tensor(inputs.grid, dtype=torch.long).unsqueeze(0)}

    def _forward(self, model_inputs: dict[str, torch.Tensor], num_recurrences: int | None = None,
                 **decoding) -> dict[str, Any]:  # fmt: skip
        if num_recurrences is None:
            num_recurrences = as_count(self.model.config.num_recurrences, "num_recurrences")
        input_ids = model_inputs["input_ids"]
        # the givens were checked (or deliberately not) when the puzzle was parsed
        solution = self.model.solve(input_ids, num_recurrences, check_givens=False, return_dict=True, **decoding)
        result = {  # tensors with a leading batch dimension unbatch cleanly
            "input_ids": input_ids,
            "grids": solution.grids,
            "committed_round": solution.committed_round,
            "confidence": solution.confidence,
            "num_rounds": solution.num_rounds,
            "iterations_used": solution.iterations_used,
            "num_recurrences": torch.full((input_ids.shape[0],), num_recurrences, dtype=torch.long),
        }
        if solution.energy_trace is not None:  # (batch_size, total / attention / feedforward, layers, iterations + 1)
            for index, key in enumerate(("energies", "attention_energies", "feedforward_energies")):
                result[key] = solution.energy_trace[:, index]
        return result

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        """Turns the outputs for one puzzle (every tensor with a leading batch dimension of 1) into the result `dict`:
        `input_ids`, `grids`, `committed_round` `(1, 81)`, `confidence`, `num_rounds`, `iterations_used`,
        `num_recurrences` `(1,)` and, optionally, `energies`, `attention_energies`, `feedforward_energies`
        `(1, num_layers, num_recurrences + 1)`."""

        def first(key):  # the puzzle's entry
            return torch.as_tensor(model_outputs[key])[0]

        puzzle = first("input_ids").reshape(NUM_CELLS).long().cpu()
        solution = first("grids").reshape(NUM_CELLS).long().cpu()
        confidence = float(first("confidence"))
        puzzle_array = puzzle.numpy().astype(np.int8)
        solution_array = solution.numpy().astype(np.int8)
        is_valid, problem = validate_solution(solution_array, puzzle_array)
        if not is_valid and _first_repetition(puzzle_array) is None and solve(puzzle_array) is None:
            # not the model's fault: no grid completes these (non-clashing) givens
            problem = "the puzzle has no solution (its givens do not clash, but no valid grid completes them)"
        num_recurrences = model_outputs.get("num_recurrences")
        if num_recurrences is not None:
            num_recurrences = int(torch.as_tensor(num_recurrences).reshape(-1)[0])
        result = {
            "puzzle": grid_to_string(puzzle_array),
            "solution": grid_to_string(solution_array),
            "grid": format_grid(solution_array),
            "is_valid": is_valid,
            "problem": problem,
            "confidence": confidence,
            "num_recurrences": num_recurrences,
            "num_rounds": int(first("num_rounds")),
            "iterations_used": int(first("iterations_used")),
            "committed_round": first("committed_round").reshape(NUM_CELLS).tolist(),
        }
        for key in ("energies", "attention_energies", "feedforward_energies"):
            value = model_outputs.get(key)
            if value is None:
                result[key] = None
                continue
            per_layer = torch.as_tensor(value).float().cpu()
            per_layer = per_layer.reshape(-1, *per_layer.shape[-2:])[0]  # (num_layers, num_recurrences + 1)
            result[key] = per_layer[0].tolist() if per_layer.shape[0] == 1 else per_layer.tolist()
            if result["num_recurrences"] is None:
                result["num_recurrences"] = per_layer.shape[-1] - 1
        return result

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        # As `Pipeline.get_iterator`, but batches without a tokenizer: puzzles all have 81 cells, nothing to pad.
        return stacking_iterator(self, inputs, num_workers, batch_size, preprocess_params, forward_params,
                                 postprocess_params)  # fmt: skip


def register_sudoku_pipeline() -> None:
    """Registers the `"sudoku-solving"` task with `transformers.pipelines.PIPELINE_REGISTRY` (idempotent; done when
    this module is imported)."""
    registered = PIPELINE_REGISTRY.supported_tasks.get(SUDOKU_SOLVING_TASK)
    if registered is not None and registered.get("impl") is SudokuSolvingPipeline:
        return
    PIPELINE_REGISTRY.register_pipeline(
        SUDOKU_SOLVING_TASK,
        pipeline_class=SudokuSolvingPipeline,
        pt_model=task_model_loader(AutoModelForTokenClassification, _is_sudoku_config),
        type="text",
    )


register_sudoku_pipeline()
