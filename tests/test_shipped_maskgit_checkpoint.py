"""The masked-token (MaskGIT) checkpoint that ships with the package, with its image tokenizer in `image_tokenizer/`:
files, size and card, loading through the Auto classes and the pipeline, and its completion quality on real
Fashion-MNIST test images (the figures of `benchmarks/results/maskgit-fashion-mnist-cpu.md`)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel, AutoModelForMaskedLM, pipeline

import hyperset_hf
from hyperset_hf import HyperSETForMaskedTokenModeling
from hyperset_hf.data.images import DEBIAN_FASHION_MNIST_DIR, load_fashion_mnist
from hyperset_hf.maskgit import IMAGE_TOKENIZER_SUBFOLDER, DiffusersVQTokenizer, mask_visual_tokens, maskgit_decode
from hyperset_hf.metrics import image_reconstruction_metrics


pytest.importorskip("diffusers", reason="the image tokenizer is a diffusers VQModel")
CHECKPOINT = Path(hyperset_hf.__file__).parent / "checkpoints" / "hyperset-maskgit"
REPOSITORY = Path(__file__).resolve().parents[1]
HAS_FASHION_MNIST = any((Path(DEBIAN_FASHION_MNIST_DIR) / f"t10k-images-idx3-ubyte{suffix}").exists()
                        for suffix in ("", ".gz"))  # fmt: skip


def test_files_size_and_card():
    for name in ("config.json", "model.safetensors", "run_metadata.json", "all_results.json", "README.md",
                 f"{IMAGE_TOKENIZER_SUBFOLDER}/config.json",
                 f"{IMAGE_TOKENIZER_SUBFOLDER}/diffusion_pytorch_model.safetensors"):  # fmt: skip
        assert (CHECKPOINT / name).is_file(), name
    assert sum(path.stat().st_size for path in CHECKPOINT.rglob("*") if path.is_file()) <= 25 * 1024 * 1024
    assert not list(CHECKPOINT.rglob("*.py"))  # no copies of the model code
    card = ModelCard.load(CHECKPOINT / "README.md")
    metrics = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert metrics["psnr"] == pytest.approx(18.1217, abs=1e-4)
    assert metrics["masked_token_accuracy"] == pytest.approx(22.8571, abs=1e-4)
    assert card.data.pipeline_tag == "image-to-image"
    assert (REPOSITORY / "model_cards" / "hyperset-maskgit.md").read_text() == (CHECKPOINT / "README.md").read_text()


def test_loads_through_the_auto_classes_and_runs_deeper():
    model = AutoModelForMaskedLM.from_pretrained(CHECKPOINT).eval()
    assert isinstance(model, HyperSETForMaskedTokenModeling) and model.num_parameters() == 247_216
    assert (model.config.codebook_size, model.config.token_grid_size, model.config.mask_token_id) == (256, 7, 256)
    input_ids = torch.randint(0, 256, (2, 49), generator=torch.Generator().manual_seed(0))
    input_ids[:, ::3] = model.config.mask_token_id
    with torch.no_grad():
        outputs = model(input_ids=input_ids, num_recurrences=24, output_energies=True)
    assert outputs.logits.shape == (2, 49, 256) and outputs.energies[0].shape == (2, 25)
    assert torch.isfinite(outputs.energies[0]).all()
    assert type(AutoModel.from_pretrained(CHECKPOINT)).__name__ == "HyperSETModel"


@pytest.mark.skipif(not HAS_FASHION_MNIST, reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
def test_completion_of_real_test_images_matches_the_results_file():
    """200 test images, 40% of the tokens hidden (seed 0): decoded-token accuracy and PSNR near the results file's
    (1,000 images: 19.7% and 18.12 dB), and far above a random-code completion."""
    model = AutoModelForMaskedLM.from_pretrained(CHECKPOINT).eval()
    tokenizer = DiffusersVQTokenizer.from_pretrained(CHECKPOINT, subfolder=IMAGE_TOKENIZER_SUBFOLDER)
    images = np.stack([np.asarray(image) for image in load_fashion_mnist("test", max_samples=200)["image"]])
    originals = torch.from_numpy(images).float().div(255).unsqueeze(1)
    codes = tokenizer.encode(originals * 2 - 1).view(200, 49)
    input_ids, labels = mask_visual_tokens(codes, model.config.mask_token_id, 0.4, random_ratio=False,
                                           generator=torch.Generator().manual_seed(0))  # fmt: skip
    completed = maskgit_decode(model, input_ids, num_steps=24, generator=torch.Generator().manual_seed(0)).sequences
    hidden = labels != -100
    assert (completed[~hidden] == codes[~hidden]).all()
    accuracy = float((completed[hidden] == codes[hidden]).float().mean())
    random_codes = torch.where(hidden, torch.randint(0, 256, codes.shape, generator=torch.Generator().manual_seed(1)),
                               codes)  # fmt: skip

    def psnr(ids):
        decoded = ((tokenizer.decode(ids.view(-1, 7, 7)) + 1) / 2).clamp(0, 1).double().numpy()
        return image_reconstruction_metrics(predictions=decoded, references=originals.double().numpy())["psnr"]

    assert 0.15 < accuracy < 0.25
    assert 17.0 < psnr(completed) < 19.5 and psnr(completed) > psnr(random_codes) + 2.0


def test_the_pipeline_loads_the_shipped_tokenizer():
    completer = pipeline("masked-image-completion", model=str(CHECKPOINT))
    image = (np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)
    result = completer(image, mask_ratio=0.4, num_steps=12, seed=0)
    hidden = result["token_mask"]
    assert hidden.shape == (7, 7) and hidden.sum() == 20  # round(0.4 * 49)
    assert (result["completed_codes"][~hidden] == result["codes"][~hidden]).all()
    assert result["completed"].size == (28, 28)
