"""The Sudoku checkpoint that ships with the package: card, size, loading, pipeline, console command, quickstart."""

import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from huggingface_hub import ModelCard
from transformers import AutoModelForTokenClassification, pipeline

import hyperset_hf
from hyperset_hf import HyperSETForSudoku
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


CHECKPOINT = Path(hyperset_hf.__file__).parent / "checkpoints" / "hyperset-sudoku"
REPOSITORY = Path(__file__).resolve().parents[1]
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"


def test_checkpoint_files_card_and_size():
    assert (CHECKPOINT / "config.json").is_file() and (CHECKPOINT / "model.safetensors").is_file()
    assert (CHECKPOINT / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    # no copies of the model code: `save_pretrained` and `hyperset-hf push` write the remote code into what they publish
    assert not list(CHECKPOINT.glob("*.py"))
    card = ModelCard.load(CHECKPOINT / "README.md")
    assert card.data.license == "apache-2.0" and card.data.library_name == "transformers"
    assert {result.metric_type for result in card.data.eval_results} == {"board_accuracy", "cell_accuracy"}
    assert (REPOSITORY / "model_cards" / "hyperset-sudoku.md").read_text() == (CHECKPOINT / "README.md").read_text()
    assert Path(resolve_default_model()).resolve() == CHECKPOINT.resolve()


def test_shipped_model_is_above_chance_on_held_out_puzzles(tmp_path):
    model = AutoModelForTokenClassification.from_pretrained(CHECKPOINT).eval()
    assert isinstance(model, HyperSETForSudoku) and model.config.input_type == "sudoku"
    test = load_sudoku_benchmark("palm-like", "test", num_test=50, cache_dir=tmp_path)
    inputs = to_model_inputs(test[:])
    solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, inputs["input_ids"])
    grids = model.solve(inputs["input_ids"])
    scores = sudoku_metrics(grids.numpy(), solutions.numpy(), inputs["input_ids"].numpy())
    assert scores["cell_accuracy"] > 0.40, scores  # chance is 1/9 = 0.111; the shipped model reaches 0.52 on 1000
    outputs = model(inputs["input_ids"][:2], num_recurrences=2 * model.config.num_recurrences, output_energies=True)
    assert outputs.energies[0].shape == (2, 2 * model.config.num_recurrences + 1)


def test_pipeline_on_the_shipped_checkpoint():
    solver = pipeline("sudoku-solving", model=str(CHECKPOINT))
    result = solver(PUZZLE, num_recurrences=20)
    assert len(result["solution"]) == 81 and result["num_recurrences"] == 20 and len(result["energies"]) == 21
    assert all(a == b for a, b in zip(PUZZLE, result["solution"]) if a != ".")  # givens kept
    assert result["is_valid"]  # the README's puzzle: the shipped model solves it
    assert solver(PUZZLE, num_recurrences=32)["is_valid"]


def _run(arguments, timeout=300):
    environment = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    environment.pop(hyperset_hf.cli.MODEL_ENV_VARIABLE, None)
    return subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, env=environment, cwd=REPOSITORY)


def test_console_command_uses_the_shipped_checkpoint_by_default():
    result = _run([sys.executable, "-m", "hyperset_hf", "solve", PUZZLE, "--num-recurrences", "5"])
    assert result.returncode in (0, 1), result.stderr  # 1 = the prediction is not a valid Sudoku
    assert "Energy per iteration" in result.stdout and "Valid:" in result.stdout
    energy_rows = [line for line in result.stdout.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 4]
    assert [int(line.split()[0]) for line in energy_rows] == list(range(6))


def test_quickstart_main_job_runs(tmp_path):
    environment_cache = dict(HYPERSET_HF_CACHE=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "examples" / "quickstart.py"), "--num_puzzles", "20"],
        capture_output=True, text=True, timeout=300, cwd=REPOSITORY,
        env=dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", **environment_cache),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "boards solved" in result.stdout and "<- trained depth" in result.stdout
    assert re.search(r"energy of puzzle \d+ per iteration", result.stdout)
    assert "more iterations, same weights" in result.stdout
