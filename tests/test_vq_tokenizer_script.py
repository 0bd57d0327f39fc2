"""examples/image-pretraining/train_vq_tokenizer.py end to end on a tiny folder of 16 grey 28x28 PNGs written by the
test (drawn squares and discs), with a tiny VQModel; offline, CPU, a few seconds."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import load_example
import torch
from PIL import Image


pytest.importorskip("diffusers")

from hyperset_hf.maskgit import DiffusersVQTokenizer, VisualTokenizer  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "image-pretraining" / "train_vq_tokenizer.py"
TINY = ["--block_out_channels", "8,16,16", "--norm_num_groups", "4", "--latent_channels", "4", "--codebook_size", "32"]


def load_script():
    return load_example(SCRIPT)


pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    for index in range(16):
        image = np.zeros((28, 28), dtype=np.uint8)
        cy, cx, radius = rng.integers(8, 20), rng.integers(8, 20), rng.integers(3, 8)
        if index % 2:
            image[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = rng.integers(120, 256)
        else:
            image[cy - radius : cy + radius, cx - radius : cx + radius] = rng.integers(120, 256)
        Image.fromarray(image).save(folder / f"{index:02d}.png")
    return folder


@pytest.fixture(scope="module")
def trained(image_folder, tmp_path_factory):
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    output_dir = tmp_path_factory.mktemp("vq")
    argv = ["--train_dir", str(image_folder), "--max_train_steps", "3", "--batch_size", "4", "--seed", "0",
            "--dead_code_restart_steps", "2", "--cpu", "--output_dir", str(output_dir)] + TINY  # fmt: skip
    results = load_script().main(argv)
    return output_dir, results


def test_saved_folder_is_a_visual_tokenizer(trained, image_folder):
    output_dir, results = trained
    assert {"config.json", "diffusion_pytorch_model.safetensors", "tokenizer_results.json", "run_metadata.json"} <= {
        path.name for path in output_dir.iterdir()
    }
    tokenizer = DiffusersVQTokenizer.from_pretrained(output_dir)
    assert isinstance(tokenizer, VisualTokenizer) and tokenizer.codebook_size == 32
    images = np.stack([np.asarray(Image.open(path)) for path in sorted(image_folder.glob("*.png"))[:5]])
    pixels = torch.from_numpy(images).float().div(127.5).sub(1.0)[:, None]
    ids = tokenizer.encode(pixels)
    assert ids.shape == (5, 7, 7) and not ids.is_floating_point()
    assert int(ids.min()) >= 0 and int(ids.max()) < 32
    decoded = tokenizer.decode(ids)
    assert decoded.shape == pixels.shape and torch.isfinite(decoded).all()


def test_results_and_metadata(trained):
    output_dir, results = trained
    saved = json.loads((output_dir / "tokenizer_results.json").read_text())
    assert saved["completed_steps"] == 3 == results["completed_steps"]
    assert math.isfinite(saved["psnr"]) and 0.0 < saved["codebook_usage"] <= 1.0
    assert saved["token_grid"] == [7, 7] and saved["num_eval_images"] == 4  # 25% of 16 files held out
    metadata = json.loads((output_dir / "run_metadata.json").read_text())
    stage = metadata["stages"][-1]
    assert stage["steps"] == 3 and stage["seed"] == 0 and "train_vq_tokenizer.py" in stage["command"]
    assert metadata["results_file"] == "tokenizer_results.json"


def test_pads_to_32_for_an_8x8_grid(image_folder, tmp_path):
    argv = ["--train_dir", str(image_folder), "--image_size", "32", "--max_train_steps", "1", "--batch_size", "4",
            "--cpu", "--output_dir", str(tmp_path)] + TINY  # fmt: skip
    assert load_script().main(argv)["token_grid"] == [8, 8]


def test_max_train_minutes_stops_training(image_folder, tmp_path):
    argv = ["--train_dir", str(image_folder), "--max_train_steps", "1000", "--max_train_minutes", "1e-6",
            "--batch_size", "4", "--cpu", "--output_dir", str(tmp_path)] + TINY  # fmt: skip
    assert load_script().main(argv)["completed_steps"] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--codebook_size", "0"], "--codebook_size must be a positive integer, got 0"),
        (["--max_train_steps", "-5"], "--max_train_steps must be a positive integer, got -5"),
        (["--image_size", "30"], "--image_size (30) must be divisible by 4"),
        (["--norm_num_groups", "3"], "--norm_num_groups (3) must divide every --block_out_channels"),
        (["--learning_rate", "0"], "--learning_rate must be a positive number, got 0.0"),
    ],
)
def test_bad_arguments_are_refused(extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script().parse_args(["--output_dir", str(tmp_path)] + TINY + extra)
    assert message in capsys.readouterr().err
