#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Train or fine-tune a Hyper-SET image classifier with `Trainer`.

Modelled on transformers' `examples/pytorch/image-classification/run_image_classification.py` (same argument names),
adapted to Hyper-SET and to machines without torchvision or Hub access:

- data: any `datasets` image dataset (`--dataset_name`, needs the Hub), image folders (`--train_dir`,
  `--validation_dir`, one sub-folder per class), or `--dataset_name fashion-mnist-local` (the Fashion-MNIST IDX files
  of the Debian `dataset-fashion-mnist` package, read by `hyperset_hf.data.images.load_fashion_mnist`; its test split
  is used for evaluation);
- model: from scratch the paper's "Small scale-up" classifier (1 layer x 12 iterations, d=512, 8 heads, FF width 512,
  4-px patches) with `image_size`, `num_channels` and the labels taken from the data; `--config_overrides` changes
  single fields. `--model_name_or_path` starts from a checkpoint, e.g. a `run_mim.py` output folder (the encoder is
  reused, the classifier head is newly initialised);
- preprocessing: a `ViTImageProcessor` (resize, rescale, normalise with per-dataset statistics) applied on the fly
  with `with_transform`; grayscale images are converted to the model's channel count. Training augmentation is
  torchvision-free (PIL): random crop with zero padding, horizontal flip and AutoAugment (the CIFAR-10 policy);
- metric: top-1 accuracy computed locally (`evaluate.load("accuracy")` needs the Hub) and reported as
  `eval_accuracy`;
- the model and its image processor are saved to `--output_dir`; `--push_to_hub` uploads them through `Trainer`.

Examples:

    # Fashion-MNIST, offline (apt-get install dataset-fashion-mnist), the paper's d=512 model from scratch
    python examples/image-classification/run_image_classification.py --dataset_name fashion-mnist-local \\
        --do_train --do_eval --num_train_epochs 20 --per_device_train_batch_size 128 --learning_rate 1e-3 \\
        --eval_strategy epoch --save_strategy epoch --output_dir outputs/fashion-mnist-hyperset

    # image folders (train/<class>/*.png, val/<class>/*.png), a small model for CPU
    python examples/image-classification/run_image_classification.py --train_dir data/train --validation_dir data/val \\
        --config_overrides hidden_size=64,num_attention_heads=4,intermediate_size=64,time_embedding_size=64 \\
        --image_size 32 --do_train --do_eval --max_steps 500 --output_dir outputs/folder-classifier

    # fine-tune a masked-image-modeling checkpoint (examples/image-pretraining/run_mim.py)
    python examples/image-classification/run_image_classification.py --model_name_or_path outputs/mim \\
        --dataset_name fashion-mnist-local --do_train --do_eval --num_train_epochs 5 --output_dir outputs/mim-finetuned

Paper CIFAR recipe (Hyper-SET, ICLR 2026, App. D; reference `configs/task/ic.yaml`): 200 epochs, batch 128, Adam
with L2 weight decay 5e-5 (not AdamW) at lr 1e-3, 5 warm-up epochs then cosine decay to 1e-5, AutoAugment (CIFAR-10
policy) after a 4-px padded random crop and a horizontal flip, label smoothing 0.1 (off-target mass 0.1 / (C - 1)),
mixed precision, evaluation on the test split:

    python examples/image-classification/run_image_classification.py --dataset_name uoft-cs/cifar10 \\
        --image_column_name img --eval_split_name test \\
        --random_crop_padding 4 --horizontal_flip --auto_augment --label_smoothing 0.1 \\
        --adam_l2 --learning_rate 1e-3 --weight_decay 5e-5 \\
        --lr_scheduler_type cosine_with_min_lr --lr_scheduler_kwargs '{"min_lr": 1e-5}' --warmup_steps 0.025 \\
        --num_train_epochs 200 --per_device_train_batch_size 128 --per_device_eval_batch_size 1024 --bf16 \\
        --dataloader_num_workers 8 --do_train --do_eval --eval_strategy epoch --save_strategy epoch \\
        --save_total_limit 2 --seed 0 --output_dir outputs/cifar10-hyperset

Notes on the recipe: transformers' `--optim` has no plain Adam (only AdamW variants), so `--adam_l2` builds
`torch.optim.Adam(model.parameters(), weight_decay=--weight_decay)` (coupled L2 on every parameter, as the
reference); without it, `--optim adamw_torch --weight_decay 5e-5` is the closest stock setting (decoupled decay,
biases and norms excluded), which is not the paper's optimiser. The warm-up ratio 0.025 = 5/200 epochs; the Trainer
steps the schedule every optimisation step instead of once per epoch. `--label_smoothing eps` is the reference's
variant (eps / (C - 1) on every other class); it runs as transformers' `--label_smoothing_factor` eps C / (C - 1),
the same target distribution (use one or the other).
CIFAR needs the Hub (`load_dataset`); offline, run the same recipe on `fashion-mnist-local` (add `--image_size 32
--config_overrides num_channels=3` for the CIFAR-shaped model) and report it as Fashion-MNIST.

AutoAugment uses `torchvision.transforms.AutoAugment` by default (`--auto_augment_backend torchvision`); without
torchvision that raises an error that says so. `--auto_augment_backend pil` uses the PIL port in this file (the same
25 CIFAR-10 sub-policies, magnitudes and fill as torchvision), which needs no torchvision.
"""

import logging
import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
import transformers
from datasets import ClassLabel
from PIL import Image, ImageEnhance, ImageOps
from transformers import (
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)

from hyperset_hf.release.model_card import script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.images import (  # noqa: E402
    build_image_model,
    build_image_processor,
    CHANNEL_MODES,
    describe_config,
    FASHION_MNIST_LOCAL,
    find_image_column,
    load_image_datasets,
    train_evaluate_push,
)


logger = logging.getLogger(__name__)

# Per-dataset normalisation statistics (the reference normalises with per-dataset mean/std); anything else uses 0.5.
@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoint (folder or Hub id) to start from, e.g. a run_mim.py output folder; default: train the "
            "paper's d=512 1x12 'Small scale-up' classifier from scratch."
        },
    )
    model_type: str = field(
        default="hyperset",
        metadata={
            "help": "Model family built from scratch: `hyperset` (HyperSETForImageClassification) or `vit` "
            "(transformers' ViTForImageClassification, the same-recipe baseline; image size, channels, labels and the "
            "Hyper-SET default patch size are set the same way), or `energy_transformer` "
            "(EnergyTransformerForImageClassification, D=768 as the paper's ImageNet model, with the data's image "
            "size, channels and labels and the Hyper-SET default patch size). Ignored with --model_name_or_path.",
            "choices": ["hyperset", "vit", "energy_transformer"],
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated config fields to override (HyperSETConfig, or ViTConfig with --model_type vit, "
            "or EnergyTransformerConfig with --model_type energy_transformer), "
            "e.g. `hidden_size=64,num_attention_heads=4,intermediate_size=64,num_recurrences=6`."
        },
    )
    image_processor_name: str | None = field(
        default=None, metadata={"help": "Image processor (folder or Hub id) if not the one of the checkpoint."}
    )
    ignore_mismatched_sizes: bool = field(
        default=False,
        metadata={"help": "Re-initialise checkpoint weights whose shape differs (e.g. a head for other labels)."},
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where to cache downloaded models and datasets."})
    model_revision: str = field(default="main", metadata={"help": "Model version (branch, tag or commit id)."})
    token: str | None = field(default=None, metadata={"help": "Hub token for private models and datasets."})
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Allow Hub model code (not needed for Hyper-SET)."}
    )


@dataclass
class DataTrainingArguments:
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": f"A `datasets` image dataset (Hub id, needs the network), or `{FASHION_MNIST_LOCAL}` for the local "
            "Fashion-MNIST IDX files."
        },
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration name of the dataset."})
    data_dir: str | None = field(
        default=None,
        metadata={"help": f"Folder of the `{FASHION_MNIST_LOCAL}` IDX files (default: the Debian package's folder)."},
    )
    train_dir: str | None = field(
        default=None, metadata={"help": "Image folder of training images (one sub-folder per class)."}
    )
    validation_dir: str | None = field(default=None, metadata={"help": "Image folder of validation images."})
    eval_split_name: str = field(
        default="validation", metadata={"help": "Dataset split to evaluate on (`test` for CIFAR as in the paper)."}
    )
    train_val_split: float = field(
        default=0.15, metadata={"help": "Fraction of the training split held out when there is no evaluation split."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep this many (shuffled) training images."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Keep this many (shuffled) evaluation images."}
    )
    image_column_name: str | None = field(
        default=None, metadata={"help": "Column holding the images; default `image`, else `img`."}
    )
    label_column_name: str = field(default="label", metadata={"help": "Column holding the class labels."})
    image_size: int | None = field(
        default=None,
        metadata={
            "help": "Side of the (square) model input; images are resized to it. Default: the checkpoint's size, or "
            "the size of the first training image when training from scratch."
        },
    )
    random_crop_padding: int = field(
        default=0,
        metadata={"help": "Training augmentation: random crop after zero padding by this many pixels (paper: 4)."},
    )
    horizontal_flip: bool = field(default=False, metadata={"help": "Training augmentation: random horizontal flip."})
    auto_augment: bool = field(default=False, metadata={"help": "Training augmentation: AutoAugment (paper recipe)."})
    auto_augment_policy: str = field(
        default="cifar10",
        metadata={"help": "AutoAugment policy: cifar10 (paper, CIFAR), svhn or imagenet (torchvision backend only)."},
    )
    auto_augment_backend: str = field(
        default="torchvision",
        metadata={"help": "`torchvision` (needs torchvision) or `pil` (this file's torchvision-free port)."},
    )
    label_smoothing: float = field(
        default=0.0,
        metadata={
            "help": "Label smoothing eps of the paper (target 1 - eps, eps / (C - 1) on every other class; paper: 0.1)."
        },
    )

    def __post_init__(self):
        if self.dataset_name is None and self.train_dir is None and self.validation_dir is None:
            raise ValueError("Give --dataset_name, or --train_dir and/or --validation_dir (image folders).")
        if self.auto_augment_backend not in ("torchvision", "pil"):
            raise ValueError(
                f"--auto_augment_backend must be `torchvision` or `pil`, got {self.auto_augment_backend!r}."
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"--label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.random_crop_padding < 0:
            raise ValueError(f"--random_crop_padding must be >= 0, got {self.random_crop_padding}.")


@dataclass
class ImageClassificationTrainingArguments(TrainingArguments):
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep the raw image column for the on-the-fly transforms (must stay False)."}
    )
    adam_l2: bool = field(
        default=False,
        metadata={
            "help": "Use torch.optim.Adam with coupled L2 weight decay (--weight_decay) on every parameter, the "
            "paper's optimiser, instead of --optim (transformers offers no plain Adam)."
        },
    )


# ---------------------------------------------------------------------------------------------------------------------
# Data


# ---------------------------------------------------------------------------------------------------------------------
# Augmentation without torchvision (PIL + torch's global RNG, which Trainer seeds and every dataloader worker reseeds)


def random_crop_with_padding(image: Image.Image, padding: int) -> Image.Image:
    if padding <= 0:
        return image
    width, height = image.size
    canvas = Image.new(image.mode, (width + 2 * padding, height + 2 * padding), fill_for(image))
    canvas.paste(image, (padding, padding))
    left, top = (int(value) for value in torch.randint(0, 2 * padding + 1, (2,)))
    return canvas.crop((left, top, left + width, top + height))


def random_horizontal_flip(image: Image.Image) -> Image.Image:
    return ImageOps.mirror(image) if torch.rand(()) < 0.5 else image


def fill_for(image: Image.Image):
    return 0 if len(image.getbands()) == 1 else (0,) * len(image.getbands())


# The 25 CIFAR-10 sub-policies of AutoAugment (Cubuk et al. 2019) as listed by torchvision: (op, probability, bin).
CIFAR10_POLICY = (
    (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
    (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
    (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
    (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
    (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
    (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
    (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
    (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
    (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
    (("Color", 0.9, 9), ("Equalize", 0.6, None)),
    (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
    (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
    (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
    (("Equalize", 0.8, None), ("Invert", 0.1, None)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
)
SIGNED_OPS = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast", "Sharpness")


def autoaugment_magnitude(op: str, magnitude_bin: int | None, image_size: tuple[int, int], num_bins: int = 10) -> float:
    """Magnitude of bin `magnitude_bin` out of `num_bins`, as in torchvision's AutoAugment search space."""
    if magnitude_bin is None:
        return 0.0
    fraction = magnitude_bin / (num_bins - 1)
    width, height = image_size
    if op in ("ShearX", "ShearY"):
        return 0.3 * fraction
    if op == "TranslateX":
        return 150.0 / 331.0 * width * fraction
    if op == "TranslateY":
        return 150.0 / 331.0 * height * fraction
    if op == "Rotate":
        return 30.0 * fraction
    if op in ("Brightness", "Color", "Contrast", "Sharpness"):
        return 0.9 * fraction
    if op == "Posterize":
        return float(8 - int(round(magnitude_bin / ((num_bins - 1) / 4))))
    if op == "Solarize":
        return 255.0 * (1.0 - fraction)
    return 0.0


def affine(image: Image.Image, coefficients: tuple) -> Image.Image:
    """Output pixel (x, y) samples input (a x + b y + c, d x + e y + f); nearest neighbour, zero fill."""
    return image.transform(
        image.size, Image.Transform.AFFINE, coefficients, Image.Resampling.NEAREST, fillcolor=fill_for(image)
    )


def apply_autoaugment_op(image: Image.Image, op: str, magnitude: float) -> Image.Image:
    if op == "ShearX":
        return affine(image, (1, magnitude, 0, 0, 1, 0))
    if op == "ShearY":
        return affine(image, (1, 0, 0, magnitude, 1, 0))
    if op == "TranslateX":
        return affine(image, (1, 0, -int(magnitude), 0, 1, 0))
    if op == "TranslateY":
        return affine(image, (1, 0, 0, 0, 1, -int(magnitude)))
    if op == "Rotate":
        return image.rotate(magnitude, resample=Image.Resampling.NEAREST, fillcolor=fill_for(image))
    if op == "Brightness":
        return ImageEnhance.Brightness(image).enhance(1.0 + magnitude)
    if op == "Color":
        return ImageEnhance.Color(image).enhance(1.0 + magnitude)
    if op == "Contrast":
        return ImageEnhance.Contrast(image).enhance(1.0 + magnitude)
    if op == "Sharpness":
        return ImageEnhance.Sharpness(image).enhance(1.0 + magnitude)
    if op == "Posterize":
        return ImageOps.posterize(image, int(magnitude))
    if op == "Solarize":
        return ImageOps.solarize(image, magnitude)
    if op == "AutoContrast":
        return ImageOps.autocontrast(image)
    if op == "Equalize":
        return ImageOps.equalize(image)
    if op == "Invert":
        return ImageOps.invert(image)
    raise ValueError(f"Unknown AutoAugment operation {op!r}.")


class PILAutoAugment:
    """AutoAugment with the CIFAR-10 policy on PIL images ("L" or "RGB") without torchvision: picks one of the 25
    sub-policies, applies each of its two operations with its probability, signed magnitudes get a random sign."""

    def __init__(self, policy=CIFAR10_POLICY):
        self.policy = policy

    def __call__(self, image: Image.Image) -> Image.Image:
        sub_policy = self.policy[int(torch.randint(len(self.policy), (1,)))]
        probabilities, signs = torch.rand(2), torch.randint(2, (2,))
        for index, (op, probability, magnitude_bin) in enumerate(sub_policy):
            if probabilities[index] <= probability:
                magnitude = autoaugment_magnitude(op, magnitude_bin, image.size)
                if op in SIGNED_OPS and signs[index] == 0:
                    magnitude = -magnitude
                image = apply_autoaugment_op(image, op, magnitude)
        return image


def build_auto_augment(policy: str, backend: str):
    if backend == "pil":
        if policy != "cifar10":
            raise ValueError(f"--auto_augment_backend pil implements the cifar10 policy only, got {policy!r}.")
        return PILAutoAugment()
    try:
        from torchvision.transforms import AutoAugment, AutoAugmentPolicy
    except ImportError as error:
        raise ImportError(
            "--auto_augment needs torchvision (pip install torchvision==0.28.0 next to torch 2.13), or pass "
            "--auto_augment_backend pil for the torchvision-free port of the CIFAR-10 policy."
        ) from error
    return AutoAugment(AutoAugmentPolicy(policy))


class ImageTransform:
    """`with_transform` callable: PIL augmentation (training only), then the image processor -> `pixel_values`."""

    def __init__(self, image_processor, image_column, num_channels, train=False, data_args=None):
        if num_channels not in CHANNEL_MODES:
            raise ValueError(f"Images can be converted to 1 or 3 channels, the model has {num_channels}.")
        self.image_processor, self.image_column = image_processor, image_column
        self.mode = CHANNEL_MODES[num_channels]
        size = image_processor.size
        self.size = (size["width"], size["height"]) if "height" in size else (size["shortest_edge"],) * 2
        self.augmentations = []  # picklable callables (dataloader workers may be spawned)
        if train and data_args is not None:
            if data_args.random_crop_padding > 0:
                self.augmentations.append(partial(random_crop_with_padding, padding=data_args.random_crop_padding))
            if data_args.horizontal_flip:
                self.augmentations.append(random_horizontal_flip)
            if data_args.auto_augment:
                policy, backend = data_args.auto_augment_policy, data_args.auto_augment_backend
                self.augmentations.append(build_auto_augment(policy, backend))

    def prepare(self, image: Image.Image) -> Image.Image:
        image = image.convert(self.mode)
        if self.augmentations:
            # resize first so that crops, paddings and translations are measured in model pixels
            if image.size != self.size:
                image = image.resize(self.size, Image.Resampling.BILINEAR)
            for augmentation in self.augmentations:
                image = augmentation(image)
        return image

    def __call__(self, batch):
        images = [self.prepare(image) for image in batch[self.image_column]]
        batch["pixel_values"] = self.image_processor(images, return_tensors="pt")["pixel_values"]
        return batch


class Collator:
    """Stacks `pixel_values` and the labels; `label2id` maps the values of a label column that is not a
    `ClassLabel` (strings, arbitrary ints) to class indices."""

    def __init__(self, label_column="label", label2id=None):
        self.label_column, self.label2id = label_column, label2id

    def __call__(self, examples):
        labels = [example[self.label_column] for example in examples]
        if self.label2id is not None:
            labels = [self.label2id[str(label)] for label in labels]
        return {
            "pixel_values": torch.stack([torch.as_tensor(example["pixel_values"]) for example in examples]),
            "labels": torch.tensor(labels),
        }


# ---------------------------------------------------------------------------------------------------------------------
# Loss and metric


def reference_label_smoothing_factor(smoothing: float, num_labels: int) -> float:
    """The reference's label smoothing (target 1 - eps, eps / (C - 1) on every other class) is transformers' uniform
    label smoothing (`TrainingArguments.label_smoothing_factor`, eps' / C on every class) with eps' = eps C / (C - 1):
    both give the target 1 - eps and the others eps / (C - 1)."""
    return smoothing * num_labels / max(num_labels - 1, 1)


def compute_metrics(eval_prediction):
    """Top-1 accuracy with numpy (works offline, unlike `evaluate.load("accuracy")`)."""
    logits = eval_prediction.predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    predictions = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(eval_prediction.label_ids)
    return {"accuracy": float((predictions == labels).mean()) if labels.size else 0.0}


# ---------------------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, ImageClassificationTrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if data_args.label_smoothing > 0 and training_args.label_smoothing_factor > 0:
        raise ValueError("Use either --label_smoothing (the paper's variant) or --label_smoothing_factor, not both.")

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    logger.info(f"Training/evaluation parameters {training_args}")

    set_seed(training_args.seed)

    # 1. Data
    dataset = load_image_datasets(
        data_args, cache_dir=model_args.cache_dir, token=model_args.token, seed=training_args.seed
    )
    reference_split = dataset["train"] if "train" in dataset else dataset["validation"]
    image_column = find_image_column(reference_split, data_args.image_column_name)
    label_column = data_args.label_column_name
    if label_column not in reference_split.column_names:
        raise ValueError(f"--label_column_name {label_column!r} is not a column ({reference_split.column_names}).")
    is_class_label = isinstance(reference_split.features[label_column], ClassLabel)
    if is_class_label:
        labels = list(reference_split.features[label_column].names)
    else:
        labels = sorted({str(value) for value in reference_split[label_column]})
    id2label = dict(enumerate(labels))
    label2id = {label: index for index, label in id2label.items()}

    # 2. Model
    model = build_image_model(
        "image-classification", model_args, reference_split[0][image_column], data_args.image_size,
        num_labels=len(labels), id2label=id2label, label2id=label2id,
        ignore_mismatched_sizes=model_args.ignore_mismatched_sizes,
    )  # fmt: skip
    config = model.config
    logger.info(f"{type(model).__name__}: {model.num_parameters():,} parameters, {describe_config(config)}")
    logger.info(f"{len(labels)} classes")

    # 3. Preprocessing
    image_processor = build_image_processor(model_args, data_args.dataset_name, config.image_size, config.num_channels)
    if training_args.do_train:
        if "train" not in dataset:
            raise ValueError("--do_train needs a training split.")
        dataset["train"] = dataset["train"].with_transform(
            ImageTransform(image_processor, image_column, config.num_channels, train=True, data_args=data_args)
        )
    if training_args.do_eval:
        if "validation" not in dataset:
            raise ValueError(
                "--do_eval needs an evaluation split (--validation_dir, --eval_split_name or --train_val_split)."
            )
        dataset["validation"] = dataset["validation"].with_transform(
            ImageTransform(image_processor, image_column, config.num_channels)
        )

    optimizers = (None, None)
    if training_args.do_train and training_args.adam_l2:
        optimizer = torch.optim.Adam(
            model.parameters(),
            lr=training_args.learning_rate,
            betas=(training_args.adam_beta1, training_args.adam_beta2),
            eps=training_args.adam_epsilon,
            weight_decay=training_args.weight_decay,
        )
        optimizers = (optimizer, None)

    if data_args.label_smoothing > 0:
        training_args.label_smoothing_factor = reference_label_smoothing_factor(data_args.label_smoothing, len(labels))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"] if training_args.do_train else None,
        eval_dataset=dataset["validation"] if training_args.do_eval else None,
        processing_class=image_processor,
        data_collator=Collator(label_column, None if is_class_label else label2id),
        compute_metrics=compute_metrics,
        optimizers=optimizers,
    )

    # 4. Training, evaluation, upload
    return train_evaluate_push(
        trainer, kind="image-classification", data_args=data_args, started_from=model_args.model_name_or_path,
        command=script_command(__file__, argv),
    )  # fmt: skip


if __name__ == "__main__":
    main()
