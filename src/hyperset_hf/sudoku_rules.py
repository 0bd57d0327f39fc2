# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The rules of Sudoku at inference time: the one grid parser, the rule checks of puzzles and solutions, and an exact
bitmask solver (`solve`, `count_solutions`, the `search_effort` rating), and the validity-preserving symmetries
(`SudokuSymmetry`, `random_symmetry`: test-time copies in `HyperSETForSudoku.solve`, augmentation in training).

The `"sudoku-solving"` pipeline checks its inputs and its answers with these, so this module is flat and imports only
numpy and `input_checks`: `SudokuSolvingPipeline.save_pretrained` copies `pipeline_sudoku.py` and its relative imports
into the saved folder, whose `config.custom_pipelines` then runs without `hyperset_hf` installed. The data built on
these rules (the puzzle generator, augmentation, file formats, the named benchmark sets) is `hyperset_hf.data.sudoku`,
which re-exports every public name here.

A grid is 81 cells in row-major order, 0 = blank, digits 1-9, returned as `np.ndarray` of dtype `int8` and shape
`(81,)`; puzzle strings are 81 characters (`"0"` or `"."` for blanks on input, or a printed grid: `parse_grid` lists
the forms; always `"0"` on output). Rows, columns and boxes in error messages are numbered from 1 (box 1 = top left,
box 9 = bottom right); puzzle indices and string positions from 0.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .input_checks import SUDOKU_CELL_UNITS, as_count, first_clash  # the one rule check, shared with models, metric


__all__ = [
    "NUM_CELLS",
    "SudokuSymmetry",
    "apply_symmetry",
    "check_puzzle",
    "check_solution",
    "count_solutions",
    "grid_to_string",
    "parse_grid",
    "parse_grids",
    "permute_cells",
    "random_symmetry",
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


def _as_cells(puzzle) -> list[int]:
    """A puzzle in any form of `parse_grid` -> its 81 digits (0 = blank)."""
    return parse_grid(puzzle).tolist()


def count_solutions(puzzle: str | Sequence[int] | np.ndarray, limit: int = 2) -> int:
    """Counts the solutions of a puzzle, stopping at `limit`.

    Args:
        puzzle: the puzzle in any form of [`parse_grid`] (a string, 81 cells, 9 rows, an array or tensor), 0 = blank.
        limit (`int`, *optional*, defaults to 2): stop counting at this many solutions; `limit=2` answers "is the
            solution unique?" (1) versus "several" (2).

    Returns:
        `int`: the number of solutions, at most `limit` (0 if the givens contradict each other or no completion exists).
    """
    limit = as_count(limit, "limit", limit=2**62)
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
        puzzle: the puzzle in any form of [`parse_grid`] (a string, 81 cells, 9 rows, an array or tensor), 0 = blank.

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
        puzzle: the puzzle in any form of [`parse_grid`] (a string, 81 cells, 9 rows, an array or tensor), 0 = blank.

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


BLANK_CHARACTERS = "0.-_*"
"""The characters read as a blank cell in a grid string (and, in rows of at most 9 characters or in a line of exactly
81 characters, the space)."""
DRAWING_CHARACTERS = frozenset("|+,;[]()") | frozenset(map(chr, range(0x2500, 0x2580)))  # and the box-drawing block
"""Characters of a printed grid that are skipped wherever they stand (besides whitespace): box borders, separators
and brackets (a printed list or NumPy array parses)."""
RULE_CHARACTERS = frozenset("-=") | DRAWING_CHARACTERS
"""The characters of a drawn horizontal rule (`------+-------+------`): a line of only these is skipped."""
MAX_ROW_STRING_LENGTH = 40
"""A list of strings each at most this long is one grid given row by row (`["53..7....", ...]`), not a batch."""


def _prefix(index: int | None, what: str = "puzzle") -> str:
    return f"{what} {index}" if index is not None else what


def _cell(position: int) -> str:
    return f"cell {position} (row {position // 9 + 1}, column {position % 9 + 1})"


def first_invalid_character(text: str) -> int | None:
    """The position of the first character of `text` that can stand in no grid string (not a digit, a blank of
    `BLANK_CHARACTERS`, whitespace or a drawing character), or None."""
    allowed = RULE_CHARACTERS | frozenset(BLANK_CHARACTERS) | frozenset("0123456789")
    return next((position for position, char in enumerate(text) if char not in allowed and not char.isspace()), None)


def _line_cells(line: str) -> list[str]:
    """The cells of one line: its characters but whitespace and drawing characters; in a line of 9 or 81
    comma-separated fields, the fields (an empty field is a blank: `"5,3,,,7,,,,"`)."""
    if line.count(",") in (8, NUM_CELLS - 1):
        return ["".join(_line_cells(field)) for field in line.split(",")]
    return [character for character in line if not character.isspace() and character not in DRAWING_CHARACTERS]


def _text_cells(text: str, where: str) -> list[str]:
    """The cells of a grid string as characters (a space stands for a blank where spaces are blanks): one line (81
    cells, or exactly 81 characters with spaces as blanks), nine row lines (with box borders, separators and rule
    lines between them skipped; rows of at most 9 characters with spaces as blanks) or any other split of 81 cells."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) <= 1:
        line = lines[0] if lines else ""
        cells = _line_cells(line)
        if len(cells) != NUM_CELLS and len(line) == NUM_CELLS and all(c == " " or not c.isspace() for c in line) and (
            not any(c in DRAWING_CHARACTERS for c in line)
        ):  # 81 characters, spaces as blanks
            cells = list(line)
        return cells
    # several lines: rows (with cells), rules (only drawing characters), rows of blanks that look like a rule (nine
    # '-' and maybe '|'), and empty lines (a row of spaces, where spaces are blanks)
    kinds = []
    for line in lines:
        content = "".join(line.split())
        if not content:
            kinds.append("empty")
        elif set(content) <= RULE_CHARACTERS:
            kinds.append("blank row or rule" if set(content) <= {"-", "|"} and content.count("-") == 9 else "rule")
        else:
            kinds.append("row")
    for row_kinds in (("row",), ("row", "blank row or rule"), ("row", "blank row or rule", "empty")):
        rows = [line for line, kind in zip(lines, kinds) if kind in row_kinds]
        if len(rows) == 9:
            break
    else:
        return [cell for line, kind in zip(lines, kinds) if kind != "rule" for cell in _line_cells(line)]
    row_cells = [_line_cells(row) for row in rows]
    if all(len(cells) == 9 for cells in row_cells):
        return [cell for cells in row_cells for cell in cells]
    if any(" " in row.rstrip() for row in rows) and all(
        len(row.rstrip()) <= 9 and not any(c in DRAWING_CHARACTERS or c.isspace() and c != " " for c in row)
        for row in rows
    ):  # rows of up to 9 characters with spaces in them: spaces are blanks (trailing ones may be stripped)
        return [cell for row in rows for cell in row.rstrip().ljust(9)]
    number = next(number for number, cells in enumerate(row_cells, 1) if len(cells) != 9)
    raise ValueError(
        f"{where}: expected 9 cells in each of the 9 rows, got {len(row_cells[number - 1])} in row {number} "
        f"({rows[number - 1].strip()!r:.40})"
    )


def _nested_cells(grid, where: str) -> list:
    """The cells of a list or tuple grid: 81 cells, 9 rows of 9 cells (lists, tuples, arrays, tensors or strings),
    or lines of a printed grid (strings)."""
    items = list(grid)
    if items and all(isinstance(item, str) for item in items):
        if len(items) == NUM_CELLS:  # one string per cell (each checked as a cell)
            return items
        return _text_cells("\n".join(items), where)
    rows = [_as_list(item) for item in items]
    if not any(row is not None for row in rows):
        return items
    if not all(row is not None for row in rows):
        kinds = sorted({type(item).__name__ for item in items})
        raise ValueError(f"{where}: expected 81 cells or 9 rows of 9 cells, got a mix of rows and cells ({kinds})")
    lengths = [len(row) for row in rows]
    if len(rows) != 9 or any(length != 9 for length in lengths):
        raise ValueError(
            f"{where}: expected 81 cells in 9 rows of 9 (shape (9, 9)), got {sum(lengths)} in {len(rows)} rows of "
            f"{sorted(set(lengths))} cells"
        )
    return [cell for row in rows for cell in row]


def _as_list(value) -> list | None:
    """A row of a nested grid as a list of cells, or None when `value` is a cell."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return None if value.ndim == 0 else value.tolist()
    if isinstance(value, str):
        return None if len(value) <= 1 else _line_cells(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def _cell_digit(value, position: int, where: str, allow_blank: bool) -> int:
    """One cell -> its digit (0 = blank): a digit character or blank character, None (blank), or an integer number
    (Python, NumPy, integral floats, 0-d arrays and tensors)."""
    expected = "digits 0-9 (0 = blank)" if allow_blank else "digits 1-9"
    if hasattr(value, "detach") and hasattr(value, "item"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        if len(value) == 1 and value in "123456789":
            return int(value)
        if allow_blank and len(value) <= 1 and (value in BLANK_CHARACTERS or value in " "):  # ("" too)
            return 0
        expected_text = "digits 0-9 ('0' or '.' = blank)" if allow_blank else expected
        raise ValueError(f"{where}: expected {expected_text}, got {value!r} at {_cell(position)}")
    if value is None and allow_blank:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        what = f"the bool {value}" if isinstance(value, bool) else f"{value!r:.30} ({type(value).__name__})"
        raise ValueError(f"{where}: expected {expected}, got {what} at {_cell(position)}")
    if value != value or value != round(value) or not (0 if allow_blank else 1) <= value <= 9:
        raise ValueError(f"{where}: expected {expected}, got {value!r} at {_cell(position)}")
    return int(value)


def parse_grid(grid, index: int | None = None, what: str = "puzzle", allow_blank: bool = True) -> np.ndarray:
    """Parses one 81-cell grid: the package's one grid parser (data loaders, the pipeline, the command line, the
    metric).

    Accepted forms:
        - a string (or ASCII `bytes`): 81 cells, digits 1-9 and a blank character (`'0'`, `'.'`, `'-'`, `'_'` or
          `'*'`), whitespace, commas, brackets and the box-drawing characters `|` and `+` (and the Unicode
          box-drawing block) skipped (in 81 or 9-per-row comma-separated fields, an empty field is a blank, as in a
          CSV row; a printed list or NumPy array parses); or nine row lines separated by newlines, with rule lines
          such as `------+-------+------` between them skipped (so a printed grid, e.g. the output of `format_grid`,
          parses back). Spaces are blanks in a line of exactly 81 characters and in rows of at most 9 characters
          (`"53  7    "`); leading and trailing empty lines are ignored.
        - a list or tuple of 81 cells, of nine rows of nine cells, or of row strings (nine strings such as
          `"53..7...."`, or the lines of a printed grid). A cell is an integer 0-9 (Python, NumPy, an integral
          float, a 0-d array or tensor), a one-character string as above, or None (blank).
        - a NumPy array or torch tensor of shape `(81,)` or `(9, 9)` (or `(1, 81)`, `(1, 9, 9)`), integers or
          integral floats (or strings: as a list).

    Args:
        grid: the grid, in one of the forms above.
        index (`int`, *optional*): the grid's index, used in error messages (`"puzzle 3: ..."`).
        what (`str`, *optional*, defaults to `"puzzle"`): what the grid is, used in error messages.
        allow_blank (`bool`, *optional*, defaults to True): whether blanks are allowed (False for complete grids).

    Returns:
        `np.ndarray` of dtype `int8` and shape `(81,)`, 0 = blank.

    Raises:
        `ValueError`: naming the grid, the bad value and its cell, e.g. `"puzzle 17: expected 81 cells, got a string of
            80 characters"` or `"puzzle 3: expected digits 0-9 (0 = blank), got 12 at cell 7 (row 1, column 8)"`;
            bools and other non-digit cells are refused by name (a bool is not a digit).
    """
    where = _prefix(index, what)
    expected = "digits 0-9 (0 = blank)" if allow_blank else "digits 1-9"
    if isinstance(grid, (bytes, bytearray)):
        grid = bytes(grid).decode("ascii", errors="replace")
    if isinstance(grid, str):
        text = grid.strip()
        if (_GRID_PATTERN if allow_blank else _COMPLETE_GRID_PATTERN).fullmatch(text) is not None:  # the plain form
            return (np.frombuffer(text.replace(".", "0").encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
        cells = _text_cells(grid, where)
        if len(cells) != NUM_CELLS:
            plain = len(cells) == len("".join(text.split()))
            got = f"a string of {len(cells)} characters" if plain else f"{len(cells)} (grid drawing skipped)"
            raise ValueError(f"{where}: expected {NUM_CELLS} cells, got {got}")
        return np.array([_cell_digit(cell, position, where, allow_blank) for position, cell in enumerate(cells)],
                        dtype=np.int8)  # fmt: skip
    if hasattr(grid, "detach") and hasattr(grid, "cpu"):  # a torch tensor
        grid = grid.detach().cpu().numpy()
    if isinstance(grid, np.ndarray) and grid.dtype.kind in "USO" and grid.ndim > 0:
        grid = grid.tolist()
    if isinstance(grid, (list, tuple)):
        flat_numbers = all(type(cell) in (int, float) for cell in grid)  # the common form, checked as an array
        if not flat_numbers:
            cells = _nested_cells(grid, where)
            if len(cells) != NUM_CELLS:
                raise ValueError(f"{where}: expected {NUM_CELLS} cells, got {len(cells)}")
            return np.array([_cell_digit(cell, position, where, allow_blank) for position, cell in enumerate(cells)],
                            dtype=np.int8)  # fmt: skip
    try:
        array = np.asarray(grid)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: expected 81 cells (a sequence of integers or an 81-character string)") from None
    if array.ndim == 0:
        if not isinstance(grid, (numbers.Number, np.generic, np.ndarray)):  # a set, a dict, an object
            raise ValueError(
                f"{where}: expected a grid of 81 cells (a string, 81 cells or 9 rows in order, an array), got "
                f"{type(grid).__name__} {grid!r:.40}"
            )
        raise ValueError(f"{where}: expected a grid of 81 cells, got the scalar {grid!r:.60} (pass one grid per board)")
    if array.size != NUM_CELLS:
        raise ValueError(f"{where}: expected {NUM_CELLS} cells, got {array.size}")
    if array.shape in ((1, NUM_CELLS), (1, 9, 9)):  # a batch of one
        array = array[0]
    if array.shape not in ((NUM_CELLS,), (9, 9)):
        raise ValueError(f"{where}: expected {NUM_CELLS} cells of shape (81,) or (9, 9), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{where}: expected integer cells ({expected}), got dtype {array.dtype}")
    flat = array.reshape(NUM_CELLS)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~((flat >= (0 if allow_blank else 1)) & (flat <= 9) & (flat == np.round(flat))))
    if bad.size:
        raise ValueError(f"{where}: expected {expected}, got {flat[bad[0]].item()!r} at {_cell(int(bad[0]))}")
    return flat.astype(np.int8)


def parse_grids(grids, what: str, allow_blank: bool = True) -> np.ndarray:
    """A batch of grids -> `int8` array of shape `(num_grids, 81)`; errors name the grid as `what[index]`.

    Accepted forms: a list or tuple of grids in any form of [`parse_grid`] (strings, lists of 81 cells, nine rows,
    row strings), or a NumPy array / torch tensor of shape `(N, 81)` or `(N, 9, 9)` (integer arrays are checked in
    one vectorised pass). A single string is refused (one grid is not a batch)."""
    if isinstance(grids, (str, bytes)):
        raise ValueError(f"{what}: expected a list of grids (one per board), got a single string")
    if hasattr(grids, "detach") and hasattr(grids, "cpu"):  # a torch tensor
        grids = grids.detach().cpu().numpy()
    try:
        array = np.asarray(grids)
    except (ValueError, TypeError):
        array = None
    if (
        array is not None
        and array.ndim in (2, 3)
        and array.shape[1:] in ((NUM_CELLS,), (9, 9))
        and (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))
        and not _holds_bool(grids)
    ):
        flat = array.reshape(len(array), NUM_CELLS)
        with np.errstate(invalid="ignore"):
            bad = (~((flat >= (0 if allow_blank else 1)) & (flat <= 9) & (flat == np.round(flat)))).any(axis=1)
        if bad.any():
            index = int(np.argmax(bad))
            parse_grid(flat[index], what=f"{what}[{index}]", allow_blank=allow_blank)  # raises the detailed error
        return flat.astype(np.int8)
    if not hasattr(grids, "__iter__") or isinstance(grids, np.ndarray) and grids.ndim == 0:
        raise ValueError(f"{what}: expected a list of grids (one per board), got {type(grids).__name__}")
    parsed = [parse_grid(grid, what=f"{what}[{index}]", allow_blank=allow_blank) for index, grid in enumerate(grids)]
    return np.stack(parsed) if parsed else np.zeros((0, NUM_CELLS), dtype=np.int8)


def _holds_bool(grids) -> bool:
    """Whether a list of grids has a Python bool cell (NumPy would silently read it as 0 or 1)."""
    if not isinstance(grids, (list, tuple)):
        return False
    return any(isinstance(cell, bool) or isinstance(cell, (list, tuple)) and any(isinstance(c, bool) for c in cell)
               for grid in grids if isinstance(grid, (list, tuple)) for cell in grid)  # fmt: skip


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


# ------------------------------------------------------------------------------------------------------------------
# Symmetries
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SudokuSymmetry:
    """One element of the validity-preserving symmetry group of Sudoku.

    Applied as: optional transpose, then `new[r, c] = old[row_order[r], column_order[c]]`, then digit relabelling
    `d -> digit_map[d]` (with `digit_map[0] == 0`, so blanks stay blank).

    Attributes:
        digit_map (`tuple` of 10 `int`): `digit_map[d]` is the new digit for digit `d`; a permutation of 1-9 after 0.
        row_order (`tuple` of 9 `int`): source row of each new row; keeps bands together (a band permutation composed
            with permutations of the rows inside each band).
        column_order (`tuple` of 9 `int`): the same for columns and stacks.
        transpose (`bool`): whether the grid is transposed first.
    """

    digit_map: tuple[int, ...]
    row_order: tuple[int, ...]
    column_order: tuple[int, ...]
    transpose: bool = False

    def __call__(self, grid):
        return apply_symmetry(grid, self)

    @classmethod
    def identity(cls) -> SudokuSymmetry:
        return cls(tuple(range(10)), tuple(range(9)), tuple(range(9)), False)

    def inverse(self) -> SudokuSymmetry:
        """The symmetry that undoes this one: `apply_symmetry(apply_symmetry(grid, s), s.inverse())` is `grid`.

        Writing `s` as `new[r, c] = map[old'[row_order[r], column_order[c]]]` with `old'` the (optionally transposed)
        grid, the inverse undoes the digit map with its inverse permutation and the line orders with their inverse
        permutations. Without transpose these stay rows and columns. With transpose the inverse must move the cells
        back before transposing them back, and transposing first (the field semantics) swaps the roles: the inverse
        rows come from the inverse column order and vice versa. Either way the result is again a `SudokuSymmetry`
        (band-preserving line orders stay band-preserving), with the same `transpose`.

        To move per-cell values that are not digits (confidences, logits) back to their cells, use `permute_cells`
        with the inverse.

        Example:

        ```python
        >>> import numpy as np
        >>> from hyperset_hf.data.sudoku import apply_symmetry, random_symmetry
        >>> puzzle = "800000000003600000070090200050007000000045700000100030001000068008500010090000400"
        >>> symmetry = random_symmetry(np.random.default_rng(0))
        >>> transformed = apply_symmetry(puzzle, symmetry)
        >>> apply_symmetry(transformed, symmetry.inverse()) == puzzle
        True
        >>> symmetry.inverse().inverse() == symmetry
        True

        ```
        """
        digit_map = [0] * 10
        for digit, new_digit in enumerate(self.digit_map):
            digit_map[new_digit] = digit
        row_inverse = tuple(int(i) for i in np.argsort(self.row_order))
        column_inverse = tuple(int(i) for i in np.argsort(self.column_order))
        if self.transpose:
            # s: G -> C with C[r, c] = G[column_order[c], row_order[r]] (digits aside), so
            # G[i, j] = C[row_inverse[j], column_inverse[i]] = C^T[column_inverse[i], row_inverse[j]]
            return SudokuSymmetry(tuple(digit_map), column_inverse, row_inverse, True)
        return SudokuSymmetry(tuple(digit_map), row_inverse, column_inverse, False)


def _random_line_order(rng: np.random.Generator) -> tuple[int, ...]:
    bands = rng.permutation(3)
    return tuple(int(3 * band + offset) for band in bands for offset in rng.permutation(3))


def random_symmetry(rng: np.random.Generator, allow_transpose: bool = True) -> SudokuSymmetry:
    """Draws a uniformly random element of the symmetry group (see `SudokuSymmetry`).

    Args:
        rng (`np.random.Generator`): source of randomness.
        allow_transpose (`bool`, *optional*, defaults to True): whether a transpose may be included (probability 1/2).

    Returns:
        `SudokuSymmetry`, callable on grids.
    """
    digit_map = (0, *(int(d) + 1 for d in rng.permutation(9)))
    row_order = _random_line_order(rng)
    column_order = _random_line_order(rng)
    transpose = bool(rng.integers(2)) if allow_transpose else False
    return SudokuSymmetry(digit_map, row_order, column_order, transpose)


def apply_symmetry(grid, transformation: SudokuSymmetry):
    """Applies a symmetry to one grid or a batch of grids.

    Args:
        grid (`str`, or array-like of shape `(..., 81)` or `(..., 9, 9)` with 0 = blank): the grid(s).
        transformation (`SudokuSymmetry`): the symmetry.

    Returns:
        The transformed grid(s): a `str` for a `str` input, else an `np.ndarray` of the input's shape and dtype.
    """
    as_string = isinstance(grid, str)
    array = parse_grid(grid) if as_string else np.asarray(grid)
    shape = array.shape
    cells = array.reshape(*shape[: -2 if shape[-2:] == (9, 9) else -1], 9, 9)
    if transformation.transpose:
        cells = np.swapaxes(cells, -1, -2)
    cells = cells[..., list(transformation.row_order), :][..., list(transformation.column_order)]
    cells = np.asarray(transformation.digit_map, dtype=array.dtype)[cells]
    result = cells.reshape(shape)
    return grid_to_string(result) if as_string else result


def _cell_sources(transformation: SudokuSymmetry) -> np.ndarray:
    """`sources[k]`: the cell (0-80, row-major) whose value `apply_symmetry` moves to cell `k`."""
    cells = np.arange(NUM_CELLS).reshape(9, 9)
    if transformation.transpose:
        cells = cells.T
    return cells[list(transformation.row_order)][:, list(transformation.column_order)].reshape(NUM_CELLS)


def permute_cells(values, transformation: SudokuSymmetry, cell_axis: int = -1, digit_axis: int | None = None):
    """Moves per-cell values of any dtype the way `apply_symmetry` moves the cells of a grid, without relabelling
    them as digits (unless `digit_axis` is given).

    Use it to carry per-cell outputs (confidences, logits, masks) along with a symmetry, and with
    `transformation.inverse()` to bring outputs computed on a transformed puzzle back to the original cells (e.g. for
    test-time augmentation). Per-cell confidences only move; digit scores (logits or probabilities over the digits
    1-9) also need their digit axis relabelled: pass `digit_axis`, then `out[..., digit_map[d] - 1] = in[..., d - 1]`,
    so the argmax digit of the result equals `apply_symmetry` of the argmax digit of `values`.

    Args:
        values (`np.ndarray`, `torch.Tensor` or array-like): per-cell values with an axis of 81 cells in row-major
            order, e.g. `(81,)` confidences, `(B, 81)` or `(81, 9)` / `(B, 81, 9)` logits.
        transformation (`SudokuSymmetry`): the symmetry (its `inverse()` to map back).
        cell_axis (`int`, *optional*, defaults to -1): the axis of the 81 cells.
        digit_axis (`int`, *optional*): an axis of 9 digit scores (digits 1-9) to relabel with `digit_map`; by default
            nothing is relabelled.

    Returns:
        The moved values: same type (NumPy array or torch tensor), shape and dtype as `values`.

    Example:

    ```python
    >>> import numpy as np
    >>> from hyperset_hf.data.sudoku import apply_symmetry, permute_cells, random_symmetry
    >>> symmetry = random_symmetry(np.random.default_rng(0))
    >>> confidence = np.linspace(0.0, 1.0, 81)  # computed on the transformed puzzle
    >>> back = permute_cells(confidence, symmetry.inverse())  # each value back on its original cell
    >>> bool((permute_cells(back, symmetry) == confidence).all())
    True
    >>> logits = np.random.default_rng(1).normal(size=(81, 9))  # (cells, digits 1-9) on the transformed puzzle
    >>> original = permute_cells(logits, symmetry.inverse(), cell_axis=0, digit_axis=1)
    >>> bool((original.argmax(-1) + 1 == apply_symmetry(logits.argmax(-1) + 1, symmetry.inverse())).all())
    True

    ```
    """
    if not hasattr(values, "index_select"):  # not a torch tensor
        values = np.asarray(values)
    shape = tuple(values.shape)
    if not -len(shape) <= cell_axis < len(shape) or shape[cell_axis] != NUM_CELLS:
        raise ValueError(f"cell_axis {cell_axis} of values with shape {shape} must have {NUM_CELLS} cells")
    indices = [(cell_axis, _cell_sources(transformation))]
    if digit_axis is not None:
        if not -len(shape) <= digit_axis < len(shape) or shape[digit_axis] != 9:
            raise ValueError(f"digit_axis {digit_axis} of values with shape {shape} must have 9 digits (1-9)")
        digit_inverse = np.argsort(transformation.digit_map[1:])  # new digit index -> old digit index
        indices.append((digit_axis, digit_inverse))
    for axis, index in indices:
        if isinstance(values, np.ndarray):
            values = np.take(values, index, axis=axis)
        else:  # a torch tensor (kept on its device)
            import torch

            values = values.index_select(axis, torch.as_tensor(index, device=values.device))
    return values
