"""`benchmarks/gpu/check.sh` in its dry run (DRY_RUN=1: CPU, tiny configs, one or two steps a row) runs all three parts
and writes the tables: the cuda tests are collected and skipped, the benchmark rows are measured."""

import ast
import json
import math
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path


REPOSITORY = Path(__file__).resolve().parents[1]
CHECK = REPOSITORY / "benchmarks" / "gpu" / "check.sh"


def _cuda_test_functions() -> set[str]:
    tree = ast.parse((REPOSITORY / "tests" / "test_cuda.py").read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_dry_run_writes_every_table(tmp_path):
    out = tmp_path / "gpu-check"
    env = {**os.environ, "DRY_RUN": "1", "OUT": str(out), "PYTHON": sys.executable}
    env.setdefault("OMP_NUM_THREADS", "1")
    env.pop("HYPERSET_CUDA_TEST_DEVICE", None)
    start = time.monotonic()
    result = subprocess.run(["bash", str(CHECK)], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=240)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert elapsed < 120, f"the dry run took {elapsed:.0f} s (meant to take well under a minute)"
    assert "check: OK" in result.stdout

    markdown = (out / "gpu-check.md").read_text()
    assert "DRY RUN" in markdown
    for heading in ("## a. cuda-marked tests", "## b. Achieved TFLOP/s", "## c. Sudoku preset training throughput"):
        assert heading in markdown
    assert "| bf16 matmul" in result.stdout and "| bf16 autocast | 2 |" in result.stdout  # the tables are printed
    for name in ("check.log", "environment.txt", "cuda-tests.log", "cuda-tests.xml", "gpu-check.json"):
        assert (out / name).is_file(), name

    # a. every test of tests/test_cuda.py is cuda-marked (check.sh selects `-m cuda`) and skipped without a GPU
    cases = list(ElementTree.parse(out / "cuda-tests.xml").getroot().iter("testcase"))
    assert {case.get("name").split("[")[0] for case in cases} == _cuda_test_functions()
    assert all(case.find("skipped") is not None for case in cases)

    results = json.loads((out / "gpu-check.json").read_text())
    assert results["environment"]["dry_run"] is True
    assert results["cuda_tests"]["counts"] == {"skipped": len(cases)} and results["cuda_tests"]["status"] == "0"
    # b. the matmul reference, every d=768 preset of both model families and the ViT, all measured
    rows = results["flops"]
    presets = {row["preset"] for row in rows}
    assert {"sudoku", "sudoku-transformer", "mim", "mim-scaled", "mim-transformer", "imagenet-1k-mim"} <= presets
    assert rows[0]["model"].startswith("bf16 matmul") and rows[-1]["model"].startswith("ViT")
    for row in rows:
        assert row["note"] in (None, "peak reference"), row
        assert row["gflop_per_step"] > 0 and math.isfinite(row["tflops"]) and row["tflops"] > 0, row
        assert row["steps_timed"] == 1
    # c. the Sudoku preset's training steps, two batch sizes in bf16 autocast and float32
    sudoku = results["sudoku"]
    assert [(row["precision"], row["batch"]) for row in sudoku] == [
        ("bf16 autocast", 2), ("bf16 autocast", 4), ("float32", 2), ("float32", 4)
    ]
    for row in sudoku:
        assert row["note"] is None and row["puzzles_per_s"] > 0 and math.isfinite(row["last_loss"]), row


def test_check_refuses_unknown_arguments():
    result = subprocess.run(["bash", str(CHECK), "--bogus"], cwd=REPOSITORY, capture_output=True, text=True)
    assert result.returncode == 2 and "unknown argument" in result.stderr
