"""The masked-image-modeling checkpoint that ships with the package (the Space's default): card, size, loading,
reconstruction quality on real Fashion-MNIST test images."""

from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel, AutoModelForMaskedImageModeling, ViTImageProcessor

import hyperset_hf
from hyperset_hf import HyperSETForMaskedImageModeling
from hyperset_hf.data.images import DEBIAN_FASHION_MNIST_DIR, load_fashion_mnist


CHECKPOINT = Path(hyperset_hf.__file__).parent / "checkpoints" / "hyperset-mim"
REPOSITORY = Path(__file__).resolve().parents[1]


def test_checkpoint_files_card_and_size():
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        assert (CHECKPOINT / name).is_file(), name
    assert (CHECKPOINT / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    # no copies of the model code: `save_pretrained` and `hyperset-hf push` write the remote code into what they publish
    assert not list(CHECKPOINT.glob("*.py"))
    card = ModelCard.load(CHECKPOINT / "README.md")
    assert card.data.license == "apache-2.0" and card.data.library_name == "transformers"
    metrics = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert set(metrics) == {"loss", "psnr", "ssim", "psnr_masked"}
    assert metrics["psnr"] == pytest.approx(17.891, abs=1e-3) and metrics["ssim"] == pytest.approx(0.7051, abs=1e-4)
    assert (REPOSITORY / "model_cards" / "hyperset-mim.md").read_text() == (CHECKPOINT / "README.md").read_text()


def test_checkpoint_loads_and_runs_deeper():
    model = AutoModelForMaskedImageModeling.from_pretrained(CHECKPOINT).eval()
    assert isinstance(model, HyperSETForMaskedImageModeling)
    assert (model.config.image_size, model.config.patch_size, model.config.num_channels) == (28, 7, 1)
    assert sum(parameter.numel() for parameter in model.parameters()) == 1_631_571
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, :7] = True
    with torch.no_grad():
        outputs = model(torch.randn(2, 1, 28, 28), bool_masked_pos=mask, num_recurrences=24, output_energies=True)
    assert outputs.reconstruction.shape == (2, 1, 28, 28) and outputs.energies[0].shape == (2, 25)
    assert torch.isfinite(outputs.energies[0]).all()
    encoder = AutoModel.from_pretrained(CHECKPOINT)  # the shared base model alone
    assert encoder.__class__.__name__ == "HyperSETModel"


@pytest.mark.skipif(not (Path(DEBIAN_FASHION_MNIST_DIR) / "t10k-labels-idx1-ubyte.gz").exists()
                    and not (Path(DEBIAN_FASHION_MNIST_DIR) / "t10k-labels-idx1-ubyte").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
def test_reconstruction_beats_mean_fill_on_real_test_images():
    """40% of the patches masked on 64 test images: the model's completion of the masked patches is far better
    than filling them with the mean of the visible pixels (PSNR 14.8 vs 10.0 dB when this was written)."""
    model = AutoModelForMaskedImageModeling.from_pretrained(CHECKPOINT).eval()
    processor = ViTImageProcessor.from_pretrained(CHECKPOINT)
    images = load_fashion_mnist("test", max_samples=64)["image"]
    pixel_values = processor([image.convert("L") for image in images], return_tensors="pt")["pixel_values"]
    generator = torch.Generator().manual_seed(0)
    mask = torch.stack([torch.randperm(16, generator=generator) < 7 for _ in range(64)])
    with torch.no_grad():
        reconstruction = model(pixel_values, bool_masked_pos=mask).reconstruction
    mean, std = processor.image_mean[0], processor.image_std[0]
    target = pixel_values * std + mean
    completed = (reconstruction * std + mean).clamp(0, 1)
    pixel_mask = mask.view(64, 1, 4, 4).repeat_interleave(7, 2).repeat_interleave(7, 3)

    def masked_psnr(prediction):
        error = ((prediction - target) ** 2 * pixel_mask).sum((1, 2, 3)) / pixel_mask.sum((1, 2, 3))
        return (10 * torch.log10(1 / error)).mean().item()

    visible_mean = (target * ~pixel_mask).sum((1, 2, 3), keepdim=True) / (~pixel_mask).sum((1, 2, 3), keepdim=True)
    model_psnr, mean_fill_psnr = masked_psnr(completed), masked_psnr(visible_mean.expand_as(target))
    assert model_psnr > mean_fill_psnr + 3.0, (model_psnr, mean_fill_psnr)
