"""examples/image-pretraining/run_maskgit.py end to end on a tiny random diffusers VQModel (28x28 grey images -> 7x7
codes of a 16-entry codebook) and a tiny synthetic image set, a few training steps."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import load_example, tiny_vq_model
import torch


pytest.importorskip("diffusers", reason="the script's tokenizer is a diffusers VQModel")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "image-pretraining" / "run_maskgit.py"
TINY = "hidden_size=32,num_attention_heads=2,intermediate_size=32,time_embedding_size=32,num_recurrences=2"


def load_script():
    return load_example(SCRIPT)


pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("maskgit")
    torch.manual_seed(0)
    vq_model = tiny_vq_model(num_downsamplings=2, vq_embed_dim=3, sample_size=28)
    vq_model.save_pretrained(root / "vq")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    images = []
    for index in range(12):  # blobs of varying place and brightness on a dark background
        cy, cx = rng.integers(8, 20, size=2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(9, 30)))
        images.append(np.clip(blob * rng.uniform(120, 255) + rng.normal(0, 8, (28, 28)), 0, 255).astype(np.uint8))
    images = np.stack(images)
    np.save(root / "train.npy", images[:8])
    np.save(root / "val.npy", images[8:])
    return root


def arguments(assets, output_dir, *extra):
    return [
        "--tokenizer_name_or_path", str(assets / "vq"), "--train_file", str(assets / "train.npy"),
        "--validation_file", str(assets / "val.npy"), "--preset", "mim", "--config_overrides", TINY,
        "--output_dir", str(output_dir), "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4",
        "--max_steps", "2", "--decode_steps", "4", "--report_to", "none", "--save_strategy", "no",
        "--use_cpu", "--seed", "0", "--disable_tqdm", "true", *extra,
    ]  # fmt: skip


def test_train_and_evaluate(assets, tmp_path):
    script = load_script()
    output_dir = tmp_path / "out"
    cache_file = tmp_path / "ids.pt"
    metrics = script.main(
        arguments(assets, output_dir, "--do_train", "--do_eval", "--token_cache_file", str(cache_file))
    )

    results = json.loads((output_dir / "all_results.json").read_text())
    for key in ("eval_loss", "eval_masked_token_accuracy", "eval_psnr", "eval_ssim", "eval_tokenizer_psnr",
                "eval_tokenizer_ssim", "eval_decoded_token_accuracy", "eval_model_num_parameters",
                "eval_masked_region_psnr"):  # fmt: skip
        assert key in results and math.isfinite(results[key]), key
        assert results[key] == pytest.approx(metrics[key])
    for key in ("eval_masked_token_accuracy", "eval_decoded_token_accuracy"):
        assert 0.0 <= results[key] <= 1.0
    for key in ("eval_ssim", "eval_tokenizer_ssim"):
        assert -1.0 <= results[key] <= 1.0
    assert 0.0 < results["eval_psnr"] < 100.0 and 0.0 < results["eval_tokenizer_psnr"] < 100.0
    assert results["eval_masked_tokens"] > 0 and results["eval_mask_ratio"] == 0.4
    assert results["eval_decode_schedule"] == "arccos"

    # the cached ids: 7x7 grids of codes 0-15
    cache = torch.load(cache_file)
    assert cache["meta"]["tokenizer"] == str((assets / "vq").resolve())
    assert cache["train"].shape == (8, 7, 7) and cache["validation"].shape == (4, 7, 7)
    assert 0 <= int(cache["train"].min()) and int(cache["train"].max()) < 16

    metadata = json.loads((output_dir / "run_metadata.json").read_text())
    stage = metadata["stages"][-1]
    assert "run_maskgit.py" in stage["command"] and stage["steps"] == 2 and stage["preset"] == "mim"

    import hyperset_hf  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(output_dir)
    assert type(model).__name__ == "HyperSETForMaskedTokenModeling"
    assert model.config.codebook_size == 16 and model.config.token_grid_size == 7
    assert model.config.hidden_size == 32 and model.config.num_recurrences == 2
    assert model.num_parameters() == results["eval_model_num_parameters"]
    logits = model(input_ids=torch.full((1, 49), model.config.mask_token_id)).logits
    assert logits.shape == (1, 49, 16)

    # the evaluation is seeded: the same again from the saved model, with the cached ids
    again = script.main(
        arguments(assets, tmp_path / "again", "--do_eval", "--model_name_or_path", str(output_dir),
                  "--token_cache_file", str(cache_file))
    )  # fmt: skip
    for key in ("eval_masked_token_accuracy", "eval_psnr", "eval_ssim", "eval_tokenizer_psnr", "eval_masked_region_psnr"):
        assert again[key] == pytest.approx(metrics[key], rel=1e-5), key


def test_recipe_defaults():
    script = load_script()
    from transformers import HfArgumentParser

    parser = HfArgumentParser((script.ModelArguments, script.DataArguments, script.MaskGITTrainingArguments))
    _, data_args, training_args = parser.parse_args_into_dataclasses(
        args=["--tokenizer_name_or_path", "x", "--dataset_name", "fashion-mnist-local", "--output_dir", "o"]
    )
    assert training_args.learning_rate == 1e-4 and training_args.weight_decay == 0.1
    assert (training_args.adam_beta1, training_args.adam_beta2) == (0.9, 0.96)
    assert training_args.max_grad_norm == 3.0
    assert data_args.eval_mask_ratio == 0.4 and data_args.decode_schedule == "arccos"


def test_unknown_preset_is_refused(assets, tmp_path, capsys):
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(arguments(assets, tmp_path, "--do_train", "--preset", "mim-huge"))
    assert "invalid choice: 'mim-huge'" in capsys.readouterr().err


def test_missing_tokenizer_is_refused(assets, tmp_path):
    script = load_script()
    argv = arguments(assets, tmp_path, "--do_train")
    argv[argv.index("--tokenizer_name_or_path") + 1] = str(tmp_path / "no-such-vq")
    with pytest.raises(FileNotFoundError, match="no-such-vq.*not a folder with a config.json"):
        script.main(argv)


def test_missing_data_is_refused(assets, tmp_path):
    script = load_script()
    with pytest.raises(ValueError, match="--dataset_name fashion-mnist-local, or --train_file"):
        script.main(["--tokenizer_name_or_path", str(assets / "vq"), "--output_dir", str(tmp_path)])
