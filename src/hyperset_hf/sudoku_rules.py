# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The rules of Sudoku at inference time: the one grid parser, the rule checks of puzzles and solutions, and an exact
bitmask solver (`solve`, `count_solutions`, the `search_effort` rating).

The `"sudoku-solving"` pipeline checks its inputs and its answers with these, so this module is flat and imports only
numpy and `input_checks`: `SudokuSolvingPipeline.save_pretrained` copies `pipeline_sudoku.py` and its relative imports
into the saved folder, whose `config.custom_pipelines` then runs without `hyperset_hf` installed. The data built on
these rules (the puzzle generator, symmetries, file formats, the named benchmark sets) is `hyperset_hf.data.sudoku`,
which re-exports every public name here.

A grid is 81 cells in row-major order, 0 = blank, digits 1-9, returned as `np.ndarray` of dtype `int8` and shape
`(81,)`; puzzle strings are 81 characters (`"0"` or `"."` for blanks on input, always `"0"` on output). Rows, columns
and boxes in error messages are numbered from 1 (box 1 = top left, box 9 = bottom right); puzzle indices and string
positions from 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .input_checks import SUDOKU_CELL_UNITS, first_clash  # the one rule check, shared with the models and metric


__all__ = [
    "NUM_CELLS",
    "check_puzzle",
    "check_solution",
    "count_solutions",
    "grid_to_string",
    "parse_grid",
    "parse_grids",
    "search_effort",
    "solve",
]

NUM_CELLS = 81


# ------------------------------------------------------------------------------------------------------------------
# Bitmask backtracking solver
# ------------------------------------------------------------------------------------------------------------------
# Digit d (1..9) is bit (d - 1). `units` is one list of 27 masks of the digits already used: rows 0-8, columns 9-17,
# boxes 18-26. `_CELL_UNITS[cell]` are the three unit indices of a cell.

_ALL_DIGITS = 0x1FF
_CELL_UNITS = tuple(tuple(units) for units in SUDOKU_CELL_UNITS.tolist())
_POPCOUNT = tuple(bin(mask).count("1") for mask in range(512))
_BIT_TO_DIGIT = {1 << d: d + 1 for d in range(9)}
_MASK_BITS = tuple(tuple(1 << d for d in range(9) if mask >> d & 1) for mask in range(512))


def _initial_state(cells: Sequence[int]) -> tuple[list[int], list[int], list[int]] | None:
    """Unit masks, the list of blank cells and a mutable copy of the digits; None if two givens clash."""
    units = [0] * 27
    empties = []
    for cell, digit in enumerate(cells):
        if digit:
            bit = 1 << (digit - 1)
            a, b, c = _CELL_UNITS[cell]
            if (units[a] | units[b] | units[c]) & bit:
                return None
            units[a] |= bit
            units[b] |= bit
            units[c] |= bit
        else:
            empties.append(cell)
    return units, empties, list(cells)


def _search(
    units: list[int], empties: list[int], grid: list[int], limit: int, found: list | None, guesses: list | None = None
) -> int:
    """Counts the completions of `grid` up to `limit` by depth-first search with the minimum-remaining-values rule
    (a cell with a single candidate is filled at once, i.e. naked singles propagate). Restores all its arguments.
    `guesses[0]`, when given, is increased by one for every branching node (a cell with two or more candidates)."""
    if not empties:
        if found is not None:
            found.append(list(grid))
        return 1
    best_count = 10
    best_position = 0
    best_mask = 0
    position = 0
    for cell in empties:
        a, b, c = _CELL_UNITS[cell]
        mask = _ALL_DIGITS & ~(units[a] | units[b] | units[c])
        count = _POPCOUNT[mask]
        if count < best_count:
            if count == 0:
                return 0
            best_count = count
            best_position = position
            best_mask = mask
            if count == 1:
                break
        position += 1
    if guesses is not None and best_count > 1:
        guesses[0] += 1
    cell = empties[best_position]
    last = empties.pop()
    if best_position < len(empties):
        empties[best_position] = last
    a, b, c = _CELL_UNITS[cell]
    total = 0
    for bit in _MASK_BITS[best_mask]:
        units[a] |= bit
        units[b] |= bit
        units[c] |= bit
        grid[cell] = _BIT_TO_DIGIT[bit]
        total += _search(units, empties, grid, limit - total, found, guesses)
        units[a] ^= bit
        units[b] ^= bit
        units[c] ^= bit
        if total >= limit:
            break
    grid[cell] = 0
    if best_position < len(empties):
        empties.append(empties[best_position])
        empties[best_position] = cell
    else:
        empties.append(cell)
    return total


def _as_cells(puzzle: str | Sequence[int] | np.ndarray) -> list[int]:
    if isinstance(puzzle, str):
        return parse_grid(puzzle).tolist()
    cells = np.asarray(puzzle).reshape(-1).tolist()
    if len(cells) != NUM_CELLS or any(not 0 <= digit <= 9 for digit in cells):
        return parse_grid(puzzle).tolist()  # raises the descriptive error
    return cells


def count_solutions(puzzle: str | Sequence[int] | np.ndarray, limit: int = 2) -> int:
    """Counts the solutions of a puzzle, stopping at `limit`.

    Args:
        puzzle (`str` or sequence of `int` or `np.ndarray` of shape `(81,)` or `(9, 9)`): the puzzle, 0 = blank.
        limit (`int`, *optional*, defaults to 2): stop counting at this many solutions; `limit=2` answers "is the
            solution unique?" (1) versus "several" (2).

    Returns:
        `int`: the number of solutions, at most `limit` (0 if the givens contradict each other or no completion exists).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    state = _initial_state(_as_cells(puzzle))
    if state is None:
        return 0
    units, empties, grid = state
    return _search(units, empties, grid, limit, None)


def search_effort(puzzle: str | Sequence[int] | np.ndarray) -> int:
    """The difficulty rating of the hard Sudoku set: how many guesses this module's solver makes to solve a puzzle
    and prove its solution unique.

    The solver fills cells with a single candidate at once (naked singles) and otherwise branches on the blank cell
    with the fewest candidates (the first one in row-major order among equals). The rating is the number of branching
    nodes in the whole search tree explored by `count_solutions(puzzle, limit=2)`; since that tree is explored to the
    end for a puzzle with one solution, the rating does not depend on the order in which candidates are tried. 0 means
    naked singles alone solve the puzzle.

    Args:
        puzzle (`str` or sequence of `int` or `np.ndarray` of shape `(81,)` or `(9, 9)`): the puzzle, 0 = blank.

    Returns:
        `int`: the number of guesses (0 if the givens contradict each other).

    Example:

    ```python
    >>> from hyperset_hf.sudoku_rules import search_effort
    >>> search_effort("0" * 81) > 0  # an empty grid needs guesses
    True
    ```
    """
    state = _initial_state(_as_cells(puzzle))
    if state is None:
        return 0
    units, empties, grid = state
    guesses = [0]
    _search(units, empties, grid, 2, None, guesses)
    return guesses[0]


def _solutions(cells: list[int], limit: int) -> list[list[int]]:
    state = _initial_state(cells)
    if state is None:
        return []
    units, empties, grid = state
    found: list[list[int]] = []
    _search(units, empties, grid, limit, found)
    return found


def solve(puzzle: str | Sequence[int] | np.ndarray) -> np.ndarray | None:
    """Solves a puzzle (the first solution found if there are several).

    Args:
        puzzle (`str` or sequence of `int` or `np.ndarray` of shape `(81,)` or `(9, 9)`): the puzzle, 0 = blank.

    Returns:
        `np.ndarray` of dtype `int8` and shape `(81,)` with digits 1-9, or `None` if the puzzle has no solution.
    """
    found = _solutions(_as_cells(puzzle), 1)
    return np.asarray(found[0], dtype=np.int8) if found else None


def grid_to_string(grid: Sequence[int] | np.ndarray) -> str:
    """81 digits as an 81-character string with '0' for blanks."""
    return "".join(map(str, np.asarray(grid).reshape(-1).tolist()))


# ------------------------------------------------------------------------------------------------------------------
# Parsing and rule checks
# ------------------------------------------------------------------------------------------------------------------


def _prefix(index: int | None, what: str = "puzzle") -> str:
    return f"{what} {index}" if index is not None else what


def parse_grid(grid, index: int | None = None, what: str = "puzzle", allow_blank: bool = True) -> np.ndarray:
    """Parses one 81-cell grid: the package's one grid parser (data loaders, the pipeline, the metric).

    Args:
        grid (`str`, `bytes`, or array-like of 81 integers, flat or of shape `(9, 9)`): digits 1-9, and `'0'` or `'.'`
            (strings) or 0 (arrays) for blanks. Surrounding whitespace of a string is ignored.
        index (`int`, *optional*): the grid's index, used in error messages (`"puzzle 3: ..."`).
        what (`str`, *optional*, defaults to `"puzzle"`): what the grid is, used in error messages.
        allow_blank (`bool`, *optional*, defaults to True): whether blanks are allowed (False for complete grids).

    Returns:
        `np.ndarray` of dtype `int8` and shape `(81,)`, 0 = blank.

    Raises:
        `ValueError`: naming the grid, the bad value and its cell, e.g. `"puzzle 17: expected 81 cells, got a string of
            80 characters"` or `"puzzle 3: expected digits 0-9 (0 = blank), got 12 at cell 7 (row 1, column 8)"`.
    """
    where = _prefix(index, what)
    expected = "digits 0-9 (0 = blank)" if allow_blank else "digits 1-9"
    if isinstance(grid, bytes):
        grid = grid.decode("ascii", errors="replace")
    if isinstance(grid, str):
        text = grid.strip()
        if len(text) != NUM_CELLS:
            raise ValueError(f"{where}: expected {NUM_CELLS} cells, got a string of {len(text)} characters")
        if (_GRID_PATTERN if allow_blank else _COMPLETE_GRID_PATTERN).fullmatch(text) is None:
            allowed = "0123456789." if allow_blank else "123456789"
            position = next(position for position, character in enumerate(text) if character not in allowed)
            expected_text = "digits 0-9 ('0' or '.' = blank)" if allow_blank else expected
            raise ValueError(f"{where}: expected {expected_text}, got {text[position]!r} at {_cell(position)}")
        return (np.frombuffer(text.replace(".", "0").encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
    try:
        array = np.asarray(grid)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: expected 81 cells (a sequence of integers or an 81-character string)") from None
    if array.ndim == 0:
        raise ValueError(f"{where}: expected a grid of 81 cells, got the scalar {grid!r} (pass one grid per board)")
    if array.size != NUM_CELLS:
        raise ValueError(f"{where}: expected {NUM_CELLS} cells, got {array.size}")
    if array.shape not in ((NUM_CELLS,), (9, 9)):
        raise ValueError(f"{where}: expected {NUM_CELLS} cells of shape (81,) or (9, 9), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{where}: expected integer cells ({expected}), got dtype {array.dtype}")
    flat = array.reshape(NUM_CELLS)
    bad = np.flatnonzero((flat < (0 if allow_blank else 1)) | (flat > 9) | (flat != np.round(flat)))
    if bad.size:
        raise ValueError(f"{where}: expected {expected}, got {flat[bad[0]].item()!r} at {_cell(int(bad[0]))}")
    return flat.astype(np.int8)


def parse_grids(grids, what: str, allow_blank: bool = True) -> np.ndarray:
    """A batch of grids -> `int8` array of shape `(num_grids, 81)`; errors name the grid as `what[index]`. Integer
    arrays of shape `(N, 81)` or `(N, 9, 9)` are checked in one vectorised pass; anything else grid by grid."""
    if isinstance(grids, (str, bytes)):
        raise ValueError(f"{what}: expected a list of grids (one per board), got a single string")
    try:
        array = np.asarray(grids)
    except (ValueError, TypeError):
        array = None
    if (
        array is not None
        and array.ndim in (2, 3)
        and array.shape[1:] in ((NUM_CELLS,), (9, 9))
        and (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))
    ):
        flat = array.reshape(len(array), NUM_CELLS)
        bad = ((flat < (0 if allow_blank else 1)) | (flat > 9) | (flat != np.round(flat))).any(axis=1)
        if bad.any():
            index = int(np.argmax(bad))
            parse_grid(flat[index], what=f"{what}[{index}]", allow_blank=allow_blank)  # raises the detailed error
        return flat.astype(np.int8)
    parsed = [parse_grid(grid, what=f"{what}[{index}]", allow_blank=allow_blank) for index, grid in enumerate(grids)]
    return np.stack(parsed) if parsed else np.zeros((0, NUM_CELLS), dtype=np.int8)


def _cell(position: int) -> str:
    return f"cell {position} (row {position // 9 + 1}, column {position % 9 + 1})"


_GRID_PATTERN = re.compile(r"[0-9.]{81}")
_COMPLETE_GRID_PATTERN = re.compile(r"[1-9]{81}")


def _first_repetition(grid: np.ndarray) -> tuple[int, str, int] | None:
    """(digit, unit name, unit number from 1) of the first repeated digit of one grid, or None."""
    clash = first_clash(np.asarray(grid)[None])
    return None if clash is None else clash[1:]


def check_puzzle(puzzle, index: int | None = None, solution=None, require_solvable: bool = True) -> np.ndarray:
    """Checks a puzzle (and its solution, if given) and returns the parsed puzzle.

    Args:
        puzzle (`str` or array-like): the puzzle, see `parse_grid`.
        index (`int`, *optional*): the puzzle's index, used in error messages.
        solution (`str` or array-like, *optional*): if given, checked with `check_solution` (then the puzzle is solvable
            by construction and the solver is not run).
        require_solvable (`bool`, *optional*, defaults to True): without a solution, run the solver and raise if the
            puzzle has no solution. Uniqueness is not required.

    Returns:
        `np.ndarray` of dtype `int8` and shape `(81,)`.

    Raises:
        `ValueError`: with messages such as `"puzzle 5: digit 4 repeated in row 2"` or `"puzzle 8: has no solution"`.
    """
    grid = parse_grid(puzzle, index)
    repetition = _first_repetition(grid)
    if repetition is not None:
        digit, name, number = repetition
        raise ValueError(f"{_prefix(index)}: digit {digit} repeated in {name} {number}")
    if solution is not None:
        check_solution(solution, grid, index)
    elif require_solvable and solve(grid) is None:
        raise ValueError(f"{_prefix(index)}: has no solution")
    return grid


def check_solution(solution, puzzle=None, index: int | None = None) -> np.ndarray:
    """Checks that a solution is complete and valid and agrees with the puzzle's givens; returns the parsed solution.

    Raises:
        `ValueError`: e.g. `"puzzle 9: solution is incomplete (blank at row 1, column 2)"`,
            `"puzzle 9: solution repeats digit 3 in column 4"`,
            `"puzzle 9: solution disagrees with given 7 at row 1, column 3"`.
    """
    prefix = _prefix(index)
    grid = parse_grid(solution, index, what="solution of puzzle" if index is not None else "solution")
    blanks = np.flatnonzero(grid == 0)
    if blanks.size:
        row, column = divmod(int(blanks[0]), 9)
        raise ValueError(f"{prefix}: solution is incomplete (blank at row {row + 1}, column {column + 1})")
    repetition = _first_repetition(grid)
    if repetition is not None:
        digit, name, number = repetition
        raise ValueError(f"{prefix}: solution repeats digit {digit} in {name} {number}")
    if puzzle is not None:
        givens = parse_grid(puzzle, index)
        disagreements = np.flatnonzero((givens > 0) & (givens != grid))
        if disagreements.size:
            cell = int(disagreements[0])
            row, column = divmod(cell, 9)
            raise ValueError(
                f"{prefix}: solution disagrees with given {int(givens[cell])} at row {row + 1}, column {column + 1}"
            )
    return grid
