"""Model cards are rendered from a Jinja template, fed only by what a training run leaves in its folder."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard
from safetensors.numpy import save_file

from hyperset_hf import HyperSETConfig
from hyperset_hf.cli import main as cli_main
from hyperset_hf.release.model_card import (
    CARD_KINDS,
    model_card_from_output_dir,
    read_decoding,
    read_extrapolation,
    read_run_metadata,
    record_training_stage,
)


REPOSITORY = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPOSITORY / "src" / "hyperset_hf" / "checkpoints"
ROWS = [
    {"multiplier": 1.0, "iterations": 16, "board_accuracy": 12.5, "cell_accuracy": 61.25, "validity": 12.6},
    {"multiplier": 2.0, "iterations": 32, "board_accuracy": 14.5, "cell_accuracy": 62.5, "validity": 14.7},
]


@pytest.mark.parametrize(
    "source, card",
    [
        (CHECKPOINTS / "hyperset-sudoku", "hyperset-sudoku.md"),
        (CHECKPOINTS / "hyperset-mim", "hyperset-mim.md"),
        (CHECKPOINTS / "hyperset-maskgit", "hyperset-maskgit.md"),
        (REPOSITORY / "model_cards" / "runs" / "hyperset-fashion-mnist", "hyperset-fashion-mnist.md"),
        (REPOSITORY / "model_cards" / "runs" / "energy-transformer-fashion-mnist-mim", "energy-transformer-fashion-mnist-mim.md"),
        (REPOSITORY / "model_cards" / "runs" / "energy-transformer-yelpchi", "energy-transformer-yelpchi.md"),
    ],
)  # fmt: skip
def test_published_cards_are_the_template_rendered_from_their_run_folders(source, card):
    """No card is edited by hand: each one is what its folder (config, metrics, run_metadata.json) renders to."""
    rendered = str(model_card_from_output_dir(source, repo_id=f"hyperset-hf/{card[:-3]}"))
    assert rendered == (REPOSITORY / "model_cards" / card).read_text()
    if (source / "README.md").is_file():
        assert rendered == (source / "README.md").read_text()


def _output_folder(path, config, results, metadata=None):
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    (path / "all_results.json").write_text(json.dumps(results))
    if metadata is not None:
        (path / "run_metadata.json").write_text(json.dumps(metadata))
    save_file({"a": np.zeros((3, 4), dtype=np.float32), "b": np.zeros(5, dtype=np.float32)}, path / "model.safetensors")
    return path


MIM_CONFIG = {"model_type": "hyperset", "architectures": ["HyperSETForMaskedImageModeling"], "hidden_size": 32,
              "num_attention_heads": 4, "num_recurrences": 5, "image_size": 28, "patch_size": 7, "num_channels": 1,
              "transformers_version": "5.23.0"}  # fmt: skip


def test_mim_card_has_metadata_numbers_every_stage_and_citations(tmp_path, monkeypatch):
    folder = _output_folder(
        tmp_path / "mim-run", MIM_CONFIG,
        {"eval_loss": 0.1234567, "eval_psnr": 21.5, "eval_ssim": 0.71, "eval_psnr_masked": 18.25, "epoch": 1.0},
    )  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["examples/image-pretraining/run_mim.py", "--seed", "7", "--output_dir", "x"])
    record_training_stage(folder, dataset="fashion-mnist-local", evaluation="the first 500 images of the test split",
                          steps=100, wall_minutes=1.5, seed=7)  # fmt: skip
    card = model_card_from_output_dir(folder, repo_id="org/hyperset-mim", base_model="org/base", notes="A CPU run.",
                                      results_file="benchmarks/results/x.md")  # fmt: skip
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
    assert "python examples/image-pretraining/run_mim.py --seed 7 --output_dir x" in text  # the recorded command
    assert "| 1 | scratch | fashion-mnist-local | 100 | 1.5 |" in text
    assert "A CPU run." in text and "`benchmarks/results/x.md`" in text
    assert "Evaluated on the first 500 images of the test split at num_recurrences=5" in text
    assert 'AutoModelForMaskedImageModeling.from_pretrained("org/hyperset-mim")' in text
    # a 1-channel model: the stock image pipelines convert every image to RGB, so the card says so instead
    assert "converts every image to RGB, so it cannot feed this 1-channel" in text
    assert "num_recurrences=10" in text  # the knob: twice the trained depth
    assert "17 parameters" in text  # counted from the safetensors header: 12 + 5
    assert "@inproceedings{hu2026hyperset" in text and "@inproceedings{hoover2023energy" in text
    assert "transformers\n  5.23.0" in text  # the remote-code pin in the limitations


def test_a_later_stage_carries_the_history_on_but_not_the_earlier_model_s_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run.py", "--first"])
    record_training_stage(tmp_path / "one", dataset="mixed", notes="about model one", steps=10)
    monkeypatch.setattr(sys, "argv", ["run.py", "--second"])
    record_training_stage(tmp_path / "two", started_from=tmp_path / "one", steps=20)
    metadata = read_run_metadata(tmp_path / "two")
    assert [stage["steps"] for stage in metadata["stages"]] == [10, 20]
    assert [stage["command"] for stage in metadata["stages"]] == ["python run.py --first", "python run.py --second"]
    assert metadata["stages"][1]["started_from"] == str(tmp_path / "one")
    assert metadata["dataset"] == "mixed" and "notes" not in metadata


def test_sudoku_card_reports_every_depth_on_the_named_test_set(tmp_path):
    from hyperset_hf import HyperSETForSudoku

    config = HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                        num_recurrences=16, time_embedding_size=8)  # fmt: skip
    HyperSETForSudoku(config).save_pretrained(tmp_path / "run")
    (tmp_path / "run" / "extrapolation.json").write_text(json.dumps(ROWS))
    card = model_card_from_output_dir(tmp_path / "run", repo_id="org/s", dataset="mixed", test_set="satnet-like")
    results = {(r.metric_type, r.metric_config): r.metric_value for r in card.data.eval_results}
    assert results == {("board_accuracy", "num_recurrences=16"): 12.5, ("cell_accuracy", "num_recurrences=16"): 61.25,
                       ("board_accuracy", "num_recurrences=32"): 14.5, ("cell_accuracy", "num_recurrences=32"): 62.5}
    assert {r.dataset_type for r in card.data.eval_results} == {"satnet-like"}
    assert "| 32 | 14.50 | 62.50 | 14.70 |" in card.text
    assert "satnet-like (generated, 31-42 givens" in card.text and "with 27-63\n  givens" in card.text
    assert 'pipeline("sudoku-solving", model="org/s")' in card.text and "num_recurrences=32" in card.text
    assert "inputs 32x32 px" not in card.text  # the image fields of a Sudoku config are not described


def test_energy_transformer_card_cites_its_paper_first(tmp_path):
    folder = _output_folder(
        tmp_path / "et-run",
        {"model_type": "energy_transformer", "architectures": ["EnergyTransformerForMaskedImageModeling"],
         "hidden_size": 64, "num_iterations": 12},
        {"eval_loss": 0.5, "model_num_parameters": 123456},
    )  # fmt: skip
    card = model_card_from_output_dir(folder, repo_id="org/et")
    assert "energy-transformer" in card.data.tags and card.data.pipeline_tag == "image-feature-extraction"
    assert [(r.metric_type, r.metric_value, r.metric_config) for r in card.data.eval_results] == [
        ("loss", 0.5, "num_iterations=12")
    ]
    assert "123,456 parameters" in card.text and "num_iterations=N" in card.text
    assert 'pipeline("image-feature-extraction", model="org/et")' in card.text  # 3 channels: the pipeline works
    assert card.text.index("@inproceedings{hoover2023energy") < card.text.index("@inproceedings{hu2026hyperset")
    assert "(no training stages recorded" in card.text
    assert set(CARD_KINDS) == {"sudoku", "mim", "image-classification", "energy-transformer", "node-classification",
                               "masked-token-modeling"}


def test_masked_token_card_describes_the_shipped_tokenizer_and_its_training(tmp_path, monkeypatch):
    config = {"model_type": "hyperset", "architectures": ["HyperSETForMaskedTokenModeling"], "hidden_size": 32,
              "num_attention_heads": 4, "num_recurrences": 6, "input_type": "visual_tokens", "codebook_size": 16,
              "token_grid_size": 7, "transformers_version": "5.24.0"}  # fmt: skip
    folder = _output_folder(tmp_path / "token-run", config, {
        "eval_masked_token_accuracy": 0.25, "eval_psnr": 16.5, "eval_ssim": 0.6, "eval_masked_region_psnr": 14.25,
        "eval_tokenizer_psnr": 21.5,
    })  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["examples/image-pretraining/run_maskgit.py", "--seed", "3"])
    record_training_stage(folder, dataset="fashion-mnist-local", steps=30, wall_minutes=2.0, seed=3)
    tokenizer = folder / "image_tokenizer"
    tokenizer.mkdir()
    (tokenizer / "config.json").write_text(json.dumps(
        {"_class_name": "VQModel", "sample_size": 28, "in_channels": 1, "num_vq_embeddings": 16}
    ))  # fmt: skip
    save_file({"w": np.zeros((10, 10), dtype=np.float32)}, tokenizer / "diffusion_pytorch_model.safetensors")
    (tokenizer / "tokenizer_results.json").write_text(json.dumps({"psnr": 21.5, "num_eval_images": 500, "codes_used": 15}))
    monkeypatch.setattr(sys, "argv", ["examples/image-pretraining/train_vq_tokenizer.py", "--max_train_steps", "9"])
    record_training_stage(tokenizer, steps=9, wall_minutes=0.5, seed=0)

    card = model_card_from_output_dir(folder, repo_id="org/hyperset-maskgit")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "image-to-image" and "maskgit" in data["tags"]
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("masked_token_accuracy", 25.0), ("psnr", 16.5), ("ssim", 0.6), ("masked_region_psnr", 14.25),
        ("tokenizer_psnr", 21.5),
    ]  # fmt: skip
    text = card.text
    assert "# Hyper-SET masked token model for image completion (token-run)" in text
    assert "`input_ids` of shape (batch, 49), a 7x7 grid of codes" in text and "16 (`config.mask_token_id`)" in text
    assert "a diffusers `VQModel`, 100 parameters" in text  # counted from the tokenizer's safetensors header
    assert "28x28 px, 1 channel(s) -> 7x7 codes of 16; reconstruction PSNR 21.50 dB on 500 held-out images" in text
    assert 'pipeline("masked-image-completion", model="org/hyperset-maskgit")' in text
    assert 'AutoModelForMaskedLM.from_pretrained("org/hyperset-maskgit")' in text
    assert "python examples/image-pretraining/run_maskgit.py --seed 3" in text  # the model's stage ...
    assert "python examples/image-pretraining/train_vq_tokenizer.py --max_train_steps 9" in text  # ... the tokenizer's
    assert "(9 steps, 0.5 min," in text and "(28 px); the pipeline refuses others" in text


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
    with pytest.raises(ValueError, match=r"unknown card facts \['training_notes'\]"):
        model_card_from_output_dir(folder, training_notes="x")
    with pytest.raises(SystemExit):
        cli_main(["card", "--model-dir", str(tmp_path / "missing"), "--kind", "mim"])
    assert "has no config.json" in capsys.readouterr().err


def test_missing_or_malformed_results_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="extrapolation.json"):
        read_extrapolation(tmp_path)
    (tmp_path / "extrapolation.json").write_text(json.dumps([{"iterations": 4}]))
    with pytest.raises(ValueError, match="lacks"):
        read_extrapolation(tmp_path)
    (tmp_path / "run_metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="run_metadata.json is not valid JSON"):
        read_run_metadata(tmp_path)


def _decoding_row(**overrides):
    row = {"set": "satnet-like", "protocol": "iterative", "copies": 1, "selector": "-", "board_accuracy": 87.7,
           "cell_accuracy": 96.4, "mean_iterations": 124.5, "max_iterations": 320}  # fmt: skip
    return {**row, **overrides}


def test_the_sudoku_card_shows_both_decoding_protocols_side_by_side():
    card = (Path(__file__).parents[1] / "model_cards" / "hyperset-sudoku.md").read_text()
    decoding = read_decoding(CHECKPOINTS / "hyperset-sudoku")
    rows = {(row["set"], row["protocol"]): row for row in decoding["rows"]}
    for name in ("satnet-like", "palm-like", "mixed", "hard"):
        one_pass, iterative = rows[(name, "one pass (paper)")], rows[(name, "iterative")]
        expected = (f"| {name} | {one_pass['board_accuracy']:.1f} | {one_pass['cell_accuracy']:.1f} | "
                    f"{iterative['board_accuracy']:.1f} | {iterative['cell_accuracy']:.1f} | ")  # fmt: skip
        assert expected in card


@pytest.mark.parametrize(
    "content, fragment",
    [
        ([], "`rows` is a non-empty list"),
        ({"num_puzzles": 10, "rows": []}, "`rows` is a non-empty list"),
        ({"num_puzzles": 10, "rows": [_decoding_row(board_accuracy=140.0)]}, "`rows[0].board_accuracy` must be a percentage"),
        ({"num_puzzles": 10, "rows": [_decoding_row(copies=-1)]}, "`rows[0].copies` must be an integer >= 0"),
        ({"num_puzzles": 10, "rows": [{"set": "hard"}]}, "`rows[0].protocol` must be present"),
        ({"num_puzzles": 0, "rows": [_decoding_row()]}, "`num_puzzles` must be a positive integer, got 0"),
    ],
)
def test_a_broken_decoding_file_is_named(tmp_path, content, fragment):
    path = tmp_path / "decoding.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError) as error:
        read_decoding(tmp_path)
    assert fragment in str(error.value) and str(path) in str(error.value)
