# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""What the image example scripts share (`image-classification/run_image_classification.py`,
`image-pretraining/run_mim.py`, `image-pretraining/run_mim_no_trainer.py`): data loading (a `datasets` dataset, image
folders or `--dataset_name fashion-mnist-local`), channel adaptation, the image processor, the model built from
`--model_type` / `--config_overrides`, the masks and transforms of masked image modeling, and the Trainer scripts' last
steps (train, save with the run's metadata, evaluate, push).

Until hyperset-hf 0.1 this was part of `hyperset_hf.data.images`; the package keeps only the data loaders
(`hyperset_hf.data.images`).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from hyperset_hf.data.images import load_fashion_mnist
from hyperset_hf.release.model_card import record_training_stage

from .configs import config_overrides


__all__ = [
    "CHANNEL_MODES",
    "DATASET_ALIASES",
    "DATASET_STATISTICS",
    "FASHION_MNIST_LOCAL",
    "IMAGE_MODEL_CLASSES",
    "MIMTransform",
    "MaskGenerator",
    "adapt_to_channels",
    "build_image_model",
    "build_image_processor",
    "channels_of",
    "collate_fn",
    "describe_config",
    "find_image_column",
    "load_image_datasets",
    "mim_transforms",
    "random_resized_crop",
    "train_evaluate_push",
    "with_sample_index",
]

logger = logging.getLogger(__name__)

FASHION_MNIST_LOCAL = "fashion-mnist-local"


DATASET_STATISTICS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
}


DATASET_ALIASES = {
    "uoft-cs/cifar10": "cifar10",
    "uoft-cs/cifar100": "cifar100",
    "zalando-datasets/fashion_mnist": "fashion_mnist",
    FASHION_MNIST_LOCAL: "fashion_mnist",
    "ylecun/mnist": "mnist",
}


CHANNEL_MODES = {1: "L", 3: "RGB"}


def load_image_datasets(data_args, cache_dir=None, token=None, seed=None):
    """The example scripts' data: a `DatasetDict` with `train` and (when available) `validation` splits, from
    `data_args.dataset_name` (a Hub dataset, or `FASHION_MNIST_LOCAL` for the local Fashion-MNIST) or the image
    folders `train_dir` / `validation_dir`; `eval_split_name`, `train_val_split`, `max_train_samples` and
    `max_eval_samples` as in transformers' image examples. `data_args` is any object with those attributes and
    `dataset_config_name`, `data_dir`."""
    from datasets import DatasetDict, load_dataset

    if data_args.dataset_name == FASHION_MNIST_LOCAL:
        dataset = DatasetDict(
            train=load_fashion_mnist("train", data_dir=data_args.data_dir),
            validation=load_fashion_mnist("test", data_dir=data_args.data_dir),
        )
    elif data_args.dataset_name is not None:
        dataset = load_dataset(
            data_args.dataset_name,
            data_args.dataset_config_name,
            data_dir=data_args.data_dir,
            cache_dir=cache_dir,
            token=token,
        )
    else:
        data_files = {}
        if data_args.train_dir is not None:
            data_files["train"] = os.path.join(data_args.train_dir, "**")
        if data_args.validation_dir is not None:
            data_files["validation"] = os.path.join(data_args.validation_dir, "**")
        dataset = load_dataset("imagefolder", data_files=data_files, cache_dir=cache_dir)

    if data_args.eval_split_name != "validation" and data_args.eval_split_name in dataset:
        dataset["validation"] = dataset[data_args.eval_split_name]
    if "validation" not in dataset and "train" in dataset and data_args.train_val_split > 0.0:
        split = dataset["train"].train_test_split(data_args.train_val_split, seed=seed)
        dataset["train"], dataset["validation"] = split["train"], split["test"]
    if data_args.max_train_samples is not None and "train" in dataset:
        count = min(data_args.max_train_samples, len(dataset["train"]))
        dataset["train"] = dataset["train"].shuffle(seed=seed).select(range(count))
    if data_args.max_eval_samples is not None and "validation" in dataset:
        count = min(data_args.max_eval_samples, len(dataset["validation"]))
        dataset["validation"] = dataset["validation"].shuffle(seed=seed).select(range(count))
    return dataset


def find_image_column(dataset, name: str | None) -> str:
    columns = dataset.column_names
    if name is not None:
        if name not in columns:
            raise ValueError(f"--image_column_name {name!r} is not a column of the dataset ({columns}).")
        return name
    for candidate in ("image", "img"):
        if candidate in columns:
            return candidate
    raise ValueError(f"No `image` or `img` column in {columns}; pass --image_column_name.")


def channels_of(image) -> int:
    """1 for grayscale images (modes 1, L, LA, I, I;16, F), 3 otherwise."""
    return 1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3


def adapt_to_channels(values, num_channels: int) -> list:
    values = [float(value) for value in (values if isinstance(values, (list, tuple)) else [values])]
    if len(values) == num_channels:
        return values
    if len(values) == 1:
        return values * num_channels
    if num_channels == 1:
        return [sum(values) / len(values)]
    raise ValueError(f"Cannot adapt normalisation statistics {values} to {num_channels} channels.")


def build_image_processor(model_args, dataset_name: str | None, image_size: int, num_channels: int):
    """The example scripts' image processor: the one of `model_args.image_processor_name` or of the checkpoint
    `model_args.model_name_or_path`, else a `ViTImageProcessor` with the statistics of `dataset_name`; its size and
    channel statistics are made to match the model. `model_args` is any object with those two attributes and
    `cache_dir`, `model_revision`, `token`."""
    from transformers import AutoImageProcessor, ViTImageProcessor

    kwargs = dict(cache_dir=model_args.cache_dir, revision=model_args.model_revision, token=model_args.token)
    processor = None
    for source in (model_args.image_processor_name, model_args.model_name_or_path):
        if source is None:
            continue
        try:
            try:
                processor = AutoImageProcessor.from_pretrained(source, **kwargs)
            except ImportError:  # transformers 5.17's AutoImageProcessor insists on torchvision
                processor = ViTImageProcessor.from_pretrained(source, **kwargs)
            break
        except (OSError, ValueError) as error:
            if source == model_args.image_processor_name:
                raise
            logger.info(f"No image processor in {source} ({error}); building one.")
    if processor is None:
        mean, std = DATASET_STATISTICS.get(DATASET_ALIASES.get(dataset_name, dataset_name), ((0.5,), (0.5,)))
        processor = ViTImageProcessor(image_mean=list(mean), image_std=list(std))
    processor.size = {"height": image_size, "width": image_size}
    processor.image_mean = adapt_to_channels(processor.image_mean, num_channels)
    processor.image_std = adapt_to_channels(processor.image_std, num_channels)
    return processor


class MaskGenerator:
    """Draws which model patches to mask, as transformers' run_mim.py: the image is cut into squares of
    `mask_patch_size` pixels, `ceil(mask_ratio * #squares)` of them are masked, and every masked square covers
    `(mask_patch_size / model_patch_size)**2` model patches. Returns a flat bool tensor of length `num_patches`."""

    def __init__(self, input_size=32, mask_patch_size=4, model_patch_size=4, mask_ratio=0.4):
        if input_size % mask_patch_size != 0:
            raise ValueError(
                f"The image size ({input_size}) must be divisible by the mask patch size ({mask_patch_size})."
            )
        if mask_patch_size % model_patch_size != 0:
            raise ValueError(
                f"The mask patch size ({mask_patch_size}) must be divisible by the model patch size "
                f"({model_patch_size})."
            )
        self.input_size, self.mask_patch_size, self.model_patch_size = input_size, mask_patch_size, model_patch_size
        self.mask_ratio = mask_ratio
        self.rand_size = input_size // mask_patch_size
        self.scale = mask_patch_size // model_patch_size
        self.token_count = self.rand_size**2
        self.mask_count = int(np.ceil(self.token_count * mask_ratio))

    def __call__(self, rng: np.random.Generator | None = None):
        import torch

        rng = rng if rng is not None else np.random.default_rng()
        mask = np.zeros(self.token_count, dtype=bool)
        mask[rng.permutation(self.token_count)[: self.mask_count]] = True
        mask = mask.reshape(self.rand_size, self.rand_size).repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        return torch.from_numpy(mask.flatten())


def random_resized_crop(image, size: int, min_scale: float, rng: np.random.Generator):
    """torchvision's RandomResizedCrop (scale (min_scale, 1), ratio (3/4, 4/3)) with PIL and a numpy generator."""
    from PIL import Image

    width, height = image.size
    if min_scale < 1.0:
        area = width * height
        log_ratio = (np.log(3.0 / 4.0), np.log(4.0 / 3.0))
        for _ in range(10):
            target_area = area * rng.uniform(min_scale, 1.0)
            aspect_ratio = float(np.exp(rng.uniform(*log_ratio)))
            crop_width = int(round(np.sqrt(target_area * aspect_ratio)))
            crop_height = int(round(np.sqrt(target_area / aspect_ratio)))
            if 0 < crop_width <= width and 0 < crop_height <= height:
                top = int(rng.integers(0, height - crop_height + 1))
                left = int(rng.integers(0, width - crop_width + 1))
                box = (left, top, left + crop_width, top + crop_height)
                return image.resize((size, size), Image.Resampling.BILINEAR, box=box)
    return image.resize((size, size), Image.Resampling.BILINEAR)


def collate_fn(examples):
    """Stacks masked-image-modeling examples (`pixel_values`, `bool_masked_pos`) into a batch."""
    import torch

    return {
        "pixel_values": torch.stack([torch.as_tensor(example["pixel_values"]) for example in examples]),
        "bool_masked_pos": torch.stack([torch.as_tensor(example["bool_masked_pos"]) for example in examples]),
    }


def with_sample_index(dataset):
    """Adds the column `sample_index` (0, 1, ...), which seeds each example's random mask and crop."""
    return dataset.add_column("sample_index", list(range(len(dataset))))


def describe_config(config) -> str:
    """Depth/width/input summary of a Hyper-SET or ViT config, for the log line with the parameter count."""
    if config.model_type == "vit":
        depth = f"{config.num_hidden_layers} layer(s)"
    else:
        depth = f"{config.num_layers} layer(s) x {config.num_recurrences} iterations"
    return (
        f"{depth}, d={config.hidden_size}, {config.patch_size}-px patches, {config.image_size}px x "
        f"{config.num_channels} channel(s)"
    )


# The example scripts' models, by task and `--model_type` (the ViT is the same-size baseline).
IMAGE_MODEL_CLASSES = {
    "image-classification": {
        "hyperset": "HyperSETForImageClassification",
        "energy_transformer": "EnergyTransformerForImageClassification",
        "vit": "ViTForImageClassification",
    },
    "masked-image-modeling": {
        "hyperset": "HyperSETForMaskedImageModeling",
        "energy_transformer": "EnergyTransformerForMaskedImageModeling",
        "vit": "ViTForMaskedImageModeling",
    },
}


def build_image_model(task: str, model_args, reference_image, image_size: int | None = None, **config_values):
    """The example scripts' model for `task` (`"image-classification"` or `"masked-image-modeling"`): the checkpoint
    `model_args.model_name_or_path` through the task's Auto class, or a new model of `model_args.model_type`
    (`hyperset`, `energy_transformer`, `vit`) sized for `reference_image` (its side and channels). The
    `model_args.config_overrides` string is typed against the config it changes (`config_overrides`); `image_size`
    and `config_values` (e.g. the labels, `ignore_mismatched_sizes`) are passed on. New ET and ViT models use the
    Hyper-SET default patch size unless overridden (the same patches for a same-recipe comparison)."""
    import transformers

    import hyperset_hf

    hub = dict(cache_dir=model_args.cache_dir, revision=model_args.model_revision, token=model_args.token)
    overrides = {} if image_size is None else {"image_size": image_size}
    if model_args.model_name_or_path:
        config = transformers.AutoConfig.from_pretrained(
            model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code, **hub
        )
        overrides.update(config_overrides(model_args.config_overrides, config))
        auto_class = {
            "image-classification": transformers.AutoModelForImageClassification,
            "masked-image-modeling": transformers.AutoModelForMaskedImageModeling,
        }[task]
        return auto_class.from_pretrained(
            model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code, **hub, **config_values,
            **overrides,
        )  # fmt: skip
    model_class_name = IMAGE_MODEL_CLASSES[task].get(model_args.model_type)
    if model_class_name is None:
        raise ValueError(f"--model_type must be one of {sorted(IMAGE_MODEL_CLASSES[task])}, got {model_args.model_type!r}.")
    module = transformers if model_args.model_type == "vit" else hyperset_hf
    model_class = getattr(module, model_class_name)
    config_class = model_class.config_class
    config_values.pop("ignore_mismatched_sizes", None)
    values = dict(image_size=max(reference_image.size), num_channels=channels_of(reference_image), **config_values)
    if model_args.model_type != "hyperset":
        values["patch_size"] = hyperset_hf.HyperSETConfig().patch_size
    values.update(overrides)
    values.update(config_overrides(model_args.config_overrides, config_class()))
    if task == "masked-image-modeling" and model_args.model_type == "vit":
        # the ViT decoder (conv + pixel shuffle by encoder_stride) must upsample by the patch size
        values["encoder_stride"] = values["patch_size"]
    return model_class(config_class(**values))


def train_evaluate_push(
    trainer, kind: str, data_args, started_from: str | None = None, command: str | None = None
) -> dict:
    """The example scripts' last steps with a `Trainer`: train (`--resume_from_checkpoint PATH`, or `true` for the
    newest checkpoint in `--output_dir`), save the model, its processor, metrics (with the parameter count, for
    equal-parameter comparisons), state and the run's `run_metadata.json` (the model card's facts); evaluate; push
    with the generated card of `kind`. Returns the eval metrics."""
    args = trainer.args
    if args.do_train:
        checkpoint = args.resume_from_checkpoint
        if isinstance(checkpoint, str) and checkpoint.lower() == "true":
            checkpoint = True  # Trainer resumes from the newest checkpoint in --output_dir (and says if there is none)
        started = time.monotonic()
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
        trainer.save_model()  # model + image processor
        train_result.metrics["model_num_parameters"] = trainer.model.num_parameters()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
        if trainer.is_world_process_zero():
            subset = f"the first {data_args.max_eval_samples:,} images of " if data_args.max_eval_samples else ""
            record_training_stage(
                args.output_dir, started_from=started_from, command=command, dataset=data_args.dataset_name,
                evaluation=f"{subset}the test split", resumed_from_checkpoint=checkpoint,
                steps=trainer.state.global_step, epochs=round(trainer.state.epoch or 0.0, 3),
                wall_minutes=round((time.monotonic() - started) / 60.0, 1),
                train_loss=train_result.metrics.get("train_loss"), seed=args.seed,
            )  # fmt: skip
    metrics = {}
    if args.do_eval:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
    if args.push_to_hub:
        # the same upload as `hyperset-hf push`: weights, config, remote code, image processor, generated card
        from hyperset_hf.release.hub import push_trainer_output

        push_trainer_output(trainer, kind=kind)
    return metrics


class MIMTransform:
    """`with_transform` callable -> `pixel_values` and `bool_masked_pos`.

    Training (`train=True`): random resized crop + horizontal flip + a random mask. With `deterministic=True` every
    random draw of sample `i` comes from `numpy.random.default_rng([seed, stream, epoch, i])` (set `epoch` before
    each epoch), so data are a pure function of (seed, epoch, index) whatever the process count, worker count or
    resumption point; otherwise one generator per batch is seeded from torch's global RNG (seeded by Trainer and in
    every dataloader worker). Evaluation: no augmentation and a fixed mask per sample index.
    """

    def __init__(
        self,
        image_processor,
        image_column,
        num_channels,
        mask_generator,
        train=False,
        min_crop_scale=0.67,
        horizontal_flip=True,
        deterministic=False,
        seed=0,
    ):
        if num_channels not in CHANNEL_MODES:
            raise ValueError(f"Images can be converted to 1 or 3 channels, the model has {num_channels}.")
        self.image_processor, self.image_column = image_processor, image_column
        self.mode = CHANNEL_MODES[num_channels]
        self.size = image_processor.size["height"]
        self.mask_generator = mask_generator
        self.train, self.min_crop_scale, self.horizontal_flip = train, min_crop_scale, horizontal_flip
        self.deterministic = deterministic or not train
        self.seed, self.epoch = seed, 0

    def generator(self, index: int) -> np.random.Generator:
        stream, epoch = (1, self.epoch) if self.train else (0, 0)
        return np.random.default_rng([self.seed, stream, epoch, int(index)])

    def __call__(self, batch):
        import torch
        from PIL import Image

        images = batch[self.image_column]
        if self.deterministic:
            generators = [self.generator(index) for index in batch["sample_index"]]
        else:
            shared = np.random.default_rng(int(torch.randint(0, 2**62, (1,))))
            generators = [shared] * len(images)
        prepared = []
        for image, rng in zip(images, generators):
            image = image.convert(self.mode)
            if self.train:
                image = random_resized_crop(image, self.size, self.min_crop_scale, rng)
                if self.horizontal_flip and rng.random() < 0.5:
                    image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            prepared.append(image)
        batch["pixel_values"] = self.image_processor(prepared, return_tensors="pt")["pixel_values"]
        batch["bool_masked_pos"] = [self.mask_generator(rng) for rng in generators]
        return batch


def mim_transforms(data_args, image_processor, image_column, config, seed: int, deterministic: bool = False):
    """The (training, evaluation) `MIMTransform`s of the masked-image-modeling scripts: masks of
    `data_args.mask_ratio` in squares of `data_args.mask_patch_size` pixels (default: the model's patch size), crops of
    at least `data_args.min_crop_scale`, optional horizontal flips (`data_args.horizontal_flip`)."""
    mask_generator = MaskGenerator(
        input_size=config.image_size,
        mask_patch_size=data_args.mask_patch_size or config.patch_size,
        model_patch_size=config.patch_size,
        mask_ratio=data_args.mask_ratio,
    )
    common = dict(
        image_processor=image_processor, image_column=image_column, num_channels=config.num_channels,
        mask_generator=mask_generator, min_crop_scale=data_args.min_crop_scale,
        horizontal_flip=data_args.horizontal_flip, seed=seed,
    )  # fmt: skip
    return MIMTransform(train=True, deterministic=deterministic, **common), MIMTransform(**common)
