#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Quickstart: build a small Hyper-SET classifier, train it for a minute on CPU with `Trainer` on procedurally drawn
images (stripes, checkerboards, discs, rings), classify a few held-out images and print the energy of every
iteration, at the trained depth and at twice that depth.

    python examples/image-classification/quickstart_procedural_images.py [--output_dir outputs/quickstart-images] [--max_steps 300]

Everything runs offline: the images are drawn with numpy, the model is built from a config.
"""

import argparse
import logging

import numpy as np
import torch
from datasets import ClassLabel, Dataset, Features, Image
from PIL import Image as PILImage
from transformers import AutoModelForImageClassification, Trainer, TrainingArguments, ViTImageProcessor, set_seed

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification


CLASS_NAMES = ["horizontal stripes", "vertical stripes", "checkerboard", "disc", "ring"]
IMAGE_SIZE = 32


def draw_image(label: int, rng: np.random.Generator) -> PILImage.Image:
    """A 32x32 RGB image of the given class with a random colour, period, phase, position and noise."""
    rows, columns = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)
    period = rng.uniform(4.0, 9.0)
    phase = rng.uniform(0.0, 2 * np.pi)
    if label == 0:
        pattern = np.sin(2 * np.pi * rows / period + phase) > 0
    elif label == 1:
        pattern = np.sin(2 * np.pi * columns / period + phase) > 0
    elif label == 2:
        pattern = (np.sin(2 * np.pi * rows / period + phase) > 0) ^ (np.sin(2 * np.pi * columns / period + phase) > 0)
    else:
        center = rng.uniform(10, 22, size=2)
        radius = np.hypot(rows - center[0], columns - center[1])
        outer = rng.uniform(6.0, 10.0)
        pattern = radius < outer if label == 3 else (radius < outer) & (radius > outer - rng.uniform(2.0, 3.5))
    foreground, background = rng.uniform(0, 255, size=(2, 3))
    image = np.where(pattern[..., None], foreground, background) + rng.normal(0, 20, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
    return PILImage.fromarray(np.clip(image, 0, 255).astype(np.uint8))


def make_dataset(num_images: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), size=num_images).tolist()
    features = Features({"image": Image(), "label": ClassLabel(names=CLASS_NAMES)})
    return Dataset.from_dict({"image": [draw_image(label, rng) for label in labels], "label": labels}, features=features)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="outputs/quickstart-images")
    parser.add_argument("--max_steps", type=int, default=300)
    parser.add_argument("--num_recurrences", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    set_seed(args.seed)

    # 1. A small Hyper-SET: one weight-tied layer iterated `num_recurrences` times.
    config = HyperSETConfig(
        hidden_size=64,
        num_attention_heads=4,
        intermediate_size=64,
        num_layers=1,
        num_recurrences=args.num_recurrences,
        time_embedding_size=64,
        image_size=IMAGE_SIZE,
        patch_size=4,
        id2label=dict(enumerate(CLASS_NAMES)),
        label2id={name: index for index, name in enumerate(CLASS_NAMES)},
    )
    model = HyperSETForImageClassification(config)
    print(f"Hyper-SET: {model.num_parameters():,} parameters, 1 layer x {config.num_recurrences} iterations")

    # 2. Data and the standard ViT image processor (resize + rescale + normalise).
    processor = ViTImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    train_dataset, test_dataset = make_dataset(2000, seed=args.seed), make_dataset(200, seed=args.seed + 1)

    def transform(batch):
        return {
            "pixel_values": processor(batch["image"], return_tensors="pt")["pixel_values"],
            "labels": batch["label"],
        }

    # 3. Train with Trainer.
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        per_device_train_batch_size=32,
        per_device_eval_batch_size=100,
        learning_rate=3e-3,
        warmup_steps=15,
        lr_scheduler_type="cosine",
        logging_steps=25,
        save_strategy="no",
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        seed=args.seed,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset.with_transform(transform),
        eval_dataset=test_dataset.with_transform(transform),
        compute_metrics=lambda prediction: {
            "accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())
        },
    )
    train_result = trainer.train()
    print(f"trained {train_result.global_step} steps in {train_result.metrics['train_runtime']:.1f} s")
    trainer.save_model(args.output_dir)
    processor.save_pretrained(args.output_dir)

    # 4. Reload through the Auto classes, classify a few held-out images, look at the energies.
    model = AutoModelForImageClassification.from_pretrained(args.output_dir).eval()
    print(f"held-out accuracy: {trainer.evaluate()['eval_accuracy']:.3f} on {len(test_dataset)} images")
    images, labels = test_dataset[:6]["image"], test_dataset[:6]["label"]
    pixel_values = processor(images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        outputs = model(pixel_values, output_energies=True)
        extrapolated = model(pixel_values, num_recurrences=2 * config.num_recurrences, output_energies=True)
    predictions = outputs.logits.argmax(-1).tolist()
    print("\nimage  true                 predicted            predicted at 2T")
    for index, (label, prediction, late) in enumerate(zip(labels, predictions, extrapolated.logits.argmax(-1).tolist())):
        print(f"{index:>5}  {CLASS_NAMES[label]:<20} {CLASS_NAMES[prediction]:<20} {CLASS_NAMES[late]}")

    print("\nenergy of image 0 per iteration (0 = embeddings), trained depth T and extrapolated to 2T:")
    print("iteration  attention     feedforward   total")
    attention, feedforward, total = (
        extrapolated.attention_energies[0][0],
        extrapolated.feedforward_energies[0][0],
        extrapolated.energies[0][0],
    )
    for iteration in range(total.shape[0]):
        marker = "  <- T (trained depth)" if iteration == config.num_recurrences else ""
        print(
            f"{iteration:>9}  {attention[iteration].item():>12.3f}  {feedforward[iteration].item():>12.3f}"
            f"  {total[iteration].item():>12.3f}{marker}"
        )
    assert torch.allclose(outputs.energies[0], extrapolated.energies[0][:, : config.num_recurrences + 1])
    print(f"\nmodel and image processor saved to {args.output_dir}")


if __name__ == "__main__":
    main()
