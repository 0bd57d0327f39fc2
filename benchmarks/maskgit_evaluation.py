#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Evaluates masked-token image models (MaskGIT completion) against each other and against a pixel-space masked
image model, on the same Fashion-MNIST test images and the same hidden pixels. Prints Markdown tables.

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/maskgit_evaluation.py \\
        --tokenizer outputs/maskgit/vq-tokenizer \\
        --token_model "Hyper-SET=outputs/maskgit/hyperset" --token_model "Transformer=outputs/maskgit/transformer" \\
        --pixel_model src/hyperset_hf/checkpoints/hyperset-mim --num_images 1000

A token model's folder may hold its tokenizer in `image_tokenizer/` (then `--tokenizer` may be left out).

Protocol A, the paper's (token space): every token of the first `--num_images` test images is hidden with
probability `--mask_ratio` (fixed seeded masks, the same for every model; at least one token per image), the hidden
tokens are completed by MaskGIT decoding (`--decode_steps`, arccos schedule, `--temperature`, seeded) and the codes
decoded by the tokenizer. Reported, against the original images in [0, 1]:

- masked-token accuracy (argmax of one forward pass = the true code) and decoded-token accuracy (after decoding);
- PSNR and SSIM of the whole image (`hyperset_hf.metrics.image_reconstruction_metrics`), MS-SSIM (torchmetrics'
  `multiscale_structural_similarity_index_measure`: 28 px images allow 3 scales, 28 / 14 / 7 px, with the first three
  of Wang et al.'s scale weights normalised to sum 1; Gaussian window sigma 1.5, which torchmetrics sizes 11x11 and pads
  by reflection at the small scales; `kernel_size=7` only passes its size check), and the masked-region PSNR (PSNR
  over the pixels of the hidden tokens only, per image, averaged);
- a classifier-feature Frechet distance ("CFD", not FID: no Inception network is available offline): the Frechet
  distance between Gaussians fitted to the 128-d penultimate features of a small CNN classifier trained here on the
  Fashion-MNIST training set (`--classifier`, trained and saved there when the file does not exist) for the completed
  images and for the original test images (torchmetrics' `FrechetInceptionDistance` with this network as its feature
  extractor); and that classifier's accuracy on the completed images (on the originals it is the classifier's test
  accuracy, printed with it).

The tokenizer's reconstruction of the whole image (all tokens visible) is the ceiling row.

Protocol B (against the pixel model, `--pixel_model`, a `HyperSETForMaskedImageModeling` with its image processor):
the pixel model hides each of its patches with probability `--mask_ratio` (seeded) and reconstructs them; the token
models get every token whose pixel cell overlaps a hidden patch as hidden (they see no more of the image than the
pixel model, usually less: the token fraction hidden is printed). Reported: masked-region PSNR over the hidden
patches' pixels, per image, averaged.
"""

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf import HyperSETForMaskedTokenModeling
from hyperset_hf.data.images import load_fashion_mnist
from hyperset_hf.maskgit import (
    IMAGE_TOKENIZER_SUBFOLDER,
    DiffusersVQTokenizer,
    decode_images,
    encode_images,
    mask_visual_tokens,
    maskgit_complete,
)
from hyperset_hf.metrics import image_reconstruction_metrics, masked_region_psnr


MS_SSIM_BETAS = tuple(beta / 0.6305 for beta in (0.0448, 0.2856, 0.3001))  # Wang et al.'s first 3 scales, sum 1


class FeatureClassifier(nn.Module):
    """A small CNN for 28x28 grey images in [0, 1]: two conv blocks -> 128-d features -> 10 classes. `forward`
    returns the features (what the Frechet distance compares), `classify` the logits."""

    num_features = 128

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, self.num_features), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(self.num_features, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features((images.float() - 0.286) / 0.353)  # Fashion-MNIST mean / std

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self(images))


def images_and_labels(split: str, count: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST `split` as (N, 1, 28, 28) float in [0, 1] and (N,) labels."""
    dataset = load_fashion_mnist(split, max_samples=count)
    images = np.stack([np.asarray(image) for image in dataset["image"]])
    return torch.from_numpy(images).float().div(255).unsqueeze(1), torch.tensor(dataset["label"])


def feature_classifier(path: str, epochs: int, seed: int) -> tuple[FeatureClassifier, float]:
    """The classifier saved at `path`, else one trained (Adam 1e-3, batch 128, `epochs` over the 60k training images,
    seeded) and saved there; with its accuracy on the 10k test images."""
    classifier = FeatureClassifier()
    if os.path.isfile(path):
        saved = torch.load(path)
        classifier.load_state_dict(saved["state_dict"])
        return classifier.eval(), saved["test_accuracy"]
    torch.manual_seed(seed)
    classifier = FeatureClassifier()
    images, labels = images_and_labels("train")
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    started = time.monotonic()
    for epoch in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), 128):
            batch = order[start : start + 128]
            loss = nn.functional.cross_entropy(classifier.classify(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    classifier.eval()
    test_images, test_labels = images_and_labels("test")
    accuracy = classification_accuracy(classifier, test_images, test_labels)
    print(f"classifier trained: {epochs} epochs in {time.monotonic() - started:.0f}s, test accuracy {accuracy:.4f}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": classifier.state_dict(), "test_accuracy": accuracy, "epochs": epochs, "seed": seed}, path)
    return classifier, accuracy


@torch.no_grad()
def classification_accuracy(classifier: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    predictions = torch.cat([classifier.classify(images[i : i + 500]).argmax(-1) for i in range(0, len(images), 500)])
    return float((predictions == labels).float().mean())


@torch.no_grad()
def frechet_distance(classifier: FeatureClassifier, images: torch.Tensor, references: torch.Tensor) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=classifier, normalize=True)
    for start in range(0, len(images), 500):
        metric.update(references[start : start + 500], real=True)
        metric.update(images[start : start + 500], real=False)
    return float(metric.compute())


def ms_ssim(images: torch.Tensor, references: torch.Tensor) -> float:
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    return float(multiscale_structural_similarity_index_measure(
        images.double(), references.double(), data_range=1.0, betas=MS_SSIM_BETAS, kernel_size=7
    ))  # fmt: skip


def upsample_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """(N, h, w) bool -> (N, 1, size, size): every cell repeated over its pixels."""
    scale = size // mask.shape[-1]
    return mask.repeat_interleave(scale, 1).repeat_interleave(scale, 2).unsqueeze(1)


def complete(model, tokenizer, input_ids: torch.Tensor, grid: int, args) -> tuple[torch.Tensor, torch.Tensor]:
    """MaskGIT-completed codes (N, grid, grid) and the decoded images (N, C, H, W) in [0, 1]."""
    codes = maskgit_complete(
        model, input_ids, 250, num_steps=min(args.decode_steps, grid * grid), schedule="arccos",
        temperature=args.temperature, generator=torch.Generator().manual_seed(args.seed),
    ).view(-1, grid, grid)  # fmt: skip
    return codes, decode_images(tokenizer, codes, 250)


def image_metrics(images, originals, hidden_pixels, classifier, labels) -> dict[str, float]:
    """PSNR / SSIM / MS-SSIM of the whole images, masked-region PSNR, classifier accuracy and Frechet distance."""
    metrics = image_reconstruction_metrics(predictions=images.double().numpy(), references=originals.double().numpy())
    return {
        "psnr": metrics["psnr"], "ssim": metrics["ssim"], "ms_ssim": ms_ssim(images, originals),
        "masked_psnr": masked_region_psnr(images.numpy(), originals.numpy(), hidden_pixels.numpy())
        if hidden_pixels is not None else float("nan"),
        "classifier_accuracy": classification_accuracy(classifier, images, labels),
        "frechet": frechet_distance(classifier, images, originals),
    }  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token_model", action="append", default=[], metavar="NAME=FOLDER",
                        help="A HyperSETForMaskedTokenModeling folder to evaluate (repeat for several).")
    parser.add_argument("--tokenizer", default=None, help="The diffusers VQModel folder the token models use.")
    parser.add_argument("--pixel_model", default=None, help="A HyperSETForMaskedImageModeling folder (protocol B).")
    parser.add_argument("--num_images", type=int, default=1000, help="The first N Fashion-MNIST test images.")
    parser.add_argument("--mask_ratio", type=float, default=0.4)
    parser.add_argument("--decode_steps", type=int, default=24)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier", default="outputs/maskgit/fashion-mnist-feature-classifier.pt")
    parser.add_argument("--classifier_epochs", type=int, default=3)
    args = parser.parse_args(argv)
    named = []
    for entry in args.token_model:
        name, separator, folder = entry.partition("=")
        if not separator or not name or not os.path.isdir(folder):
            raise SystemExit(f"--token_model must be NAME=FOLDER with an existing folder, got {entry!r}")
        named.append((name, folder))
    if not named:
        raise SystemExit("give at least one --token_model NAME=FOLDER")
    tokenizer_path = args.tokenizer
    if tokenizer_path is None:
        tokenizer_path = os.path.join(named[0][1], IMAGE_TOKENIZER_SUBFOLDER)
    tokenizer = DiffusersVQTokenizer.from_pretrained(tokenizer_path)

    started = time.monotonic()
    classifier, classifier_accuracy = feature_classifier(args.classifier, args.classifier_epochs, args.seed)
    originals, labels = images_and_labels("test", args.num_images)
    true_codes = encode_images(tokenizer, originals * 2 - 1, 250)
    grid = true_codes.shape[-1]
    size = originals.shape[-1]

    print(f"\n{len(originals):,} Fashion-MNIST test images; tokenizer {tokenizer_path} ({grid}x{grid} codes of "
          f"{tokenizer.codebook_size}); feature classifier test accuracy {classifier_accuracy:.4f}; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, seed {args.seed}\n")  # fmt: skip

    # Protocol A: tokens hidden with probability mask_ratio (fixed, seeded; the same for every model)
    flat_codes = true_codes.view(len(true_codes), -1)
    rows = {}
    models = {name: HyperSETForMaskedTokenModeling.from_pretrained(folder).eval() for name, folder in named}
    for name, model in models.items():
        input_ids, labels_ids = mask_visual_tokens(flat_codes, model.config.mask_token_id, args.mask_ratio,
                                                   random_ratio=False, generator=torch.Generator().manual_seed(args.seed))  # fmt: skip
        hidden = labels_ids != -100
        with torch.no_grad():
            argmax = torch.cat([model(input_ids=input_ids[i : i + 250]).logits.argmax(-1)
                                for i in range(0, len(input_ids), 250)])  # fmt: skip
        codes, images = complete(model, tokenizer, input_ids, grid, args)
        hidden_pixels = upsample_mask(hidden.view(-1, grid, grid), size)
        rows[name] = {
            "parameters": model.num_parameters(),
            "token_accuracy": float((argmax[hidden] == flat_codes[hidden]).float().mean()),
            "decoded_accuracy": float((codes.view(len(codes), -1)[hidden] == flat_codes[hidden]).float().mean()),
            **image_metrics(images, originals, hidden_pixels, classifier, labels),
        }
        fraction = float(hidden.float().mean())
    ceiling = decode_images(tokenizer, true_codes, 250)
    rows["tokenizer reconstruction (ceiling)"] = {
        "parameters": sum(p.numel() for p in tokenizer.vq_model.parameters()),
        **image_metrics(ceiling, originals, hidden_pixels, classifier, labels),
    }
    print(f"Protocol A: {fraction:.1%} of the tokens hidden, MaskGIT decoding ({min(args.decode_steps, grid * grid)} "
          f"steps, arccos, temperature {args.temperature})\n")  # fmt: skip
    print("| model | parameters | masked-token acc. (%) | decoded-token acc. (%) | PSNR (dB) | masked-region PSNR (dB) "
          "| SSIM | MS-SSIM | classifier acc. (%) | classifier-feature Frechet distance |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        accuracy = [f"{100 * row[key]:.1f}" if key in row else "" for key in ("token_accuracy", "decoded_accuracy")]
        print(f"| {name} | {row['parameters']:,} | {accuracy[0]} | {accuracy[1]} | {row['psnr']:.2f} | "
              f"{row['masked_psnr']:.2f} | {row['ssim']:.3f} | {row['ms_ssim']:.3f} | "
              f"{100 * row['classifier_accuracy']:.1f} | {row['frechet']:.2f} |")  # fmt: skip
    print(f"| original images | | | | | | | | {100 * classification_accuracy(classifier, originals, labels):.1f} | 0 |")

    # Protocol B: the pixel model's hidden patches; the token models hide every token that overlaps them
    if args.pixel_model:
        from transformers import AutoModelForMaskedImageModeling, ViTImageProcessor

        processor = ViTImageProcessor.from_pretrained(args.pixel_model)
        pixel_model = AutoModelForMaskedImageModeling.from_pretrained(args.pixel_model).eval()
        patch, side = pixel_model.config.patch_size, pixel_model.config.image_size // pixel_model.config.patch_size
        patch_mask = torch.rand(len(originals), side * side, generator=torch.Generator().manual_seed(args.seed))
        patch_mask = patch_mask < args.mask_ratio
        hidden_pixels = upsample_mask(patch_mask.view(-1, side, side), size)
        mean = torch.tensor(processor.image_mean).view(1, -1, 1, 1)
        std = torch.tensor(processor.image_std).view(1, -1, 1, 1)
        with torch.no_grad():
            reconstruction = torch.cat([
                pixel_model((originals[i : i + 250] - mean) / std, bool_masked_pos=patch_mask[i : i + 250]).reconstruction
                for i in range(0, len(originals), 250)
            ]) * std + mean  # fmt: skip
        rows_b = {f"pixel model ({args.pixel_model})": (pixel_model.num_parameters(), float(patch_mask.float().mean()),
                                                         reconstruction.clamp(0, 1))}  # fmt: skip
        cell = size // grid
        token_hidden = hidden_pixels.view(-1, grid, cell, grid, cell).any(dim=(2, 4)).view(len(originals), -1)
        for name, model in models.items():
            input_ids = flat_codes.masked_fill(token_hidden, model.config.mask_token_id)
            _, images = complete(model, tokenizer, input_ids, grid, args)
            rows_b[name] = (model.num_parameters(), float(token_hidden.float().mean()), images)
        print(f"\nProtocol B: {float(patch_mask.float().mean()):.1%} of the pixel model's {patch}-px patches hidden "
              f"({float(hidden_pixels.float().mean()):.1%} of the pixels); the token models hide every token that "
              "overlaps them\n")  # fmt: skip
        print("| model | parameters | fraction of its units hidden (%) | masked-region PSNR (dB) |")
        print("|---|---:|---:|---:|")
        for name, (parameters, fraction, images) in rows_b.items():
            psnr = masked_region_psnr(images.numpy(), originals.numpy(), hidden_pixels.numpy())
            print(f"| {name} | {parameters:,} | {100 * fraction:.1f} | {psnr:.2f} |")
    print(f"\n({time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
