# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the Sudoku data pipeline: solver, seeded generator, symmetries, loaders, benchmark cache."""

import re

import numpy as np
import pytest
import torch

from hyperset_hf.data import sudoku as sd


# Arto Inkala's "world's hardest Sudoku" (2012) and its unique solution.
HARD_PUZZLE = "800000000003600000070090200050007000000045700000100030001000068008500010090000400"
HARD_SOLUTION = "812753649943682175675491283154237896369845721287169534521974368438526917796318452"
# Givens are consistent (no repeated digit) but cell (row 1, column 9) has no candidate left.
NO_SOLUTION_PUZZLE = "123456780" + "000000009" + "0" * 63


def is_valid_solution(grid):
    cells = np.asarray(grid).reshape(9, 9)
    boxes = cells.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 9)
    digits = np.arange(1, 10)
    return all((np.sort(line) == digits).all() for lines in (cells, cells.T, boxes) for line in lines)


def as_grid(text):
    return np.array([int(c) for c in text], dtype=np.int8)


@pytest.fixture(scope="module")
def generated_pairs():
    """30 puzzles: 6 at each of 23, 27, 31, 36 and 42 givens."""
    rng = np.random.default_rng(1234)
    pairs = []
    for num_givens in (23, 27, 31, 36, 42):
        for _ in range(6):
            puzzle, solution = sd.generate_puzzle(num_givens, rng)
            pairs.append((num_givens, puzzle, solution))
    return pairs


@pytest.fixture(scope="module")
def small_dataset():
    return sd.generate_sudoku_dataset(12, 28, 40, seed=7)


# -------------------------------------------------------------------------------------------------------------- solver


def test_solver_solves_known_hard_puzzle():
    assert sd.count_solutions(HARD_PUZZLE) == 1
    solution = sd.solve(HARD_PUZZLE)
    assert solution.dtype == np.int8 and solution.shape == (81,)
    assert sd.grid_to_string(solution) == HARD_SOLUTION


def find_deadly_rectangle(solution):
    """Cells (r1,c1),(r1,c2),(r2,c1),(r2,c2) with r1,r2 in one band, c1,c2 in different stacks and digits a,b,b,a."""
    grid = solution.reshape(9, 9)
    for r1 in range(9):
        for r2 in range(r1 + 1, (r1 // 3 + 1) * 3):
            for c1 in range(9):
                for c2 in range((c1 // 3 + 1) * 3, 9):
                    if grid[r1, c1] == grid[r2, c2] and grid[r1, c2] == grid[r2, c1]:
                        return [r1 * 9 + c1, r1 * 9 + c2, r2 * 9 + c1, r2 * 9 + c2]
    return None


def test_puzzle_with_two_solutions_counts_two():
    rng = np.random.default_rng(0)
    for _ in range(200):
        solution = sd.random_solution(rng)
        cells = find_deadly_rectangle(solution)
        if cells is not None:
            break
    assert cells is not None
    puzzle = solution.copy()
    puzzle[cells] = 0
    assert sd.count_solutions(puzzle) == 2
    assert sd.count_solutions(puzzle, limit=5) == 2
    assert sd.count_solutions(puzzle, limit=1) == 1
    assert sd.count_solutions("0" * 81, limit=7) == 7  # the empty grid: stops at the limit
    assert sd.count_solutions(solution) == 1


def test_solver_reports_unsolvable_and_contradictory_puzzles():
    assert sd.count_solutions(NO_SOLUTION_PUZZLE) == 0
    assert sd.solve(NO_SOLUTION_PUZZLE) is None
    contradictory = "11" + "0" * 79
    assert sd.count_solutions(contradictory) == 0
    assert sd.solve(contradictory) is None


# ----------------------------------------------------------------------------------------------------------- generator


def test_generated_puzzles_are_unique_with_exact_givens(generated_pairs):
    assert len(generated_pairs) == 30
    for num_givens, puzzle, solution in generated_pairs:
        assert puzzle.dtype == np.int8 and puzzle.shape == (81,)
        assert int((puzzle > 0).sum()) == num_givens
        assert sd.count_solutions(puzzle, limit=10) == 1
        assert is_valid_solution(solution)
        givens = puzzle > 0
        assert (puzzle[givens] == solution[givens]).all()
        assert (sd.solve(puzzle) == solution).all()


def test_random_solution_is_valid_and_seeded():
    first = [sd.random_solution(np.random.default_rng(5)) for _ in range(2)]
    assert (first[0] == first[1]).all()
    assert is_valid_solution(first[0])
    other = sd.random_solution(np.random.default_rng(6))
    assert is_valid_solution(other) and not (other == first[0]).all()


@pytest.mark.parametrize("num_givens", [0, 16, 82, -3])
def test_givens_out_of_range_raise_at_once(num_givens):
    with pytest.raises(ValueError, match=f"between 17 .* and 81, got {num_givens}"):
        sd.generate_puzzle(num_givens, np.random.default_rng(0))


def test_unreachable_givens_count_raises_naming_count_and_attempts():
    with pytest.raises(ValueError, match=r"with 17 givens in 3 attempts"):
        sd.generate_puzzle(17, np.random.default_rng(0), max_attempts=3)


def test_dataset_is_deterministic_and_well_formed(small_dataset):
    assert small_dataset.column_names == ["puzzle", "solution", "num_givens", "search_effort"]
    assert len(small_dataset) == 12
    same = sd.generate_sudoku_dataset(12, 28, 40, seed=7)
    assert same.to_dict() == small_dataset.to_dict()
    different = sd.generate_sudoku_dataset(12, 28, 40, seed=8)
    assert different["puzzle"] != small_dataset["puzzle"]
    prefix = sd.generate_sudoku_dataset(5, 28, 40, seed=7)
    assert prefix.to_dict() == small_dataset.select(range(5)).to_dict()
    for row in small_dataset:
        assert len(row["puzzle"]) == 81 and len(row["solution"]) == 81
        assert 28 <= row["num_givens"] <= 40
        assert sum(c != "0" for c in row["puzzle"]) == row["num_givens"]
        assert sd.count_solutions(row["puzzle"]) == 1
        assert sd.grid_to_string(sd.solve(row["puzzle"])) == row["solution"]
        assert row["search_effort"] == sd.search_effort(row["puzzle"])
    assert len(set(small_dataset["num_givens"])) > 1  # counts are drawn, not fixed


def test_search_effort_counts_guesses():
    solution = sd.solve(HARD_PUZZLE)
    one_blank = solution.copy()
    one_blank[40] = 0
    assert sd.search_effort(one_blank) == 0  # a naked single: no guess
    assert sd.search_effort(solution) == 0
    assert sd.search_effort(HARD_PUZZLE) > 50  # Inkala's puzzle needs many guesses
    # the whole tree is explored, so the rating does not depend on the order in which candidates are tried:
    # relabelling the digits (which reorders every candidate list) keeps it
    relabelled = sd.apply_symmetry(
        sd.parse_grid(HARD_PUZZLE), sd.SudokuSymmetry((0, 2, 3, 4, 5, 6, 7, 8, 9, 1), tuple(range(9)), tuple(range(9)), False)
    )
    assert sd.search_effort(relabelled) == sd.search_effort(HARD_PUZZLE)


def test_rated_dataset_keeps_only_hard_candidates_and_is_a_prefix():
    rated = sd.generate_sudoku_dataset(4, 24, 26, seed=3, min_search_effort=20)
    assert all(effort >= 20 for effort in rated["search_effort"])
    assert rated["search_effort"] == [sd.search_effort(p) for p in rated["puzzle"]]
    assert sd.generate_sudoku_dataset(2, 24, 26, seed=3, min_search_effort=20).to_dict() == rated.select(range(2)).to_dict()
    unrated = sd.generate_sudoku_dataset(40, 24, 26, seed=3)
    assert min(unrated["search_effort"]) < 20  # the filter removed something
    with pytest.raises(ValueError, match="min_search_effort must be non-negative, got -1"):
        sd.generate_sudoku_dataset(1, 24, 26, seed=3, min_search_effort=-1)


def test_dataset_with_two_processes_equals_serial(small_dataset):
    parallel = sd.generate_sudoku_dataset(12, 28, 40, seed=7, num_proc=2)
    assert parallel.to_dict() == small_dataset.to_dict()


def test_dataset_names_failing_puzzle():
    with pytest.raises(ValueError, match=r"^puzzle 0: could not generate a puzzle with 17 givens in 1 attempts"):
        sd.generate_sudoku_dataset(2, 17, 17, seed=0, max_attempts=1)


# ---------------------------------------------------------------------------------------------------------- symmetries


def test_augmentation_keeps_validity_uniqueness_and_givens(generated_pairs):
    rng = np.random.default_rng(99)
    for num_givens, puzzle, solution in generated_pairs[::3]:
        new_puzzle, new_solution = sd.augment(puzzle, solution, rng)
        assert new_puzzle.shape == (81,) and new_puzzle.dtype == puzzle.dtype
        assert not (new_puzzle == puzzle).all() and not (new_solution == solution).all()
        assert int((new_puzzle > 0).sum()) == num_givens
        assert is_valid_solution(new_solution)
        givens = new_puzzle > 0
        assert (new_puzzle[givens] == new_solution[givens]).all()
        assert sd.count_solutions(new_puzzle) == 1
        assert (sd.solve(new_puzzle) == new_solution).all()


def test_each_symmetry_component_preserves_validity():
    solution = as_grid(HARD_SOLUTION)
    identity = sd.SudokuSymmetry.identity()
    rng = np.random.default_rng(3)
    random_one = sd.random_symmetry(rng)
    components = [
        sd.SudokuSymmetry(identity.digit_map, identity.row_order, identity.column_order, transpose=True),
        sd.SudokuSymmetry(random_one.digit_map, identity.row_order, identity.column_order),
        sd.SudokuSymmetry(identity.digit_map, random_one.row_order, identity.column_order),
        sd.SudokuSymmetry(identity.digit_map, identity.row_order, random_one.column_order),
    ]
    assert (sd.apply_symmetry(solution, identity) == solution).all()
    for transformation in components:
        transformed = transformation(solution)
        assert is_valid_solution(transformed)
        assert not (transformed == solution).all()
    transposed = components[0](solution.reshape(9, 9))
    assert (transposed == solution.reshape(9, 9).T).all()
    # strings map to strings; batches map like single grids
    assert sd.apply_symmetry(HARD_PUZZLE, random_one) == sd.grid_to_string(random_one(as_grid(HARD_PUZZLE)))
    batch = np.stack([as_grid(HARD_PUZZLE), solution])
    out = sd.apply_symmetry(batch, random_one)
    assert (out[0] == random_one(batch[0])).all() and (out[1] == random_one(batch[1])).all()
    # row orders keep bands together
    for order in (random_one.row_order, random_one.column_order):
        assert sorted(order) == list(range(9))
        assert all(len({line // 3 for line in order[3 * b : 3 * b + 3]}) == 1 for b in range(3))


def random_symmetries(count, seed):
    """`count` random symmetries of each kind: with and without transpose."""
    rng = np.random.default_rng(seed)
    plain = [sd.random_symmetry(rng, allow_transpose=False) for _ in range(count)]
    transposed = []
    while len(transposed) < count:
        symmetry = sd.random_symmetry(rng)
        if symmetry.transpose:
            transposed.append(symmetry)
    return plain + transposed


def test_inverse_undoes_every_symmetry(generated_pairs):
    grids = [as_grid(HARD_PUZZLE), as_grid(HARD_SOLUTION)]
    grids += [grid for _, puzzle, solution in generated_pairs[::5] for grid in (puzzle, solution)]
    batch = np.stack(grids)
    distinct = np.arange(81)  # every cell different: positions are checked exactly, not up to equal digits
    for symmetry in random_symmetries(100, seed=7) + [sd.SudokuSymmetry.identity()]:
        inverse = symmetry.inverse()
        assert isinstance(inverse, sd.SudokuSymmetry) and inverse.transpose == symmetry.transpose
        assert inverse.inverse() == symmetry
        assert inverse.digit_map[0] == 0 and sorted(inverse.digit_map) == list(range(10))
        for order in (inverse.row_order, inverse.column_order):  # still an element of the group: bands kept
            assert sorted(order) == list(range(9))
            assert all(len({line // 3 for line in order[3 * b : 3 * b + 3]}) == 1 for b in range(3))
        # puzzles and solutions, as a batch, one by one, as (9, 9) grids and as strings; both orders
        assert (sd.apply_symmetry(sd.apply_symmetry(batch, symmetry), inverse) == batch).all()
        assert (sd.apply_symmetry(sd.apply_symmetry(batch, inverse), symmetry) == batch).all()
        for grid in grids[:4]:
            assert (inverse(symmetry(grid.reshape(9, 9))) == grid.reshape(9, 9)).all()
        assert sd.apply_symmetry(sd.apply_symmetry(HARD_PUZZLE, symmetry), inverse) == HARD_PUZZLE
        assert (sd.permute_cells(sd.permute_cells(distinct, symmetry), inverse) == distinct).all()
    # the inverse of a transposing symmetry is not the elementwise inverse of its fields (rows and columns swap)
    symmetry = next(s for s in random_symmetries(1, seed=8) if s.transpose and s.row_order != s.column_order)
    naive = sd.SudokuSymmetry(
        symmetry.inverse().digit_map,
        tuple(int(i) for i in np.argsort(symmetry.row_order)),
        tuple(int(i) for i in np.argsort(symmetry.column_order)),
        True,
    )
    solution = as_grid(HARD_SOLUTION)
    assert not (sd.apply_symmetry(sd.apply_symmetry(solution, symmetry), naive) == solution).all()


def test_permute_cells_moves_values_without_relabelling():
    solution = as_grid(HARD_SOLUTION)
    rng = np.random.default_rng(5)
    for symmetry in random_symmetries(25, seed=9):
        inverse = symmetry.inverse()
        digit_map = np.asarray(symmetry.digit_map)
        # cells move exactly as in apply_symmetry, which then relabels the digits
        assert (digit_map[sd.permute_cells(solution, symmetry)] == sd.apply_symmetry(solution, symmetry)).all()
        # per-cell confidences of any dtype go back to their cells, unchanged and not relabelled
        confidence = rng.random(81).astype(np.float32)
        moved = sd.permute_cells(confidence, symmetry)
        assert moved.dtype == np.float32 and sorted(moved) == sorted(confidence)
        assert (sd.permute_cells(moved, inverse) == confidence).all()
        transformed = sd.apply_symmetry(solution, symmetry)  # "decoded" on the transformed puzzle: its own digits
        back = sd.permute_cells(transformed.astype(np.float64) / 10, inverse)
        assert (np.round(10 * back) == digit_map[solution]).all()  # on the original cells, the transformed labels
        # (B, 81, 9) logits over the digits 1-9: cells move and, with digit_axis, the digit scores are relabelled
        logits = rng.normal(size=(3, 81, 9)).astype(np.float32)
        for cell_axis, digit_axis in ((1, 2), (-2, -1)):
            relabelled = sd.permute_cells(logits, symmetry, cell_axis=cell_axis, digit_axis=digit_axis)
            assert relabelled.shape == logits.shape and relabelled.dtype == np.float32
            assert (relabelled.argmax(-1) + 1 == sd.apply_symmetry(logits.argmax(-1) + 1, symmetry)).all()
            assert (sd.permute_cells(relabelled, inverse, cell_axis=cell_axis, digit_axis=digit_axis) == logits).all()
        cells_only = sd.permute_cells(logits, symmetry, cell_axis=1)  # no digit_axis: the scores are not relabelled
        assert (cells_only.argmax(-1) == sd.permute_cells(logits.argmax(-1), symmetry)).all()
        # test-time augmentation: logits predicted on the transformed puzzle, mapped back, give the original solution
        predicted = np.eye(9, dtype=np.float32)[transformed - 1]  # (81, 9) one-hot of the transformed solution
        mapped = sd.permute_cells(predicted, inverse, cell_axis=0, digit_axis=1)
        assert (mapped.argmax(-1) + 1 == solution).all()
        # torch tensors stay tensors and match NumPy
        tensor = sd.permute_cells(torch.from_numpy(logits), symmetry, cell_axis=1, digit_axis=2)
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
        assert (tensor.numpy() == sd.permute_cells(logits, symmetry, cell_axis=1, digit_axis=2)).all()
    # plain lists are accepted; wrong axes raise
    assert sd.permute_cells(list(range(81)), sd.SudokuSymmetry.identity()).tolist() == list(range(81))
    symmetry = sd.random_symmetry(rng)
    with pytest.raises(ValueError, match="must have 81 cells"):
        sd.permute_cells(np.zeros((81, 9)), symmetry)
    with pytest.raises(ValueError, match="must have 9 digits"):
        sd.permute_cells(np.zeros((81, 10)), symmetry, cell_axis=0, digit_axis=1)
    with pytest.raises(ValueError, match="cell_axis 2 of values with shape"):
        sd.permute_cells(np.zeros((81, 9)), symmetry, cell_axis=2)


def test_symmetry_docstring_examples_run():
    import doctest

    for function in (sd.SudokuSymmetry.inverse, sd.permute_cells):
        finder = doctest.DocTestFinder()
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        for test in finder.find(function, function.__qualname__, globs={}):
            runner.run(test)
        assert runner.summarize(verbose=False) == (0, runner.tries) and runner.tries > 0


def test_augmentation_transform_is_seeded_and_valid(small_dataset):
    first = small_dataset.with_transform(sd.SudokuAugmentationTransform(seed=11))[:6]
    second = small_dataset.with_transform(sd.SudokuAugmentationTransform(seed=11))[:6]
    other = small_dataset.with_transform(sd.SudokuAugmentationTransform(seed=12))[:6]
    assert first == second
    assert first["puzzle"] != other["puzzle"]
    assert first["puzzle"] != small_dataset[:6]["puzzle"]
    assert first["num_givens"] == small_dataset[:6]["num_givens"]
    for puzzle, solution in zip(first["puzzle"], first["solution"]):
        sd.check_puzzle(puzzle, solution=solution)
        assert sd.count_solutions(puzzle) == 1
    tensors = small_dataset.with_transform(sd.SudokuAugmentationTransform(seed=0, return_model_inputs=True))[:4]
    assert tensors["input_ids"].shape == (4, 81) and tensors["labels"].dtype == torch.long


def test_augmentation_reveals_solution_digits_as_maskgit_masks(small_dataset):
    original = small_dataset[:]
    revealed = small_dataset.with_transform(sd.SudokuAugmentationTransform(seed=3, max_reveal_fraction=0.6))[:]
    fractions = []
    for puzzle, solution, before, count in zip(revealed["puzzle"], revealed["solution"], original["num_givens"],
                                               revealed["num_givens"]):  # fmt: skip
        sd.check_puzzle(puzzle, solution=solution)  # every revealed digit is the solution's
        assert count == sum(character != "0" for character in puzzle) >= before
        assert count - before <= int(0.6 * (81 - before))
        fractions.append((count - before) / (81 - before))
    assert 0.15 < sum(fractions) / len(fractions) < 0.45  # r ~ U(0, 0.6): mean 0.3
    tensors = small_dataset.with_transform(
        sd.SudokuAugmentationTransform(seed=3, max_reveal_fraction=0.6, return_model_inputs=True)
    )[:]  # fmt: skip
    given = torch.tensor([[int(character) > 0 for character in puzzle] for puzzle in revealed["puzzle"]])
    assert torch.equal(tensors["labels"] == sd.IGNORE_INDEX, given)  # no loss on the revealed cells
    for bad in (-0.1, 1.0, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match=r"max_reveal_fraction must be a number in \[0, 1\), got"):
            sd.SudokuAugmentationTransform(seed=0, max_reveal_fraction=bad)


# -------------------------------------------------------------------------------------------------------- model inputs


def test_to_model_inputs_ignores_exactly_the_givens(small_dataset):
    batch = small_dataset[:5]
    inputs = sd.to_model_inputs(batch)
    assert inputs["input_ids"].dtype == torch.long and inputs["input_ids"].shape == (5, 81)
    assert inputs["labels"].dtype == torch.long and inputs["labels"].shape == (5, 81)
    puzzles = torch.tensor([[int(c) for c in p] for p in batch["puzzle"]])
    solutions = torch.tensor([[int(c) for c in s] for s in batch["solution"]])
    assert torch.equal(inputs["input_ids"], puzzles)
    givens = puzzles > 0
    assert torch.equal(inputs["labels"] == -100, givens)
    assert torch.equal(inputs["labels"][~givens], solutions[~givens] - 1)
    assert int((inputs["labels"] == -100).sum()) == sum(batch["num_givens"])


# ------------------------------------------------------------------------------------------------------------- loaders


def test_palm_csv_loader_reads_fixtures_with_and_without_header(tmp_path, small_dataset):
    puzzles, solutions = small_dataset["puzzle"][:4], small_dataset["solution"][:4]
    with_header = tmp_path / "kaggle.csv"
    rows = "".join(f"{p.replace('0', '.')},{s}\n" for p, s in zip(puzzles, solutions))
    with_header.write_text("quizzes,solutions\n" + rows)
    without_header = tmp_path / "palm.csv"
    without_header.write_text("".join(f"{p},{s}\r\n" for p, s in zip(puzzles, solutions)) + "\n")
    for path in (with_header, without_header):
        loaded = sd.load_palm_csv(path)
        assert loaded.column_names == ["puzzle", "solution", "num_givens"]
        assert loaded["puzzle"] == puzzles and loaded["solution"] == solutions
        assert loaded["num_givens"] == small_dataset["num_givens"][:4]


def test_palm_csv_round_trip_and_puzzle_only_rows(tmp_path, small_dataset):
    for header in (False, True):
        path = sd.save_palm_csv(small_dataset, tmp_path / f"out-{header}.csv", header=header)
        assert path.read_text().startswith("quizzes,solutions\n") == header
        assert sd.load_palm_csv(path).to_dict() == small_dataset.remove_columns("search_effort").to_dict()  # files carry no rating
    puzzle_only = tmp_path / "quizzes.csv"
    puzzle_only.write_text(HARD_PUZZLE + "\n")
    loaded = sd.load_palm_csv(puzzle_only)
    assert loaded["solution"] == [HARD_SOLUTION] and loaded["num_givens"] == [21]


def write_satnet_fixture(directory, puzzles, solutions):
    """SATNet layout written independently of the library: features one-hot or zero, labels one-hot."""
    features = torch.zeros(len(puzzles), 9, 9, 9)
    labels = torch.zeros(len(puzzles), 9, 9, 9)
    for n, (puzzle, solution) in enumerate(zip(puzzles, solutions)):
        for cell in range(81):
            row, column = divmod(cell, 9)
            if puzzle[cell] != "0":
                features[n, row, column, int(puzzle[cell]) - 1] = 1.0
            labels[n, row, column, int(solution[cell]) - 1] = 1.0
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(features, directory / "features.pt")
    torch.save(labels, directory / "labels.pt")
    return features, labels


def test_satnet_tensors_load_fixture_and_round_trip(tmp_path, small_dataset):
    puzzles, solutions = small_dataset["puzzle"], small_dataset["solution"]
    features, labels = write_satnet_fixture(tmp_path / "fixture", puzzles, solutions)
    loaded = sd.load_satnet_tensors(tmp_path / "fixture" / "features.pt", tmp_path / "fixture" / "labels.pt")
    assert loaded.to_dict() == small_dataset.remove_columns("search_effort").to_dict()
    features_path, labels_path = sd.save_satnet_tensors(loaded, tmp_path / "saved")
    saved_features, saved_labels = torch.load(features_path), torch.load(labels_path)
    assert saved_features.shape == (12, 9, 9, 9) and saved_features.dtype == torch.float32
    assert torch.equal(saved_features, features) and torch.equal(saved_labels, labels)
    assert sd.load_satnet_tensors(features_path, labels_path).to_dict() == small_dataset.remove_columns("search_effort").to_dict()


def test_satnet_loader_rejects_bad_tensors(tmp_path, small_dataset):
    features, labels = write_satnet_fixture(tmp_path, small_dataset["puzzle"][:4], small_dataset["solution"][:4])
    f, l = tmp_path / "features.pt", tmp_path / "labels.pt"
    torch.save(features[:, :, :, :8], f)
    with pytest.raises(ValueError, match=r"features: expected a tensor of shape \(N, 9, 9, 9\), got \(4, 9, 9, 8\)"):
        sd.load_satnet_tensors(f, l)
    torch.save(features[:3], f)
    with pytest.raises(ValueError, match="features has 3 puzzles but labels has 4"):
        sd.load_satnet_tensors(f, l)
    bad_labels = labels.clone()
    bad_labels[2, 4, 5] = 0.0  # an all-zero solution cell
    torch.save(features, f)
    torch.save(bad_labels, l)
    with pytest.raises(ValueError, match=r"^puzzle 2: labels cell at row 5, column 6 is not one-hot"):
        sd.load_satnet_tensors(f, l)
    bad_features = features.clone()
    bad_features[3, 0, 0] = 1.0  # several digits in one cell
    torch.save(bad_features, f)
    torch.save(labels, l)
    with pytest.raises(ValueError, match=r"^puzzle 3: features cell at row 1, column 1 is not one-hot or all-zero"):
        sd.load_satnet_tensors(f, l)
    wrong_given = features.clone()
    cell = small_dataset["puzzle"][1].index("0")  # put a wrong digit into a blank cell of puzzle 1
    row, column = divmod(cell, 9)
    wrong_digit = int(small_dataset["solution"][1][cell]) % 9 + 1
    wrong_given[1, row, column, wrong_digit - 1] = 1.0
    torch.save(wrong_given, f)
    with pytest.raises(ValueError, match=r"^puzzle 1: "):
        sd.load_satnet_tensors(f, l)


# ---------------------------------------------------------------------------------------------------------- validation


def malformed_cases(good_puzzle, good_solution):
    """(index, puzzle, solution or None, expected message) for each malformed case."""
    repeated = "0" * 9 + "4000400000" + "0" * 62  # two 4s in row 2
    given_cell = next(i for i, c in enumerate(good_puzzle) if c != "0")
    row, column = divmod(given_cell, 9)
    # swap two digits everywhere: still a valid grid, but disagrees with every given of those digits
    a = good_solution[given_cell]
    b = "1" if a != "1" else "2"
    swapped = "".join(b if c == a else a if c == b else c for c in good_solution)
    return [
        (17, good_puzzle[:80], good_solution, "puzzle 17: expected 81 cells, got a string of 80 characters"),
        (3, good_puzzle[:12] + "x" + good_puzzle[13:], good_solution, "puzzle 3: expected digits 0-9 ('0' or '.' = blank), got 'x' at cell 12 (row 2, column 4)"),
        (5, repeated, None, "puzzle 5: digit 4 repeated in row 2"),
        (8, NO_SOLUTION_PUZZLE, None, "puzzle 8: has no solution"),
        (
            9,
            good_puzzle,
            swapped,
            f"puzzle 9: solution disagrees with given {a} at row {row + 1}, column {column + 1}",
        ),
        (4, good_puzzle, good_solution[:40] + "0" + good_solution[41:], "puzzle 4: solution is incomplete"),
        (6, good_puzzle, good_solution[:81 - 9] + good_solution[:9], "puzzle 6: solution repeats digit"),
    ]


def test_check_puzzle_raises_with_index(small_dataset):
    good_puzzle, good_solution = small_dataset[0]["puzzle"], small_dataset[0]["solution"]
    assert (sd.check_puzzle(good_puzzle, 0, solution=good_solution) == as_grid(good_puzzle)).all()
    for index, puzzle, solution, message in malformed_cases(good_puzzle, good_solution):
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            sd.check_puzzle(puzzle, index, solution=solution)
    with pytest.raises(ValueError, match=r"^puzzle: expected 81 cells, got a string of 3 characters"):
        sd.parse_grid("123")
    with pytest.raises(ValueError, match=r"^puzzle 2: expected digits 0-9 \(0 = blank\), got 10 at cell 0 \(row 1, column 1\)"):
        sd.parse_grid([10] + [0] * 80, 2)


def test_palm_csv_loader_raises_with_index_and_drops_nothing(tmp_path, small_dataset):
    good = list(zip(small_dataset["puzzle"], small_dataset["solution"]))
    for index, puzzle, solution, message in malformed_cases(*good[0]):
        cycle = (good * 2)[:index]  # `index` good rows, then the malformed one, then two more good rows
        rows = [f"{p},{s}" for p, s in cycle] + [puzzle if solution is None else f"{puzzle},{solution}"]
        rows += [f"{p},{s}" for p, s in good[:2]]
        path = tmp_path / f"bad-{index}.csv"
        path.write_text("quizzes,solutions\n" + "\n".join(rows) + "\n")
        with pytest.raises(ValueError, match="^" + re.escape(message)) as error:
            sd.load_palm_csv(path)
        assert path.name in str(error.value)
    ambiguous = tmp_path / "ambiguous.csv"  # a puzzle-only row must have exactly one solution
    ambiguous.write_text(f"{good[0][0]},{good[0][1]}\n{'0' * 81}\n")
    with pytest.raises(ValueError, match=r"^puzzle 1: has more than one solution and no solution column"):
        sd.load_palm_csv(ambiguous)
    three_fields = tmp_path / "three.csv"
    three_fields.write_text(f"{good[0][0]},{good[0][1]}\n{good[1][0]},{good[1][1]},extra\n")
    message = r"^puzzle 1: expected 1 or 2 comma-separated fields, got 3 \(file three.csv, line 2\)"
    with pytest.raises(ValueError, match=message):
        sd.load_palm_csv(three_fields)


# ---------------------------------------------------------------------------------------------------------- benchmarks


def test_benchmark_is_built_once_and_reused_from_cache(tmp_path, monkeypatch):
    calls = []
    original = sd.generate_sudoku_dataset

    def counting_generator(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(sd, "generate_sudoku_dataset", counting_generator)
    first = sd.load_sudoku_benchmark("palm-like", "test", cache_dir=tmp_path, num_proc=1, num_test=4)
    assert len(calls) == 1 and len(first) == 4
    assert (tmp_path / "palm-like-v2" / "test-4" / "dataset_info.json").exists()
    assert all(23 <= n <= 34 for n in first["num_givens"])
    assert all(sd.count_solutions(p) == 1 for p in first["puzzle"])
    second = sd.load_sudoku_benchmark("palm-like", "test", cache_dir=tmp_path, num_proc=1, num_test=4)
    assert len(calls) == 1
    assert second.to_dict() == first.to_dict()
    # train and test use different seeds; satnet-like has its own range
    train = sd.load_sudoku_benchmark("palm-like", "train", cache_dir=tmp_path, num_proc=1, num_train=4)
    assert train["puzzle"] != first["puzzle"] and len(calls) == 2
    satnet = sd.load_sudoku_benchmark("satnet-like", "test", cache_dir=tmp_path, num_proc=1, num_test=3)
    assert all(31 <= n <= 42 for n in satnet["num_givens"])
    hard = sd.load_sudoku_benchmark("hard", "test", cache_dir=tmp_path, num_proc=1, num_test=2)
    assert all(22 <= n <= 26 for n in hard["num_givens"]) and min(hard["search_effort"]) >= 50


def test_benchmark_uses_environment_cache_and_rejects_unknown_names(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERSET_HF_CACHE", str(tmp_path / "env-cache"))
    data = sd.load_sudoku_benchmark("satnet-like", "train", num_proc=1, num_train=2)
    assert len(data) == 2
    assert (tmp_path / "env-cache" / "sudoku" / "satnet-like-v2" / "train-2").is_dir()
    with pytest.raises(ValueError, match=r"unknown Sudoku benchmark 'sudoku-extreme'; known: hard, mixed, palm-like, satnet-like"):
        sd.load_sudoku_benchmark("sudoku-extreme")
    with pytest.raises(ValueError, match=r"unknown split 'valid'"):
        sd.load_sudoku_benchmark("palm-like", "valid")


def test_the_packaged_hard_set_is_what_its_seeds_generate(tmp_path):
    """The shipped copy of the `hard` set (it costs CPU-hours to generate) is the generator's output for its seeds."""
    spec = sd.SUDOKU_BENCHMARKS["hard"]
    for split, size in (("train", 4000), ("test", 1000)):
        packaged = sd.load_sudoku_benchmark("hard", split, cache_dir=tmp_path)
        assert len(packaged) == size == spec[f"num_{split}"]
        assert min(packaged["search_effort"]) >= 50 and set(packaged["num_givens"]) <= set(range(22, 27))
        for row in packaged.select(range(0, size, size // 5)):  # a few rows, fully checked
            assert sd.search_effort(row["puzzle"]) == row["search_effort"]
            assert sd.count_solutions(row["puzzle"]) == 1 and sd.grid_to_string(sd.solve(row["puzzle"])) == row["solution"]
    regenerated = sd.generate_sudoku_dataset(1, 22, 26, seed=[spec["seed"], 1], min_search_effort=50)
    assert regenerated.to_dict() == sd.load_sudoku_benchmark("hard", "test", cache_dir=tmp_path, num_test=1).to_dict()
