"""examples/sudoku/run_sudoku.py: a few Trainer steps on a tiny generated set, evaluation at T, 1.5T and 2T."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForTokenClassification

from hyperset_hf import HyperSETForSudoku


SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "sudoku" / "run_sudoku.py"


def load_script():
    spec = importlib.util.spec_from_file_location("run_sudoku", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Trainer pickles the arguments dataclass, which must be importable by name
    spec.loader.exec_module(module)
    return module


def test_paper_recipe_is_the_default():
    module = load_script()
    arguments = module.SudokuTrainingArguments(output_dir="unused")
    assert arguments.learning_rate == 1e-4 and (arguments.adam_beta1, arguments.adam_beta2) == (0.9, 0.95)
    assert arguments.weight_decay == 0.1 and arguments.max_grad_norm == 1.0
    assert arguments.lr_scheduler_type.value == "cosine" and arguments.per_device_train_batch_size == 16
    assert module.ModelArguments().preset == "sudoku"


@pytest.mark.parametrize("preset", ["sudoku", "sudoku-transformer"])
def test_trains_saves_and_reports_extrapolation(preset, tmp_path):
    module = load_script()
    output_dir = tmp_path / "run"
    module.main(
        [
            "--preset", preset,
            "--config_overrides", "hidden_size=32,num_attention_heads=2,intermediate_size=64,num_recurrences=2",
            "--cache_dir", str(tmp_path / "cache"),
            "--max_train_samples", "16",
            "--max_eval_samples", "8",
            "--augment",
            "--do_train", "--do_eval",
            "--max_steps", "2",
            "--per_device_train_batch_size", "8",
            "--eval_strategy", "no", "--save_strategy", "no",
            "--output_dir", str(output_dir),
        ]
    )
    rows = json.loads((output_dir / "extrapolation.json").read_text())
    assert [row["iterations"] for row in rows] == [2, 3, 4]
    for row in rows:
        assert 0.0 <= row["board_accuracy"] <= row["validity"] + 100.0 and 0.0 <= row["cell_accuracy"] <= 100.0
    model = AutoModelForTokenClassification.from_pretrained(output_dir)
    assert isinstance(model, HyperSETForSudoku) and model.config.layer_type == (
        "transformer" if preset == "sudoku-transformer" else "hyperset"
    )
    assert (output_dir / "extrapolation.md").read_text().startswith("| iterations |")


def test_bad_arguments_raise(tmp_path):
    module = load_script()
    with pytest.raises(ValueError, match="key=value"):
        module.parse_overrides("hidden_size")
    assert module.parse_overrides("hidden_size=8,hidden_act=relu,share_qkv_norm=false") == {
        "hidden_size": 8, "hidden_act": "relu", "share_qkv_norm": False,
    }
    with pytest.raises(ValueError, match="--eval_iteration_multipliers"):
        module.main(["--eval_iteration_multipliers", "0", "--output_dir", str(tmp_path)])
