# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""A `transformers` pipeline that completes partly hidden images with a masked-token model: image tokenizer ->
mask -> MaskGIT decoding ([`hyperset_hf.maskgit.maskgit_decode`]) -> tokenizer decoder.

Importing this module registers the task `"masked-image-completion"`:

    import hyperset_hf
    from transformers import pipeline
    from hyperset_hf.maskgit import DiffusersVQTokenizer

    completer = pipeline("masked-image-completion", model="path/to/token-model",
                         image_tokenizer=DiffusersVQTokenizer.from_pretrained("path/to/vq-tokenizer"))
    result = completer(image, mask_ratio=0.4, num_steps=12, seed=0)
    result["completed"], result["masked"], result["token_mask"]   # PIL images and the (h, w) hidden tokens

`image_tokenizer` is any [`hyperset_hf.maskgit.VisualTokenizer`] (`encode` images in [-1, 1] to (batch, h, w) ids,
`decode` back); its grid must be the model's `token_grid_size`. Without it, the pipeline loads the diffusers VQ model
kept in the `image_tokenizer/` subfolder of the model's folder or Hub repo (as the shipped checkpoint has it):

    completer = pipeline("masked-image-completion", model="path/to/hyperset-maskgit")
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForMaskedLM
from transformers.image_transforms import to_pil_image
from transformers.image_utils import ChannelDimension
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines.base import Pipeline

from .input_checks import as_fraction, as_seed
from .maskgit import (
    IMAGE_TOKENIZER_SUBFOLDER,
    SCHEDULES,
    DiffusersVQTokenizer,
    VisualTokenizer,
    image_to_pixel_values,
    maskgit_decode,
)
from .pipeline_checks import (
    UnsuitableCheckpoint,
    check_batch_size,
    refuse_model,
    stacking_iterator,
    task_model_loader,
)


__all__ = ["IMAGE_COMPLETION_TASK", "ImageCompletionPipeline", "register_image_completion_pipeline"]

IMAGE_COMPLETION_TASK = "masked-image-completion"


def _to_pil(tensor: torch.Tensor):
    """(C, H, W) in about [-1, 1] -> a PIL image (transformers' `to_pil_image` of the rounded uint8 pixels)."""
    pixels = ((tensor.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).cpu()
    return to_pil_image(pixels, input_data_format=ChannelDimension.FIRST)


def _shipped_image_tokenizer(name_or_path: str | None) -> VisualTokenizer | None:
    """The diffusers VQ tokenizer in the `image_tokenizer/` subfolder of the model's folder or Hub repo, or None when
    there is none (or diffusers is not installed)."""
    if not name_or_path:
        return None
    local = Path(name_or_path)
    if local.is_dir() and not (local / IMAGE_TOKENIZER_SUBFOLDER / "config.json").is_file():
        return None
    try:
        return DiffusersVQTokenizer.from_pretrained(name_or_path, subfolder=IMAGE_TOKENIZER_SUBFOLDER)
    except (ImportError, OSError, ValueError):
        if local.is_dir():
            raise  # the folder has a tokenizer that does not load: say why
        return None


class ImageCompletionPipeline(Pipeline):
    """Completes an image of which a fraction of the tokens is hidden (see the module docstring).

    Inputs: one image or a list of images, each the path or URL of an image file, a PIL image of any mode (`"1"`,
    `"L"`, `"P"`, `"LA"`, `"RGB"`, `"RGBA"`, `"CMYK"`, `"I;16"`, `"I"`, `"F"`, ...), a NumPy image (`(H, W)`,
    `(H, W, C)` or `(C, H, W)`; uint8, uint16, bool, or floats in [0, 1]) or a tensor `(C, H, W)` / `(H, W)` (floats
    in [0, 1] or uint8); channels are converted to the tokenizer's (an RGB or RGBA image works with a grey
    tokenizer): see [`hyperset_hf.maskgit.image_to_pixel_values`]. The image must give the model's `token_grid_size`
    token grid.

    Call parameters: `mask_ratio` (a number in (0, 1], default 0.4: that many tokens, chosen at random with `seed`,
    are hidden) or `token_mask` (an (h, w) array, list or tensor of bools or 0/1, True = hidden, at least one hidden;
    giving both is refused: the mask decides); `num_steps` (a positive integer, at most h x w; 12), `schedule` (one
    of `SCHEDULES`; `"arccos"`), `temperature` (a finite number >= 0; 1.0; 0 = greedy), `seed` (an integer >= 0; 0),
    `num_recurrences` (the model's iterations), `batch_size` (a positive integer; every image is decoded with its own
    generator seeded with `seed`, so the result does not depend on it). Bad values are refused by a
    `ValueError` naming the parameter (a float seed is not truncated, `True` is not a ratio).

    Returns a dict: `completed` and `masked` (PIL images: the completion, and the tokenizer's reconstruction with the
    hidden tokens shown as the mean grey), `reconstruction` (the tokenizer's reconstruction of the whole image, the
    ceiling of any completion), `token_mask` (bool (h, w)), `codes` and `completed_codes` ((h, w) ids).
    """

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, model, *args, image_tokenizer: VisualTokenizer | None = None, **kwargs):
        config = getattr(model, "config", None)
        if isinstance(model, UnsuitableCheckpoint) or not _is_token_model_config(config):
            refuse_model(IMAGE_COMPLETION_TASK, model, TOKEN_MODEL_KIND)
        if "batch_size" in kwargs:
            kwargs["batch_size"] = check_batch_size(kwargs["batch_size"])
        if image_tokenizer is None:
            image_tokenizer = _shipped_image_tokenizer(getattr(model, "name_or_path", None))
        if not isinstance(image_tokenizer, VisualTokenizer):
            raise ValueError(
                "The masked-image-completion pipeline needs `image_tokenizer=`: a VisualTokenizer (encode / decode / "
                "codebook_size) such as hyperset_hf.maskgit.DiffusersVQTokenizer, unless the model's folder or repo "
                f"has one in its `{IMAGE_TOKENIZER_SUBFOLDER}/` subfolder; got {type(image_tokenizer).__name__}."
            )
        if image_tokenizer.codebook_size != config.codebook_size:
            raise ValueError(
                f"the image tokenizer has {image_tokenizer.codebook_size} codes but the model predicts "
                f"{config.codebook_size}"
            )
        self.image_tokenizer = image_tokenizer
        super().__init__(model, *args, **kwargs)
        self.model.eval()

    def __call__(self, inputs, *args, **kwargs):
        """Completes one image (returns a dict) or a list of images (returns a list); see the class docstring."""
        if "batch_size" in kwargs:
            kwargs["batch_size"] = check_batch_size(kwargs["batch_size"])
        if isinstance(inputs, (list, tuple)) and not inputs:
            return []  # (an empty batch: nothing to complete)
        return super().__call__(inputs, *args, **kwargs)

    def _sanitize_parameters(self, mask_ratio=None, token_mask=None, num_steps=None, schedule=None, temperature=None,
                             seed=None, num_recurrences=None, **kwargs):  # fmt: skip
        if kwargs:
            raise TypeError(
                f"Unexpected parameter(s) for the masked-image-completion pipeline: {sorted(kwargs)}; the parameters "
                "are mask_ratio, token_mask, num_steps, schedule, temperature, seed and num_recurrences."
            )
        preprocess, forward = {}, {}
        if mask_ratio is not None and token_mask is not None:
            raise ValueError(
                f"give `mask_ratio` ({mask_ratio!r}) or `token_mask`, not both: the token mask decides which tokens "
                "are hidden."
            )
        if mask_ratio is not None:
            preprocess["mask_ratio"] = as_fraction(mask_ratio, "mask_ratio")
        if token_mask is not None:
            preprocess["token_mask"] = token_mask
        if seed is not None:
            preprocess["seed"] = forward["seed"] = as_seed(seed)
        if schedule is not None and schedule not in SCHEDULES:
            raise ValueError(f"`schedule` must be one of {list(SCHEDULES)}, got {schedule!r}.")
        for name, value in (("num_steps", num_steps), ("schedule", schedule), ("temperature", temperature),
                            ("num_recurrences", num_recurrences)):  # fmt: skip
            if value is not None:
                forward[name] = value
        return preprocess, forward, {}

    def preprocess(self, image, mask_ratio: float | None = None, token_mask=None, seed: int = 0) -> dict[str, Any]:
        if mask_ratio is not None and token_mask is not None:  # (one given at construction, the other per call)
            raise ValueError(
                f"give `mask_ratio` ({mask_ratio!r}) or `token_mask`, not both: the token mask decides which tokens "
                "are hidden."
            )
        mask_ratio = DEFAULT_MASK_RATIO if mask_ratio is None else mask_ratio
        if isinstance(image, (str, Path)):  # a file path or URL, as transformers' image pipelines take
            image = _load_image(image)
        pixels = image_to_pixel_values(image, getattr(self.image_tokenizer, "num_channels", None)).unsqueeze(0)
        codes = self.image_tokenizer.encode(pixels.to(self.device))
        grid = self.model.config.token_grid_size
        if tuple(codes.shape[1:]) != (grid, grid):
            raise ValueError(
                f"the image ({tuple(pixels.shape[2:])} px) gives a {tuple(codes.shape[1:])} token grid; the model was "
                f"trained on {grid}x{grid} tokens: give images of the tokenizer's training size"
            )
        if token_mask is None:
            generator = torch.Generator().manual_seed(seed)
            num_hidden = max(1, math.floor(mask_ratio * grid * grid + 0.5))
            hidden = torch.zeros(grid * grid, dtype=torch.bool)
            hidden[torch.randperm(grid * grid, generator=generator)[:num_hidden]] = True
            token_mask = hidden.view(grid, grid)
        else:
            token_mask = _check_token_mask(token_mask, grid)
        input_ids = codes.masked_fill(token_mask.to(codes.device).unsqueeze(0), self.model.config.mask_token_id)
        return {"codes": codes, "input_ids": input_ids, "token_mask": token_mask.unsqueeze(0)}

    def _forward(self, inputs, num_steps=12, schedule="arccos", temperature=1.0, seed=0, num_recurrences=None):
        extra = {} if num_recurrences is None else {"num_recurrences": num_recurrences}
        # every image decoded with its own generator seeded with `seed`: the result does not depend on `batch_size`
        completed = torch.cat([
            maskgit_decode(self.model, input_ids[None], num_steps=num_steps, schedule=schedule, temperature=temperature,
                           generator=torch.Generator(input_ids.device).manual_seed(seed), **extra).sequences
            for input_ids in inputs["input_ids"]
        ])  # fmt: skip
        return {**inputs, "completed_codes": completed.view_as(inputs["codes"])}

    def get_iterator(self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params,
                     postprocess_params):  # fmt: skip
        # As `Pipeline.get_iterator`, but batches without a tokenizer: every image gives one code grid shape.
        return stacking_iterator(self, inputs, num_workers, batch_size, preprocess_params, forward_params,
                                 postprocess_params)  # fmt: skip

    def postprocess(self, outputs) -> dict[str, Any]:
        codes, completed, token_mask = outputs["codes"], outputs["completed_codes"], outputs["token_mask"][0]
        images = self.image_tokenizer.decode(torch.cat((completed, codes)))
        reconstruction = images[1]
        # the hidden tokens' areas shown grey: upsample the token mask to the image
        scale = (reconstruction.shape[1] // token_mask.shape[0], reconstruction.shape[2] // token_mask.shape[1])
        hidden = token_mask.repeat_interleave(scale[0], 0).repeat_interleave(scale[1], 1).to(reconstruction.device)
        masked = reconstruction.masked_fill(hidden.unsqueeze(0), 0.0)
        return {
            "completed": _to_pil(images[0]), "masked": _to_pil(masked), "reconstruction": _to_pil(reconstruction),
            "token_mask": token_mask.cpu().numpy(), "codes": codes[0].cpu().numpy(),
            "completed_codes": completed[0].cpu().numpy(),
        }  # fmt: skip


DEFAULT_MASK_RATIO = 0.4
TOKEN_MODEL_KIND = (
    "a masked-token model (HyperSETForMaskedTokenModeling: model_type 'hyperset', input_type 'visual_tokens')"
)


def _load_image(path):
    """A local image file or URL -> a PIL image (transformers' `load_image`), or a `ValueError` naming the path."""
    from transformers.image_utils import load_image

    text = str(path)
    if not text.startswith(("http://", "https://")) and not Path(text).is_file():
        raise ValueError(
            f"`image` {text!r} is no such file: give a PIL image, a NumPy image, a tensor, or the path or URL of an "
            "image."
        )
    try:
        if text.startswith(("http://", "https://")):
            return load_image(text)
        from PIL import Image

        image = Image.open(text)
        image.load()  # (its own mode kept: a grey file stays grey)
        return image
    except Exception as error:  # noqa: BLE001 - PIL's and requests' errors alike
        raise ValueError(f"`image` {text!r} could not be read as an image: {error}") from None


def _is_token_model_config(config) -> bool:
    return getattr(config, "input_type", None) == "visual_tokens"


def _check_token_mask(token_mask, grid: int) -> torch.Tensor:
    """`token_mask` (an array, nested list or tensor of bools or 0/1 numbers, shape (grid, grid) or (grid * grid,),
    True = hidden, at least one hidden) -> a bool (grid, grid) tensor, else a `ValueError` naming it."""
    try:
        values = token_mask.detach().cpu() if isinstance(token_mask, torch.Tensor) else torch.as_tensor(
            np.asarray(token_mask))  # fmt: skip
    except (TypeError, ValueError, RuntimeError):
        values = None
    expected = f"a boolean ({grid}, {grid}) array (or 0/1 numbers; True = hidden) with at least one hidden token"
    if values is None or tuple(values.shape) not in ((grid, grid), (grid * grid,)) or values.is_complex():
        shape = None if values is None else tuple(values.shape)
        raise ValueError(f"`token_mask` must be {expected}; got {type(token_mask).__name__} of shape {shape}.")
    if values.dtype != torch.bool:
        if not bool(((values == 0) | (values == 1)).all()):
            bad = values[(values != 0) & (values != 1)][0].item()
            raise ValueError(f"`token_mask` must be {expected}; it holds {bad!r} (dtype {values.dtype}).")
        values = values != 0
    if not values.any():
        raise ValueError(f"`token_mask` must be {expected}; it hides no token (all False).")
    return values.reshape(grid, grid)


def register_image_completion_pipeline() -> None:
    """Registers `"masked-image-completion"` with `transformers.pipelines.PIPELINE_REGISTRY` (idempotent)."""
    registered = PIPELINE_REGISTRY.supported_tasks.get(IMAGE_COMPLETION_TASK)
    if registered is not None and registered.get("impl") is ImageCompletionPipeline:
        return
    PIPELINE_REGISTRY.register_pipeline(
        IMAGE_COMPLETION_TASK,
        pipeline_class=ImageCompletionPipeline,
        pt_model=task_model_loader(AutoModelForMaskedLM, _is_token_model_config),
        type="image",
    )


register_image_completion_pipeline()
