# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Masked image modeling on VQ tokens as the Hyper-SET paper evaluates it (Sec. 5.3, App. E; the authors build on
MaskGIT, Chang et al., CVPR 2022): the training mask (`mask_visual_tokens`), MaskGIT iterative decoding
(`maskgit_decode`, with its reveal schedule `maskgit_schedule`) for any model that maps token ids with a mask id to
logits over the codebook (such as [`HyperSETForMaskedTokenModeling`]), and a small pluggable image tokenizer
protocol (`VisualTokenizer`) with a wrapper of a diffusers `VQModel` (`DiffusersVQTokenizer`; diffusers is imported
only when that wrapper loads a model).

Decoding, as the authors' sampler (reference `mim/trainer.py`, `MIMTrainer.sample` and `adap_sche`): starting from
ids in which some tokens are the mask id, every step predicts all tokens at once, samples a code for each masked
token from softmax(logits / temperature), scores it by the log-probability of the sampled code (plus optional
Gumbel noise that decays linearly over the steps), and reveals the most confident masked tokens; how many is the
schedule's count for that step, laid out over the whole grid, so decoding ends early once every masked token is
revealed (with the paper's 40% masking of 256 tokens and 24 steps, after about 14 steps). Visible tokens never
change.
"""

import contextlib
import math
import numbers
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from transformers.image_transforms import rescale, to_channel_dimension_format
from transformers.image_utils import (
    ChannelDimension,
    is_pil_image,
    is_valid_image,
    to_numpy_array,
)
from transformers.utils import ModelOutput

from .input_checks import as_count, as_fraction, check_batch, shape_of


SCHEDULES = ("arccos", "cosine", "linear", "square", "root")


# ---------------------------------------------------------------------------------------------------------------------
# Schedule and training mask
# ---------------------------------------------------------------------------------------------------------------------


def maskgit_schedule(num_tokens: int, num_steps: int, schedule: str = "arccos") -> torch.LongTensor:
    """How many tokens every decoding step reveals, `(num_steps,)`, summing to `num_tokens` (reference `adap_sche`):
    with r = linspace(1, 0, num_steps), the weights are arccos(r) / (pi / 2) (`"arccos"`, the paper), cos(r pi / 2)
    (`"cosine"`), 1 - r (`"linear"`), 1 - r^2 (`"square"`) or 1 - sqrt(r) (`"root"`); the counts are the weights
    normalised to `num_tokens` and rounded, every step reveals at least one token, and the last step takes the
    remainder. Few reveals first, many at the end. (When `num_steps` is close to `num_tokens` the reference's last
    count can fall below one; it is then topped up from the largest counts, so that every count stays >= 1.)"""
    num_tokens, num_steps = as_count(num_tokens, "num_tokens", limit=2**31), as_count(num_steps, "num_steps")
    if schedule not in SCHEDULES:
        raise ValueError(f"`schedule` must be one of {SCHEDULES}, got {schedule!r}.")
    if num_steps > num_tokens:
        raise ValueError(
            f"`num_steps` ({num_steps}) must not exceed the number of tokens ({num_tokens}): every step reveals at "
            "least one token."
        )
    if num_steps == 1:  # (the reference's weights would all be 0 here)
        return torch.tensor([num_tokens])
    r = torch.linspace(1, 0, num_steps)  # float32, as the reference
    weights = {
        "root": lambda: 1 - r**0.5,
        "linear": lambda: 1 - r,
        "square": lambda: 1 - r**2,
        "cosine": lambda: torch.cos(r * math.pi * 0.5),
        "arccos": lambda: torch.arccos(r) / (math.pi * 0.5),
    }[schedule]()
    counts = (weights / weights.sum() * num_tokens).round()
    counts[counts == 0] = 1
    counts[-1] += num_tokens - counts.sum()
    counts = counts.long()
    while counts[-1] < 1:  # only for num_steps close to num_tokens: move one reveal from the largest earlier count
        donor = int((num_steps - 2) - counts[:-1].flip(0).argmax())
        counts[donor] -= 1
        counts[-1] += 1
    return counts


def mask_visual_tokens(
    token_ids: torch.LongTensor,
    mask_token_id: int,
    mask_ratio: float = 0.4,
    random_ratio: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[torch.LongTensor, torch.LongTensor]:
    """The paper's token mask (reference `_get_mask_code`, "linear" mode): every token of an image is masked
    independently with probability p (a Bernoulli draw, not an exact count), p = `mask_ratio` * r with r ~ U(0, 1)
    drawn per image when `random_ratio` (training; the paper's 0.4 is the evaluation ratio that caps it), or
    p = `mask_ratio` (evaluation, `random_ratio=False`).

    Args:
        token_ids (`torch.LongTensor` of shape `(batch_size, ...)`): the true codes, a non-empty integer tensor of
            any integer dtype (returned as int64) with codes >= 0; bools are refused.
        mask_token_id (`int`): the id that replaces masked codes (`config.mask_token_id`, one past the last code);
            it must lie above every code of `token_ids` (a mask id equal to a real code is refused).
        mask_ratio (`float` in [0, 1], *optional*, defaults to 0.4): a Python, NumPy or 0-d tensor number; a bool is
            refused.
        random_ratio (`bool`, *optional*, defaults to True): draw the ratio per image (training).
        generator (`torch.Generator`, *optional*): the random source, on the device of `token_ids`.

    Returns:
        `(input_ids, labels)` of the shape of `token_ids`: the codes with masked ones replaced by `mask_token_id`,
        and the true code at masked tokens, -100 elsewhere (the `labels` of [`HyperSETForMaskedTokenModeling`]).
    """
    token_ids = check_token_ids(token_ids, "token_ids")
    mask_token_id = check_mask_token_id(mask_token_id, token_ids, "token_ids")
    mask_ratio = as_fraction(mask_ratio, "mask_ratio", allow_zero=True)
    if not isinstance(random_ratio, bool):
        raise ValueError(f"`random_ratio` must be True or False, got {random_ratio!r}.")
    check_generator(generator, token_ids.device, "token_ids")
    batch_size = token_ids.shape[0]
    if random_ratio:
        ratio = torch.rand(batch_size, generator=generator, device=token_ids.device) * mask_ratio
    else:
        ratio = torch.full((batch_size,), float(mask_ratio), device=token_ids.device)
    draws = torch.rand(token_ids.shape, generator=generator, device=token_ids.device)
    masked = draws < ratio.view(batch_size, *([1] * (token_ids.ndim - 1)))
    return token_ids.masked_fill(masked, mask_token_id), torch.where(masked, token_ids, -100)


def check_token_ids(token_ids, name: str = "input_ids") -> torch.LongTensor:
    """Code ids at the boundary of this module: a non-empty tensor of shape `(batch_size, tokens...)` of any integer
    dtype (returned as int64, so that int8 / int32 / uint8 ids work), no negative id; bools, floats and complex
    numbers are refused by a `ValueError` naming the dtype. (The model checks the upper bound: codes and its mask
    id.)"""
    if not isinstance(token_ids, torch.Tensor) or token_ids.ndim < 2 or token_ids.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty integer tensor of shape (batch_size, tokens...) or (batch_size, height, "
            f"width), got {shape_of(token_ids)}."
        )
    if token_ids.dtype == torch.bool or token_ids.is_floating_point() or token_ids.is_complex():
        raise ValueError(
            f"`{name}` must be an integer tensor of code ids (int64, int32, ...), got dtype {token_ids.dtype}."
        )
    token_ids = token_ids.long()
    if token_ids.numel() and bool((token_ids < 0).any()):
        position = tuple(int(i) for i in (token_ids < 0).nonzero()[0])
        raise ValueError(f"`{name}` must hold code ids >= 0; index {position} has {int(token_ids[position])}.")
    return token_ids


def check_mask_token_id(mask_token_id, token_ids: torch.Tensor, name: str = "input_ids", config=None) -> int:
    """The mask id: an integer (Python, NumPy or 0-d tensor) that is no real code, else a `ValueError` naming it.
    With a visual-token model's `config` it must be `config.mask_token_id` (= `codebook_size`, one past the last
    code); without one, it must be >= 0 and lie above every id of `token_ids` (the true codes)."""
    if isinstance(mask_token_id, bool) or isinstance(mask_token_id, float) or (
        isinstance(mask_token_id, torch.Tensor) and (mask_token_id.ndim or mask_token_id.is_floating_point())
    ):  # fmt: skip
        raise ValueError(f"`mask_token_id` must be an integer id, got {mask_token_id!r}.")
    try:
        mask_token_id = int(mask_token_id.__index__())
    except (AttributeError, TypeError):
        raise ValueError(f"`mask_token_id` must be an integer id, got {mask_token_id!r}.") from None
    if getattr(config, "input_type", None) == "visual_tokens":
        if mask_token_id != config.mask_token_id:
            kind = "a real code" if 0 <= mask_token_id < config.codebook_size else "not an id of the model"
            raise ValueError(
                f"`mask_token_id` {mask_token_id} is {kind}: this model's codes are 0-{config.codebook_size - 1} and "
                f"its mask id is {config.mask_token_id} (config.mask_token_id); leave `mask_token_id` unset."
            )
        return mask_token_id
    if mask_token_id < 0:
        raise ValueError(f"`mask_token_id` must be an id >= 0 (one past the last code), got {mask_token_id}.")
    if token_ids.numel() and int(token_ids.max()) >= mask_token_id:
        raise ValueError(
            f"`mask_token_id` {mask_token_id} is a real code: `{name}` holds codes up to {int(token_ids.max())}; the "
            "mask id must lie above every code (the model's `config.mask_token_id`, i.e. its codebook size)."
        )
    return mask_token_id


def check_generator(generator, device: torch.device, name: str) -> None:
    """None, or a `torch.Generator` on the device (type) of the tensor `name`, else a `ValueError` naming both."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise ValueError(
            f"`generator` must be a torch.Generator (e.g. torch.Generator().manual_seed(0)) or None, got "
            f"{type(generator).__name__}."
        )
    if generator.device.type != torch.device(device).type:
        raise ValueError(
            f"`generator` is on {generator.device} but `{name}` is on {device}: create it there, e.g. "
            f"torch.Generator(device={str(torch.device(device).type)!r})."
        )


# ---------------------------------------------------------------------------------------------------------------------
# MaskGIT iterative decoding
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class MaskGITDecodingOutput(ModelOutput):
    r"""
    Output of [`maskgit_decode`].

    Args:
        sequences (`torch.LongTensor` of the shape of the input ids): the decoded codes; no mask id is left.
        num_masked (`torch.LongTensor` of shape `(steps_run + 1, batch_size)`): masked tokens per sample before the
            first step and after every step that ran (decoding stops once nothing is masked).
        intermediate_ids (`tuple(torch.LongTensor)`, *optional*): with `return_intermediate=True`, the ids after
            every step that ran (mask id where still masked), each of the shape of the input ids.

        reveal_step (`torch.LongTensor` of the shape of the input ids): the step (0-based) in which every token was
            revealed, -1 for the tokens that were given.
        num_model_calls (`torch.LongTensor` of shape `(batch_size,)`): how many steps ran the model on each sample (the
            first step runs on every sample, even one with nothing masked; with `stop_when_full`, a sample leaves the
            computation once nothing of it is masked).
        iterations_used (`torch.LongTensor` of shape `(batch_size,)`, *optional*): recurrent iterations per sample
            over all its steps (when the model reports them or `num_recurrences` was given).
        confidence (`torch.FloatTensor` of shape `(batch_size,)`): the mean probability of the revealed tokens at the
            step they were revealed (1 for a sample with nothing to reveal).
        energy (`torch.FloatTensor` of shape `(batch_size,)`, *optional*): with `output_energies=True`, the total
            energy of the last layer's final state at each sample's last step.
        energy_trace (`torch.FloatTensor` of shape `(batch_size, 3, num_layers, iterations + 1)`, *optional*): with
            `output_energies=True`, the total, attention and feedforward energies of every iteration of each sample's
            last step.
    """

    sequences: torch.LongTensor | None = None
    num_masked: torch.LongTensor | None = None
    intermediate_ids: tuple[torch.LongTensor, ...] | None = None
    reveal_step: torch.LongTensor | None = None
    num_model_calls: torch.LongTensor | None = None
    iterations_used: torch.LongTensor | None = None
    confidence: torch.FloatTensor | None = None
    energy: torch.FloatTensor | None = None
    energy_trace: torch.FloatTensor | None = None


def _non_negative(value, name: str) -> float:
    """A finite real number >= 0 (Python, NumPy or 0-d tensor; not a bool), else a `ValueError` naming it."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and value.dtype != torch.bool:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}.")
    return float(value)


def _check_logits(logits: torch.Tensor, step: int, rows: torch.Tensor) -> None:
    """The model's logits of one decoding step hold no nan (nor +inf, which softmax turns into nan): else a
    `ValueError` naming the step, the sample and the token (a sampler would fail with an obscure error)."""
    bad = torch.isnan(logits) | (logits == math.inf)
    if bad.any():
        sample, token, code = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"the model's logits hold {float(logits[sample, token, code])} at decoding step {step} (sample "
            f"{int(rows[sample])}, token {token}, code {code}); logits must be finite: check the model's weights and "
            "its `num_recurrences`."
        )


def _check_probabilities(probabilities, masked, step: int, rows, temperature: float) -> None:
    """softmax(logits / temperature) of the masked tokens is a distribution (a tiny temperature, or logits that a
    `logits_processor` set to -inf everywhere, give nan), else a `ValueError` naming the step and the token."""
    bad = masked & ~torch.isfinite(probabilities).all(-1)
    if bad.any():
        sample, token = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"softmax(logits / temperature) is not a distribution at decoding step {step} (sample {int(rows[sample])}, "
            f"token {token}) with `temperature` {temperature!r}: use a larger temperature, or 0 for greedy decoding, "
            "and leave every token at least one finite logit."
        )


def _gumbel(shape, generator, device) -> torch.Tensor:
    uniform = torch.rand(shape, generator=generator, device=device).clamp(torch.finfo(torch.float32).tiny, 1.0)
    return -torch.log(-torch.log(uniform))


@torch.no_grad()
def maskgit_decode(
    model,
    input_ids: torch.LongTensor,
    num_steps: int = 12,
    schedule: str = "arccos",
    temperature: float = 1.0,
    confidence_noise: float = 0.0,
    generator: torch.Generator | None = None,
    mask_token_id: int | None = None,
    return_intermediate: bool = False,
    *,
    reveal_fraction: float | None = None,
    confidence_threshold: float | None = None,
    id_offset: int = 0,
    logits_processor=None,
    warm_start: bool = False,
    stop_when_full: bool = False,
    output_energies: bool = False,
    **model_kwargs,
) -> MaskGITDecodingOutput:
    r"""
    MaskGIT iterative decoding of the masked tokens of `input_ids` (the authors' `MIMTrainer.sample`).

    Let n = the number of tokens per sample and c_1 ... c_K = `maskgit_schedule(n, num_steps, schedule)`. Step k
    predicts logits for all tokens, samples a code for every token from softmax(logits / `temperature`), scores it by
    confidence = log p(sampled code) + `confidence_noise` * (1 - (k - 1) / (K - 1)) * g, g ~ Gumbel(0, 1), and reveals
    the min(c_k, still masked) masked tokens of highest confidence (ties: the lower index). So after step k exactly
    max(0, m - c_1 - ... - c_k) tokens of a sample with m masked tokens stay masked, and decoding stops once none is;
    visible tokens are never changed. Every random draw comes from `generator`: a seeded generator gives the same
    result on every run.

    Args:
        model: a model that maps `input_ids` to logits over the codebook, `(batch_size, n, codebook_size)`, returned
            as a tensor or as the `logits` of its output (e.g. [`HyperSETForMaskedTokenModeling`]); called as
            `model(input_ids=..., **model_kwargs)` with ids of the shape of `input_ids`. An `nn.Module` runs in eval
            mode and gets its mode back afterwards.
        input_ids (`torch.LongTensor` of shape `(batch_size, n)` or `(batch_size, height, width)`): codes, with
            `mask_token_id` at the tokens to decode; any integer dtype (int8, int32, uint8, ... are read as int64),
            non-empty, no negative id; bools and floats are refused.
        num_steps (`int`, *optional*, defaults to 12): decoding steps (the paper evaluates with 24); at most n.
        schedule (`str`, *optional*, defaults to `"arccos"`): the reveal schedule, one of `SCHEDULES`.
        temperature (`float`, *optional*, defaults to 1.0): softmax temperature, a finite number >= 0 (Python,
            NumPy or 0-d tensor); 0 takes the most likely code (greedy). The reference MULTIPLIES the logits by its
            `sm_temp`: `sm_temp = s` is `temperature = 1 / s` (the paper: 1).
        confidence_noise (`float`, *optional*, defaults to 0.0): scale of the Gumbel noise on the confidences (the
            reference's `r_temp`, annealed linearly to 0 over the steps); the paper's reconstruction uses 0, the
            reference's generation default is 4.5.
        generator (`torch.Generator`, *optional*): the random source of the sampling and the noise, on the device
            of `input_ids` (one elsewhere is refused); `None` uses torch's global generator.
        mask_token_id (`int`, *optional*): defaults to `model.config.mask_token_id`; for a visual-token model it
            must be that id (a real code as the mask id is refused).
        return_intermediate (`bool`, *optional*): also return the ids after every step.
        reveal_fraction (`float` in (0, 1], *optional*): instead of the schedule, every step reveals
            ceil(`reveal_fraction` x the tokens still masked) of each sample (at least one), until none is masked.
        confidence_threshold (`float` in (0, 1], *optional*): every step also reveals all masked tokens whose
            probability is at least this (with neither this nor `reveal_fraction`, the schedule decides alone; with
            only this, at least one token per step).
        id_offset (`int`, *optional*, defaults to 0): logit k is id k + `id_offset` (a Sudoku model's logit k is digit
            k + 1, and 0 is its blank).
        logits_processor (`callable`, *optional*): `logits_processor(logits, ids) -> logits`, applied to the
            `(batch_size, n, vocabulary)` logits before the choice (e.g. the Sudoku rule mask).
        warm_start (`bool`, *optional*): every step after the first continues the model's recurrence from the previous
            step's final state (`initial_state`) instead of restarting from the embeddings; the states of the tokens
            revealed in the previous step are replaced by their embeddings (`model.base_model.embeddings`).
        stop_when_full (`bool`, *optional*): samples with nothing left to reveal leave the computation (the batch
            shrinks). Samplers draw from `generator` for the remaining samples only, so this changes the draws of
            a sampled decoding (not of a greedy one).
        output_energies (`bool`, *optional*): ask the model for its energies and return each sample's final energy.
        model_kwargs: passed to the model on every call, e.g. `num_recurrences`.

    Returns:
        [`MaskGITDecodingOutput`].

    Raises:
        `ValueError`: naming the parameter and the value: ids of a wrong shape or dtype, an empty batch, a
            `num_steps` that is not a positive integer or exceeds the tokens, an unknown `schedule`, a negative or nan
            `temperature`, a fraction outside (0, 1] (or a bool), a generator on another device, and logits of the
            model that hold nan at some step (named with the step, sample and token).

    Differences from the reference, which matches this function step for step with temperature 1 and no noise
    (tested): the reference draws the noise from NumPy's global generator; it selects by a confidence threshold, so
    tied confidences can reveal more tokens than scheduled; its step count check uses the masked tokens of the whole
    batch. Here every count is per sample and exact.

    Example:

    ```python
    >>> import torch
    >>> from hyperset_hf import HyperSETConfig, HyperSETForMaskedTokenModeling, maskgit_decode

    >>> config = HyperSETConfig.from_preset(
    ...     "mim", hidden_size=32, num_attention_heads=4, intermediate_size=32, time_embedding_size=32,
    ...     codebook_size=64, token_grid_size=4)
    >>> model = HyperSETForMaskedTokenModeling(config)
    >>> codes = torch.randint(0, 64, (2, 4, 4))
    >>> codes[:, :2] = config.mask_token_id  # the top half of every grid is unknown
    >>> out = maskgit_decode(model, codes, num_steps=4, generator=torch.Generator().manual_seed(0))
    >>> out.sequences.shape, bool((out.sequences[:, 2:] == codes[:, 2:]).all()), out.num_masked[:, 0].tolist()
    (torch.Size([2, 4, 4]), True, [8, 7, 3, 0])

    ```"""
    config = getattr(model, "config", None)
    if mask_token_id is None:
        mask_token_id = getattr(config, "mask_token_id", None)
        if mask_token_id is None:
            raise ValueError("Pass `mask_token_id`: the model has no `config.mask_token_id`.")
    input_ids = check_token_ids(input_ids, "input_ids")
    if getattr(config, "input_type", None) == "visual_tokens":  # (other models, e.g. Sudoku's blank 0, say their id)
        mask_token_id = check_mask_token_id(mask_token_id, input_ids, "input_ids", config)
    else:
        mask_token_id = check_mask_token_id(mask_token_id, input_ids[:0], "input_ids")  # an integer id >= 0
    temperature = _non_negative(temperature, "temperature")
    confidence_noise = _non_negative(confidence_noise, "confidence_noise")
    if reveal_fraction is not None:
        reveal_fraction = as_fraction(reveal_fraction, "reveal_fraction", optional=True)
    if confidence_threshold is not None:
        confidence_threshold = as_fraction(confidence_threshold, "confidence_threshold", optional=True)
    check_generator(generator, input_ids.device, "input_ids")
    for name, value in (("return_intermediate", return_intermediate), ("warm_start", warm_start),
                        ("stop_when_full", stop_when_full), ("output_energies", output_energies)):  # fmt: skip
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"`{name}` must be True or False, got {value!r}.")
    if isinstance(id_offset, bool) or not isinstance(id_offset, numbers.Integral):
        raise ValueError(f"`id_offset` must be an integer (logit k is id k + id_offset), got {id_offset!r}.")
    if logits_processor is not None and not callable(logits_processor):
        raise ValueError(
            "`logits_processor` must be None or a callable (logits, ids) -> logits, got "
            f"{type(logits_processor).__name__}."
        )
    shape, batch_size = input_ids.shape, input_ids.shape[0]
    ids = input_ids.reshape(batch_size, -1).clone()
    num_tokens = ids.shape[1]
    adaptive = reveal_fraction is not None or confidence_threshold is not None
    # the schedule's counts, or (adaptive reveals) one step per token at most: every step reveals at least one
    counts = [num_tokens] * num_tokens if adaptive else maskgit_schedule(num_tokens, num_steps, schedule).tolist()
    num_steps = len(counts)
    device = ids.device
    all_rows = torch.arange(batch_size, device=device)
    reveal_step = torch.where(ids == mask_token_id, num_tokens, -1)  # num_tokens = not revealed yet
    calls = torch.zeros(batch_size, dtype=torch.long, device=device)
    iterations = torch.zeros(batch_size, dtype=torch.long, device=device)
    counted_iterations = False
    revealed_probability = torch.zeros(batch_size, device=device)
    energy_trace = None
    state = None  # the warm start's recurrent state (batch_size, n, hidden_size)
    extra = {"output_energies": True} if output_energies else {}
    if warm_start:
        extra["output_hidden_states"] = True

    was_training = isinstance(model, torch.nn.Module) and model.training
    if was_training:
        model.eval()
    num_masked, intermediate = [(ids == mask_token_id).sum(1)], []
    try:
        for step, count in enumerate(counts):
            masked = ids == mask_token_id
            remaining = masked.sum(1)
            if step > 0 and not remaining.any():  # the first step always runs (a full grid still gets its outputs)
                break
            # the samples computed in this step: all, or (stop_when_full) those with blanks left
            rows = remaining.nonzero()[:, 0] if stop_when_full and step > 0 else all_rows
            step_ids, step_masked = ids[rows], masked[rows]
            step_remaining = step_masked.sum(1)
            call_kwargs = dict(model_kwargs, **extra)
            if state is not None:
                call_kwargs["initial_state"] = state[rows]
            output = model(input_ids=step_ids.view(-1, *shape[1:]), **call_kwargs)
            logits = getattr(output, "logits", output)
            logits = logits.reshape(len(step_ids), num_tokens, -1).float()
            _check_logits(logits, step, rows)
            if logits_processor is not None:
                logits = logits_processor(logits, step_ids)
            if temperature == 0.0:  # greedy
                probabilities = logits.softmax(-1)
                sampled = probabilities.argmax(-1)
            else:
                probabilities = (logits / temperature).softmax(-1)
                _check_probabilities(probabilities, step_masked, step, rows, temperature)
                sampled = torch.multinomial(probabilities.view(len(step_ids) * num_tokens, -1), 1, replacement=True,
                                            generator=generator).view(len(step_ids), num_tokens)  # fmt: skip
            # confidence of a sampled code: its log-probability (clamped: a zero probability stays above visible tokens)
            probability = probabilities.gather(-1, sampled[..., None])[..., 0]
            confidence = probability.clamp_min(torch.finfo(probability.dtype).tiny).log()
            if confidence_noise > 0:
                anneal = 1.0 - (step / (num_steps - 1) if num_steps > 1 else 0.0)
                confidence = confidence + confidence_noise * anneal * _gumbel(confidence.shape, generator, device)
            confidence = confidence.masked_fill(~step_masked, -math.inf)
            # rank of every token by confidence (0 = most confident); reveal the first `limit`
            order = confidence.argsort(dim=1, descending=True, stable=True)
            positions = torch.arange(num_tokens, device=device).expand(len(step_ids), num_tokens)
            ranks = torch.empty_like(order).scatter_(1, order, positions)
            if adaptive:
                limit = torch.ones_like(step_remaining)
                if reveal_fraction is not None:
                    limit = torch.ceil(step_remaining * reveal_fraction).long().clamp_min(1)
                if confidence_threshold is not None:
                    limit = torch.maximum(limit, (step_masked & (probability >= confidence_threshold)).sum(1))
                limit = torch.minimum(limit, step_remaining)
            else:
                limit = step_remaining.clamp(max=count)
            reveal = step_masked & (ranks < limit[:, None])
            new_ids = torch.where(reveal, sampled + id_offset, step_ids)
            gained = (probability * reveal).sum(1)
            if warm_start:
                new_state = output.hidden_states[-1]
                embedded = model.base_model.embeddings(new_ids.view(-1, *shape[1:])).to(new_state.dtype)
                new_state = torch.where(reveal[..., None], embedded, new_state)
                state = (new_state.new_zeros(batch_size, *new_state.shape[1:]) if state is None else state).index_copy(
                    0, rows, new_state)  # fmt: skip
            used = getattr(output, "iterations_used", None)
            if used is None and model_kwargs.get("num_recurrences") is not None:
                used = torch.full_like(step_remaining, int(model_kwargs["num_recurrences"]))
            if output_energies:  # (samples, total / attention / feedforward, layers, iterations + 1)
                names = ("energies", "attention_energies", "feedforward_energies")
                step_trace = torch.stack([torch.stack(getattr(output, name), 1).float() for name in names], 1)
                if energy_trace is None or energy_trace.shape[-1] != step_trace.shape[-1]:
                    energy_trace = step_trace.new_full((batch_size, *step_trace.shape[1:]), math.nan)
            ids = ids.index_copy(0, rows, new_ids)
            reveal_step = reveal_step.index_copy(0, rows, torch.where(reveal, step, reveal_step[rows]))
            calls.index_add_(0, rows, torch.ones_like(rows))
            revealed_probability.index_add_(0, rows, gained)
            if used is not None:
                iterations.index_add_(0, rows, used.to(iterations.dtype))
                counted_iterations = True
            if output_energies:
                energy_trace = energy_trace.index_copy(0, rows, step_trace)
            num_masked.append((ids == mask_token_id).sum(1))
            if return_intermediate:
                intermediate.append(ids.view(shape).clone())
    finally:
        if was_training:
            model.train()
    num_revealed = (reveal_step >= 0).sum(1)
    return MaskGITDecodingOutput(
        sequences=ids.view(shape),
        num_masked=torch.stack(num_masked),
        intermediate_ids=tuple(intermediate) if return_intermediate else None,
        reveal_step=reveal_step.view(shape),
        num_model_calls=calls,
        iterations_used=iterations if counted_iterations else None,  # (set whenever the model ran)
        confidence=torch.where(num_revealed > 0, revealed_probability / num_revealed.clamp_min(1), 1.0),
        energy=None if energy_trace is None else energy_trace[:, 0, -1, -1],
        energy_trace=energy_trace,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Image tokenizers
# ---------------------------------------------------------------------------------------------------------------------


@runtime_checkable
class VisualTokenizer(Protocol):
    """An image tokenizer for masked token modeling: a frozen VQ autoencoder that maps images to grids of codes and
    codes back to images (the paper uses the MaskGIT VQGAN: 256 px -> 16 x 16 codes of a 1024-entry codebook).
    Any object with these members works with [`maskgit_decode`] pipelines; `DiffusersVQTokenizer` wraps a diffusers
    `VQModel`."""

    codebook_size: int

    def encode(self, pixel_values: torch.Tensor) -> torch.LongTensor:
        """`(batch_size, channels, height, width)` images (in the tokenizer's range, [-1, 1] for VQGANs) ->
        `(batch_size, grid_height, grid_width)` code ids in 0 ... codebook_size - 1."""
        ...

    def decode(self, token_ids: torch.LongTensor) -> torch.Tensor:
        """`(batch_size, grid_height, grid_width)` code ids -> `(batch_size, channels, height, width)` images."""
        ...


LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")


def convert_channels(pixel_values: torch.Tensor, num_channels: int | None, name: str = "image",
                     dim: int = 0) -> torch.Tensor:
    """`pixel_values` with `num_channels` channels along `dim` (None: unchanged), as image processors convert: an
    alpha channel is dropped (grey + alpha -> grey, RGBA -> RGB), RGB -> grey by the ITU-R 601-2 luma (as PIL's "L"),
    grey -> RGB by repetition, and an opaque alpha (1) is added for a 4-channel tokenizer. The weights sum to 1, so
    this holds for pixels in [0, 1] and in [-1, 1] alike. Other channel counts are refused by a `ValueError`.
    (transformers' `convert_to_rgb` differs: it composites an alpha channel onto white, and has no RGB -> grey.)"""
    channels = pixel_values.shape[dim]
    if num_channels is None or channels == num_channels:
        return pixel_values
    if channels not in (1, 2, 3, 4) or num_channels not in (1, 3, 4):
        raise ValueError(
            f"`{name}` has {channels} channels and the image tokenizer takes {num_channels}; accepted: 1 (grey), 2 "
            "(grey + alpha), 3 (RGB) or 4 (RGBA) channels, converted as image processors do."
        )
    converted = pixel_values.narrow(dim, 0, 1 if channels < 3 else 3)  # (an alpha channel dropped)
    if channels >= 3 and num_channels == 1:
        converted = (converted.movedim(dim, -1) @ converted.new_tensor(LUMA_WEIGHTS)).unsqueeze(-1).movedim(-1, dim)
    elif channels < 3 and num_channels > 1:
        converted = converted.repeat_interleave(3, dim)
    return torch.cat((converted, torch.ones_like(converted.narrow(dim, 0, 1))), dim) if num_channels == 4 else converted


def image_to_pixel_values(image, num_channels: int | None = None, name: str = "image") -> torch.Tensor:
    """One image, in the forms people pass, -> `(num_channels, height, width)` float32 pixel values in [-1, 1] (the
    range of VQ tokenizers).

    Accepted forms:
        - a PIL image of any mode: `"1"`, `"L"`, `"P"`, `"LA"`, `"RGB"`, `"RGBA"`, `"CMYK"`, `"YCbCr"`, ... (converted
          by PIL to grey or RGB, alpha kept until the channel conversion), 16-bit `"I;16"` (/ 65535), 32-bit `"I"`
          (values 0-255, or 0-65535 as 16-bit), `"F"` (values in [0, 1]);
        - a NumPy array `(H, W)`, `(H, W, C)` or `(C, H, W)` with C in 1-4 (channels last when the last axis can be
          channels): `uint8` (0-255), `uint16` (0-65535), `bool` (0 / 1), other integers in 0-255, or floats in
          [0, 1];
        - a torch tensor `(C, H, W)`, `(H, W)`, `(1, C, H, W)` or `(H, W, C)`: floats in [0, 1] or `uint8`.

    Channels are converted to `num_channels` with [`convert_channels`] (None keeps them): an RGB or RGBA image given
    to a grey tokenizer works. Refused by a `ValueError` naming the problem: other shapes or dtypes, an empty image,
    nan or inf pixels (named with their position), float values outside [0, 1], integers outside their range.

    Built on PIL's `Image.convert` (the modes) and transformers' `is_valid_image`, `to_numpy_array`,
    `to_channel_dimension_format` and `rescale`; the checks and their messages, and which axis holds the channels, are
    ours.
    """
    channels_first, given = isinstance(image, torch.Tensor), type(image).__name__
    mode = image.mode if is_pil_image(image) else ""
    if mode and not mode.startswith(("I", "F")):  # (16- and 32-bit modes are read as they are, below)
        alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in image.info)
        image = image.convert(("L" if mode in ("1", "L", "LA", "La") else "RGB") + ("A" if alpha else ""))
    if not is_valid_image(image):  # not a PIL image, a NumPy array or a tensor: NumPy's reading of it, if numbers
        with contextlib.suppress(TypeError, ValueError):
            image = np.asarray(image)
        if not isinstance(image, np.ndarray) or image.dtype.kind not in "biuf":
            raise ValueError(
                f"`{name}` must be a PIL image, a NumPy array (H, W) / (H, W, C) or a tensor (C, H, W), got {given}."
            )
    # (a half-precision tensor as float32: NumPy has no bfloat16)
    array = to_numpy_array(image.float() if channels_first and image.dtype in (torch.bfloat16, torch.half) else image)
    if mode.startswith("I;16") or (mode == "I" and array.size and 255 < array.max() <= 65535 and array.min() >= 0):
        array = array.astype(np.uint16)  # 16-bit modes (any byte order), and 32-bit "I" holding 16-bit values
    shape = tuple(array.shape[1:] if array.ndim == 4 and array.shape[0] == 1 else array.shape)  # (1, C, H, W) too
    # (H, W): one channel, on the side where the layout below looks for it first
    array = array.reshape(shape if len(shape) != 2 else (1, *shape) if channels_first else (*shape, 1))
    if array.ndim != 3 or min(array.shape[0], array.shape[-1]) > 4:
        raise ValueError(
            f"`{name}` must be an image (H, W), (H, W, C) or (C, H, W) with 1-4 channels, got shape {shape}."
        )
    # NumPy (and PIL) images are channels last when the last axis can be channels, tensors channels first (ours:
    # `infer_channel_dimension_format` prefers channels first for both, and logs a warning for every tiny image)
    last = array.shape[-1] <= 4 and (not channels_first or array.shape[0] > 4)
    layout = ChannelDimension.LAST if last else ChannelDimension.FIRST
    array, kind = to_channel_dimension_format(array, ChannelDimension.FIRST, layout), array.dtype.kind
    if array.size == 0:
        raise ValueError(f"`{name}` is empty (shape {shape}); pass an image of at least one pixel.")
    if kind not in "biuf":
        raise ValueError(
            f"`{name}` must hold numbers (uint8, uint16, bool or floats in [0, 1]), got dtype {array.dtype}."
        )
    if kind == "f" and not np.isfinite(array).all():
        position = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(
            f"`{name}` must hold finite values; it holds {array[position]} at index {position} (of the image as "
            "(C, H, W)): nan or inf pixels have no code."
        )
    top, low, high = 65535 if array.dtype == np.uint16 else 255 if kind in "iu" else 1, array.min(), array.max()
    if low < 0 or high > top:
        raise ValueError(
            f"`{name}` must hold values in [0, 1], got shape {shape} and values in [{low:g}, {high:g}] (a float "
            "image; divide 0-255 values by 255)." if kind == "f" else f"`{name}` is an integer image ({array.dtype}) "
            f"and must hold values 0-{top}, got values in [{low}, {high}] (shape {shape})."
        )
    # rescaled to float32 in [0, 1], then to [-1, 1]
    return convert_channels(torch.from_numpy(np.ascontiguousarray(rescale(array, 1 / top))), num_channels, name) * 2 - 1


IMAGE_TOKENIZER_SUBFOLDER = "image_tokenizer"
"""The subfolder of a token model's folder (or Hub repo) that holds its image tokenizer, as diffusers pipelines keep
their `vqvae` in one: `pipeline("masked-image-completion", model=folder)` loads it from there when no
`image_tokenizer=` is given."""


class DiffusersVQTokenizer:
    """[`VisualTokenizer`] around a diffusers `VQModel` (a VQ-VAE / VQGAN: encoder -> quant_conv -> nearest codebook
    entry; codebook entry -> post_quant_conv -> decoder). Images are in [-1, 1], as diffusers' VQ models expect.
    diffusers is needed only to load a model (`from_pretrained`); the wrapper itself calls the model's
    `encode`, `quantize` and `decode` methods.

    Example (needs diffusers and a VQ checkpoint):

        tokenizer = DiffusersVQTokenizer.from_pretrained("path/to/vq-model")
        codes = tokenizer.encode(images * 2 - 1)           # (batch_size, h, w)
        images = (tokenizer.decode(codes) + 1) / 2
    """

    def __init__(self, vq_model):
        self.vq_model = vq_model
        self.codebook_size = int(vq_model.config.num_vq_embeddings)
        self.num_channels = int(getattr(vq_model.config, "in_channels", 3))
        # every encoder block but the last halves the image side
        self.downsampling_factor = 2 ** (len(getattr(vq_model.config, "block_out_channels", (0,))) - 1)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "DiffusersVQTokenizer":
        """Loads `diffusers.VQModel.from_pretrained(pretrained_model_name_or_path, **kwargs)` in eval mode (e.g.
        `subfolder=IMAGE_TOKENIZER_SUBFOLDER` for the tokenizer shipped inside a token model's folder or repo)."""
        try:
            from diffusers import VQModel
        except ImportError as error:
            raise ImportError(
                "DiffusersVQTokenizer.from_pretrained needs diffusers: pip install diffusers (or this package's extra: "
                "pip install 'hyperset-hf[maskgit]')"
            ) from error
        return cls(VQModel.from_pretrained(pretrained_model_name_or_path, **kwargs).eval())

    def save_pretrained(self, save_directory, **kwargs) -> None:
        """Saves the VQ model as a diffusers folder (`config.json` + safetensors) that `from_pretrained` loads."""
        self.vq_model.save_pretrained(save_directory, **kwargs)

    @property
    def embedding_size(self) -> int:
        return int(self.vq_model.quantize.embedding.weight.shape[1])

    @torch.no_grad()
    def encode(self, pixel_values: torch.Tensor) -> torch.LongTensor:
        """Images -> `(batch_size, h, w)` code ids (h = height / `downsampling_factor`).

        Accepted forms: a float tensor `(batch_size, channels, height, width)` or `(channels, height, width)` in
        [-1, 1]; or images (a PIL image, a NumPy image, or a list of them, of one size), converted by
        [`image_to_pixel_values`]; a 4-D NumPy array is a batch of such images. Channels are converted to the
        model's (`num_channels`: RGB or RGBA to a grey tokenizer, grey to an RGB one). Refused by a `ValueError`
        naming the value: an empty batch, integer tensors, nan or inf pixels (they have no code), and a side that is
        not a multiple of `downsampling_factor` (the codes would cover a cropped or padded image)."""
        if not isinstance(pixel_values, torch.Tensor):
            batch = isinstance(pixel_values, (list, tuple)) or (
                isinstance(pixel_values, np.ndarray) and pixel_values.ndim == 4
            )
            images = list(pixel_values) if batch else [pixel_values]
            converted = [image_to_pixel_values(image, self.num_channels, f"pixel_values[{index}]")
                         for index, image in enumerate(images)]  # fmt: skip
            sizes = sorted({tuple(image.shape[1:]) for image in converted})
            if len(sizes) > 1:
                raise ValueError(f"the images given to `encode` must have one size, got sizes {sizes} (height, width).")
            if not converted:
                raise ValueError("`pixel_values` is an empty batch; pass at least one image.")
            pixel_values = torch.stack(converted)
        elif pixel_values.ndim == 3:
            pixel_values = pixel_values[None]
        if pixel_values.ndim != 4:
            raise ValueError(
                f"`pixel_values` must be a tensor (batch_size, channels, height, width) in [-1, 1], got shape "
                f"{tuple(pixel_values.shape)}."
            )
        check_batch(pixel_values, "pixel_values")
        pixel_values = convert_channels(pixel_values, self.num_channels, "pixel_values", dim=1)
        height, width = pixel_values.shape[2:]
        factor = self.downsampling_factor
        if height % factor or width % factor or height < factor or width < factor:
            raise ValueError(
                f"`pixel_values` is {height}x{width} px but the image tokenizer takes sides that are multiples of "
                f"{factor} px (its downsampling; e.g. {max(1, height // factor) * factor}x"
                f"{max(1, width // factor) * factor}): resize or crop the image."
            )
        parameter = next(self.vq_model.parameters(), None)
        if parameter is not None:
            pixel_values = pixel_values.to(device=parameter.device, dtype=parameter.dtype)
        latents = self.vq_model.encode(pixel_values).latents
        _, _, (_, _, indices) = self.vq_model.quantize(latents)
        return indices.reshape(latents.shape[0], latents.shape[2], latents.shape[3])

    @torch.no_grad()
    def decode(self, token_ids: torch.LongTensor) -> torch.Tensor:
        """`(batch_size, h, w)` code ids (a non-empty tensor of any integer dtype, codes 0 ... `codebook_size` - 1)
        -> `(batch_size, channels, height, width)` images in about [-1, 1]; anything else is refused by a `ValueError`
        naming it (a mask id left in the codes included)."""
        if not isinstance(token_ids, torch.Tensor) or token_ids.ndim != 3 or token_ids.shape[0] == 0 or (
            token_ids.dtype == torch.bool or token_ids.is_floating_point() or token_ids.is_complex()
        ):  # fmt: skip
            dtype = f" of dtype {token_ids.dtype}" if isinstance(token_ids, torch.Tensor) else ""
            raise ValueError(
                f"`token_ids` must be a non-empty integer tensor of shape (batch_size, h, w), got {shape_of(token_ids)}"
                f"{dtype}."
            )
        token_ids = token_ids.long()
        bad = (token_ids < 0) | (token_ids >= self.codebook_size)
        if bad.any():
            position = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`token_ids` must be codes 0-{self.codebook_size - 1}; index {position} has {int(token_ids[position])}"
                " (decode masked tokens first, e.g. with maskgit_decode)."
            )
        batch_size, height, width = token_ids.shape
        shape = (batch_size, height, width, self.embedding_size)
        if getattr(self.vq_model.config, "lookup_from_codebook", False):  # the model looks the codes up itself
            return self.vq_model.decode(token_ids, force_not_quantize=True, shape=shape).sample
        latents = self.vq_model.quantize.get_codebook_entry(token_ids.reshape(-1), shape)
        return self.vq_model.decode(latents, force_not_quantize=True).sample


@torch.no_grad()
def encode_images(tokenizer: "VisualTokenizer", pixel_values: torch.Tensor, batch_size: int = 256,
                  device=None) -> torch.LongTensor:
    """`tokenizer.encode` over `pixel_values` `(N, C, H, W)` in [-1, 1] (a non-empty float tensor of finite values),
    `batch_size` (a positive integer) images at a time on `device` (default: where they are): `(N, h, w)` code ids on
    the CPU."""
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
        raise ValueError(f"`pixel_values` must be a tensor (N, C, H, W) in [-1, 1], got {shape_of(pixel_values)}.")
    check_batch(pixel_values, "pixel_values")
    batch_size = as_count(batch_size, "batch_size", limit=2**31)
    return torch.cat([tokenizer.encode(pixel_values[i : i + batch_size].to(device)).cpu()
                      for i in range(0, len(pixel_values), batch_size)])  # fmt: skip


@torch.no_grad()
def decode_images(tokenizer: "VisualTokenizer", token_ids: torch.LongTensor, batch_size: int = 256, device=None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """`tokenizer.decode` over `token_ids` `(N, h, w)` (a non-empty integer tensor), `batch_size` (a positive
    integer) grids at a time on `device`: images `(N, C, H, W)` in [0, 1] (mapped from [-1, 1] in `dtype`, then
    clipped), on the CPU."""
    token_ids = check_token_ids(token_ids, "token_ids")
    batch_size = as_count(batch_size, "batch_size", limit=2**31)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"`dtype` must be a floating torch.dtype (e.g. torch.float32), got {dtype!r}.")
    images = [tokenizer.decode(token_ids[i : i + batch_size].to(device)).cpu() for i in range(0, len(token_ids), batch_size)]
    return ((torch.cat(images).to(dtype) + 1) / 2).clamp(0, 1)


def maskgit_complete(model, input_ids: torch.LongTensor, batch_size: int = 256, device=None,
                     **decode_kwargs) -> torch.LongTensor:
    """[`maskgit_decode`] over `input_ids` (a non-empty integer tensor, see there), `batch_size` (a positive integer)
    rows at a time on `device` (one `generator` in `decode_kwargs` draws for all batches in turn): the completed codes,
    of the shape of `input_ids`, on the CPU."""
    input_ids = check_token_ids(input_ids, "input_ids")
    batch_size = as_count(batch_size, "batch_size", limit=2**31)
    completed = [maskgit_decode(model, input_ids[i : i + batch_size].to(device), **decode_kwargs).sequences.cpu()
                 for i in range(0, len(input_ids), batch_size)]  # fmt: skip
    return torch.cat(completed).view(input_ids.shape)


__all__ = [
    "IMAGE_TOKENIZER_SUBFOLDER",
    "SCHEDULES",
    "DiffusersVQTokenizer",
    "MaskGITDecodingOutput",
    "VisualTokenizer",
    "convert_channels",
    "decode_images",
    "encode_images",
    "image_to_pixel_values",
    "mask_visual_tokens",
    "maskgit_complete",
    "maskgit_decode",
    "maskgit_schedule",
]
