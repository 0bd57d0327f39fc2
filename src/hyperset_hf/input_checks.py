# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Input validation shared by the Hyper-SET and Energy Transformer models: bad input at the public boundary (forward,
loading) raises a `ValueError` naming the bad value and what was expected, instead of a torch error from deep inside
or a silently wrong result. Imported relatively by both modeling files, so it travels with them as Hub remote code."""

import glob
import json
import numbers
import operator
import os

import torch
from torch.nn import functional as F
from transformers.utils.import_utils import is_torchdynamo_compiling


MAX_NUM_RECURRENCES = 10_000  # a guard against effectively endless loops (the paper trains with 12-24)


def shape_of(value) -> tuple | str:
    """The shape of a tensor, or the type name of anything else: what an error message says was given."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _as_integer(value, name: str, low: int, high: int, expected: str) -> int:
    """`value` as an int in [low, high] (Python, NumPy and 0-d tensor integers; bools and floats such as 1.7 are
    refused, not truncated), else a `ValueError` saying `{name}` must be `expected`."""
    is_float = isinstance(value, float) or getattr(value, "is_floating_point", lambda: False)()
    try:
        integer = None if isinstance(value, bool) or is_float else operator.index(value)
    except TypeError:
        integer = None
    if integer is None or not low <= integer <= high:
        raise ValueError(f"`{name}` must be {expected}, got {value!r}.")
    return integer


def as_count(value, name: str, limit: int = MAX_NUM_RECURRENCES) -> int:
    """`value` as a positive int (Python, NumPy and 0-d tensor integers accepted) of at most `limit`, else a
    `ValueError` naming it."""
    count = _as_integer(value, name, 1, float("inf"), "a positive integer")
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
    return _as_integer(value, name, 0, 2**63 - 1, "an integer in [0, 2**63)")


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


# ---------------------------------------------------------------------------------------------------------------------
# Saved files: config.json, the safetensors weights and the JSON files of a run folder
# ---------------------------------------------------------------------------------------------------------------------

MODEL_TYPES = ("hyperset", "energy_transformer")  # the `model_type` of the package's two config classes
# safetensors dtype names of the floating-point weights the models are saved with (and may be cast from)
FLOATING_WEIGHT_DTYPES = ("F16", "BF16", "F32", "F64")
MAX_SAFETENSORS_HEADER_BYTES = 100_000_000  # the safetensors format's own limit


def json_type_name(value) -> str:
    """The JSON name of a parsed value's type (`object`, `array`, `string`, `number`, `true/false`, `null`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__)


def read_text_file(path, expected: str = "a text file") -> str:
    """The text of the file `path` (a `str` or `os.PathLike`), UTF-8 and not empty. `expected` says in the messages
    what the file should hold.

    Raises:
        `FileNotFoundError`: the file does not exist. `IsADirectoryError`: `path` is a folder.
        `ValueError`: the file is empty (or only whitespace) or is not UTF-8 text (the message names the file, the first
        bad byte and its offset, and `expected`).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder; expected {expected}.")
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; expected {expected}.") from None
    if not data.strip():
        raise ValueError(f"{path} is empty ({len(data)} bytes); expected {expected}.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); expected {expected}."
        ) from None


def read_json_file(path, expected: str = "a JSON file"):
    """The parsed contents of the JSON file `path` (a `str` or `os.PathLike`; UTF-8 text without a byte-order mark,
    as `json.dump` writes it). `expected` says in the messages what the file should hold.

    Raises:
        `FileNotFoundError`: the file does not exist. `IsADirectoryError`: `path` is a folder.
        `ValueError`: the file is empty, is not UTF-8 text (see `read_text_file`), or is not JSON (the message names
        the file, the line and column of the error, and `expected`).
    """
    text = read_text_file(path, expected)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); expected {expected}."
        ) from None


def read_json_object(path, expected: str = "a JSON object") -> dict:
    """`read_json_file(path, expected)`, refusing (`ValueError` naming the file) anything but a JSON object."""
    value = read_json_file(path, expected)
    if not isinstance(value, dict):
        raise ValueError(
            f"{os.fspath(path)} holds a JSON {json_type_name(value)} ({_short_repr(value)}); expected {expected}, a "
            "JSON object {...}."
        )
    return value


def _short_repr(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_saved_config(folder, model_types=MODEL_TYPES, parameter: str = "pretrained_model_name_or_path") -> dict:
    """The `config.json` of a local model folder written by `save_pretrained` (or `Trainer.save_model`), as a dict.

    Accepted: the folder, as a `str` or `os.PathLike`, holding a `config.json` that is a JSON object whose
    `model_type` is one of `model_types` (`None`: any). `parameter` names the argument in the messages.

    Raises:
        `NotADirectoryError`: `folder` is a file (e.g. the `config.json` itself): the message names its folder.
        `FileNotFoundError`: the folder or its `config.json` does not exist.
        `ValueError`: `config.json` is empty, not UTF-8, not JSON or not a JSON object, or its `model_type` is missing
        or not one of `model_types` (a folder of another library would otherwise start transformers' remote-code
        prompt).
    """
    folder = os.fspath(folder)
    if os.path.isfile(folder):
        raise NotADirectoryError(
            f"`{parameter}` must be the folder written by save_pretrained, got the file {folder!r}; pass its folder "
            f"{os.path.dirname(os.path.abspath(folder))!r}."
        )
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{folder} has no config.json: expected a folder written by save_pretrained / Trainer.save_model (the "
            "--output_dir of a finished training run)."
        )
    config = read_json_object(path, "the model configuration written by save_pretrained")
    check_model_type(config, path, model_types)
    return config


def check_model_type(config: dict, path, model_types=MODEL_TYPES) -> None:
    """`config["model_type"]` (of the file `path`) is one of `model_types` (`None`: any), else a `ValueError` naming
    the file, the value found and the accepted ones."""
    if model_types is not None and config.get("model_type") not in model_types:
        found = repr(config["model_type"]) if "model_type" in config else "no `model_type`"
        raise ValueError(
            f"{os.fspath(path)} has {found}: `model_type` must be {' or '.join(map(repr, model_types))} (a "
            "hyperset-hf model folder has it; other models load with their own classes)."
        )


def read_safetensors_header(path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """`{tensor name: (dtype, shape)}` from the header of the safetensors file `path`, read without loading the
    tensors; the file's size is checked against the header, so a truncated file is caught here.

    Raises:
        `FileNotFoundError`: no such file. `ValueError` naming the file: it is empty, truncated, longer than its
        header says, or not a safetensors file (e.g. random bytes, a pickle, a zip).
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    advice = "save or download it again"
    if size == 0:
        raise ValueError(f"{path} is empty (0 bytes); expected a safetensors weights file: {advice}.")
    with open(path, "rb") as file:
        prefix = file.read(8)
        header_size = int.from_bytes(prefix, "little") if len(prefix) == 8 else None
        if header_size is None or not 2 <= header_size <= min(size - 8, MAX_SAFETENSORS_HEADER_BYTES):
            raise ValueError(
                f"{path} is not a safetensors file or is truncated: its first 8 bytes {prefix[:8].hex()} do not give "
                f"the length of a JSON header inside its {size:,} bytes; {advice}."
            )
        header_bytes = file.read(header_size)
    try:
        header = json.loads(header_bytes.decode("utf-8"))
        tensors = {
            name: (entry["dtype"], tuple(int(size) for size in entry["shape"]), tuple(entry["data_offsets"]))
            for name, entry in header.items()
            if name != "__metadata__"
        }
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        raise ValueError(
            f"{path} is not a safetensors file (its header is not a safetensors JSON header); {advice}."
        ) from None
    data_size = max((offsets[1] for _, _, offsets in tensors.values()), default=0)
    if 8 + header_size + data_size != size:
        state = "truncated" if 8 + header_size + data_size > size else "longer than its header says"
        raise ValueError(
            f"{path} is {state}: its header describes {8 + header_size + data_size:,} bytes, the file has {size:,}; "
            f"{advice}."
        )
    return {name: (dtype, shape) for name, (dtype, shape, _) in tensors.items()}


def read_saved_weight_dtypes(folder) -> dict[str, tuple[str, str]]:
    """`{tensor name: (dtype, file)}` over the `model*.safetensors` files of a local model folder, each checked to be
    readable (see `read_safetensors_header`: `ValueError` naming the file when it is empty, truncated or garbled)."""
    return {
        name: (dtype, path)
        for path in sorted(glob.glob(os.path.join(glob.escape(os.fspath(folder)), "model*.safetensors")))
        for name, (dtype, _) in read_safetensors_header(path).items()
    }


def check_loaded_weight_dtypes(saved_dtypes: dict[str, tuple[str, str]], model) -> None:
    """The saved tensors that `model` loaded (its own weight names, with or without its base model prefix) are
    floating-point (`FLOATING_WEIGHT_DTYPES`: the models have no integer weights; half precision is accepted and
    cast), else a `ValueError` naming the tensor, its dtype and the file. Other tensors in the file are not read."""
    names = set(model.state_dict())
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    for name, (dtype, path) in saved_dtypes.items():
        loaded = {name, name.removeprefix(prefix), prefix + name} & names
        if loaded and dtype not in FLOATING_WEIGHT_DTYPES:
            raise ValueError(
                f"The weight {name!r} in {path} has dtype {dtype}; expected floating-point weights "
                f"({', '.join(FLOATING_WEIGHT_DTYPES)}): the file is corrupted or not this model's."
            )


# `from_pretrained` keywords that do not change the architecture: with only these, a tensor missing from a folder saved
# by the same class means an incomplete file (model keywords such as `use_mask_token=True` or config overrides such as
# `num_layers=2` add weights on purpose).
LOADING_ONLY_KEYWORDS = {
    "config", "cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies",
    "dtype", "torch_dtype", "device_map", "attn_implementation", "key_mapping", "trust_remote_code", "use_safetensors",
    "weights_only", "low_cpu_mem_usage", "variant", "ignore_mismatched_sizes", "output_loading_info", "_from_auto",
    "_from_pipeline", "adapter_kwargs", "offload_folder", "offload_buffers", "max_memory", "code_revision",
}  # fmt: skip


class WeightsMismatchError(ValueError, RuntimeError):
    """Saved weights of other shapes than the config gives: a `ValueError` (a bad saved folder) that is also the
    `RuntimeError` transformers raises for mismatched sizes, so that code written for transformers still catches it."""


def check_weights(tensors, source: str) -> None:
    """Every tensor of `tensors` (a mapping or `(name, tensor)` pairs) is floating-point and finite, else a
    `ValueError` naming the first bad one, its dtype or its count of nan / inf values, and `source` (the file or folder
    they came from)."""
    for name, tensor in tensors.items() if hasattr(tensors, "items") else tensors:
        if not tensor.is_floating_point():
            raise ValueError(
                f"The weight {name!r} from {source} has dtype {tensor.dtype}; expected floating-point weights: the "
                "file is corrupted or not this model's."
            )
        if getattr(tensor, "is_meta", False):
            continue
        finite = torch.isfinite(tensor)
        if not finite.all():
            bad = int((~finite).sum())
            raise ValueError(
                f"The weight {name!r} from {source} holds {bad:,} nan or inf values of {tensor.numel():,}; weights "
                "must be finite: the file is corrupted or the training diverged."
            )


def load_checked(load, pretrained_model_name_or_path):
    """Runs `load()`, a `functools.partial` of `PreTrainedModel.from_pretrained` bound to the model class, and
    checks what it reads, so that a bad saved folder is named instead of failing deep inside transformers or loading
    silently wrong weights.

    Accepted: a local folder written by `save_pretrained` (its `config.json` with the class's `model_type`, and
    `model.safetensors` or sharded `model-*.safetensors` of floating-point weights), or a Hub id (checked after
    download: finite weights, no missing tensors, matching shapes).

    Raises:
        `NotADirectoryError`: a file was given (e.g. `folder/config.json`) instead of its folder.
        `FileNotFoundError`: a local folder without `config.json`.
        `ValueError`: `config.json` unreadable or of another `model_type` (see `read_saved_config`); a weights file
        empty, truncated or garbled (see `read_saved_weight_dtypes`); weights the model loads that are not
        floating-point (`check_loaded_weight_dtypes`) or hold nan or inf; tensors missing from a folder saved by this
        very class and loaded with `LOADING_ONLY_KEYWORDS` only (`output_loading_info=True` lists them instead; model
        keywords such as `use_mask_token=True` and config overrides may add weights on purpose).
        `WeightsMismatchError` (a `ValueError` and the `RuntimeError` of transformers): a tensor of another shape than
        the config gives, unless `ignore_mismatched_sizes=True`.
    """
    model_class = getattr(getattr(load, "func", None), "__self__", None)  # `super().from_pretrained` bound to cls
    keywords = getattr(load, "keywords", {})
    given = pretrained_model_name_or_path
    path = os.fspath(given) if isinstance(given, (str, os.PathLike)) else None
    folder = os.path.join(path, keywords["subfolder"]) if path and keywords.get("subfolder") else path
    if path and os.path.isfile(folder):
        read_saved_config(folder)  # refuses the file, naming its folder
    saved_dtypes = {}
    if path and os.path.isdir(folder):
        if keywords.get("config") is None or isinstance(keywords["config"], (str, os.PathLike)):  # read from the folder
            config_class = getattr(model_class, "config_class", None)
            model_type = getattr(config_class, "model_type", "")
            read_saved_config(folder, (model_type,) if model_type else MODEL_TYPES)
        saved_dtypes = read_saved_weight_dtypes(folder)
    try:
        model, loading_info = load(output_loading_info=True, ignore_mismatched_sizes=True)
    except Exception as error:  # safetensors raises its own error type for garbled data the header check missed
        if type(error).__name__ != "SafetensorError":
            raise
        raise ValueError(
            f"The weights file (model.safetensors) of {str(pretrained_model_name_or_path)!r} cannot be read: {error}. "
            "It is truncated or corrupted; download or save it again."
        ) from error
    source = f"{str(pretrained_model_name_or_path)!r} (model.safetensors)"
    mismatched = sorted(loading_info.get("mismatched_keys") or ())
    if mismatched and not keywords.get("ignore_mismatched_sizes"):
        details = "; ".join(f"{name!r} is {tuple(saved)} in the file, {tuple(expected)} in the model"
                            for name, saved, expected in mismatched[:5])  # fmt: skip
        raise WeightsMismatchError(
            f"{len(mismatched)} weights of {source} do not have the shapes that its config.json gives: {details}. "
            "config.json and the weights do not belong together; pass `ignore_mismatched_sizes=True` to re-initialise "
            "them on purpose."
        )
    missing = sorted(loading_info.get("missing_keys") or ())
    same_class = type(model).__name__ in (getattr(model.config, "architectures", None) or ())
    same_architecture = len(getattr(load, "args", ())) <= 1 and set(keywords) <= LOADING_ONLY_KEYWORDS
    if missing and same_class and same_architecture and not keywords.get("output_loading_info"):
        raise ValueError(
            f"{len(missing)} weights of {type(model).__name__} are missing from {source}, saved by that very class: "
            f"{', '.join(map(repr, missing[:5]))}{', ...' if len(missing) > 5 else ''}; the file is incomplete: save "
            "or download it again (or pass `output_loading_info=True` to load it with them initialised and listed)."
        )
    check_loaded_weight_dtypes(saved_dtypes, model)
    check_weights(model.named_parameters(), source)
    return (model, loading_info) if keywords.get("output_loading_info") else model


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
