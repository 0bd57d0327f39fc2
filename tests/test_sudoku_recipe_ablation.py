"""CI smoke test of `benchmarks/sudoku_recipe_ablation.py`'s summary: any run_sudoku.py folders, tabulated and drawn
against CPU time or wall time."""

import json
import sys
from pathlib import Path

import pytest


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import sudoku_recipe_ablation  # noqa: E402


@pytest.mark.parametrize("time_axis, minutes", [("cpu", "2.0"), ("wall", "3.0")])
def test_summary_of_runs_against_cpu_or_wall_time(time_axis, minutes, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for name, accuracy in (("hyperset", 0.5), ("transformer", 0.25)):
        folder = tmp_path / name
        folder.mkdir()
        curve = [{"wall_seconds": 90.0 * step, "cpu_seconds": 60.0 * step, "step": 100 * step,
                  "eval_cell_accuracy": accuracy * step / 2, "eval_board_accuracy": 0.0} for step in (1, 2)]  # fmt: skip
        (folder / "curve.json").write_text(json.dumps(curve))
    figure = tmp_path / "curves.png"
    sudoku_recipe_ablation.main(["--summarize_only", "--output_dir", str(tmp_path / "out"), "--time", time_axis,
                                 "--figure", str(figure), "--runs", f"hyperset={tmp_path / 'hyperset'}",
                                 f"transformer={tmp_path / 'transformer'}"])  # fmt: skip
    output = capsys.readouterr().out
    assert f"| hyperset |  | 200 | {minutes} | 50.0 | 0.0 | nan | nan |" in output
    assert f"| transformer |  | 200 | {minutes} | 25.0 |" in output
    assert figure.stat().st_size > 10_000
