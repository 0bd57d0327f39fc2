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
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines.base import Pipeline

from .maskgit import IMAGE_TOKENIZER_SUBFOLDER, SCHEDULES, DiffusersVQTokenizer, VisualTokenizer, maskgit_decode


__all__ = ["IMAGE_COMPLETION_TASK", "ImageCompletionPipeline", "register_image_completion_pipeline"]

IMAGE_COMPLETION_TASK = "masked-image-completion"


def _image_to_tensor(image) -> torch.Tensor:
    """A PIL image, an (H, W) / (H, W, C) uint8 array or a (C, H, W) float tensor in [0, 1] -> (C, H, W) in [-1, 1]."""
    if isinstance(image, torch.Tensor):
        tensor = image.detach().float()
        if tensor.ndim != 3 or not torch.isfinite(tensor).all() or tensor.min() < 0 or tensor.max() > 1:
            raise ValueError(
                "an image tensor must be (channels, height, width) with finite values in [0, 1], got shape "
                f"{tuple(tensor.shape)}" + (f" and values in [{float(tensor.min()):g}, {float(tensor.max()):g}]"
                                            if tensor.numel() else "")
            )  # fmt: skip
    else:
        array = np.asarray(image)
        if array.dtype != np.uint8 or array.ndim not in (2, 3):
            raise ValueError(
                f"expected a PIL image, a uint8 array (H, W) or (H, W, C), or a float tensor (C, H, W) in [0, 1]; got "
                f"{type(image).__name__} with dtype {array.dtype} and shape {array.shape}"
            )
        tensor = torch.from_numpy(array.copy()).float() / 255.0
        tensor = tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return tensor * 2.0 - 1.0


def _to_pil(tensor: torch.Tensor):
    """(C, H, W) in about [-1, 1] -> a PIL image."""
    from PIL import Image

    array = ((tensor.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


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

    Call parameters: `mask_ratio` (float in (0, 1], default 0.4: that many tokens, chosen at random with `seed`, are
    hidden) or `token_mask` (a boolean (h, w) array, True = hidden); `num_steps` (12), `schedule` (`"arccos"`),
    `temperature` (1.0; 0 = greedy), `seed` (0), `num_recurrences` (the model's iterations).

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
        if getattr(config, "input_type", None) != "visual_tokens":
            raise ValueError(
                "The masked-image-completion pipeline needs a masked-token model (HyperSETForMaskedTokenModeling, "
                f"config.input_type='visual_tokens'), got {type(model).__name__}."
            )
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

    def _sanitize_parameters(self, mask_ratio=None, token_mask=None, num_steps=None, schedule=None, temperature=None,
                             seed=None, num_recurrences=None, **kwargs):  # fmt: skip
        if kwargs:
            raise TypeError(f"Unexpected parameter(s) for the masked-image-completion pipeline: {sorted(kwargs)}.")
        preprocess, forward = {}, {}
        if mask_ratio is not None:
            if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float)) or not 0 < mask_ratio <= 1:
                raise ValueError(f"`mask_ratio` must be a number in (0, 1], got {mask_ratio!r}.")
            preprocess["mask_ratio"] = float(mask_ratio)
        if token_mask is not None:
            preprocess["token_mask"] = token_mask
        if seed is not None:
            preprocess["seed"] = forward["seed"] = int(seed)
        if schedule is not None and schedule not in SCHEDULES:
            raise ValueError(f"`schedule` must be one of {list(SCHEDULES)}, got {schedule!r}.")
        for name, value in (("num_steps", num_steps), ("schedule", schedule), ("temperature", temperature),
                            ("num_recurrences", num_recurrences)):  # fmt: skip
            if value is not None:
                forward[name] = value
        return preprocess, forward, {}

    def preprocess(self, image, mask_ratio: float = 0.4, token_mask=None, seed: int = 0) -> dict[str, Any]:
        pixels = _image_to_tensor(image).unsqueeze(0)
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
            token_mask = torch.as_tensor(np.asarray(token_mask))
            if token_mask.dtype != torch.bool or tuple(token_mask.shape) != (grid, grid) or not token_mask.any():
                raise ValueError(
                    f"`token_mask` must be a boolean ({grid}, {grid}) array with at least one True (hidden) token, got "
                    f"dtype {token_mask.dtype} and shape {tuple(token_mask.shape)}"
                )
        input_ids = codes.masked_fill(token_mask.to(codes.device).unsqueeze(0), self.model.config.mask_token_id)
        return {"codes": codes, "input_ids": input_ids, "token_mask": token_mask}

    def _forward(self, inputs, num_steps=12, schedule="arccos", temperature=1.0, seed=0, num_recurrences=None):
        generator = torch.Generator().manual_seed(seed)
        extra = {} if num_recurrences is None else {"num_recurrences": num_recurrences}
        completed = maskgit_decode(self.model, inputs["input_ids"], num_steps=num_steps, schedule=schedule,
                                   temperature=temperature, generator=generator, **extra).sequences  # fmt: skip
        return {**inputs, "completed_codes": completed.view_as(inputs["codes"])}

    def postprocess(self, outputs) -> dict[str, Any]:
        codes, completed, token_mask = outputs["codes"], outputs["completed_codes"], outputs["token_mask"]
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


def register_image_completion_pipeline() -> None:
    """Registers `"masked-image-completion"` with `transformers.pipelines.PIPELINE_REGISTRY` (idempotent)."""
    registered = PIPELINE_REGISTRY.supported_tasks.get(IMAGE_COMPLETION_TASK)
    if registered is not None and registered.get("impl") is ImageCompletionPipeline:
        return
    PIPELINE_REGISTRY.register_pipeline(
        IMAGE_COMPLETION_TASK, pipeline_class=ImageCompletionPipeline, pt_model=AutoModelForMaskedLM, type="image"
    )


register_image_completion_pipeline()
