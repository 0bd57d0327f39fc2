#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Masked image modeling in token space (MaskGIT style), the Hyper-SET paper's MIM experiment (Sec. 5.3, App. E), with
the `Trainer`.

Images are turned into grids of VQ codes ONCE, up front, by a frozen tokenizer (`--tokenizer_name_or_path`, a folder
of a diffusers `VQModel`, loaded with `DiffusersVQTokenizer.from_pretrained`); the ids are kept as one tensor (and
saved to `--token_cache_file` when given, which later runs reuse). A `HyperSETForMaskedTokenModeling` of the paper's
preset (`--preset mim | mim-transformer | mim-scaled`, `--config_overrides`; `codebook_size` and `token_grid_size`
are always taken from the tokenizer) is trained on the ids with the paper's mask (`mask_visual_tokens`: every token
masked with probability 0.4 * r, r ~ U(0, 1) per image, drawn anew every batch) and the paper's optimiser defaults
(AdamW, lr 1e-4, betas (0.9, 0.96), weight decay 0.1, gradient clipping at 3).

Evaluation (test images, `--eval_mask_ratio` 0.4 of the tokens masked with FIXED masks drawn once from `--seed`):

- `eval_loss` and `eval_masked_token_accuracy` (argmax prediction = true code, over the masked tokens, pooled);
- the masked tokens completed by `maskgit_decode` (`--decode_steps`, `--decode_schedule` arccos,
  `--decode_temperature`, seeded), decoded to images by the tokenizer: `eval_psnr` and `eval_ssim` against the
  original images (in [0, 1]), and `eval_masked_region_psnr` (PSNR over the pixels of the hidden tokens only);
- `eval_tokenizer_psnr` and `eval_tokenizer_ssim`: the tokenizer's own reconstruction (decode(encode(x))), the ceiling
  of any completion;
- `eval_model_num_parameters`.

MS-SSIM, the classifier-feature Frechet distance and the comparison with a pixel-space model on the same hidden
pixels are computed by `benchmarks/maskgit_evaluation.py` from the saved models. SSIM needs images of at least 11x11
pixels.

Outputs in `--output_dir`: the model (loadable with `AutoModelForMaskedLM` after `import hyperset_hf`),
`all_results.json` / `eval_results.json` / `train_results.json`, and `run_metadata.json` (the training stage, with the
exact command and the tokenizer folder).

Data: `--dataset_name fashion-mnist-local` (the local IDX files, `--data_dir`; test split for evaluation), or
`--train_file` / `--validation_file`: `.npy` arrays of uint8 images, `(N, H, W)` or `(N, H, W, C)` (small synthetic
sets, tests). Grey images are repeated to 3 channels when the tokenizer takes 3 (and RGB turned grey for a 1-channel
tokenizer); `--image_size` resizes (bilinear). Pixels go to [-1, 1] for the tokenizer.

Example (Fashion-MNIST; a VQ model of 28 px -> 7x7 codes in outputs/vq-fmnist):

    python examples/image-pretraining/run_maskgit.py --tokenizer_name_or_path outputs/vq-fmnist \\
        --dataset_name fashion-mnist-local --preset mim --config_overrides hidden_size=192,num_attention_heads=4,intermediate_size=192,time_embedding_size=192 \\
        --do_train --do_eval --num_train_epochs 10 --per_device_train_batch_size 64 --output_dir outputs/maskgit-fmnist
"""

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import HfArgumentParser, set_seed, Trainer, TrainingArguments

from hyperset_hf import HyperSETConfig, HyperSETForMaskedTokenModeling
from hyperset_hf.data.images import load_fashion_mnist
from hyperset_hf.maskgit import (
    SCHEDULES,
    DiffusersVQTokenizer,
    decode_images,
    encode_images,
    mask_visual_tokens,
    maskgit_complete,
)
from hyperset_hf.metrics import image_reconstruction_metrics, masked_region_psnr
from hyperset_hf.release.model_card import record_training_stage, script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.configs import config_overrides  # noqa: E402
from _shared.images import FASHION_MNIST_LOCAL  # noqa: E402


logger = logging.getLogger(__name__)

PRESETS = ("mim", "mim-transformer", "mim-scaled")


@dataclass
class ModelArguments:
    tokenizer_name_or_path: str = field(
        metadata={"help": "Folder of a diffusers VQModel (loaded with DiffusersVQTokenizer.from_pretrained)."}
    )
    preset: str = field(
        default="mim",
        metadata={"help": "HyperSETConfig preset of the paper's MIM models.", "choices": list(PRESETS)},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated config fields to override, e.g. `hidden_size=128,num_attention_heads=4,"
            "intermediate_size=128,time_embedding_size=128`; codebook_size and token_grid_size come from the "
            "tokenizer."
        },
    )
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "A saved HyperSETForMaskedTokenModeling to continue from (else a new model)."}
    )


@dataclass
class DataArguments:
    dataset_name: str | None = field(
        default=None,
        metadata={"help": f"`{FASHION_MNIST_LOCAL}` (local IDX files), or give --train_file/--validation_file."},
    )
    data_dir: str | None = field(default=None, metadata={"help": f"Folder of the `{FASHION_MNIST_LOCAL}` IDX files."})
    train_file: str | None = field(default=None, metadata={"help": ".npy uint8 images (N, H, W[, C]) for training."})
    validation_file: str | None = field(default=None, metadata={"help": ".npy uint8 images for evaluation."})
    image_size: int | None = field(default=None, metadata={"help": "Resize images to this square side."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training images."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N evaluation images."})
    token_cache_file: str | None = field(
        default=None,
        metadata={
            "help": "Load the token ids from this .pt file if it exists (and was made from the same tokenizer folder, "
            "image size and data), else compute them and save them there."
        },
    )
    train_mask_ratio: float = field(default=0.4, metadata={"help": "Training mask: p = ratio * U(0, 1) per image."})
    eval_mask_ratio: float = field(default=0.4, metadata={"help": "Evaluation mask probability (fixed, seeded)."})
    decode_steps: int = field(default=24, metadata={"help": "MaskGIT decoding steps (paper 24; capped at tokens)."})
    decode_schedule: str = field(default="arccos", metadata={"help": "Reveal schedule.", "choices": list(SCHEDULES)})
    decode_temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (0: greedy)."})

    def __post_init__(self):
        if self.dataset_name is None and self.train_file is None and self.validation_file is None:
            raise ValueError(f"Give --dataset_name {FASHION_MNIST_LOCAL}, or --train_file and/or --validation_file.")
        if self.dataset_name not in (None, FASHION_MNIST_LOCAL):
            raise ValueError(
                f"--dataset_name must be {FASHION_MNIST_LOCAL!r} (or use --train_file), got {self.dataset_name!r}."
            )
        for name in ("train_mask_ratio", "eval_mask_ratio"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"--{name} must be in (0, 1], got {getattr(self, name)}.")
        if self.decode_steps < 1:
            raise ValueError(f"--decode_steps must be >= 1, got {self.decode_steps}.")


@dataclass
class MaskGITTrainingArguments(TrainingArguments):
    """The paper's recipe as defaults: AdamW lr 1e-4, betas (0.9, 0.96), weight decay 0.1, grad clip 3."""

    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (paper 1e-4)."})
    adam_beta2: float = field(default=0.96, metadata={"help": "AdamW beta2 (paper 0.96)."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW weight decay (paper 0.1)."})
    max_grad_norm: float = field(default=3.0, metadata={"help": "Gradient clipping norm (paper 3)."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Must stay False (token_ids column)."})


# ---------------------------------------------------------------------------------------------------------------------
# Data


def load_images(data_args, split: str) -> np.ndarray | None:
    """uint8 images (N, H, W, C) of `split` ("train" / "validation"), or None when there is none."""
    path = data_args.train_file if split == "train" else data_args.validation_file
    limit = data_args.max_train_samples if split == "train" else data_args.max_eval_samples
    if path is not None:
        images = np.load(path)
    elif data_args.dataset_name == FASHION_MNIST_LOCAL:
        name = "train" if split == "train" else "test"
        dataset = load_fashion_mnist(name, data_dir=data_args.data_dir, max_samples=limit)
        images = np.stack([np.asarray(image) for image in dataset["image"]])
    else:
        return None
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(
            f"{split} images must be uint8 of shape (N, H, W) or (N, H, W, C), got {images.dtype} {images.shape}."
        )
    return images[:limit] if limit is not None else images


def to_tokenizer_pixels(images: np.ndarray, num_channels: int, image_size: int | None) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, num_channels, H', W') in [-1, 1]."""
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    if pixels.shape[1] != num_channels:
        if pixels.shape[1] == 1:
            pixels = pixels.repeat(1, num_channels, 1, 1)
        elif num_channels == 1:
            pixels = pixels[:, :3].mean(1, keepdim=True)
        else:
            raise ValueError(f"cannot map {pixels.shape[1]}-channel images to a {num_channels}-channel tokenizer.")
    if image_size is not None and tuple(pixels.shape[2:]) != (image_size, image_size):
        pixels = torch.nn.functional.interpolate(
            pixels, size=(image_size, image_size), mode="bilinear", align_corners=False
        )
    return pixels * 2 - 1


class TokenDataset(torch.utils.data.Dataset):
    """Rows of precomputed tensors (token grids, or fixed masked inputs and labels)."""

    def __init__(self, **columns):
        self.columns = columns
        self.length = len(next(iter(columns.values())))

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return {name: column[index] for name, column in self.columns.items()}


class MaskingCollator:
    """Training batches: a fresh paper mask per batch (random ratio per image); evaluation rows pass through."""

    def __init__(self, mask_token_id: int, mask_ratio: float, seed: int):
        self.mask_token_id, self.mask_ratio = mask_token_id, mask_ratio
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, examples):
        if "input_ids" in examples[0]:
            return {name: torch.stack([example[name] for example in examples]) for name in ("input_ids", "labels")}
        codes = torch.stack([example["token_ids"] for example in examples])
        input_ids, labels = mask_visual_tokens(
            codes, self.mask_token_id, self.mask_ratio, random_ratio=True, generator=self.generator
        )
        return {"input_ids": input_ids, "labels": labels}


def preprocess_logits_for_metrics(logits, labels):
    return (logits[0] if isinstance(logits, (tuple, list)) else logits).argmax(-1)


def compute_metrics(eval_prediction):
    predictions, labels = np.asarray(eval_prediction.predictions), np.asarray(eval_prediction.label_ids)
    scored = labels != -100
    accuracy = float((predictions[scored] == labels[scored]).mean()) if scored.any() else float("nan")
    return {"masked_token_accuracy": accuracy, "masked_tokens": int(scored.sum())}


# ---------------------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataArguments, MaskGITTrainingArguments))
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
    set_seed(training_args.seed)

    # 1. Tokenizer and the token ids (once, up front)
    tokenizer_path = Path(model_args.tokenizer_name_or_path)
    if not tokenizer_path.is_dir() or not (tokenizer_path / "config.json").is_file():
        raise FileNotFoundError(
            f"--tokenizer_name_or_path {str(tokenizer_path)!r} is not a folder with a config.json: expected a "
            "diffusers VQModel saved with save_pretrained."
        )
    tokenizer = DiffusersVQTokenizer.from_pretrained(str(tokenizer_path))
    device = training_args.device
    tokenizer.vq_model.to(device)
    num_channels = int(tokenizer.vq_model.config.in_channels)
    batch_size = max(training_args.per_device_eval_batch_size, 1)

    # the cache is reused only for the same tokenizer folder, image size and data (else the ids are recomputed)
    source = {
        "train": data_args.train_file or data_args.dataset_name,
        "validation": data_args.validation_file or data_args.dataset_name,
    }
    meta = dict(
        tokenizer=str(tokenizer_path.resolve()), image_size=data_args.image_size, data_dir=data_args.data_dir,
        source=source,
    )  # fmt: skip
    cache = {}
    if data_args.token_cache_file and os.path.isfile(data_args.token_cache_file):
        cache = torch.load(data_args.token_cache_file)
        if cache.pop("meta", None) != meta:
            logger.warning(f"{data_args.token_cache_file} was made from another tokenizer or data: recomputing ids.")
            cache = {}
        else:
            logger.info(f"token ids loaded from {data_args.token_cache_file}")
    started = time.monotonic()
    eval_pixels = None
    for split, wanted in (("train", training_args.do_train), ("validation", training_args.do_eval)):
        if not wanted:
            continue
        images = load_images(data_args, split)
        if images is None:
            flag = "--do_train" if split == "train" else "--do_eval"
            raise ValueError(f"{flag} needs {split} images (--dataset_name or --{split}_file).")
        if split == "validation":
            eval_pixels = to_tokenizer_pixels(images, num_channels, data_args.image_size)
        if split not in cache or len(cache[split]) != len(images):
            pixels = eval_pixels
            if split == "train":
                pixels = to_tokenizer_pixels(images, num_channels, data_args.image_size)
            cache[split] = encode_images(tokenizer, pixels, batch_size, device)
    if data_args.token_cache_file:
        torch.save({**cache, "meta": meta}, data_args.token_cache_file)
    grid = next(iter(cache.values())).shape[1:]
    if len(grid) != 2 or grid[0] != grid[1]:
        raise ValueError(f"the tokenizer must give square code grids, got {tuple(grid)}.")
    cache_flat = {split: ids.reshape(len(ids), -1) for split, ids in cache.items()}  # (N, tokens), row-major
    logger.info(f"tokenized {', '.join(f'{len(v):,} {k}' for k, v in cache.items())} images into {tuple(grid)} grids "
                f"in {time.monotonic() - started:.1f}s")  # fmt: skip

    # 2. Model
    fixed = dict(input_type="visual_tokens", codebook_size=tokenizer.codebook_size, token_grid_size=int(grid[0]))
    if model_args.model_name_or_path:
        model = HyperSETForMaskedTokenModeling.from_pretrained(model_args.model_name_or_path)
        found = (model.config.codebook_size, model.config.token_grid_size)
        if found != (fixed["codebook_size"], fixed["token_grid_size"]):
            raise ValueError(
                f"the checkpoint's (codebook_size, token_grid_size) {found} do not match the tokenizer's "
                f"{(fixed['codebook_size'], fixed['token_grid_size'])}."
            )
    else:
        overrides = config_overrides(model_args.config_overrides, HyperSETConfig.from_preset(model_args.preset))
        for name in ("codebook_size", "token_grid_size", "input_type"):
            if name in overrides:
                logger.warning(f"--config_overrides {name} ignored: it is set from the tokenizer.")
        model = HyperSETForMaskedTokenModeling(HyperSETConfig.from_preset(model_args.preset, **{**overrides, **fixed}))
    config = model.config
    num_parameters = model.num_parameters()
    logger.info(f"HyperSETForMaskedTokenModeling ({model_args.preset}): {num_parameters:,} parameters, "
                f"d={config.hidden_size}, {config.num_recurrences} iterations, {config.num_visual_tokens} tokens, "
                f"codebook {config.codebook_size}")  # fmt: skip

    # fixed evaluation masks (the same for every evaluation and run with this seed)
    eval_dataset = None
    if training_args.do_eval:
        generator = torch.Generator().manual_seed(training_args.seed)
        eval_inputs, eval_labels = mask_visual_tokens(
            cache_flat["validation"], config.mask_token_id, data_args.eval_mask_ratio, random_ratio=False,
            generator=generator,
        )  # fmt: skip
        eval_dataset = TokenDataset(input_ids=eval_inputs, labels=eval_labels)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=TokenDataset(token_ids=cache_flat["train"]) if training_args.do_train else None,
        eval_dataset=eval_dataset,
        data_collator=MaskingCollator(config.mask_token_id, data_args.train_mask_ratio, training_args.seed),
        compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=preprocess_logits_for_metrics,
    )

    # 3. Training
    if training_args.do_train:
        started = time.monotonic()
        checkpoint = training_args.resume_from_checkpoint
        if isinstance(checkpoint, str) and checkpoint.lower() == "true":
            checkpoint = True  # the newest checkpoint in --output_dir
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
        wall = time.monotonic() - started
        trainer.save_model()
        train_result.metrics["model_num_parameters"] = num_parameters
        if trainer.state.global_step:
            train_result.metrics["train_seconds_per_step"] = round(wall / trainer.state.global_step, 4)
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
        if trainer.is_world_process_zero():
            record_training_stage(
                training_args.output_dir, started_from=model_args.model_name_or_path,
                command=script_command(__file__, argv),
                dataset=data_args.dataset_name or data_args.train_file,
                evaluation=f"{data_args.eval_mask_ratio:.0%} of the tokens masked (fixed masks, seed "
                f"{training_args.seed}) of {len(cache['validation']) if 'validation' in cache else 0:,} test images",
                tokenizer=str(tokenizer_path), preset=model_args.preset, steps=trainer.state.global_step,
                epochs=round(trainer.state.epoch or 0.0, 3), wall_minutes=round(wall / 60.0, 1),
                train_loss=train_result.metrics.get("train_loss"), seed=training_args.seed,
            )  # fmt: skip

    # 4. Evaluation: loss and masked-token accuracy (Trainer), then MaskGIT completion -> PSNR / SSIM
    metrics = {}
    if training_args.do_eval:
        metrics = trainer.evaluate()
        model = trainer.model.eval()
        steps = min(data_args.decode_steps, config.num_visual_tokens)
        if steps < data_args.decode_steps:
            logger.warning(f"--decode_steps {data_args.decode_steps} capped at the {steps} tokens of a grid.")
        generator = torch.Generator(device=device).manual_seed(training_args.seed)
        completed_ids = maskgit_complete(
            model, eval_inputs, batch_size, device, num_steps=steps, schedule=data_args.decode_schedule,
            temperature=data_args.decode_temperature, generator=generator,
        ).view(cache["validation"].shape)  # fmt: skip
        original = ((eval_pixels.double() + 1) / 2).clamp(0, 1).numpy()
        completed = decode_images(tokenizer, completed_ids, batch_size, device, dtype=torch.float64).numpy()
        ceiling = decode_images(tokenizer, cache["validation"], batch_size, device, dtype=torch.float64).numpy()
        scored = (eval_labels != -100).view(cache["validation"].shape)
        completion = image_reconstruction_metrics(predictions=completed, references=original, data_range=1.0)
        reconstruction = image_reconstruction_metrics(predictions=ceiling, references=original, data_range=1.0)
        cell = original.shape[-1] // scored.shape[-1]  # pixels per token side
        hidden_pixels = scored.repeat_interleave(cell, 1).repeat_interleave(cell, 2).unsqueeze(1).numpy()
        metrics.update(
            eval_psnr=completion["psnr"], eval_ssim=completion["ssim"],
            eval_masked_region_psnr=masked_region_psnr(completed, original, hidden_pixels),
            eval_tokenizer_psnr=reconstruction["psnr"], eval_tokenizer_ssim=reconstruction["ssim"],
            eval_decoded_token_accuracy=float((completed_ids[scored] == cache["validation"][scored]).float().mean())
            if scored.any() else float("nan"),
            eval_mask_ratio=data_args.eval_mask_ratio, eval_decode_steps=steps,
            eval_decode_schedule=data_args.decode_schedule, eval_decode_temperature=data_args.decode_temperature,
            eval_model_num_parameters=num_parameters,
        )  # fmt: skip
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
    return metrics


if __name__ == "__main__":
    main()
