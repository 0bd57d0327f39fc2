"""The image example scripts with `--model_type energy_transformer` (Trainer MIM -> classification fine-tuning, Trainer
classification from scratch, the Accelerate MIM loop) on a tiny image folder written by the test (16 PNGs, 2 classes),
and `benchmarks/energy_curves.py` on saved Hyper-SET and ET MIM folders. Everything runs offline on CPU."""

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import load_example
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForImageClassification, AutoModelForMaskedImageModeling, ViTImageProcessor

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForImageClassification,
    EnergyTransformerForMaskedImageModeling,
    EnergyTransformerModel,
    HyperSETConfig,
    HyperSETForMaskedImageModeling,
)


ROOT = Path(__file__).resolve().parents[1]
CLASSIFICATION_SCRIPT = ROOT / "examples" / "image-classification" / "run_image_classification.py"
MIM_SCRIPT = ROOT / "examples" / "image-pretraining" / "run_mim.py"
MIM_NO_TRAINER_SCRIPT = ROOT / "examples" / "image-pretraining" / "run_mim_no_trainer.py"
ENERGY_CURVES_SCRIPT = ROOT / "benchmarks" / "energy_curves.py"
ET_TINY_CONFIG = "hidden_size=32,num_attention_heads=2,head_dim=8,num_memories=32,num_recurrences=2"
CLASSES = ("dark", "light")


def load_script(path: Path):
    return load_example(path)


pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    """train/: 6 RGB images per class; val/: 2 grayscale images per class."""
    root = tmp_path_factory.mktemp("et-images")
    rng = np.random.default_rng(0)
    for split, count, mode in (("train", 6, "RGB"), ("val", 2, "L")):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                shape = (16, 16, 3) if mode == "RGB" else (16, 16)
                pixels = rng.normal(60 + 130 * label, 30, size=shape)
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode=mode).save(folder / f"{index}.png")
    return root


def trainer_arguments(image_folders, output_dir, cache_dir, *extra):
    return [
        "--train_dir", str(image_folders / "train"),
        "--validation_dir", str(image_folders / "val"),
        "--cache_dir", str(cache_dir),
        "--do_train", "--do_eval",
        "--max_steps", "2",
        "--per_device_train_batch_size", "4",
        "--per_device_eval_batch_size", "4",
        "--eval_strategy", "no",
        "--save_strategy", "no",
        "--report_to", "none",
        "--use_cpu",
        "--disable_tqdm", "true",
        "--seed", "0",
        "--output_dir", str(output_dir),
        *extra,
    ]  # fmt: skip


def test_et_mim_with_trainer_then_classification_fine_tuning(image_folders, tmp_path):
    mim = load_script(MIM_SCRIPT)
    mim_dir = tmp_path / "mim"
    metrics = mim.main(
        trainer_arguments(
            image_folders, mim_dir, tmp_path / "cache",
            "--model_type", "energy_transformer", "--config_overrides", ET_TINY_CONFIG,
        )  # fmt: skip
    )
    assert np.isfinite(metrics["eval_loss"]) and metrics["eval_loss"] > 0
    assert metrics["eval_psnr"] > metrics["eval_psnr_masked"] > 0 and 0.0 < metrics["eval_ssim"] < 1.0
    model = AutoModelForMaskedImageModeling.from_pretrained(mim_dir)
    assert isinstance(model, EnergyTransformerForMaskedImageModeling)
    # sized from the data like the Hyper-SET default: image size, channels, Hyper-SET's 4-px patches; overrides applied
    assert (model.config.image_size, model.config.num_channels, model.config.patch_size) == (16, 3, 4)
    assert (model.config.hidden_size, model.config.num_memories, model.config.num_recurrences) == (32, 32, 2)
    train_results = json.loads((mim_dir / "train_results.json").read_text())
    assert train_results["model_num_parameters"] == model.num_parameters()
    assert (mim_dir / "preprocessor_config.json").is_file() and (mim_dir / "modeling_energy_transformer.py").is_file()
    # two optimisation steps changed the energy parameters
    initial = EnergyTransformerForMaskedImageModeling(model.config)
    assert model.energy_transformer.encoder.layers[0].norm.gamma.item() != initial.energy_transformer.encoder.layers[
        0
    ].norm.gamma.item()

    classification = load_script(CLASSIFICATION_SCRIPT)
    fine_tuned = tmp_path / "fine-tuned"
    metrics = classification.main(
        trainer_arguments(image_folders, fine_tuned, tmp_path / "cache", "--model_name_or_path", str(mim_dir))
    )
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    classifier = AutoModelForImageClassification.from_pretrained(fine_tuned)
    assert isinstance(classifier, EnergyTransformerForImageClassification)
    assert classifier.config.id2label == dict(enumerate(CLASSES))


def test_et_classification_from_scratch(image_folders, tmp_path):
    module = load_script(CLASSIFICATION_SCRIPT)
    output_dir = tmp_path / "classifier"
    metrics = module.main(
        trainer_arguments(
            image_folders, output_dir, tmp_path / "cache",
            "--model_type", "energy_transformer", "--config_overrides", ET_TINY_CONFIG + ",classifier_type=mlp",
        )  # fmt: skip
    )
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and np.isfinite(metrics["eval_loss"])
    model = AutoModelForImageClassification.from_pretrained(output_dir)
    assert isinstance(model, EnergyTransformerForImageClassification)
    assert model.config.classifier_type == "mlp" and model.config.id2label == dict(enumerate(CLASSES))
    processor = ViTImageProcessor.from_pretrained(output_dir)
    pixel_values = processor(Image.new("L", (28, 28), 128).convert("RGB"), return_tensors="pt")["pixel_values"]
    assert model(pixel_values).logits.shape == (1, 2)


def test_et_mim_with_accelerate_loop(image_folders, tmp_path):
    module = load_script(MIM_NO_TRAINER_SCRIPT)
    output_dir = tmp_path / "mim-accelerate"
    results = module.main([
        "--train_dir", str(image_folders / "train"),
        "--validation_dir", str(image_folders / "val"),
        "--cache_dir", str(tmp_path / "cache"),
        "--model_type", "energy_transformer",
        "--config_overrides", ET_TINY_CONFIG,
        "--per_device_train_batch_size", "4",
        "--learning_rate", "1e-2",
        "--max_train_steps", "2",
        "--max_grad_norm", "1.0",
        "--seed", "0",
        "--cpu",
        "--output_dir", str(output_dir),
    ])  # fmt: skip
    assert results["completed_steps"] == 2 and np.isfinite(results["eval_loss"])
    assert isinstance(AutoModel.from_pretrained(output_dir), EnergyTransformerModel)
    assert isinstance(AutoModelForMaskedImageModeling.from_pretrained(output_dir), EnergyTransformerForMaskedImageModeling)
    weights = load_file(output_dir / "model.safetensors")
    assert weights["energy_transformer.encoder.layers.0.hopfield.memories"].shape == (32, 32)


def _write_fashion_mnist_test_images(directory: Path, count: int) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", count, 28, 28)
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))


def test_energy_curves_of_saved_hyperset_and_et_models(tmp_path, capsys):
    module = load_script(ENERGY_CURVES_SCRIPT)
    processor = ViTImageProcessor(size={"height": 28, "width": 28}, image_mean=[0.286], image_std=[0.353])
    torch.manual_seed(0)
    et = EnergyTransformerForMaskedImageModeling(
        EnergyTransformerConfig(hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=32, num_recurrences=4,
                                image_size=28, patch_size=7, num_channels=1, initializer_range=0.2)  # fmt: skip
    )
    hyperset = HyperSETForMaskedImageModeling(
        HyperSETConfig(hidden_size=32, num_attention_heads=2, intermediate_size=32, num_recurrences=3,
                       time_embedding_size=16, image_size=28, patch_size=7, num_channels=1)  # fmt: skip
    )
    for name, model in (("et", et), ("hyperset", hyperset)):
        model.save_pretrained(tmp_path / name)
        processor.save_pretrained(tmp_path / name)
    data_dir = tmp_path / "fashion-mnist"
    data_dir.mkdir()
    _write_fashion_mnist_test_images(data_dir, 6)

    output_json = tmp_path / "curves.json"
    curves = module.main([
        str(tmp_path / "hyperset"), str(tmp_path / "et"),
        "--num_images", "5", "--batch_size", "2", "--seed", "42", "--data_dir", str(data_dir),
        "--device", "cpu", "--output_json", str(output_json),
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert "| t | hyperset E | hyperset attention | hyperset feedforward | et E | et attention | et Hopfield |" in printed
    assert json.loads(output_json.read_text()) == curves
    hyperset_curve, et_curve = curves
    assert len(hyperset_curve["layers"][0]["total"]) == 4 and len(et_curve["layers"][0]["total"]) == 5
    assert et_curve["num_images"] == 5 and et_curve["model_type"] == "energy_transformer"

    # the means over the images equal a direct computation with the same masks (2 of the 5 images per batch)
    images = module.load_test_images(str(data_dir), 5)
    pixel_values = processor([image for image in images], return_tensors="pt")["pixel_values"]
    masks = torch.stack([module.evaluation_mask(4, 0.4, 42, index) for index in range(5)])
    assert masks.sum(1).tolist() == [7] * 5  # ceil(0.4 * 16)
    with torch.no_grad():
        outputs = et.eval()(pixel_values, bool_masked_pos=masks, output_energies=True)
    np.testing.assert_allclose(et_curve["layers"][0]["total"], outputs.energies[0].double().mean(0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        et_curve["layers"][0]["feedforward"], outputs.feedforward_energies[0].double().mean(0).numpy(), rtol=1e-6
    )
    # the masks are those of run_mim.py's evaluation with the same seed
    from _shared.images import MaskGenerator

    generator = MaskGenerator(input_size=28, mask_patch_size=7, model_patch_size=7, mask_ratio=0.4)
    for index in range(5):
        assert torch.equal(generator(np.random.default_rng([42, 0, 0, index])), masks[index])
    assert "et (energy_transformer" in printed and ("decreases at every iteration" in printed or "rises" in printed)
