#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Training-step time and parameter count of the Fashion-MNIST benchmark models, as a Markdown table.

The models are built exactly as `examples/image-classification/run_image_classification.py` and
`examples/image-pretraining/run_mim.py` build them for 28x28 grayscale images with 7-px patches (the configs of
`benchmarks/results/fashion-mnist-cpu-hyperset-vs-vit.md` and `fashion-mnist-cpu-et-vs-hyperset-mim.md`); one step is
forward + backward + AdamW update on a random batch (data loading excluded). Use it to compare costs on an idle
machine, e.g.

    OMP_NUM_THREADS=1 python benchmarks/step_time.py --batch_size 128 --steps 5
    python benchmarks/step_time.py --device cuda --steps 50        # on a GPU
"""

import argparse
import time

import torch
from transformers import ViTConfig, ViTForImageClassification, ViTForMaskedImageModeling

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForMaskedImageModeling,
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
)


IMAGE = {"image_size": 28, "num_channels": 1, "patch_size": 7}
VIT = {"hidden_size": 192, "num_hidden_layers": 4, "num_attention_heads": 3, "intermediate_size": 768}
ENERGY_TRANSFORMER = {
    "hidden_size": 512, "num_attention_heads": 8, "head_dim": 64, "num_memories": 2044,
    "reconstruction_loss": "l1", "visible_loss_ratio": 0.0,
}


def build_models() -> dict[str, tuple[torch.nn.Module, str]]:
    return {
        "Hyper-SET classifier (d=512, 1x12)": (
            HyperSETForImageClassification(HyperSETConfig(num_labels=10, **IMAGE)), "classification"),
        "ViT classifier (d=192, 4 layers)": (
            ViTForImageClassification(ViTConfig(num_labels=10, **VIT, **IMAGE)), "classification"),
        "Hyper-SET MIM (d=512, 1x12)": (HyperSETForMaskedImageModeling(HyperSETConfig(**IMAGE)), "mim"),
        "ViT MIM (d=192, 4 layers)": (
            ViTForMaskedImageModeling(ViTConfig(encoder_stride=IMAGE["patch_size"], **VIT, **IMAGE)), "mim"),
        "Energy Transformer MIM (D=512, T=12)": (
            EnergyTransformerForMaskedImageModeling(EnergyTransformerConfig(**ENERGY_TRANSFORMER, **IMAGE)), "mim"),
    }


def step_time(model: torch.nn.Module, task: str, batch_size: int, steps: int, device: str) -> float:
    """Mean seconds per training step over `steps` steps after one warm-up step."""
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(batch_size, 1, 28, 28, generator=generator).to(device)
    inputs = {"pixel_values": pixel_values}
    if task == "classification":
        inputs["labels"] = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    else:
        inputs["bool_masked_pos"] = (torch.rand(batch_size, 16, generator=generator) < 0.4).to(device)
    for step in range(steps + 1):
        if step == 1:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
        model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model (after one warm-up step)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1:
        parser.error(f"--batch_size and --steps must be >= 1, got {args.batch_size} and {args.steps}")
    torch.manual_seed(0)
    print(f"batch {args.batch_size}, {args.steps} timed steps, device {args.device}, "
          f"torch threads {torch.get_num_threads()}\n")
    print("| model | parameters | s / training step |")
    print("|---|---:|---:|")
    for name, (model, task) in build_models().items():
        parameters = sum(parameter.numel() for parameter in model.parameters())
        seconds = step_time(model, task, args.batch_size, args.steps, args.device)
        print(f"| {name} | {parameters:,} | {seconds:.3f} |", flush=True)


if __name__ == "__main__":
    main()
