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


# --- generic cards from training output folders ----------------------------------------------------------------------

import numpy as np
from safetensors.numpy import save_file

from hyperset_hf.cli import main as cli_main
from hyperset_hf.model_card import CARD_KINDS, model_card_from_output_dir, read_results_file


RESULTS_MD = """# Fashion-MNIST MIM: a tiny test run

**A test record, not a benchmark.** Second line of the caveat.

- Date: today.

```bash
OMP_NUM_THREADS=1 python examples/image-pretraining/run_mim.py --dataset_name fashion-mnist-local --max_eval_samples 500 --output_dir outputs/other-run
OMP_NUM_THREADS=1 python examples/image-pretraining/run_mim.py --dataset_name fashion-mnist-local --max_eval_samples 500 --output_dir outputs/mim-run
```

| model | PSNR |
|---|---|
| Hyper-SET | 21.5 |

More text.
"""


def _output_folder(path, config, results):
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    (path / "all_results.json").write_text(json.dumps(results))
    save_file({"a": np.zeros((3, 4), dtype=np.float32), "b": np.zeros(5, dtype=np.float32)}, path / "model.safetensors")
    return path


def test_mim_card_from_output_dir_has_metadata_numbers_command_and_citations(tmp_path):
    folder = _output_folder(
        tmp_path / "mim-run",
        {"model_type": "hyperset", "architectures": ["HyperSETForMaskedImageModeling"], "hidden_size": 32,
         "num_attention_heads": 4, "num_recurrences": 5, "image_size": 28, "patch_size": 7, "num_channels": 1,
         "transformers_version": "5.23.0"},
        {"eval_loss": 0.1234567, "eval_psnr": 21.5, "eval_ssim": 0.71, "eval_psnr_masked": 18.25, "epoch": 1.0},
    )
    (tmp_path / "results.md").write_text(RESULTS_MD)
    card = model_card_from_output_dir(folder, "mim", repo_id="org/hyperset-mim", results_file=tmp_path / "results.md",
                                      base_model="org/base")
    card.save(tmp_path / "README.md")
    loaded = ModelCard.load(tmp_path / "README.md")
    data = loaded.data.to_dict()
    assert data["pipeline_tag"] == "image-feature-extraction" and data["library_name"] == "transformers"
    assert data["datasets"] == ["zalando-datasets/fashion_mnist"] and data["base_model"] == "org/base"
    assert data["license"] == "apache-2.0" and {"hyper-set", "masked-image-modeling", "custom_code"} <= set(data["tags"])
    values = {r.metric_type: (r.metric_value, r.metric_config, r.dataset_name) for r in loaded.data.eval_results}
    assert values == {
        "loss": (0.1235, "num_recurrences=5", "Fashion-MNIST"),
        "psnr": (21.5, "num_recurrences=5", "Fashion-MNIST"),
        "ssim": (0.71, "num_recurrences=5", "Fashion-MNIST"),
        "psnr_masked": (18.25, "num_recurrences=5", "Fashion-MNIST"),
    }
    text = loaded.text
    # the command is the results file's line for this folder, not the other run's
    assert "--output_dir outputs/mim-run" in text and "--output_dir outputs/other-run" not in text
    assert "**A test record, not a benchmark.** Second line of the caveat." in text and "| Hyper-SET | 21.5 |" in text
    assert "first 500 images of the Fashion-MNIST test split at num_recurrences=5" in text
    assert "AutoModelForMaskedImageModeling.from_pretrained(\"org/hyperset-mim\")" in text
    assert 'AutoModel.from_pretrained("org/hyperset-mim")' in text
    # a 1-channel model: the stock image pipelines convert every image to RGB, so the card says so instead
    assert 'pipeline("image-feature-extraction"' not in text
    assert "converts every image to RGB, so it cannot feed this 1-channel model" in text
    assert "num_recurrences=10" in text  # the knob: twice the trained depth
    assert "28 parameters" not in text and "17 parameters" in text  # counted from the safetensors header: 12 + 5
    assert "@inproceedings{hu2026hyperset" in text and "@inproceedings{hoover2023energy" in text
    assert "transformers 5.23.0" in text  # the remote-code pin in the limitations


def test_energy_transformer_card_needs_only_its_kind(tmp_path):
    """A stand-in Energy Transformer config (another config class, another iteration field)."""
    folder = _output_folder(
        tmp_path / "et-run",
        {"model_type": "energy_transformer", "architectures": ["EnergyTransformerForMaskedImageModeling"],
         "hidden_size": 64, "num_iterations": 12},
        {"eval_loss": 0.5, "model_num_parameters": 123456},
    )
    card = model_card_from_output_dir(folder, "energy-transformer", repo_id="org/et")
    data = card.data.to_dict()
    assert "energy-transformer" in data["tags"] and data["pipeline_tag"] == "image-feature-extraction"
    assert [(r.metric_type, r.metric_value, r.metric_config) for r in card.data.eval_results] == [
        ("loss", 0.5, "num_iterations=12")
    ]
    assert "123,456 parameters" in card.text and "num_iterations=N" in card.text
    assert 'pipeline("image-feature-extraction", model="org/et")' in card.text  # 3 channels: the pipeline works
    assert card.text.index("@inproceedings{hoover2023energy") < card.text.index("@inproceedings{hu2026hyperset")
    assert set(CARD_KINDS) >= {"sudoku", "mim", "image-classification", "energy-transformer"}


def test_card_cli_writes_the_card_and_refuses_bad_input(tmp_path, capsys):
    folder = _output_folder(
        tmp_path / "cls-run",
        {"model_type": "hyperset", "architectures": ["HyperSETForImageClassification"], "num_recurrences": 4},
        {"eval_accuracy": 0.4875},
    )
    output = tmp_path / "cards" / "card.md"
    assert cli_main(["card", "--model-dir", str(folder), "--output", str(output), "--dataset", "cifar10"]) == 0
    card = ModelCard.load(output)
    assert card.data.pipeline_tag == "image-classification"  # kind inferred from the architecture
    assert [(r.metric_type, r.metric_value, r.dataset_type) for r in card.data.eval_results] == [
        ("accuracy", 48.75, "uoft-cs/cifar10")
    ]
    with pytest.raises(ValueError, match="unknown card kind 'nope'"):
        model_card_from_output_dir(folder, "nope")
    with pytest.raises(SystemExit):
        cli_main(["card", "--model-dir", str(tmp_path / "missing"), "--kind", "mim"])
    assert "has no config.json" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="results file"):
        read_results_file(tmp_path / "none.md")


def test_sudoku_kind_reproduces_sudoku_model_card(tmp_path):
    config = HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                        num_recurrences=16, time_embedding_size=8)
    from hyperset_hf import HyperSETForSudoku

    model = HyperSETForSudoku(config)
    model.save_pretrained(tmp_path / "run")
    (tmp_path / "run" / "extrapolation.json").write_text(json.dumps(ROWS))
    card = model_card_from_output_dir(tmp_path / "run", "sudoku", repo_id="org/s", training_command="cmd")
    direct = sudoku_model_card(config, model.num_parameters(), ROWS, training_command="cmd",
                               dataset_description=card.text.split("## Results on the generated palm-like test set")[1]
                               .strip().split("\n")[0], repo_id="org/s")
    assert str(card) == str(direct)
