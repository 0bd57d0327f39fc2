#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""How closely bfloat16 copies of the shipped models follow the float32 ones. Sudoku: predicted digits, boards
solved, the energy trajectory, and the iterations adaptive exit uses (energy criterion). Masked image model (with
`--mim_model`, on Fashion-MNIST test images): the reconstructions and their masked-patch PSNR.

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/bf16_agreement.py \\
        [--model DIR] [--dataset mixed] [--num_puzzles 200] [--thresholds 0.01,0.003,0.001] \\
        [--mim_model src/hyperset_hf/checkpoints/hyperset-mim --num_images 64]

Prints Markdown tables (the shipped Sudoku checkpoint by default).
"""

import argparse

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--dataset", default="mixed")
    parser.add_argument("--num_puzzles", type=int, default=200)
    parser.add_argument("--thresholds", default="0.01,0.003,0.001")
    parser.add_argument("--mim_model", default=None)
    parser.add_argument("--num_images", type=int, default=64)
    args = parser.parse_args(argv)
    model_dir = args.model or resolve_default_model()
    inputs = to_model_inputs(load_sudoku_benchmark(args.dataset, "test", num_test=args.num_puzzles)[:])
    puzzles = inputs["input_ids"]
    solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, puzzles)
    blanks = puzzles == 0
    models = {
        dtype: AutoModelForTokenClassification.from_pretrained(model_dir, dtype=dtype).eval()
        for dtype in (torch.float32, torch.bfloat16)
    }
    depth = models[torch.float32].config.num_recurrences
    print(f"model: {model_dir}, {args.num_puzzles} {args.dataset} test puzzles, T={depth}\n")

    print("| iterations | boards solved fp32 (%) | boards solved bf16 (%) | blank cells with the same digit (%) | "
          "energy dtype | max energy difference / mean attention energy |")  # fmt: skip
    print("|---:|---:|---:|---:|---|---:|")
    for num_recurrences in (depth, 2 * depth):
        outputs = {}
        with torch.no_grad():
            for dtype, model in models.items():
                outputs[dtype] = model(puzzles, num_recurrences=num_recurrences, output_energies=True)
        grids = {
            dtype: torch.where(puzzles > 0, puzzles, output.logits.float().argmax(-1) + 1)
            for dtype, output in outputs.items()
        }
        boards = {
            dtype: 100 * sudoku_metrics(grid.numpy(), solutions.numpy(), puzzles.numpy())["board_accuracy"]
            for dtype, grid in grids.items()
        }
        same = 100 * (grids[torch.float32] == grids[torch.bfloat16])[blanks].float().mean()
        energy32, energy16 = outputs[torch.float32].energies[0], outputs[torch.bfloat16].energies[0]
        # relative to the size of the energy's parts (the total is a small difference of two large terms)
        scale = outputs[torch.float32].attention_energies[0].double().abs().mean()
        difference = (energy16.double() - energy32.double()).abs().max() / scale
        print(f"| {num_recurrences} | {boards[torch.float32]:.1f} | {boards[torch.bfloat16]:.1f} | {same:.1f} | "
              f"{energy16.dtype} | {difference:.2e} |")  # fmt: skip

    print("\nAdaptive exit (energy criterion, at most 4T iterations, at least 1):\n")
    print("| threshold | mean iterations fp32 | mean iterations bf16 | puzzles within +-1 iteration (%) | "
          "max difference |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|")
    for threshold in (float(value) for value in args.thresholds.split(",")):
        used = {}
        with torch.no_grad():
            for dtype, model in models.items():
                used[dtype] = model(puzzles, num_recurrences=4 * depth, adaptive_exit_threshold=threshold).iterations_used
        difference = (used[torch.float32] - used[torch.bfloat16]).abs()
        print(f"| {threshold:g} | {used[torch.float32].float().mean():.1f} | {used[torch.bfloat16].float().mean():.1f} | "
              f"{100 * (difference <= 1).float().mean():.1f} | {int(difference.max())} |")  # fmt: skip
    if args.mim_model:
        masked_image_agreement(args.mim_model, args.num_images)


def masked_image_agreement(model_dir: str, num_images: int):
    from transformers import AutoModelForMaskedImageModeling, ViTImageProcessor

    from hyperset_hf.data.images import load_fashion_mnist

    processor = ViTImageProcessor.from_pretrained(model_dir)
    images = list(load_fashion_mnist("test", max_samples=num_images)["image"])
    pixel_values = processor(images, return_tensors="pt")["pixel_values"]
    models = {
        dtype: AutoModelForMaskedImageModeling.from_pretrained(model_dir, dtype=dtype).eval()
        for dtype in (torch.float32, torch.bfloat16)
    }
    config = models[torch.float32].config
    num_patches = (config.image_size // config.patch_size) ** 2
    mask = torch.rand(num_images, num_patches, generator=torch.Generator().manual_seed(0)) < 0.4
    side = config.image_size // config.patch_size
    pixel_mask = mask.reshape(-1, side, side).repeat_interleave(config.patch_size, 1)
    pixel_mask = pixel_mask.repeat_interleave(config.patch_size, 2).unsqueeze(1)
    mean, std = torch.tensor(processor.image_mean).view(1, -1, 1, 1), torch.tensor(processor.image_std).view(1, -1, 1, 1)
    truth = pixel_values * std + mean
    reconstructions = {}
    with torch.no_grad():
        for dtype, model in models.items():
            output = model(pixel_values.to(dtype), bool_masked_pos=mask, output_energies=True)
            reconstructions[dtype] = (output.reconstruction.float() * std + mean).clamp(0, 1)

    def masked_psnr(prediction, reference):
        error = ((prediction - reference) ** 2)[pixel_mask.expand_as(reference)].mean()
        return float(10 * torch.log10(1 / error))

    print(f"\nMasked image model: {model_dir}, {num_images} Fashion-MNIST test images, 40% of patches masked (seed 0)\n")
    print("| | masked-patch PSNR vs the image (dB) |")
    print("|---|---:|")
    for dtype, reconstruction in reconstructions.items():
        print(f"| {str(dtype).replace('torch.', '')} | {masked_psnr(reconstruction, truth):.2f} |")
    difference = (reconstructions[torch.float32] - reconstructions[torch.bfloat16]).abs()
    print(f"\nbf16 vs fp32 reconstruction: max |difference| {difference.max():.4f}, mean {difference.mean():.5f} "
          f"(pixel values in [0, 1]); PSNR of bf16 against fp32 "
          f"{float(10 * torch.log10(1 / (difference ** 2).mean())):.1f} dB")


if __name__ == "__main__":
    main()
