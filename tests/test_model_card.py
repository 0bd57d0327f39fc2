"""The Sudoku model card is rendered from training outputs with huggingface_hub's ModelCard."""

import json

import pytest
from huggingface_hub import ModelCard

from hyperset_hf import HyperSETConfig
from hyperset_hf.model_card import read_extrapolation, sudoku_model_card


ROWS = [
    {"multiplier": 1.0, "iterations": 16, "board_accuracy": 12.5, "cell_accuracy": 61.25, "validity": 12.6},
    {"multiplier": 1.5, "iterations": 24, "board_accuracy": 14.0, "cell_accuracy": 62.0, "validity": 14.1},
    {"multiplier": 2.0, "iterations": 32, "board_accuracy": 14.5, "cell_accuracy": 62.5, "validity": 14.7},
]


def test_card_metadata_and_numbers(tmp_path):
    (tmp_path / "extrapolation.json").write_text(json.dumps(ROWS))
    config = HyperSETConfig.from_preset("sudoku", hidden_size=64, num_attention_heads=4, intermediate_size=256,
                                        num_recurrences=16)
    card = sudoku_model_card(
        config, 123_456, read_extrapolation(tmp_path), training_command="python examples/sudoku/run_sudoku.py --x 1",
        dataset_description="generated", baseline_results=ROWS[:1], baseline_parameters=99_999,
        training_notes="CPU run", repo_id="org/hyperset-sudoku",
    )
    card.save(tmp_path / "README.md")
    loaded = ModelCard.load(tmp_path / "README.md")
    data = loaded.data.to_dict()
    assert data["library_name"] == "transformers" and data["license"] == "apache-2.0"
    assert "hyper-set" in data["tags"] and "sudoku" in data["tags"]
    results = {(r.metric_type, r.metric_config): r.metric_value for r in loaded.data.eval_results}
    assert results[("board_accuracy", "num_recurrences=16")] == 12.5
    assert results[("cell_accuracy", "num_recurrences=32")] == 62.5
    assert len(loaded.data.eval_results) == 6
    text = loaded.text
    assert "| 24 | 14.00 | 62.00 | 14.10 |" in text
    assert "99,999 parameters" in text and "123,456" in text
    assert "python examples/sudoku/run_sudoku.py --x 1" in text
    assert 'from_pretrained("org/hyperset-sudoku")' in text and "num_recurrences=32" in text
    assert "@inproceedings{hu2026hyperset" in text


def test_missing_or_malformed_results_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="extrapolation.json"):
        read_extrapolation(tmp_path)
    (tmp_path / "extrapolation.json").write_text(json.dumps([{"iterations": 4}]))
    with pytest.raises(ValueError, match="lacks"):
        read_extrapolation(tmp_path)
