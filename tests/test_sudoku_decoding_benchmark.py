"""CI smoke test of `benchmarks/sudoku_decoding.py` on a tiny model: every protocol and selector row is produced and
the selection maps every copy back to the original puzzle."""

import json
import sys
from pathlib import Path

import torch
from conftest import activate_step_sizes

from hyperset_hf import HyperSETConfig, HyperSETForSudoku
from hyperset_hf.modeling_hyperset import SudokuSolution


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import sudoku_decoding  # noqa: E402


def test_benchmark_rows_on_a_tiny_model(tmp_path, capsys):
    config = HyperSETConfig.from_preset("sudoku", hidden_size=32, num_attention_heads=4, intermediate_size=64,
                                        num_recurrences=2, time_embedding_size=16)  # fmt: skip
    activate_step_sizes(HyperSETForSudoku(config)).save_pretrained(tmp_path / "model")
    output = tmp_path / "rows.json"
    sudoku_decoding.main(["--model", str(tmp_path / "model"), "--num_puzzles", "3", "--sets", "satnet-like",
                          "--copies", "1,2", "--cache_dir", str(tmp_path / "cache"), "--rule_mask", "--commit_errors",
                          "--output", str(output)])  # fmt: skip
    written = json.loads(output.read_text())
    rows = written["rows"]
    (errors,) = written["commit_errors"]
    iterative = next(row for row in rows if row["protocol"] == "iterative" and row["copies"] == 1)
    # a board with no wrong commit is solved: the two counts add up
    assert abs(errors["boards with a wrong commit %"] + iterative["board_accuracy"] - 100) < 1e-6
    for threshold in (0.99, 0.95, 0.9):
        share = errors[f"one pass p >= {threshold}: share of blanks %"]
        assert 0 <= share <= 100 and (share == 0) == (errors[f"one pass p >= {threshold}: accuracy %"] is None)
    assert errors["one pass p >= 0.99: share of blanks %"] <= errors["one pass p >= 0.9: share of blanks %"]
    keys = {(row["protocol"], row["copies"], row["selector"]) for row in rows}
    assert ("one pass (paper)", 1, "-") in keys and ("iterative", 1, "-") in keys
    assert {("iterative", 2, selector) for selector in sudoku_decoding.SELECTORS} <= keys
    assert ("iterative + rule mask (uses the rules)", 1, "-") in keys
    one_pass = next(row for row in rows if row["protocol"] == "one pass (paper)")
    assert one_pass["mean_iterations"] == one_pass["max_iterations"] == 2  # one round of T = 2
    for row in rows:
        assert 0 <= row["board_accuracy"] <= 100 and 0 <= row["cell_accuracy"] <= 100
    oracle = next(row for row in rows if row["selector"] == "oracle")
    assert oracle["board_accuracy"] >= max(row["board_accuracy"] for row in rows if row["copies"] == 2)
    assert "| satnet-like | iterative | 2 | vote |" in capsys.readouterr().out


def test_selectors_pick_the_copy_they_name():
    solutions = torch.randint(1, 10, (2, 81))
    copy_grids = torch.stack([solutions, solutions.flip(0)], dim=1)  # (puzzles, copies): copy 1 is wrong for both
    solution = SudokuSolution(
        copy_grids=copy_grids, copy_energies=torch.tensor([[0.0, 1.0], [5.0, -1.0]]),
        copy_confidences=torch.tensor([[0.9, 0.5], [0.2, 0.8]]),
    )  # fmt: skip
    assert torch.equal(sudoku_decoding.select(solution, solutions, "energy")[0], solutions[0])
    assert torch.equal(sudoku_decoding.select(solution, solutions, "energy")[1], solutions[0])  # puzzle 1's copy 1
    assert torch.equal(sudoku_decoding.select(solution, solutions, "confidence")[1], solutions[0])
    assert torch.equal(sudoku_decoding.select(solution, solutions, "oracle"), solutions)


def test_fresh_puzzles_follow_the_set_and_its_seed(tmp_path):
    config = HyperSETConfig.from_preset("sudoku", hidden_size=32, num_attention_heads=4, intermediate_size=64,
                                        num_recurrences=1, time_embedding_size=16)  # fmt: skip
    HyperSETForSudoku(config).save_pretrained(tmp_path / "model")
    arguments = ["--model", str(tmp_path / "model"), "--num_puzzles", "2", "--sets", "satnet-like", "--copies", "1",
                 "--split", "fresh", "--fresh_seed", "5"]  # fmt: skip
    sudoku_decoding.main(arguments + ["--output", str(tmp_path / "a.json")])
    sudoku_decoding.main(arguments + ["--output", str(tmp_path / "b.json")])
    first, second = (json.loads((tmp_path / name).read_text())["rows"] for name in ("a.json", "b.json"))
    assert [row["board_accuracy"] for row in first] == [row["board_accuracy"] for row in second]
