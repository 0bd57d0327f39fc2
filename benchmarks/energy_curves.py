#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Energy per iteration of saved masked-image-modeling models (Hyper-SET and Energy Transformer) on Fashion-MNIST.

For every model folder (as written by `examples/image-pretraining/run_mim.py`: model + image processor), the script
takes the first `--num_images` Fashion-MNIST test images, masks `--mask_ratio` of the model's patches (the same masks
as `run_mim.py` evaluation with `--seed`: image i uses `numpy.random.default_rng([seed, 0, 0, i])`), runs the model
with `output_energies=True` and prints, for every iteration t = 0 (the initial state) ... T, the mean over the images
of the total energy and of its attention and feedforward (Hyper-SET) / Hopfield (ET) parts, as a Markdown table.
`--output_json` also writes the curves.

Only torch, numpy, Pillow, transformers and this package are needed (the Fashion-MNIST IDX files are read with
`hyperset_hf.data.images.read_idx`, without `datasets`).

Example:

    python benchmarks/energy_curves.py outputs/fmnist-mim-hyperset outputs/fmnist-mim-et --num_images 1000 \\
        --output_json benchmarks/results/fashion-mnist-mim-energy-curves.json
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import AutoModelForMaskedImageModeling, ViTImageProcessor


REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "src"))  # a checkout without `pip install`
sys.path.insert(0, str(REPOSITORY / "examples"))  # the masks of run_mim.py (examples/_shared/images.py)

import hyperset_hf  # noqa: E402, F401  (registers the models with the Auto classes)
from _shared.images import MaskGenerator  # noqa: E402
from hyperset_hf.data.images import DEBIAN_FASHION_MNIST_DIR, read_idx  # noqa: E402


def load_test_images(data_dir: str | None, num_images: int) -> list[Image.Image]:
    """The first `num_images` Fashion-MNIST test images as 28x28 PIL images of mode "L"."""
    directory = Path(data_dir or DEBIAN_FASHION_MNIST_DIR)
    for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
        if (directory / name).exists():
            images = read_idx(directory / name, max_items=num_images)
            return [Image.fromarray(np.ascontiguousarray(image)) for image in images]  # uint8 (28, 28): mode "L"
    raise FileNotFoundError(f"No t10k-images-idx3-ubyte[.gz] in {directory} (apt-get install dataset-fashion-mnist).")


def evaluation_mask(num_patches_per_side: int, mask_ratio: float, seed: int, index: int) -> torch.Tensor:
    """The mask `run_mim.py` uses for evaluation image `index` (mask squares = model patches)."""
    generator = MaskGenerator(input_size=num_patches_per_side, mask_patch_size=1, model_patch_size=1, mask_ratio=mask_ratio)
    return generator(np.random.default_rng([seed, 0, 0, int(index)]))


@torch.no_grad()
def energy_curves(
    model_dir: str,
    images: list[Image.Image],
    mask_ratio: float = 0.4,
    seed: int = 42,
    batch_size: int = 250,
    num_recurrences: int | None = None,
    device: str = "cpu",
) -> dict:
    """Mean (over the images) energy of the initial state and after every iteration of every layer of a saved MIM
    model. Returns `{"model": ..., "model_type": ..., "num_parameters": ..., "layers": [{"total": [...],
    "attention": [...], "feedforward": [...]}, ...]}` (lists of length T + 1)."""
    model = AutoModelForMaskedImageModeling.from_pretrained(model_dir, dtype=torch.float32).to(device).eval()
    config = model.config
    processor = ViTImageProcessor.from_pretrained(model_dir)
    mode = "L" if config.num_channels == 1 else "RGB"
    side = config.image_size // config.patch_size
    sums = None
    for start in range(0, len(images), batch_size):
        batch = [image.convert(mode) for image in images[start : start + batch_size]]
        pixel_values = processor(batch, return_tensors="pt")["pixel_values"].to(device)
        mask = torch.stack([evaluation_mask(side, mask_ratio, seed, start + i) for i in range(len(batch))]).to(device)
        outputs = model(pixel_values, bool_masked_pos=mask, num_recurrences=num_recurrences, output_energies=True)
        parts = [
            [energies.double().sum(0) for energies in (total, attention, feedforward)]
            for total, attention, feedforward in zip(
                outputs.energies, outputs.attention_energies, outputs.feedforward_energies
            )
        ]
        sums = parts if sums is None else [[a + b for a, b in zip(old, new)] for old, new in zip(sums, parts)]
    layers = [
        {name: (values / len(images)).tolist() for name, values in zip(("total", "attention", "feedforward"), layer)}
        for layer in sums
    ]
    return {
        "model": str(model_dir),
        "model_type": config.model_type,
        "num_parameters": model.num_parameters(),
        "num_images": len(images),
        "mask_ratio": mask_ratio,
        "layers": layers,
    }


def markdown_table(curves: list[dict]) -> str:
    """One column group per model (total / attention / feedforward-or-Hopfield mean energy), one row per iteration."""
    header, rule, columns = ["t"], ["---"], []
    for curve in curves:
        name = Path(curve["model"]).name
        second = "Hopfield" if curve["model_type"] == "energy_transformer" else "feedforward"
        for layer_index, layer in enumerate(curve["layers"]):
            suffix = f" L{layer_index}" if len(curve["layers"]) > 1 else ""
            for key, label in (("total", "E"), ("attention", "attention"), ("feedforward", second)):
                header.append(f"{name}{suffix} {label}")
                rule.append("---:")
                columns.append(layer[key])
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    for step in range(max(len(column) for column in columns)):
        cells = [str(step)] + [f"{column[step]:.6g}" if step < len(column) else "" for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def monotone_summary(curve: dict) -> str:
    totals = curve["layers"][0]["total"]
    increases = [t for t in range(1, len(totals)) if totals[t] > totals[t - 1]]
    status = "decreases at every iteration" if not increases else f"rises at iteration(s) {increases}"
    change = totals[-1] - totals[0]
    relative = change / abs(totals[0]) if totals[0] else math.nan
    return (
        f"{Path(curve['model']).name} ({curve['model_type']}, {curve['num_parameters']:,} parameters): mean energy "
        f"{totals[0]:.6g} -> {totals[-1]:.6g} ({relative:+.2%}), {status}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dirs", nargs="+", help="Saved MIM model folders (model + image processor).")
    parser.add_argument("--num_images", type=int, default=1000, help="First N Fashion-MNIST test images.")
    parser.add_argument("--mask_ratio", type=float, default=0.4, help="Fraction of the patches to mask.")
    parser.add_argument("--seed", type=int, default=42, help="Mask seed (run_mim.py's --seed gives its eval masks).")
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--num_recurrences", type=int, default=None, help="Iterations (default: each model's own).")
    parser.add_argument("--data_dir", type=str, default=None,
                        help=f"Fashion-MNIST folder (default {DEBIAN_FASHION_MNIST_DIR}).")  # fmt: skip
    parser.add_argument("--device", type=str, default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output_json", type=str, default=None, help="Also write the curves to this JSON file.")
    args = parser.parse_args(argv)
    if not 0.0 < args.mask_ratio < 1.0:
        parser.error(f"--mask_ratio must be in (0, 1), got {args.mask_ratio}")

    images = load_test_images(args.data_dir, args.num_images)
    curves = [
        energy_curves(path, images, args.mask_ratio, args.seed, args.batch_size, args.num_recurrences, args.device)
        for path in args.model_dirs
    ]
    print(f"Mean energy per iteration over {len(images)} Fashion-MNIST test images, {args.mask_ratio:.0%} of the "
          f"patches masked (seed {args.seed}):\n")  # fmt: skip
    print(markdown_table(curves))
    print()
    for curve in curves:
        print(monotone_summary(curve))
    if args.output_json:
        Path(args.output_json).write_text(json.dumps(curves, indent=2) + "\n")
    return curves


if __name__ == "__main__":
    main()
