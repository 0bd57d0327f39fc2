#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Masked image modeling (SimMIM-style, in pixel space) with `HyperSETForMaskedImageModeling` and `Trainer`.

Modelled on transformers' `examples/pytorch/image-pretraining/run_mim.py` (same argument names): random patches
are replaced by the model's mask token (a `MaskGenerator` draws `bool_masked_pos`, `mask_ratio` of the
`mask_patch_size` squares, default 0.4 as the paper's evaluation), a 1x1 convolution + pixel shuffle decodes the final
patch states back to pixels and the loss is the L1 error on the masked pixels (reported as `eval_loss`). Evaluation
also reports `eval_psnr` and `eval_ssim` (`hyperset_hf.metrics.image_reconstruction_metrics`) between the original
image and its SimMIM-style completion (masked patches from the reconstruction, visible patches from the input), both
de-normalised to [0, 1] with the image processor's mean/std and clipped, and `eval_psnr_masked`, the PSNR over the
masked pixels only (mean over images). The saved
folder (model + image processor) is a starting point for `examples/image-classification/run_image_classification.py
--model_name_or_path <folder>`: the encoder (`hyperset.*`) is reused and the classifier head newly initialised.

The paper's own MIM experiment (MaskGIT on VQGAN tokens of ImageNet-100) needs a pretrained VQGAN from the Hub and is
not reproduced here; this script is the pixel-space (SimMIM) variant that runs offline. Augmentation follows SimMIM
(random resized crop with scale 0.67-1 and aspect ratio 3/4-4/3, horizontal flip), implemented with PIL, so
torchvision is not needed.

Examples:

    # Fashion-MNIST, offline, the default d=512 1x12 Hyper-SET
    python examples/image-pretraining/run_mim.py --dataset_name fashion-mnist-local --do_train --do_eval \\
        --num_train_epochs 10 --per_device_train_batch_size 128 --learning_rate 1e-4 --weight_decay 0.05 \\
        --eval_strategy epoch --save_strategy epoch --output_dir outputs/mim-fashion-mnist

    # the Energy Transformer (Hoover et al. 2023) with the same script: 7-px patches, D=512, 8 heads of width 64,
    # 2044 memories (1,631,794 parameters, the size of the default Hyper-SET with 7-px patches), same L1 loss and masks
    python examples/image-pretraining/run_mim.py --model_type energy_transformer \\
        --config_overrides patch_size=7,hidden_size=512,num_attention_heads=8,head_dim=64,num_memories=2044,reconstruction_loss=l1,visible_loss_ratio=0.0 \\
        --dataset_name fashion-mnist-local --do_train --do_eval --num_train_epochs 2 --per_device_train_batch_size 128 \\
        --learning_rate 1e-3 --weight_decay 5e-5 --warmup_steps 100 --lr_scheduler_type cosine --output_dir outputs/mim-et

    # image folders, a small model for CPU
    python examples/image-pretraining/run_mim.py --train_dir data/train --validation_dir data/val --image_size 32 \\
        --config_overrides hidden_size=64,num_attention_heads=4,intermediate_size=64,time_embedding_size=64 \\
        --do_train --do_eval --max_steps 500 --output_dir outputs/mim-small

`--remove_unused_columns False` and `--label_names bool_masked_pos` are the defaults here (both are needed: the image
column feeds the transforms, and without a label name `Trainer.evaluate()` reports no `eval_loss`), and so is
`--include_for_metrics inputs` (the image metrics need the input images; without it only `eval_loss` is reported). The
reconstructions and inputs of the whole evaluation set are gathered for the metrics: on large evaluation sets set
`--eval_accumulation_steps` to move them off the accelerator as evaluation goes.
"""

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import transformers
from transformers import (
    HfArgumentParser,
    set_seed,
    Trainer,
    TrainingArguments,
)

from hyperset_hf.metrics import image_reconstruction_metrics
from hyperset_hf.release.model_card import script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.images import (  # noqa: E402
    build_image_model,
    build_image_processor,
    collate_fn,
    describe_config,
    FASHION_MNIST_LOCAL,
    find_image_column,
    load_image_datasets,
    mim_transforms,
    train_evaluate_push,
    with_sample_index,
)


logger = logging.getLogger(__name__)

@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Checkpoint (folder or Hub id) to continue from; default: a new model from the config."},
    )
    model_type: str = field(
        default="hyperset",
        metadata={
            "help": "Model family built from scratch: `hyperset` (HyperSETForMaskedImageModeling) or `vit` "
            "(transformers' ViTForMaskedImageModeling with encoder_stride = patch_size, the same-recipe baseline; "
            "image size, channels and the Hyper-SET default patch size are set the same way), or "
            "`energy_transformer` (EnergyTransformerForMaskedImageModeling, the paper's D=768 ImageNet completion "
            "model with the data's image size and channels and the Hyper-SET default patch size). Ignored with "
            "--model_name_or_path.",
            "choices": ["hyperset", "vit", "energy_transformer"],
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated config fields to override (HyperSETConfig, default: the paper's d=512 1x12 "
            "model; ViTConfig with --model_type vit; EnergyTransformerConfig with --model_type energy_transformer), "
            "e.g. `hidden_size=64,num_attention_heads=4,intermediate_size=64,num_recurrences=6`."
        },
    )
    image_processor_name: str | None = field(
        default=None, metadata={"help": "Image processor (folder or Hub id) if not the one of the checkpoint."}
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
    train_dir: str | None = field(default=None, metadata={"help": "Image folder of training images."})
    validation_dir: str | None = field(default=None, metadata={"help": "Image folder of validation images."})
    eval_split_name: str = field(default="validation", metadata={"help": "Dataset split to evaluate on."})
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
    image_size: int | None = field(
        default=None,
        metadata={
            "help": "Side of the (square) model input. Default: the checkpoint's size, or the size of the first "
            "training image for a new model."
        },
    )
    mask_patch_size: int | None = field(
        default=None, metadata={"help": "Side of the masked squares in pixels (default: the model's patch size)."}
    )
    mask_ratio: float = field(default=0.4, metadata={"help": "Fraction of the squares to mask."})
    min_crop_scale: float = field(
        default=0.67, metadata={"help": "Random resized crop: smallest crop area fraction (1.0 disables cropping)."}
    )
    horizontal_flip: bool = field(default=True, metadata={"help": "Random horizontal flip of training images."})

    def __post_init__(self):
        if self.dataset_name is None and self.train_dir is None and self.validation_dir is None:
            raise ValueError("Give --dataset_name, or --train_dir and/or --validation_dir (image folders).")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"--mask_ratio must be in (0, 1), got {self.mask_ratio}.")
        if not 0.0 < self.min_crop_scale <= 1.0:
            raise ValueError(f"--min_crop_scale must be in (0, 1], got {self.min_crop_scale}.")


@dataclass
class MIMTrainingArguments(TrainingArguments):
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep the raw image column for the on-the-fly transforms (must stay False)."}
    )
    label_names: list[str] | None = field(
        default_factory=lambda: ["bool_masked_pos"],
        metadata={"help": "Inputs treated as labels; `bool_masked_pos` makes `evaluate()` report `eval_loss`."},
    )
    include_for_metrics: list[str] = field(
        default_factory=lambda: ["inputs"],
        metadata={"help": "`inputs` passes the images to the metrics (eval_psnr, eval_ssim, eval_psnr_masked)."},
    )


# ---------------------------------------------------------------------------------------------------------------------
# Data (the same helpers as run_image_classification.py)


# ---------------------------------------------------------------------------------------------------------------------
# Masking and transforms


def build_compute_metrics(image_processor, patch_size: int):
    """`Trainer` `compute_metrics` (with `include_for_metrics=["inputs"]`) -> `psnr`, `ssim` and `psnr_masked`.

    The predictions are the reconstructions, the label ids `bool_masked_pos` and the inputs `pixel_values`, all in the
    processor's normalised space. Both images are de-normalised with its mean/std and clipped to [0, 1]; `psnr` and
    `ssim` compare the original image with its completion (masked patches from the reconstruction, visible ones from
    the input, as SimMIM), `psnr_masked` is the mean over images of the PSNR over the masked pixels (all channels).
    """
    mean = np.asarray(image_processor.image_mean, dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(image_processor.image_std, dtype=np.float64).reshape(1, -1, 1, 1)

    def compute_metrics(eval_prediction):
        reconstruction = eval_prediction.predictions
        if isinstance(reconstruction, (tuple, list)):  # with output_hidden_states etc., the reconstruction comes first
            reconstruction = reconstruction[0]
        if eval_prediction.inputs is None:
            return {}
        reconstruction = np.asarray(reconstruction, dtype=np.float64)
        pixel_values = np.asarray(eval_prediction.inputs, dtype=np.float64)
        batch_size, _, height, width = pixel_values.shape
        mask = np.asarray(eval_prediction.label_ids).astype(bool).reshape(
            batch_size, height // patch_size, width // patch_size
        )
        mask = mask.repeat(patch_size, axis=1).repeat(patch_size, axis=2)[:, None]  # (N, 1, H, W), as the model's loss
        original = np.clip(pixel_values * std + mean, 0.0, 1.0)
        completed = np.where(mask, np.clip(reconstruction * std + mean, 0.0, 1.0), original)
        metrics = image_reconstruction_metrics(predictions=completed, references=original, data_range=1.0)
        masked_pixels = mask.sum(axis=(1, 2, 3)) * original.shape[1]
        has_mask = masked_pixels > 0
        if has_mask.any():
            mse = ((completed - original) ** 2).sum(axis=(1, 2, 3))[has_mask] / masked_pixels[has_mask]
            with np.errstate(divide="ignore"):
                metrics["psnr_masked"] = float(np.mean(10.0 * np.log10(1.0 / mse)))
        return metrics

    return compute_metrics


# ---------------------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, MIMTrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)

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

    # 2. Model
    model = build_image_model("masked-image-modeling", model_args, reference_split[0][image_column], data_args.image_size)
    config = model.config
    logger.info(f"{type(model).__name__}: {model.num_parameters():,} parameters, {describe_config(config)}")

    # 3. Preprocessing and masking
    image_processor = build_image_processor(model_args, data_args.dataset_name, config.image_size, config.num_channels)
    train_transform, eval_transform = mim_transforms(
        data_args, image_processor, image_column, config, training_args.seed
    )
    if training_args.do_train:
        if "train" not in dataset:
            raise ValueError("--do_train needs a training split.")
        dataset["train"] = dataset["train"].with_transform(train_transform)
    if training_args.do_eval:
        if "validation" not in dataset:
            raise ValueError(
                "--do_eval needs an evaluation split (--validation_dir, --eval_split_name or --train_val_split)."
            )
        # evaluation masks are a fixed function of the sample index, so eval_loss is comparable between evaluations
        dataset["validation"] = with_sample_index(dataset["validation"]).with_transform(eval_transform)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"] if training_args.do_train else None,
        eval_dataset=dataset["validation"] if training_args.do_eval else None,
        processing_class=image_processor,
        data_collator=collate_fn,
        compute_metrics=(
            build_compute_metrics(image_processor, config.patch_size)
            if training_args.do_eval and "inputs" in (training_args.include_for_metrics or [])
            else None
        ),
    )

    # 4. Training, evaluation, upload
    return train_evaluate_push(
        trainer, kind="mim", data_args=data_args, started_from=model_args.model_name_or_path,
        command=script_command(__file__, argv),
    )  # fmt: skip


if __name__ == "__main__":
    main()
