# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Input validation shared by the Hyper-SET and Energy Transformer models: bad input at the public boundary (forward,
loading) raises a `ValueError` naming the bad value and what was expected, instead of a torch error from deep inside
or a silently wrong result. Imported relatively by both modeling files, so it travels with them as Hub remote code."""

import numbers
import operator

import torch
from torch.nn import functional as F
from transformers.utils.import_utils import is_torchdynamo_compiling


MAX_NUM_RECURRENCES = 10_000  # a guard against effectively endless loops (the paper trains with 12-24)


def shape_of(value) -> tuple | str:
    """The shape of a tensor, or the type name of anything else: what an error message says was given."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def as_count(value, name: str, limit: int = MAX_NUM_RECURRENCES) -> int:
    """`value` as a positive int (Python, NumPy and 0-d tensor integers accepted) of at most `limit`, else a
    `ValueError` naming it."""
    if isinstance(value, bool) or isinstance(value, float) or getattr(value, "is_floating_point", lambda: False)():
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.") from None
    if count < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    if count > limit:
        raise ValueError(f"`{name}` must be at most {limit:,} (a guard against endless runs), got {value!r}.")
    return count


def as_fraction(value, name: str, allow_zero: bool = False, optional: bool = False) -> float:
    """`value` as a float in (0, 1] (or [0, 1] with `allow_zero`): Python, NumPy and 0-d tensor real numbers; a bool,
    nan or anything outside the range is refused by a `ValueError` naming it (`True` is not a fraction). `optional`:
    the message says that None is accepted too (the caller passes None on)."""
    interval = ("[0, 1]" if allow_zero else "(0, 1]") + (" or None" if optional else "")
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.dtype == torch.bool:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # (NumPy bools are no numbers.Real)
        raise ValueError(f"`{name}` must be a number in {interval}, got {value!r}.")
    fraction = float(value)
    if not (0.0 <= fraction <= 1.0) or (fraction == 0.0 and not allow_zero):
        raise ValueError(f"`{name}` must be a number in {interval}, got {value!r}.")
    return fraction


def as_seed(value, name: str = "seed") -> int:
    """`value` as a random seed: an integer in [0, 2**63) (Python, NumPy or 0-d tensor), else a `ValueError` naming
    it (a float such as 1.7 is refused, not truncated)."""
    if isinstance(value, bool) or isinstance(value, float) or getattr(value, "is_floating_point", lambda: False)():
        raise ValueError(f"`{name}` must be an integer in [0, 2**63), got {value!r}.")
    try:
        seed = operator.index(value)
    except TypeError:
        raise ValueError(f"`{name}` must be an integer in [0, 2**63), got {value!r}.") from None
    if not 0 <= seed < 2**63:
        raise ValueError(f"`{name}` must be an integer in [0, 2**63), got {value!r}.")
    return seed


def check_forward_kwargs(model, kwargs: dict, accepted, not_applicable=()) -> None:
    """Refuses keyword arguments of `model.forward` that are not in `accepted` (the keys of the package's
    `RecurrentModelKwargs`) or that do not apply to this model, naming them and the closest accepted one: a typo must
    not be silently ignored."""
    import difflib

    names = sorted((set(kwargs) - set(accepted)) | (set(kwargs) & set(not_applicable)))
    if names:
        valid = sorted(set(accepted) - set(not_applicable))
        hints = [difflib.get_close_matches(name, valid, n=1) for name in names]
        hint = "".join(f"; did you mean {match[0]!r} for {name!r}?" for name, match in zip(names, hints) if match)
        raise TypeError(f"{type(model).__name__}.forward() got unexpected keyword arguments {names}{hint} "
                        f"(accepted: {', '.join(valid)}).")  # fmt: skip


def embed_patches(embeddings, pixel_values: torch.Tensor, bool_masked_pos, interpolate_pos_encoding: bool) -> torch.Tensor:
    """The patch embeddings of either family's image embeddings module `embeddings` (with `config`,
    `patch_embeddings` and an optional `mask_token`): checks `pixel_values`, embeds its patches into
    `(batch_size, num_patches, hidden_size)` and replaces the patches marked in `bool_masked_pos` (bools or 0/1) by the
    mask token, refusing a mask for a model built without one."""
    check_pixel_values(pixel_values, embeddings.config, interpolate_pos_encoding)
    patches = embeddings.patch_embeddings(pixel_values.to(embeddings.patch_embeddings.projection.weight.dtype))
    if bool_masked_pos is None:
        return patches
    if embeddings.mask_token is None:
        model = type(embeddings).__name__.removesuffix("Embeddings")
        raise ValueError(f"`bool_masked_pos` was given but this model has no mask token; build it with "
                         f"`{model}Model(config, use_mask_token=True)` or use `{model}ForMaskedImageModeling`.")  # fmt: skip
    mask = check_mask(bool_masked_pos, tuple(patches.shape[:2])).to(patches.device).unsqueeze(-1)
    return torch.where(mask, embeddings.mask_token.to(patches.dtype), patches)  # masked patches replaced, not blended


def check_class_labels(labels: torch.Tensor, logits: torch.Tensor) -> None:
    """Class indices (batch_size,) in [0, num_labels) for single-label classification (other problem types: the
    shape of `logits`), so that a bad label is named instead of failing inside the loss."""
    batch_size, num_labels = logits.shape
    if not isinstance(labels, torch.Tensor) or labels.shape[0] != batch_size:
        shape = shape_of(labels)
        raise ValueError(f"`labels` must have one entry per image, shape ({batch_size},) or {(batch_size, num_labels)}, "
                         f"got {shape}.")  # fmt: skip
    if labels.is_floating_point() or num_labels == 1 or is_torchdynamo_compiling():
        return
    bad = (labels < 0) | (labels >= num_labels)
    if labels.ndim == 1 and bad.any():
        index = int(bad.nonzero()[0])
        raise ValueError(f"`labels` must be class indices in 0-{num_labels - 1}; image {index} has {int(labels[index])}.")


def check_batch(pixel_values: torch.Tensor, name: str = "pixel_values") -> None:
    """A non-empty batch of finite floating-point values (the value check is skipped inside a compiled graph)."""
    if pixel_values.shape[0] == 0:
        raise ValueError(f"`{name}` is an empty batch; pass at least one image.")
    if not pixel_values.is_floating_point():
        raise ValueError(f"`{name}` must be a float tensor (normalised pixel values), got dtype {pixel_values.dtype}.")
    if not is_torchdynamo_compiling() and not torch.isfinite(pixel_values).all():
        position = tuple(int(i) for i in (~torch.isfinite(pixel_values)).nonzero()[0])
        raise ValueError(
            f"`{name}` must be finite; it holds {pixel_values[position].item()} at index {position} (nan or inf "
            "pixels would make every output nan)."
        )


def check_mask(bool_masked_pos: torch.Tensor, expected_shape: tuple[int, int]) -> torch.Tensor:
    """`bool_masked_pos` of shape (batch_size, num_patches), bool or 0/1 integers -> a bool tensor."""
    if not isinstance(bool_masked_pos, torch.Tensor) or tuple(bool_masked_pos.shape) != expected_shape:
        shape = shape_of(bool_masked_pos)
        raise ValueError(
            f"`bool_masked_pos` must have shape (batch_size, num_patches) = {expected_shape}, got {shape}."
        )
    if bool_masked_pos.is_floating_point() or bool_masked_pos.is_complex():
        raise ValueError(
            f"`bool_masked_pos` must be a bool tensor (True = masked patch), got dtype {bool_masked_pos.dtype}: a "
            "fractional mask would blend patches with the mask token."
        )
    if bool_masked_pos.dtype != torch.bool and not is_torchdynamo_compiling():
        bad = (bool_masked_pos != 0) & (bool_masked_pos != 1)
        if bad.any():
            position = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`bool_masked_pos` must hold 0 or 1 (or bools); it holds {bool_masked_pos[position].item()} at index "
                f"{position}."
            )
    return bool_masked_pos.bool()


def check_pixel_values(pixel_values: torch.Tensor, config, interpolate_pos_encoding: bool) -> None:
    """Images `(batch_size, config.num_channels, height, width)`: non-empty, finite floats, of `config.image_size`
    (or, with `interpolate_pos_encoding`, any size divisible by `config.patch_size`)."""
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
        shape = shape_of(pixel_values)
        raise ValueError(
            f"`pixel_values` must be a tensor of shape (batch_size, num_channels, height, width), got {shape}."
        )
    check_batch(pixel_values, "pixel_values")
    _, num_channels, height, width = pixel_values.shape
    if num_channels != config.num_channels:
        raise ValueError(
            f"`pixel_values` has {num_channels} channels but the model expects {config.num_channels} "
            "(config.num_channels)."
        )
    if interpolate_pos_encoding:
        if height % config.patch_size or width % config.patch_size:
            raise ValueError(f"Image size ({height}x{width}) must be divisible by the patch size ({config.patch_size}).")
    elif height != config.image_size or width != config.image_size:
        raise ValueError(
            f"Input image size ({height}x{width}) doesn't match model ({config.image_size}x{config.image_size}). "
            "Pass `interpolate_pos_encoding=True` to run on another size divisible by the patch size."
        )


# Weights renamed since checkpoints were first published: old name pattern -> new name (`from_pretrained(key_mapping=)`).
# The classifiers' LayerNorm was `classifier_norm`, which shares the prefix of the head `classifier`.
RENAMED_WEIGHTS = {r"^classifier_norm\.": "readout_norm."}


def load_checked(load, pretrained_model_name_or_path):
    """Runs `load()` (a `from_pretrained`) and checks the result: an unreadable weights file is reported with the
    folder it came from, and weights holding nan or inf (a corrupted file of the right size) are refused."""
    try:
        loaded = load()
    except Exception as error:  # safetensors raises its own error type for truncated or garbled headers
        if type(error).__name__ != "SafetensorError":
            raise
        raise OSError(
            f"The weights file (model.safetensors) of {str(pretrained_model_name_or_path)!r} cannot be read: {error}. "
            "It is truncated or corrupted; download or save it again."
        ) from error
    model = loaded[0] if isinstance(loaded, tuple) else loaded
    for name, parameter in model.named_parameters():
        if not parameter.is_meta and not torch.isfinite(parameter).all():
            raise ValueError(
                f"The weight {name!r} loaded from {str(pretrained_model_name_or_path)!r} (model.safetensors) holds "
                "nan or inf values; the file is corrupted: download or save it again."
            )
    return loaded


SUDOKU_UNIT_NAMES = ("row", "column", "box")


def sudoku_unit_counts(grids: torch.Tensor) -> torch.Tensor:
    """`(N, 81)` digits 0-9 (0 = blank) -> `(N, 27, 9)`: how often each digit 1-9 stands in each of the 9 rows, 9
    columns and 9 boxes (in that order). The package's one Sudoku rule check: a grid's givens clash where a count
    exceeds 1, and a complete grid is valid where every count is 1."""
    grid = grids.reshape(-1, 9, 9).long()
    boxes = grid.reshape(-1, 3, 3, 3, 3).transpose(2, 3).reshape(-1, 9, 9)
    return F.one_hot(torch.cat((grid, grid.transpose(1, 2), boxes), 1), 10)[..., 1:].sum(2)


def first_clash(grids) -> tuple[int, int, str, int] | None:
    """(board, digit, unit name, unit number from 1) of the first digit repeated in a row, column or box of `grids`
    (`(N, 81)` or `(81,)`, a tensor or an array), or None."""
    clashes = (sudoku_unit_counts(torch.as_tensor(grids)) > 1).nonzero()
    if not len(clashes):
        return None
    board, unit, digit = (int(i) for i in clashes[0])
    return board, digit + 1, SUDOKU_UNIT_NAMES[unit // 9], unit % 9 + 1


# cell -> its row, column and box among the 27 units of `sudoku_unit_counts`
SUDOKU_CELL_UNITS = torch.tensor([[cell // 9, 9 + cell % 9, 18 + (cell // 27) * 3 + (cell % 9) // 3] for cell in range(81)])


def sudoku_peer_digits(grids: torch.Tensor) -> torch.Tensor:
    """`(N, 81)` digits 0-9 -> `(N, 81, 9)` booleans: digit k + 1 already stands in the row, column or box of the cell."""
    present = sudoku_unit_counts(grids) > 0  # (N, 27, 9)
    return present[:, SUDOKU_CELL_UNITS.to(present.device)].any(2)
