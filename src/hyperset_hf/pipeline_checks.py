# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Checks shared by the package's pipelines (`"sudoku-solving"`, `"masked-image-completion"`): the batch size, and a
checkpoint or model of the wrong kind refused in one line that names what was given and what the task accepts
(instead of transformers' loading error, which lists a traceback per model class it tried). Flat, with relative
imports only, so that it travels with a pipeline saved as remote code."""

from collections.abc import Sized

import torch

from .input_checks import as_count


MAX_PIPELINE_BATCH_SIZE = 1_000_000  # a guard against a mistyped batch size allocating without end


def check_batch_size(batch_size):
    """`batch_size` of a pipeline (at construction or per call): None (one at a time) or a positive integer (Python,
    NumPy or 0-d tensor), else a `ValueError` naming it."""
    return None if batch_size is None else as_count(batch_size, "batch_size", limit=MAX_PIPELINE_BATCH_SIZE)


class UnsuitableCheckpoint:
    """Stands for a checkpoint that holds a model of another kind than the task takes (its weights are not loaded):
    the pipeline class then refuses it in one line (`refuse_model`)."""

    def __init__(self, name_or_path, config):
        self.name_or_path = str(name_or_path)
        self.config = config


def describe_model(model) -> str:
    """What was given, for an error message: the class (or, for a checkpoint, its path and architectures), with the
    config's `model_type` and `input_type` where it has them."""
    config = getattr(model, "config", None)
    if isinstance(model, UnsuitableCheckpoint):
        architectures = getattr(config, "architectures", None) or [type(config).__name__]
        name = f"the checkpoint {model.name_or_path!r} ({', '.join(architectures)})"
    else:
        name = type(model).__name__
    details = [
        f"{key}={getattr(config, key)!r}" for key in ("model_type", "input_type") if getattr(config, key, None)
    ]
    return name + (f" with {', '.join(details)}" if details else "")


def refuse_model(task: str, model, accepted: str):
    """Raises the one-line `ValueError` of a pipeline given a model of the wrong kind."""
    raise ValueError(f"The {task} pipeline needs {accepted}; got {describe_model(model)}.")


_CONFIG_KWARGS = ("cache_dir", "force_download", "local_files_only", "revision", "subfolder", "token",
                  "trust_remote_code")  # fmt: skip


def task_model_loader(auto_class, suits):
    """A subclass of the transformers Auto class `auto_class`, with its name (a saved pipeline's
    `config.custom_pipelines` names the transformers class), to register as a task's model class: when
    the checkpoint's config does not `suits(config)`, it returns an `UnsuitableCheckpoint` instead of loading it, so
    that the pipeline names the model kind in one line; a checkpoint of the right kind is loaded as usual (and a
    loading error is transformers')."""

    class Loader(auto_class):
        @classmethod
        def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
            config = kwargs.get("config")
            if config is None:
                from transformers import AutoConfig

                try:
                    config = AutoConfig.from_pretrained(
                        pretrained_model_name_or_path, **{key: kwargs[key] for key in _CONFIG_KWARGS if key in kwargs}
                    )
                except Exception:  # noqa: BLE001 - no readable config: the model class reports what is wrong
                    config = None
            if config is not None and not suits(config):  # another kind of model: not loaded, named by the pipeline
                return UnsuitableCheckpoint(pretrained_model_name_or_path, config)
            return auto_class.from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)

    Loader.__name__ = Loader.__qualname__ = auto_class.__name__
    Loader.__doc__ = f"{auto_class.__name__} that hands a checkpoint of another kind to the pipeline to name."
    return Loader


def _stack_collate(items: list[dict]) -> dict:
    """Batches preprocessed items whose every value is a tensor with a leading batch dimension of 1 (no padding)."""
    return {key: torch.cat([item[key] for item in items], dim=0) for key in items[0]}


def _no_collate(items):
    if len(items) != 1:
        raise ValueError("This collate function is meant to be used with batch_size=1")
    return items[0]


def stacking_iterator(pipeline, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params,
                      postprocess_params):  # fmt: skip
    """`Pipeline.get_iterator` for pipelines without a tokenizer or feature extractor whose preprocessed items all
    have one shape (a Sudoku grid, an image's code grid): batches are stacked, nothing is padded."""
    from torch.utils.data import DataLoader
    from transformers.pipelines.pt_utils import PipelineDataset, PipelineIterator

    if isinstance(inputs, Sized):
        dataset = PipelineDataset(inputs, pipeline.preprocess, preprocess_params)
    else:
        num_workers = min(num_workers, 1)
        dataset = PipelineIterator(inputs, pipeline.preprocess, preprocess_params)
    collate_fn = _no_collate if batch_size == 1 else _stack_collate
    dataloader = DataLoader(dataset, num_workers=num_workers, batch_size=batch_size, collate_fn=collate_fn)
    model_iterator = PipelineIterator(dataloader, pipeline.forward, forward_params, loader_batch_size=batch_size)
    return PipelineIterator(model_iterator, pipeline.postprocess, postprocess_params)


__all__ = [
    "MAX_PIPELINE_BATCH_SIZE",
    "UnsuitableCheckpoint",
    "check_batch_size",
    "describe_model",
    "refuse_model",
    "stacking_iterator",
    "task_model_loader",
]
