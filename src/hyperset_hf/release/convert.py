# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Convert checkpoints of the reference Hyper-SET implementation (`huyunzhe/hyper-set`) to hyperset-hf folders.

Supported:

- `--task image-classification`: the image classifier, variant `hyper-set` (the reference `ic/models.py` model with
  separate q/k/v RMSNorm gains, GELU feedforward and the state-conditioned step-size network);
- `--task sudoku`: the Sudoku solver of `sudoku/models.py` with `pos_emb: learnable`, either `model.type: hyper-set`
  (one shared q/k/v RMSNorm gain, ReLU feedforward, unnormalised step-size network; the layout is recognised from the
  keys) or the Transformer baseline `model.type: transformer` (which needs `--num-attention-heads`);
- `--task mim`: masked image modeling on VQ tokens, `MaskTransformerUncond` of `mim/models.py`, `model.type:
  hyper-set` (preset `mim`, or `mim-scaled` for feedforward width 8d) or `model.type: transformer` (preset
  `mim-transformer`, needs `--num-attention-heads`), from the file the reference `MIMTrainer` saves (only its
  `model_state_dict` is read). Not recoverable from the weights and assumed as in the reference defaults:
  `phi_func: null` (softmax attention, ReLU feedforward) and the plain gradient step (`adaptive_mode:
  gd_with_learnable_step_size`).

The image-classification output folder loads with

```python
>>> import hyperset_hf  # registers the Auto classes
>>> from transformers import AutoImageProcessor, AutoModelForImageClassification

>>> model = AutoModelForImageClassification.from_pretrained("converted-folder")
>>> image_processor = AutoImageProcessor.from_pretrained("converted-folder")
```

a Sudoku folder with `AutoModelForTokenClassification.from_pretrained("converted-folder")` (a
[`HyperSETForSudoku`]; no processor is saved: the input is the `(batch_size, 81)` tensor of digits, 0 = blank), and a
MIM folder with `AutoModelForMaskedLM.from_pretrained("converted-folder")` (a [`HyperSETForMaskedTokenModeling`];
the input is the grid of VQ codes with the mask id `codebook_size`).

Command line:

```bash
python -m hyperset_hf.release.convert --task image-classification \
    --checkpoint IC_ImageNet1k_layer12_recur1_dim768_multiplier1.ckpt \
    --image-size 224 --num-recurrences 1 --output-dir hyperset-imagenet1k-l12r1

python -m hyperset_hf.release.convert --task sudoku \
    --checkpoint Sudoku_layer1_recur24_dim768_multiplier4.pth --output-dir hyperset-sudoku

python -m hyperset_hf.release.convert --task sudoku \
    --checkpoint sudoku_transformer.pth --num-attention-heads 12 --output-dir transformer-sudoku

python -m hyperset_hf.release.convert --task mim \
    --checkpoint mim_ckpt_last.pth --output-dir hyperset-mim-scaled

python -m hyperset_hf.release.convert --task mim \
    --checkpoint mim_transformer_ckpt_last.pth --num-attention-heads 12 --output-dir transformer-mim
```

Everything that the weights determine (width, heads, feedforward width, layers, time-embedding width, classes, patch
size) is read from the tensor shapes; what they do not determine (image size, iteration count, channels, feedforward
activation, step-size conditioning, normalisation statistics, label names; the heads of the Sudoku Transformer
baseline) is given on the command line. `--num-recurrences` is required for image classification and defaults to 24
(the reference `n_recur`) for Sudoku; `--step-size-conditioning` defaults to `current_state` for image classification
(reference `input_cond: false`) and to `initial_state` for Sudoku (reference `input_cond: true`).

Checkpoints are read with `torch.load(..., weights_only=True)`. PyTorch Lightning checkpoints that pickle other
objects (for example hyper-parameters) need `--trust-pickle`, which unpickles arbitrary Python objects: use it only
for files from a source you trust. `.safetensors` files are read with `safetensors`. The format is told from the
file's first bytes, so a file that is neither (empty, random bytes, truncated) is refused as such, and `--trust-pickle`
is only offered for a readable pickle. The converted weights must be finite floating-point tensors, and the output
folder must not be a file.

The program (`python -m hyperset_hf.release.convert`, also installed as `hyperset-hf-convert`) prints every error as
one line on stderr: exit status 2 for a bad option, 1 for a bad file or value.
"""

import argparse
import math
import os
import pickle
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling

from ..configuration_hyperset import FEEDFORWARD_ACTIVATIONS, STEP_SIZE_CONDITIONINGS, HyperSETConfig
from ..input_checks import check_weights, read_json_file, read_safetensors_header
from ..modeling_hyperset import HyperSETForImageClassification, HyperSETForMaskedTokenModeling, HyperSETForSudoku


if TYPE_CHECKING:
    from transformers import ViTImageProcessor


SUPPORTED_IMAGE_CLASSIFICATION_VARIANT = "hyper-set"

# Reference key -> hyperset-hf key for the entries that occur once per model.
IMAGE_CLASSIFICATION_MODEL_KEYS = {
    "cls_token": "hyperset.embeddings.cls_token",
    "emb.0.weight": "hyperset.embeddings.patch_embeddings.input_norm.weight",
    "emb.0.bias": "hyperset.embeddings.patch_embeddings.input_norm.bias",
    "emb.1.weight": "hyperset.embeddings.patch_embeddings.projection.weight",
    "emb.1.bias": "hyperset.embeddings.patch_embeddings.projection.bias",
    "emb.2.weight": "hyperset.embeddings.patch_embeddings.output_norm.weight",
    "emb.2.bias": "hyperset.embeddings.patch_embeddings.output_norm.bias",
    "fc.0.weight": "readout_norm.weight",
    "fc.0.bias": "readout_norm.bias",
    "fc.1.weight": "classifier.weight",
    "fc.1.bias": "classifier.bias",
    "time_mlp.0.1.weight": "hyperset.encoder.step_size_network.time_embedding_projection.weight",
    "time_mlp.0.1.bias": "hyperset.encoder.step_size_network.time_embedding_projection.bias",
    "time_mlp.0.2.weight": "hyperset.encoder.step_size_network.time_embedding_norm.weight",
    "time_mlp.0.4.weight": "hyperset.encoder.step_size_network.time_hidden_norm.weight",
    "time_mlp.0.5.weight": "hyperset.encoder.step_size_network.time_hidden_projection.weight",
    "time_mlp.0.5.bias": "hyperset.encoder.step_size_network.time_hidden_projection.bias",
    "time_mlp.0.6.weight": "hyperset.encoder.step_size_network.time_output_norm.weight",
    "time_mlp.1.1.weight": "hyperset.encoder.step_size_network.step_size_projection.weight",
    "time_mlp.1.1.bias": "hyperset.encoder.step_size_network.step_size_projection.bias",
    "ln_inp.weight": "hyperset.encoder.step_size_network.state_norm.weight",
}

# Reference key suffix -> hyperset-hf key suffix for the entries of every layer `enc.<i>`.
IMAGE_CLASSIFICATION_LAYER_KEYS = {
    "mlp.weight": "feedforward.projection.weight",
    "attn.qkv.weight": "attention.projection.weight",
    "attn.ln1_1.weight": "attention.query_norm.weight",
    "attn.ln1_2.weight": "attention.key_norm.weight",
    "attn.ln1_3.weight": "attention.value_norm.weight",
    "ln2.weight": "feedforward.norm.weight",
}

REFERENCE_LAYER_PATTERN = re.compile(r"^enc\.(\d+)\.(.+)$")

# Prefixes added by training wrappers: `module.` (DistributedDataParallel), `model.` (the LightningModule attribute).
WRAPPER_PREFIXES = ("module.", "model.")


# ---------------------------------------------------------------------------------------------------------------------
# Reading checkpoints
# ---------------------------------------------------------------------------------------------------------------------


ZIP_MAGIC = b"PK\x03\x04"  # `torch.save` since PyTorch 1.6 writes a zip archive
CHECKPOINT_FORMATS = "a PyTorch checkpoint written by torch.save (.ckpt / .pth / .pt / .bin) or a .safetensors file"


def checkpoint_format(path: str) -> str:
    """`"torch-zip"`, `"torch-pickle"` (the legacy `torch.save` format) or `"safetensors"`, read from the first bytes
    of the file `path` (not from its extension).

    Raises:
        `ValueError` naming the file: it is empty, or its first bytes are none of these formats (e.g. random bytes,
        a text file); nothing in it is unpickled.
    """
    with open(path, "rb") as file:
        head = file.read(9)
    size = os.path.getsize(path)
    if not head:
        raise ValueError(f"The checkpoint {path!r} is empty (0 bytes); expected {CHECKPOINT_FORMATS}.")
    if head.startswith(ZIP_MAGIC):
        return "torch-zip"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:  # the PROTO opcode of pickle protocols 2-5
        return "torch-pickle"
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    raise ValueError(
        f"The checkpoint {path!r} is not {CHECKPOINT_FORMATS}: it starts with the bytes {head.hex(' ')}; it is "
        "corrupted or another kind of file."
    )


def _first_sentence(error: BaseException) -> str:
    """`TypeName: first sentence` of an error from a reader, on one line (some run to a paragraph)."""
    sentence = re.split(r"(?<=[a-z0-9])\. ", " ".join(str(error).split()), maxsplit=1)[0]
    return f"{type(error).__name__}: {sentence.rstrip('.')}"


def _load_checkpoint_file(path: str, trust_pickle: bool = False):
    """The object stored in the checkpoint file `path`, by its format (`checkpoint_format`): safetensors files with
    `safetensors`, PyTorch files with `torch.load(weights_only=True)` (or `weights_only=False` with `trust_pickle`,
    offered only when the file is a readable pickle of objects other than tensors). An unreadable (truncated,
    corrupted) file raises `ValueError` naming it."""
    file_format = checkpoint_format(path)
    corrupted = f"The checkpoint {path!r} cannot be read: it is truncated or corrupted"
    if file_format == "safetensors":
        from safetensors.torch import load_file

        read_safetensors_header(path)  # names a truncated file before safetensors does
        try:
            return load_file(str(path), device="cpu")
        except Exception as error:  # noqa: BLE001 - safetensors raises its own error type
            raise ValueError(f"{corrupted} ({_first_sentence(error)}).") from error
    unreadable = (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        details = [line.strip() for line in str(error).splitlines() if "WeightsUnpickler error" in line]
        if not any("Unsupported global" in line or "Unsupported class" in line for line in details):
            raise ValueError(f"{corrupted} ({details[0] if details else _first_sentence(error)}).") from None
        if not trust_pickle:
            raise ValueError(
                f"Could not load {path!r} with `torch.load(weights_only=True)`: the file pickles Python objects "
                f"besides tensors (common in PyTorch Lightning checkpoints). If and only if you trust the source of "
                f"this file, pass `--trust-pickle` (Python API: `trust_pickle=True`) to load it with "
                f"`weights_only=False`, which can execute arbitrary code. {details[0]}"
            ) from error
    except unreadable as error:
        raise ValueError(f"{corrupted} ({_first_sentence(error)}).") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except unreadable as error:
        raise ValueError(f"{corrupted} ({_first_sentence(error)}).") from None


def _strip_wrapper_prefixes(state_dict: dict) -> dict:
    """Removes `module.` / `model.` prefixes shared by EVERY key (in any nesting order)."""
    while state_dict:
        for prefix in WRAPPER_PREFIXES:
            if all(key.startswith(prefix) for key in state_dict):
                state_dict = {key[len(prefix) :]: value for key, value in state_dict.items()}
                break
        else:
            return state_dict
    return state_dict


def unwrap_original_checkpoint(checkpoint: Mapping) -> dict[str, torch.Tensor]:
    """Extracts the reference state dict from a loaded checkpoint: a PyTorch Lightning checkpoint (top-level
    `state_dict` with keys prefixed `model.`), a trainer checkpoint (`model_state_dict`) or a bare state dict. A
    `module.` prefix (DistributedDataParallel) is removed as well."""
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"Expected a checkpoint dictionary, got {type(checkpoint).__name__}.")
    if "state_dict" in checkpoint and isinstance(checkpoint["state_dict"], Mapping):
        # PyTorch Lightning: the reference network is the LightningModule attribute `model`. Entries of other
        # submodules (if any) keep their names and are reported as unexpected keys later.
        state_dict = {}
        for key, value in checkpoint["state_dict"].items():
            key = str(key)
            name = key[len("model.") :] if key.startswith("model.") else key
            if name in state_dict:
                raise ValueError(f"The Lightning checkpoint has both {key!r} and {name!r}.")
            state_dict[name] = value
    elif "model_state_dict" in checkpoint and isinstance(checkpoint["model_state_dict"], Mapping):
        state_dict = checkpoint["model_state_dict"]
    else:
        state_dict = checkpoint
    non_tensors = sorted(str(key) for key, value in state_dict.items() if not isinstance(value, torch.Tensor))
    if non_tensors:
        raise ValueError(
            "Unrecognised checkpoint container: expected a PyTorch Lightning checkpoint (top-level `state_dict`), a "
            "trainer checkpoint (`model_state_dict`) or a bare state dict of tensors, but these entries are not "
            f"tensors: {', '.join(non_tensors)}."
        )
    return _strip_wrapper_prefixes({str(key): value for key, value in state_dict.items()})


def load_original_state_dict(path: str | os.PathLike, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Reads a reference Hyper-SET checkpoint (`.ckpt` / `.pth` / `.pt` / `.bin` / `.safetensors`) and returns its bare
    state dict with the reference key names (container and wrapper prefixes removed).

    Args:
        path (`str` or `os.PathLike`):
            The checkpoint file.
        trust_pickle (`bool`, *optional*, defaults to `False`):
            Retry with `torch.load(weights_only=False)` when the file pickles objects other than tensors. This can
            execute arbitrary code: only for files from a trusted source.

    Accepted: a `torch.save` file (zip or legacy pickle format, any extension) or a safetensors file, holding a
    PyTorch Lightning checkpoint, a `model_state_dict` trainer checkpoint or a bare state dict of tensors.

    Raises:
        `FileNotFoundError`: no such file. `IsADirectoryError`: a folder was given.
        `ValueError` naming the file: it is empty, of another format (`checkpoint_format`), truncated or corrupted,
        pickles other objects without `trust_pickle`, or holds an unrecognised container.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"The checkpoint {path!r} is a folder; expected the file itself ({CHECKPOINT_FORMATS})."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint file not found: {path!r}.")
    return unwrap_original_checkpoint(_load_checkpoint_file(path, trust_pickle=trust_pickle))


# ---------------------------------------------------------------------------------------------------------------------
# Image classification
# ---------------------------------------------------------------------------------------------------------------------


def _describe_image_classification_variant(keys: set[str]) -> str | None:
    """Names the reference variant a key set belongs to when it is not `hyper-set` (spec §11.2, §11.5)."""
    if any(key.startswith("deltaW_") for key in keys):
        return "`hyper-set-lora` (depth-wise LoRA)"
    if "time_mlp.1.0.weight" in keys and "time_mlp.1.2.weight" in keys:
        return "`hyper-set-basic` (extra RMSNorm in the step-size head)"
    if any(".time_mlp_inner." in key for key in keys):
        return "`hyper-set-alt-attn` / `hyper-set-alt-ff` (per-layer step-size heads)"
    if "emb.weight" in keys:
        return "a baseline (Transformer, CRATE, CRATE-T or Energy Transformer; plain Linear patch embedding)"
    if "tok_emb.weight" in keys:
        return "a Sudoku or masked-image-modelling model, not an image classifier"
    if "emb.1.weight" in keys and not any(key.startswith("time_mlp.") for key in keys):
        return "`hyper-set-ss` (fixed step size, no step-size network)"
    return None


def _count_layers(keys: set[str], pattern: re.Pattern, layers: str, prefix: str) -> int:
    """The number of numbered layers among `keys` (`pattern`'s first group is the index; 0 when none), which must be
    numbered 0 ... L-1 without gaps; `layers` and `prefix` name them in the error (e.g. "encoder layers", "enc")."""
    indices = sorted({int(match.group(1)) for match in map(pattern.match, keys) if match})
    if indices != list(range(len(indices))):
        raise ValueError(
            f"The {layers} of the checkpoint must be numbered 0 ... L-1 without gaps, found `{prefix}.<i>` with i in "
            f"{indices}."
        )
    return len(indices)


def expected_image_classification_keys(num_layers: int) -> list[str]:
    """Reference keys of a `hyper-set` image classifier with `num_layers` layers (spec §11.1)."""
    keys = list(IMAGE_CLASSIFICATION_MODEL_KEYS)
    for index in range(num_layers):
        keys.extend(f"enc.{index}.{suffix}" for suffix in IMAGE_CLASSIFICATION_LAYER_KEYS)
    return keys


def rename_image_classification_key(key: str) -> str:
    """Maps a reference `hyper-set` image-classification key to its hyperset-hf name."""
    if key in IMAGE_CLASSIFICATION_MODEL_KEYS:
        return IMAGE_CLASSIFICATION_MODEL_KEYS[key]
    match = REFERENCE_LAYER_PATTERN.match(key)
    if match and match.group(2) in IMAGE_CLASSIFICATION_LAYER_KEYS:
        return f"hyperset.encoder.layers.{match.group(1)}.{IMAGE_CLASSIFICATION_LAYER_KEYS[match.group(2)]}"
    raise KeyError(f"No hyperset-hf counterpart for the reference key {key!r}.")


def _closest_layout(keys: set[str], layouts: Mapping[str, set[str]]) -> tuple[str, list[str], list[str]]:
    """The layout (a name of `layouts`: variant -> expected keys) closest to `keys` (fewest differing keys; the first
    on a tie), with the checkpoint's unexpected and missing keys against it."""
    differences = {name: (sorted(keys - expected), sorted(expected - keys)) for name, expected in layouts.items()}
    name = min(differences, key=lambda variant: len(differences[variant][0]) + len(differences[variant][1]))
    return name, *differences[name]


def _layout_error(message: str, description: str | None, unexpected: list[str], missing: list[str],
                  note: str = "") -> ValueError:
    """The error of a checkpoint whose keys do not match the expected layout: `message`, what the keys look like
    (`description`, if recognised), a `note`, and every unexpected and missing key."""
    if description is not None:
        message += f" It looks like {description}."
    message += note
    if unexpected:
        message += f"\nUnexpected keys ({len(unexpected)}): {', '.join(unexpected)}."
    if missing:
        message += f"\nMissing keys ({len(missing)}): {', '.join(missing)}."
    return ValueError(message)


def check_image_classification_keys(state_dict: Mapping[str, torch.Tensor]) -> int:
    """Checks that `state_dict` has exactly the keys of the reference `hyper-set` image classifier and returns the
    number of layers. Raises a `ValueError` listing every unexpected and missing key otherwise."""
    keys = set(state_dict)
    num_layers = _count_layers(keys, REFERENCE_LAYER_PATTERN, "encoder layers", "enc")
    expected = set(expected_image_classification_keys(max(num_layers, 1)))
    unexpected, missing = sorted(keys - expected), sorted(expected - keys)
    if unexpected or missing:
        raise _layout_error(
            f"The checkpoint does not have the layout of the reference `{SUPPORTED_IMAGE_CLASSIFICATION_VARIANT}` "
            f"image classifier (huyunzhe/hyper-set `ic/models.py`), the only image-classification variant this "
            f"converter supports.",
            _describe_image_classification_variant(keys), unexpected, missing,
        )  # fmt: skip
    return num_layers


def _shape_dimension(state_dict: Mapping[str, torch.Tensor], key: str, dimension: int) -> int:
    tensor = state_dict[key]
    if tensor.ndim <= dimension:
        raise ValueError(
            f"Checkpoint entry {key!r} has shape {tuple(tensor.shape)}; expected at least {dimension + 1} dimensions."
        )
    return int(tensor.shape[dimension])



def _hyperset_attention_heads(
    state_dict: Mapping[str, torch.Tensor], qkv_key: str, gain_key: str, num_attention_heads: int | None
) -> tuple[int, int]:
    """`(hidden_size, num_attention_heads)` of a reference Hyper-SET layer: the rows of its tied q/k/v matrix
    `qkv_key` and the hidden size over the head width (the length of the shared per-head q/k/v gain `gain_key`). A
    given `num_attention_heads` must agree."""
    hidden_size = _shape_dimension(state_dict, qkv_key, 0)
    head_dim = _shape_dimension(state_dict, gain_key, 0)
    if head_dim == 0 or hidden_size % head_dim != 0:
        raise ValueError(
            f"The hidden size ({hidden_size}, rows of `{qkv_key}`) is not a multiple of the head "
            f"width ({head_dim}, length of the shared q/k/v gain `{gain_key}`)."
        )
    inferred_heads = hidden_size // head_dim
    if num_attention_heads is not None and num_attention_heads != inferred_heads:
        raise ValueError(
            f"`num_attention_heads` = {num_attention_heads} contradicts the checkpoint: the hidden size "
            f"{hidden_size} and the head width {head_dim} (length of `{gain_key}`) give "
            f"{inferred_heads} heads. Leave it out to use the inferred value."
        )
    return hidden_size, inferred_heads


def _transformer_hidden_size(
    state_dict: Mapping[str, torch.Tensor], query_key: str, num_attention_heads: int | None, baseline: str
) -> int:
    """The hidden size of a reference Transformer baseline (`baseline`, e.g. "Sudoku"): the rows of its query matrix
    `query_key`. Its head count is not in the weights, so `num_attention_heads` must be given and divide it."""
    hidden_size = _shape_dimension(state_dict, query_key, 0)
    if num_attention_heads is None:
        raise ValueError(
            f"The number of attention heads of the {baseline} Transformer baseline is not recoverable from its weights "
            "(the query/key/value matrices are d x d for any head count): pass `--num-attention-heads` (Python API: "
            "`num_attention_heads=`), 12 for the paper's d=768 model (reference `n_head`)."
        )
    if hidden_size % num_attention_heads != 0:
        raise ValueError(
            f"The hidden size of the checkpoint ({hidden_size}, rows of `{query_key}`) is not "
            f"divisible by `num_attention_heads` = {num_attention_heads}."
        )
    return hidden_size


def infer_image_classification_config(
    state_dict: Mapping[str, torch.Tensor],
    image_size: int,
    num_recurrences: int,
    num_channels: int = 3,
    hidden_act: str = "gelu",
    step_size_conditioning: str = "current_state",
    id2label: Mapping[int, str] | None = None,
) -> HyperSETConfig:
    """Builds the [`HyperSETConfig`] of a reference `hyper-set` image classifier from its tensor shapes (spec §11.5)
    plus the values the weights do not store.

    Args:
        state_dict (`Mapping[str, torch.Tensor]`):
            Reference state dict (reference key names).
        image_size (`int`):
            Height and width of the input images (32 for CIFAR, 224 for ImageNet).
        num_recurrences (`int`):
            Iterations of every layer (the "R" of L12R1 / L1R12).
        num_channels (`int`, *optional*, defaults to 3):
            Image channels; the patch size is `sqrt(patch_dim / num_channels)`.
        hidden_act (`str`, *optional*, defaults to `"gelu"`):
            Feedforward activation (`"gelu"` for the reference `hyper-set` classifier).
        step_size_conditioning (`str`, *optional*, defaults to `"current_state"`):
            `"current_state"` (reference `input_cond: false`) or `"initial_state"` (`input_cond: true`).
        id2label (`Mapping[int, str]`, *optional*):
            Class names; their number must equal the rows of the classifier.
    """
    num_layers = check_image_classification_keys(state_dict)
    hidden_size, num_attention_heads = _hyperset_attention_heads(
        state_dict, "enc.0.attn.qkv.weight", "enc.0.attn.ln1_1.weight", None
    )
    intermediate_size = _shape_dimension(state_dict, "enc.0.mlp.weight", 0)
    time_embedding_size = _shape_dimension(state_dict, "time_mlp.0.1.weight", 1)
    num_labels = _shape_dimension(state_dict, "fc.1.weight", 0)

    patch_dim = _shape_dimension(state_dict, "emb.0.weight", 0)
    if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
        raise ValueError(f"`num_channels` must be a positive integer, got {num_channels!r}.")
    patch_size = math.isqrt(patch_dim // num_channels)
    if patch_dim % num_channels != 0 or patch_size * patch_size * num_channels != patch_dim:
        raise ValueError(
            f"The flattened patch length {patch_dim} (length of `emb.0.weight`) is not num_channels x patch_size^2 "
            f"for num_channels = {num_channels} and an integer patch size. Check `--num-channels`."
        )
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"`image_size` must be a positive integer, got {image_size!r}.")
    if image_size % patch_size != 0:
        raise ValueError(
            f"The image size ({image_size}) is not divisible by the patch size of the checkpoint ({patch_size} px, "
            f"from the flattened patch length {patch_dim} = {num_channels} x {patch_size}^2)."
        )

    label_kwargs = {"num_labels": num_labels}
    if id2label is not None:
        id2label = {int(index): str(label) for index, label in id2label.items()}
        if sorted(id2label) != list(range(num_labels)):
            raise ValueError(
                f"`id2label` must name exactly the classes 0 ... {num_labels - 1} of the checkpoint's classifier "
                f"(rows of `fc.1.weight`), got {len(id2label)} entries with indices {sorted(id2label)[:10]}..."
            )
        label_kwargs = {"id2label": id2label, "label2id": {label: index for index, label in id2label.items()}}

    return HyperSETConfig(
        hidden_size=hidden_size,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        num_layers=num_layers,
        num_recurrences=num_recurrences,
        hidden_act=hidden_act,
        share_qkv_norm=False,
        step_size_conditioning=step_size_conditioning,
        time_embedding_size=time_embedding_size,
        image_size=image_size,
        patch_size=patch_size,
        num_channels=num_channels,
        layer_norm_eps=1e-5,
        rms_norm_eps=None,
        **label_kwargs,
    )


def convert_image_classification_state_dict(
    state_dict: Mapping[str, torch.Tensor], model: HyperSETForImageClassification
) -> dict[str, torch.Tensor]:
    """Renames a checked reference state dict to hyperset-hf names and verifies every key and shape against `model`.
    The tensors are copied unchanged: all matrices are already (out, in) and the patch embedding keeps the reference's
    channels-last patch flattening."""
    converted = {rename_image_classification_key(key): value for key, value in state_dict.items()}
    reference_names = {rename_image_classification_key(key): key for key in state_dict}
    _check_converted_state_dict(converted, reference_names, model)
    return converted


def _check_converted_state_dict(
    converted: Mapping[str, torch.Tensor], reference_names: Mapping[str, str], model: torch.nn.Module
) -> None:
    """Verifies that the renamed state dict has exactly the keys of `model` and the same shapes; a mismatch names the
    reference key, the hyperset-hf key and both shapes."""
    model_state = model.state_dict()
    unexpected, missing = sorted(set(converted) - set(model_state)), sorted(set(model_state) - set(converted))
    if unexpected or missing:  # cannot happen unless the key tables and the model drift apart
        raise ValueError(
            f"The converted keys do not match {type(model).__name__}: unexpected {unexpected}, missing {missing}."
        )
    mismatches = [
        f"`{reference_names[key]}` (-> `{key}`): checkpoint shape {tuple(value.shape)}, expected "
        f"{tuple(model_state[key].shape)}"
        for key, value in converted.items()
        if tuple(value.shape) != tuple(model_state[key].shape)
    ]
    if mismatches:
        raise ValueError(
            "Shape mismatch between the checkpoint and the configuration inferred from it:\n  "
            + "\n  ".join(mismatches)
        )


def build_image_processor(
    image_size: int,
    image_mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    image_std: Sequence[float] = IMAGENET_DEFAULT_STD,
) -> "ViTImageProcessor":
    """Bilinear resize to `image_size` x `image_size` (no centre crop, as the reference evaluation), rescale to
    [0, 1] and normalise with `image_mean` / `image_std`."""
    from transformers import ViTImageProcessor  # imported here: without torchvision it warns about its fallback

    return ViTImageProcessor(
        do_resize=True,
        size={"height": image_size, "width": image_size},
        resample=PILImageResampling.BILINEAR,
        image_mean=[float(value) for value in image_mean],
        image_std=[float(value) for value in image_std],
    )


def check_output_dir(output_dir: str | os.PathLike | None) -> None:
    """`output_dir` (`None`: nothing is saved) is a folder or can be created as one, else a `NotADirectoryError`
    naming the file in the way: checked before a checkpoint is read, so that nothing is converted for nothing (and
    `save_pretrained`, which only logs an error for a file, never runs on one)."""
    if output_dir is None:
        return
    existing = os.path.abspath(os.fspath(output_dir))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(
            f"`output_dir` {os.fspath(output_dir)!r} cannot be a folder: {existing!r} is a file; choose another "
            "--output-dir."
        )


def _converted_model(state_dict_or_path, trust_pickle: bool, model_class, infer_config, convert_state_dict,
                     output_dir=None, **config_arguments):  # fmt: skip
    """Loads a reference checkpoint (a path, or an already loaded dict), builds
    `model_class(infer_config(state_dict, **config_arguments))`, loads the converted weights strictly and returns the
    model in evaluation mode: the common core of every task's `convert_*_checkpoint`. `output_dir` is checked first
    (`check_output_dir`); weights that are not floating-point or hold nan or inf are refused (`ValueError` naming
    the weight)."""
    check_output_dir(output_dir)
    if isinstance(state_dict_or_path, (str, os.PathLike)):
        state_dict = load_original_state_dict(state_dict_or_path, trust_pickle=trust_pickle)
        source = repr(os.fspath(state_dict_or_path))
    else:
        state_dict = unwrap_original_checkpoint(state_dict_or_path)
        source = "the given checkpoint"
    model = model_class(infer_config(state_dict, **config_arguments))
    converted = convert_state_dict(state_dict, model)
    check_weights(converted, source)
    model.load_state_dict(converted, strict=True)
    return model.eval()


def convert_image_classification_checkpoint(
    state_dict_or_path: Mapping[str, torch.Tensor] | str | os.PathLike,
    image_size: int,
    num_recurrences: int,
    num_channels: int = 3,
    hidden_act: str = "gelu",
    step_size_conditioning: str = "current_state",
    image_mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    image_std: Sequence[float] = IMAGENET_DEFAULT_STD,
    id2label: Mapping[int, str] | None = None,
    trust_pickle: bool = False,
    output_dir: str | os.PathLike | None = None,
) -> HyperSETForImageClassification:
    """Converts a reference `hyper-set` image classifier into a [`HyperSETForImageClassification`].

    Args:
        state_dict_or_path (`Mapping[str, torch.Tensor]`, `str` or `os.PathLike`):
            A checkpoint file, or an already loaded checkpoint (Lightning, `model_state_dict`-nested or bare).
        image_size (`int`), num_recurrences (`int`), num_channels (`int`, *optional*, defaults to 3),
        hidden_act (`str`, *optional*, defaults to `"gelu"`),
        step_size_conditioning (`str`, *optional*, defaults to `"current_state"`),
        id2label (`Mapping[int, str]`, *optional*):
            See [`infer_image_classification_config`].
        image_mean (`Sequence[float]`, *optional*, defaults to the ImageNet mean),
        image_std (`Sequence[float]`, *optional*, defaults to the ImageNet standard deviation):
            Normalisation statistics of the image processor saved with the model (one value per channel; finite,
            the standard deviations positive).
        trust_pickle (`bool`, *optional*, defaults to `False`):
            See [`load_original_state_dict`]; only for files from a trusted source.
        output_dir (`str` or `os.PathLike`, *optional*):
            If given, the model (safetensors + `config.json`) and a [`transformers.ViTImageProcessor`] are saved there.

    Returns:
        The converted model in evaluation mode (float32).
    """
    if len(image_mean) != num_channels or len(image_std) != num_channels:
        raise ValueError(
            f"`image_mean` and `image_std` need one value per channel ({num_channels}), got {len(image_mean)} and "
            f"{len(image_std)} values."
        )
    for name, values, lowest in (("image_mean", image_mean, -math.inf), ("image_std", image_std, 0.0)):
        if not all(isinstance(value, (int, float)) and lowest < value < math.inf for value in values):
            kind = "finite numbers" if name == "image_mean" else "finite positive numbers"
            raise ValueError(f"`{name}` must be {kind} (one per channel), got {list(values)!r}.")
    model = _converted_model(
        state_dict_or_path, trust_pickle, HyperSETForImageClassification, infer_image_classification_config,
        convert_image_classification_state_dict, image_size=image_size, num_recurrences=num_recurrences,
        num_channels=num_channels, hidden_act=hidden_act, step_size_conditioning=step_size_conditioning,
        id2label=id2label, output_dir=output_dir,
    )  # fmt: skip
    if output_dir is not None:
        model.save_pretrained(output_dir)
        build_image_processor(image_size, image_mean=image_mean, image_std=image_std).save_pretrained(output_dir)
    return model


IMAGE_CLASSIFICATION_ONLY_OPTIONS = {
    "image_size": "--image-size",
    "num_channels": "--num-channels",
    "hidden_act": "--hidden-act",
    "image_mean": "--image-mean",
    "image_std": "--image-std",
    "id2label_json": "--id2label-json",
}


def _convert_image_classification_from_arguments(arguments: argparse.Namespace, parser: argparse.ArgumentParser):
    if arguments.image_size is None:
        parser.error("--image-size is required for --task image-classification.")
    if arguments.num_recurrences is None:
        parser.error(
            "--num-recurrences is required for --task image-classification (it is not stored in the weights; e.g. 1 "
            "for L12R1, 12 for L1R12)."
        )
    if arguments.num_attention_heads is not None:
        parser.error(
            "--num-attention-heads is only for --task sudoku and --task mim: the image classifier's heads are read "
            "from its weights."
        )
    if arguments.token_grid_size is not None:
        parser.error("--token-grid-size is only for --task mim.")
    id2label = None
    if arguments.id2label_json is not None:
        expected = 'the class names, {"0": "tench", ...} or ["tench", ...]'
        id2label = read_json_file(arguments.id2label_json, expected)
        if isinstance(id2label, list):  # also accept a plain list of class names
            id2label = dict(enumerate(id2label))
        if not isinstance(id2label, dict) or not all(
            isinstance(label, str) and str(index).strip().isdigit() for index, label in id2label.items()
        ):
            raise ValueError(f"--id2label-json {arguments.id2label_json} must hold {expected}, got {id2label!r:.80}.")
    image_mean = arguments.image_mean if arguments.image_mean is not None else IMAGENET_DEFAULT_MEAN
    image_std = arguments.image_std if arguments.image_std is not None else IMAGENET_DEFAULT_STD
    return convert_image_classification_checkpoint(
        arguments.checkpoint,
        image_size=arguments.image_size,
        num_recurrences=arguments.num_recurrences,
        num_channels=3 if arguments.num_channels is None else arguments.num_channels,
        hidden_act="gelu" if arguments.hidden_act is None else arguments.hidden_act,
        step_size_conditioning=arguments.step_size_conditioning or "current_state",
        image_mean=image_mean,
        image_std=image_std,
        id2label=id2label,
        trust_pickle=arguments.trust_pickle,
        output_dir=arguments.output_dir,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Sudoku
# ---------------------------------------------------------------------------------------------------------------------

SUDOKU_VARIANTS = ("hyper-set", "transformer")
SUDOKU_NUM_CELLS = 81
SUDOKU_VOCAB_SIZE = 10  # 0 = blank, 1-9 = given digit
SUDOKU_NUM_CLASSES = 9
DEFAULT_SUDOKU_NUM_RECURRENCES = 24  # the reference `n_recur`

# Reference key -> hyperset-hf key for the entries that occur once per model (both variants).
SUDOKU_MODEL_KEYS = {
    "pos_emb": "hyperset.embeddings.position_embeddings",
    "tok_emb.weight": "hyperset.embeddings.digit_embeddings.weight",
    "ln_f.weight": "readout_norm.weight",
    "head.weight": "classifier.weight",
}

# The step-size network of the Sudoku `hyper-set` model: time_mlp.0 = [sinusoidal embedding, Linear E->d, GELU,
# Linear d->d], time_mlp.1 = [GELU, Linear d->2d]; no RMSNorms (hyperset-hf `step_size_network_type="unnormalized"`).
SUDOKU_STEP_SIZE_KEYS = {
    "time_mlp.0.1.weight": "hyperset.encoder.step_size_network.time_embedding_projection.weight",
    "time_mlp.0.1.bias": "hyperset.encoder.step_size_network.time_embedding_projection.bias",
    "time_mlp.0.3.weight": "hyperset.encoder.step_size_network.time_hidden_projection.weight",
    "time_mlp.0.3.bias": "hyperset.encoder.step_size_network.time_hidden_projection.bias",
    "time_mlp.1.1.weight": "hyperset.encoder.step_size_network.step_size_projection.weight",
    "time_mlp.1.1.bias": "hyperset.encoder.step_size_network.step_size_projection.bias",
}

# Reference key suffix -> hyperset-hf key suffix for every layer `blocks.<i>`, per variant.
SUDOKU_LAYER_KEYS = {
    "hyper-set": {
        "mlp.weight": "feedforward.projection.weight",
        "attn.qkv.weight": "attention.projection.weight",
        "attn.ln1.weight": "attention.qkv_norm.weight",  # ONE gain shared by q, k and v
        "ln2.weight": "feedforward.norm.weight",
    },
    "transformer": {
        "ln1.weight": "attention_norm.weight",
        "attn.query.weight": "attention.query.weight",
        "attn.key.weight": "attention.key.weight",
        "attn.value.weight": "attention.value.weight",
        "attn.proj.weight": "attention.output.weight",
        "ln2.weight": "mlp_norm.weight",
        "mlp.0.weight": "mlp.0.weight",
        "mlp.2.weight": "mlp.2.weight",
    },
}

# Per-layer buffers of the reference that the forward pass never reads: accepted if present and dropped. `attn.mask`
# is the lower-triangular (1, 1, 81, 81) causal mask that the reference registers but does not apply.
SUDOKU_DROPPED_LAYER_KEYS = ("attn.mask",)

SUDOKU_LAYER_PATTERN = re.compile(r"^blocks\.(\d+)\.(.+)$")


def expected_sudoku_keys(variant: str, num_layers: int) -> list[str]:
    """Reference keys of a Sudoku model of the given variant (`"hyper-set"` or `"transformer"`) with `num_layers`
    layers, without the unused `blocks.<i>.attn.mask` buffers (which are accepted and dropped)."""
    if variant not in SUDOKU_VARIANTS:
        raise ValueError(f"Unknown Sudoku variant {variant!r}; expected one of {SUDOKU_VARIANTS}.")
    keys = list(SUDOKU_MODEL_KEYS)
    if variant == "hyper-set":
        keys.extend(SUDOKU_STEP_SIZE_KEYS)
    for index in range(num_layers):
        keys.extend(f"blocks.{index}.{suffix}" for suffix in SUDOKU_LAYER_KEYS[variant])
    return keys


def rename_sudoku_key(key: str, variant: str) -> str:
    """Maps a reference Sudoku key of the given variant to its hyperset-hf name (`KeyError` for keys without a
    counterpart, including the dropped `blocks.<i>.attn.mask`)."""
    if key in SUDOKU_MODEL_KEYS:
        return SUDOKU_MODEL_KEYS[key]
    if variant == "hyper-set" and key in SUDOKU_STEP_SIZE_KEYS:
        return SUDOKU_STEP_SIZE_KEYS[key]
    match = SUDOKU_LAYER_PATTERN.match(key)
    if match and match.group(2) in SUDOKU_LAYER_KEYS.get(variant, {}):
        return f"hyperset.encoder.layers.{match.group(1)}.{SUDOKU_LAYER_KEYS[variant][match.group(2)]}"
    raise KeyError(f"No hyperset-hf counterpart for the reference Sudoku {variant} key {key!r}.")


def _is_dropped_sudoku_key(key: str) -> bool:
    match = SUDOKU_LAYER_PATTERN.match(key)
    return bool(match) and match.group(2) in SUDOKU_DROPPED_LAYER_KEYS


def _describe_sudoku_variant(keys: set[str]) -> str | None:
    """Names what a key set that is neither Sudoku `hyper-set` nor `transformer` looks like."""
    if any(key.startswith("enc.") for key in keys) or "cls_token" in keys:
        return "an image classifier (use `--task image-classification`)"
    if any(key.startswith(("lm_head.", "transformer.")) for key in keys):
        return "a masked-image-modelling model (use `--task mim`)"
    layer_suffixes = {match.group(2) for match in map(SUDOKU_LAYER_PATTERN.match, keys) if match}
    if "attn.qkv.weight" in layer_suffixes and "attn.proj.weight" in layer_suffixes:
        return "the `transformer_shared` baseline (one q/k/v projection plus an output projection)"
    if any(suffix.startswith(("attn.fn.", "ff.fn.")) for suffix in layer_suffixes):
        return "the CRATE baseline"
    if any(suffix.startswith("block.") for suffix in layer_suffixes):
        return "the Energy Transformer baseline"
    return None


def check_sudoku_keys(state_dict: Mapping[str, torch.Tensor]) -> tuple[str, int]:
    """Checks that `state_dict` has exactly the keys of the reference Sudoku `hyper-set` model or of its Transformer
    baseline (plus, optionally, the unused `blocks.<i>.attn.mask` buffers) and returns `(variant, num_layers)`.
    Raises a `ValueError` listing every unexpected and missing key otherwise, compared with the closer layout."""
    keys = set(state_dict)
    counted = _count_layers(keys, SUDOKU_LAYER_PATTERN, "layers", "blocks")
    num_layers = max(counted, 1)
    checked = {key for key in keys if not _is_dropped_sudoku_key(key)}
    # the closer layout (fewest differing keys; `hyper-set` on a tie) is the one the checkpoint is compared with
    variant, unexpected, missing = _closest_layout(
        checked, {name: set(expected_sudoku_keys(name, num_layers)) for name in SUDOKU_VARIANTS}
    )
    if unexpected or missing:
        note = "" if "pos_emb" not in missing else (
            " `pos_emb` is missing: the model was probably trained with `pos_emb: sincos`, fixed 2-D sin-cos cell "
            "positions that the checkpoint does not store. Fixed 2-D sin-cos positions are not supported; only "
            "checkpoints with learned positions (`pos_emb: learnable`) convert."
        )
        raise _layout_error(
            f"The checkpoint does not have the layout of the reference Sudoku `{variant}` model (huyunzhe/hyper-set "
            f"`sudoku/models.py`, compared with the closer of the two layouts this converter supports: `hyper-set` "
            f"and `transformer`, both with `pos_emb: learnable`).",
            _describe_sudoku_variant(keys), unexpected, missing, note,
        )  # fmt: skip
    return variant, counted


def _check_positive_integer(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def infer_sudoku_config(
    state_dict: Mapping[str, torch.Tensor],
    num_recurrences: int = DEFAULT_SUDOKU_NUM_RECURRENCES,
    num_attention_heads: int | None = None,
    step_size_conditioning: str = "initial_state",
) -> HyperSETConfig:
    """Builds the [`HyperSETConfig`] of a reference Sudoku model (`hyper-set` or the Transformer baseline, recognised
    from the keys) from its tensor shapes plus the values the weights do not store.

    Read from the shapes: the width d (rows of `blocks.0.attn.qkv.weight` / `blocks.0.attn.query.weight`), the heads
    of `hyper-set` (d / length of the shared q/k/v gain `blocks.0.attn.ln1.weight`), the feedforward width M (rows of
    `blocks.0.mlp.weight` / `blocks.0.mlp.0.weight`), the layers (`blocks.<i>`) and the time-embedding width (columns
    of `time_mlp.0.1.weight`). The vocabulary (10 rows of `tok_emb.weight`), the cells (`pos_emb` of shape
    `(1, 81, d)`) and the classes (9 rows of `head.weight`) are checked.

    Args:
        state_dict (`Mapping[str, torch.Tensor]`):
            Reference state dict (reference key names).
        num_recurrences (`int`, *optional*, defaults to 24):
            Iterations of every layer (the reference `n_recur`).
        num_attention_heads (`int`, *optional*):
            Required for the Transformer baseline, whose weights do not determine the head count. For `hyper-set`
            it is inferred, and a given value must agree with the weights.
        step_size_conditioning (`str`, *optional*, defaults to `"initial_state"`):
            `"initial_state"` (reference `input_cond: true`, the paper's setting) or `"current_state"`
            (`input_cond: false`). Ignored by the Transformer baseline, which has no step sizes.
    """
    variant, num_layers = check_sudoku_keys(state_dict)
    _check_positive_integer("num_recurrences", num_recurrences)
    if num_attention_heads is not None:
        _check_positive_integer("num_attention_heads", num_attention_heads)

    vocab_size = _shape_dimension(state_dict, "tok_emb.weight", 0)
    if state_dict["tok_emb.weight"].ndim != 2 or vocab_size != SUDOKU_VOCAB_SIZE:
        raise ValueError(
            f"The digit embedding `tok_emb.weight` has shape {tuple(state_dict['tok_emb.weight'].shape)}; a Sudoku "
            f"model embeds {SUDOKU_VOCAB_SIZE} symbols (0 = blank, 1-9 = given digit), so it must have "
            f"{SUDOKU_VOCAB_SIZE} rows."
        )
    positions = state_dict["pos_emb"]
    if positions.ndim != 3 or positions.shape[0] != 1 or positions.shape[1] != SUDOKU_NUM_CELLS:
        raise ValueError(
            f"The position embedding `pos_emb` has shape {tuple(positions.shape)}; expected (1, {SUDOKU_NUM_CELLS}, "
            f"hidden_size): one learned position per cell of the 9 x 9 grid."
        )
    num_classes = _shape_dimension(state_dict, "head.weight", 0)
    if state_dict["head.weight"].ndim != 2 or num_classes != SUDOKU_NUM_CLASSES:
        raise ValueError(
            f"The classifier `head.weight` has shape {tuple(state_dict['head.weight'].shape)}; a Sudoku model scores "
            f"the {SUDOKU_NUM_CLASSES} digits 1-9, so it must have {SUDOKU_NUM_CLASSES} rows."
        )

    if variant == "hyper-set":
        hidden_size, num_attention_heads = _hyperset_attention_heads(
            state_dict, "blocks.0.attn.qkv.weight", "blocks.0.attn.ln1.weight", num_attention_heads
        )
        intermediate_size = _shape_dimension(state_dict, "blocks.0.mlp.weight", 0)
        time_embedding_size = _shape_dimension(state_dict, "time_mlp.0.1.weight", 1)
        if time_embedding_size % 2 != 0 or time_embedding_size < 4:
            raise ValueError(
                f"The time-embedding width ({time_embedding_size}, columns of `time_mlp.0.1.weight`) must be an even "
                f"number >= 4 (sines and cosines of the iteration index)."
            )
        if step_size_conditioning not in STEP_SIZE_CONDITIONINGS:
            raise ValueError(
                f"`step_size_conditioning` must be one of {STEP_SIZE_CONDITIONINGS}, got {step_size_conditioning!r}."
            )
        return HyperSETConfig.from_preset(
            "sudoku",
            hidden_size=hidden_size,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            num_layers=num_layers,
            num_recurrences=num_recurrences,
            time_embedding_size=time_embedding_size,
            step_size_conditioning=step_size_conditioning,
            rms_norm_eps=None,
        )

    hidden_size = _transformer_hidden_size(state_dict, "blocks.0.attn.query.weight", num_attention_heads, "Sudoku")
    intermediate_size = _shape_dimension(state_dict, "blocks.0.mlp.0.weight", 0)
    return HyperSETConfig.from_preset(
        "sudoku-transformer",
        hidden_size=hidden_size,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        num_layers=num_layers,
        num_recurrences=num_recurrences,
        rms_norm_eps=None,
    )


def convert_sudoku_state_dict(
    state_dict: Mapping[str, torch.Tensor], model: HyperSETForSudoku
) -> dict[str, torch.Tensor]:
    """Renames a checked reference Sudoku state dict to hyperset-hf names (dropping the unused `attn.mask` buffers)
    and verifies every key and shape against `model`. The tensors are copied unchanged: all matrices are already
    (out, in), and the tied `W_qkv` / `W_ff` are used transposed by both implementations in the same way."""
    variant = "hyper-set" if model.config.layer_type == "hyperset" else "transformer"
    kept = [key for key in state_dict if not _is_dropped_sudoku_key(key)]
    converted = {rename_sudoku_key(key, variant): state_dict[key] for key in kept}
    reference_names = {rename_sudoku_key(key, variant): key for key in kept}
    _check_converted_state_dict(converted, reference_names, model)
    return converted


def convert_sudoku_checkpoint(
    state_dict_or_path: Mapping[str, torch.Tensor] | str | os.PathLike,
    num_recurrences: int = DEFAULT_SUDOKU_NUM_RECURRENCES,
    num_attention_heads: int | None = None,
    step_size_conditioning: str = "initial_state",
    trust_pickle: bool = False,
    output_dir: str | os.PathLike | None = None,
) -> HyperSETForSudoku:
    """Converts a reference Sudoku model (`Sudoku_layer1_recur24_dim768_multiplier4.pth`: `hyper-set`, or the
    Transformer baseline) into a [`HyperSETForSudoku`].

    Args:
        state_dict_or_path (`Mapping[str, torch.Tensor]`, `str` or `os.PathLike`):
            A checkpoint file, or an already loaded checkpoint (bare state dict as the reference trainer saves it,
            `model_state_dict`-nested or Lightning).
        num_recurrences (`int`, *optional*, defaults to 24), num_attention_heads (`int`, *optional*),
        step_size_conditioning (`str`, *optional*, defaults to `"initial_state"`):
            See [`infer_sudoku_config`]; `num_attention_heads` is required for the Transformer baseline.
        trust_pickle (`bool`, *optional*, defaults to `False`):
            See [`load_original_state_dict`]; only for files from a trusted source.
        output_dir (`str` or `os.PathLike`, *optional*):
            If given, the model (safetensors + `config.json`) is saved there. No processor: the model takes the
            `(batch_size, 81)` digits directly.

    Returns:
        The converted model in evaluation mode (float32).
    """
    model = _converted_model(
        state_dict_or_path, trust_pickle, HyperSETForSudoku, infer_sudoku_config, convert_sudoku_state_dict,
        num_recurrences=num_recurrences, num_attention_heads=num_attention_heads,
        step_size_conditioning=step_size_conditioning, output_dir=output_dir,
    )  # fmt: skip
    if output_dir is not None:
        model.save_pretrained(output_dir)
    return model


def _convert_sudoku_from_arguments(arguments: argparse.Namespace, parser: argparse.ArgumentParser):
    given = [flag for name, flag in IMAGE_CLASSIFICATION_ONLY_OPTIONS.items() if getattr(arguments, name) is not None]
    if given:
        parser.error(
            f"Options for --task image-classification only: {', '.join(given)} (the reference Sudoku models take "
            f"the 81 digits as input and use a ReLU feedforward)."
        )
    if arguments.token_grid_size is not None:
        parser.error("--token-grid-size is only for --task mim.")
    return convert_sudoku_checkpoint(
        arguments.checkpoint,
        num_recurrences=(
            DEFAULT_SUDOKU_NUM_RECURRENCES if arguments.num_recurrences is None else arguments.num_recurrences
        ),
        num_attention_heads=arguments.num_attention_heads,
        step_size_conditioning=arguments.step_size_conditioning or "initial_state",
        trust_pickle=arguments.trust_pickle,
        output_dir=arguments.output_dir,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Masked image modeling on VQ tokens (reference `mim/models.py`, `MaskTransformerUncond`)
# ---------------------------------------------------------------------------------------------------------------------

MIM_VARIANTS = ("hyper-set", "transformer")
DEFAULT_MIM_TOKEN_GRID_SIZE = 16  # 256 px images, VQGAN downsampling 16; the reference block asserts 256 tokens

# Reference key -> hyperset-hf key for the entries that occur once per model (both variants). The fixed 2-D sin-cos
# positions `pos_emb` are a plain tensor attribute of the reference model, not in its state dict.
MIM_MODEL_KEYS = {
    "tok_emb.weight": "hyperset.embeddings.token_embeddings.weight",  # codebook_size + 1 rows: the last is [MASK]
    "lm_head.0.weight": "readout_norm.weight",
    "lm_head.1.weight": "classifier.weight",
    "lm_head.1.bias": "classifier.bias",
}

# The single `HyperSETBlock` of `model.type: hyper-set` (one shared q/k/v gain; time_mlp.0 is the parameter-free
# sinusoidal embedding, time_mlp.1 = [RMSNorm, GELU, Linear d -> 2d]).
MIM_HYPERSET_KEYS = {
    "transformer.qkv.weight": "hyperset.encoder.layers.0.attention.projection.weight",
    "transformer.ln1.weight": "hyperset.encoder.layers.0.attention.qkv_norm.weight",
    "transformer.mlp.weight": "hyperset.encoder.layers.0.feedforward.projection.weight",
    "transformer.ln2.weight": "hyperset.encoder.layers.0.feedforward.norm.weight",
    "transformer.time_mlp.1.0.weight": "hyperset.encoder.step_size_network.head_norm.weight",
    "transformer.time_mlp.1.2.weight": "hyperset.encoder.step_size_network.step_size_projection.weight",
    "transformer.time_mlp.1.2.bias": "hyperset.encoder.step_size_network.step_size_projection.bias",
}

# Reference key suffix -> hyperset-hf key suffix for every layer `transformer.layers.<i>` of `model.type: transformer`
# (`TransformerBlock`: [PreNorm(Attention), PreNorm(FeedForward)] per layer).
MIM_TRANSFORMER_LAYER_KEYS = {
    "0.norm.weight": "attention_norm.weight",
    "0.fn.query.weight": "attention.query.weight",
    "0.fn.key.weight": "attention.key.weight",
    "0.fn.value.weight": "attention.value.weight",
    "0.fn.proj.weight": "attention.output.weight",
    "1.norm.weight": "mlp_norm.weight",
    "1.fn.net.0.weight": "mlp.0.weight",
    "1.fn.net.2.weight": "mlp.2.weight",
}

MIM_TRANSFORMER_LAYER_PATTERN = re.compile(r"^transformer\.layers\.(\d+)\.(.+)$")


def expected_mim_keys(variant: str, num_layers: int = 1) -> list[str]:
    """Reference keys of a MIM model of the given variant (`"hyper-set"`: always one block; `"transformer"`:
    `num_layers` layers)."""
    if variant not in MIM_VARIANTS:
        raise ValueError(f"Unknown MIM variant {variant!r}; expected one of {MIM_VARIANTS}.")
    keys = list(MIM_MODEL_KEYS)
    if variant == "hyper-set":
        return keys + list(MIM_HYPERSET_KEYS)
    for index in range(num_layers):
        keys.extend(f"transformer.layers.{index}.{suffix}" for suffix in MIM_TRANSFORMER_LAYER_KEYS)
    return keys


def rename_mim_key(key: str, variant: str) -> str:
    """Maps a reference MIM key of the given variant to its hyperset-hf name (`KeyError` without a counterpart)."""
    if key in MIM_MODEL_KEYS:
        return MIM_MODEL_KEYS[key]
    if variant == "hyper-set" and key in MIM_HYPERSET_KEYS:
        return MIM_HYPERSET_KEYS[key]
    match = MIM_TRANSFORMER_LAYER_PATTERN.match(key)
    if variant == "transformer" and match and match.group(2) in MIM_TRANSFORMER_LAYER_KEYS:
        return f"hyperset.encoder.layers.{match.group(1)}.{MIM_TRANSFORMER_LAYER_KEYS[match.group(2)]}"
    raise KeyError(f"No hyperset-hf counterpart for the reference MIM {variant} key {key!r}.")


def _describe_mim_variant(keys: set[str]) -> str | None:
    """Names what a key set that is neither MIM `hyper-set` nor `transformer` looks like."""
    if any(key.startswith("enc.") for key in keys) or "cls_token" in keys:
        return "an image classifier (use `--task image-classification`)"
    if any(key.startswith("blocks.") for key in keys) or "head.weight" in keys:
        return "a Sudoku model (use `--task sudoku`)"
    return None


def check_mim_keys(state_dict: Mapping[str, torch.Tensor]) -> tuple[str, int]:
    """Checks that `state_dict` has exactly the keys of the reference MIM `hyper-set` model or of its Transformer
    baseline and returns `(variant, num_layers)`. Raises a `ValueError` naming every unexpected and missing key
    otherwise, compared with the closer of the two layouts."""
    keys = set(state_dict)
    num_layers = max(_count_layers(keys, MIM_TRANSFORMER_LAYER_PATTERN, "Transformer layers", "transformer.layers"), 1)
    variant, unexpected, missing = _closest_layout(
        keys, {name: set(expected_mim_keys(name, num_layers)) for name in MIM_VARIANTS}
    )
    if unexpected or missing:
        raise _layout_error(
            f"The checkpoint does not have the layout of the reference MIM `{variant}` model (huyunzhe/hyper-set "
            f"`mim/models.py` `MaskTransformerUncond`, compared with the closer of the two layouts this converter "
            f"supports: `hyper-set` and `transformer`).",
            _describe_mim_variant(keys), unexpected, missing,
        )  # fmt: skip
    return variant, (1 if variant == "hyper-set" else num_layers)


def infer_mim_config(
    state_dict: Mapping[str, torch.Tensor],
    num_recurrences: int | None = None,
    num_attention_heads: int | None = None,
    token_grid_size: int = DEFAULT_MIM_TOKEN_GRID_SIZE,
) -> HyperSETConfig:
    """Builds the [`HyperSETConfig`] of a reference MIM model (`MaskTransformerUncond`, `model.type: hyper-set` or
    `transformer`, recognised from the keys) from its tensor shapes plus the values the weights do not store.

    Read from the shapes: the codebook size K (rows of `lm_head.1.weight`; `tok_emb.weight` must have K + 1 rows, the
    last being [MASK] = the reference `mask_value`), the width d (rows of `transformer.qkv.weight` /
    `transformer.layers.0.0.fn.query.weight`), the heads of `hyper-set` (d / length of the shared q/k/v gain
    `transformer.ln1.weight`), the feedforward width (rows of `transformer.mlp.weight` /
    `transformer.layers.0.1.fn.net.0.weight`) and the Transformer layers. The preset follows the paper's rows (Table
    3): `hyper-set` with feedforward width 8d -> `"mim-scaled"` (24 iterations), other `hyper-set` -> `"mim"` (12
    iterations, the reference `configs/task/mim.yaml` `n_recur`), `transformer` -> `"mim-transformer"` (12).

    Args:
        state_dict (`Mapping[str, torch.Tensor]`):
            Reference state dict (reference key names).
        num_recurrences (`int`, *optional*):
            Iterations (the reference `n_recur`, not stored in the weights); defaults to the preset's (see above).
        num_attention_heads (`int`, *optional*):
            Required for the Transformer baseline, whose weights do not determine the head count (12 for the paper's
            model, the reference `n_head`). For `hyper-set` it is inferred, and a given value must agree.
        token_grid_size (`int`, *optional*, defaults to 16):
            Side of the code grid (reference `img_size // 16`; the reference `HyperSETBlock` only runs 16 x 16).
    """
    variant, num_layers = check_mim_keys(state_dict)
    if num_recurrences is not None:
        _check_positive_integer("num_recurrences", num_recurrences)
    if num_attention_heads is not None:
        _check_positive_integer("num_attention_heads", num_attention_heads)
    _check_positive_integer("token_grid_size", token_grid_size)

    head = state_dict["lm_head.1.weight"]
    if head.ndim != 2:
        raise ValueError(f"The output head `lm_head.1.weight` has shape {tuple(head.shape)}; expected (codebook, d).")
    codebook_size = int(head.shape[0])
    embeddings = state_dict["tok_emb.weight"]
    if embeddings.ndim != 2 or embeddings.shape[0] != codebook_size + 1:
        raise ValueError(
            f"The code embedding `tok_emb.weight` has shape {tuple(embeddings.shape)}; the output head "
            f"`lm_head.1.weight` scores {codebook_size} codes, so it must have {codebook_size + 1} rows (the codes "
            f"plus the mask token)."
        )

    if variant == "hyper-set":
        hidden_size, num_attention_heads = _hyperset_attention_heads(
            state_dict, "transformer.qkv.weight", "transformer.ln1.weight", num_attention_heads
        )
        intermediate_size = _shape_dimension(state_dict, "transformer.mlp.weight", 0)
        preset = "mim-scaled" if intermediate_size == 8 * hidden_size else "mim"
    else:
        hidden_size = _transformer_hidden_size(
            state_dict, "transformer.layers.0.0.fn.query.weight", num_attention_heads, "MIM"
        )
        intermediate_size = _shape_dimension(state_dict, "transformer.layers.0.1.fn.net.0.weight", 0)
        preset = "mim-transformer"

    overrides = dict(
        hidden_size=hidden_size,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        num_layers=num_layers,
        time_embedding_size=hidden_size,
        codebook_size=codebook_size,
        token_grid_size=token_grid_size,
        rms_norm_eps=None,
    )
    if num_recurrences is not None:
        overrides["num_recurrences"] = num_recurrences
    return HyperSETConfig.from_preset(preset, **overrides)


def convert_mim_state_dict(
    state_dict: Mapping[str, torch.Tensor], model: HyperSETForMaskedTokenModeling
) -> dict[str, torch.Tensor]:
    """Renames a checked reference MIM state dict to hyperset-hf names and verifies every key and shape against
    `model`. The tensors are copied unchanged (the tied `W_qkv` / `W_ff` are used transposed by both implementations
    in the same way)."""
    variant = "hyper-set" if model.config.layer_type == "hyperset" else "transformer"
    converted = {rename_mim_key(key, variant): value for key, value in state_dict.items()}
    reference_names = {rename_mim_key(key, variant): key for key in state_dict}
    _check_converted_state_dict(converted, reference_names, model)
    return converted


def convert_mim_checkpoint(
    state_dict_or_path: Mapping[str, torch.Tensor] | str | os.PathLike,
    num_recurrences: int | None = None,
    num_attention_heads: int | None = None,
    token_grid_size: int = DEFAULT_MIM_TOKEN_GRID_SIZE,
    trust_pickle: bool = False,
    output_dir: str | os.PathLike | None = None,
) -> HyperSETForMaskedTokenModeling:
    """Converts a reference masked-image-modeling model (`MaskTransformerUncond` of `mim/models.py`, `hyper-set` or
    the Transformer baseline) into a [`HyperSETForMaskedTokenModeling`].

    Args:
        state_dict_or_path (`Mapping[str, torch.Tensor]`, `str` or `os.PathLike`):
            A checkpoint file, or an already loaded checkpoint: the dictionary the reference `MIMTrainer` saves
            (`iter`, `global_epoch`, `model_state_dict`, `optimizer_state_dict`, `scaler_state_dict`; only
            `model_state_dict` is read), a bare state dict, or a Lightning checkpoint.
        num_recurrences (`int`, *optional*), num_attention_heads (`int`, *optional*),
        token_grid_size (`int`, *optional*, defaults to 16):
            See [`infer_mim_config`]; `num_attention_heads` is required for the Transformer baseline.
        trust_pickle (`bool`, *optional*, defaults to `False`):
            See [`load_original_state_dict`]; only for files from a trusted source.
        output_dir (`str` or `os.PathLike`, *optional*):
            If given, the model (safetensors + `config.json`) is saved there. No processor: the model reads VQ codes.

    Returns:
        The converted model in evaluation mode (float32).
    """
    model = _converted_model(
        state_dict_or_path, trust_pickle, HyperSETForMaskedTokenModeling, infer_mim_config, convert_mim_state_dict,
        num_recurrences=num_recurrences, num_attention_heads=num_attention_heads, token_grid_size=token_grid_size,
        output_dir=output_dir,
    )  # fmt: skip
    if output_dir is not None:
        model.save_pretrained(output_dir)
    return model


def _convert_mim_from_arguments(arguments: argparse.Namespace, parser: argparse.ArgumentParser):
    given = [flag for name, flag in IMAGE_CLASSIFICATION_ONLY_OPTIONS.items() if getattr(arguments, name) is not None]
    if arguments.step_size_conditioning is not None:
        given.append("--step-size-conditioning")
    if given:
        parser.error(
            f"Options not for --task mim: {', '.join(given)} (the reference MIM model reads VQ codes, uses a ReLU "
            f"feedforward and always conditions its step sizes on the initial state)."
        )
    return convert_mim_checkpoint(
        arguments.checkpoint,
        num_recurrences=arguments.num_recurrences,
        num_attention_heads=arguments.num_attention_heads,
        token_grid_size=(
            DEFAULT_MIM_TOKEN_GRID_SIZE if arguments.token_grid_size is None else arguments.token_grid_size
        ),
        trust_pickle=arguments.trust_pickle,
        output_dir=arguments.output_dir,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------------

# One converter per task: `task -> function(arguments, parser) -> model`.
TASK_CONVERTERS = {
    "image-classification": _convert_image_classification_from_arguments,
    "sudoku": _convert_sudoku_from_arguments,
    "mim": _convert_mim_from_arguments,
}


def _summary(model, task: str, output_dir: str) -> str:
    config = model.config
    if config.input_type == "visual_tokens":
        variant = "hyper-set" if config.layer_type == "hyperset" else "transformer"
        names = ["hidden_size", "num_attention_heads", "head_dim", "intermediate_size", "num_layers"]
        names += ["num_recurrences", "codebook_size", "mask_token_id", "token_grid_size", "hidden_act"]
    elif config.input_type == "sudoku":
        variant = "hyper-set" if config.layer_type == "hyperset" else "transformer"
        names = ["hidden_size", "num_attention_heads", "head_dim", "intermediate_size", "num_layers"]
        names.append("num_recurrences")
        if config.layer_type == "hyperset":
            names += ["time_embedding_size", "step_size_conditioning"]
        names += ["num_labels", "hidden_act"]
    else:
        variant = SUPPORTED_IMAGE_CLASSIFICATION_VARIANT
        names = [
            "hidden_size",
            "num_attention_heads",
            "head_dim",
            "intermediate_size",
            "num_layers",
            "num_recurrences",
            "time_embedding_size",
            "image_size",
            "patch_size",
            "num_channels",
            "num_labels",
            "hidden_act",
            "step_size_conditioning",
        ]
    lines = [f"Converted the reference Hyper-SET {task} checkpoint ({variant}):"]
    for name in names:
        lines.append(f"  {name}: {getattr(config, name)}")
    num_parameters = sum(parameter.numel() for parameter in model.parameters())
    lines.append(f"  parameters: {num_parameters:,}")
    lines.append(f"Saved to {output_dir}")
    return "\n".join(lines)


def build_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hyperset_hf.release.convert",
        description="Convert a checkpoint of the reference Hyper-SET implementation (huyunzhe/hyper-set) into a "
        "folder that transformers' Auto classes load after `import hyperset_hf`."
    )
    parser.add_argument("--task", required=True, choices=sorted(TASK_CONVERTERS), help="Which reference model.")
    parser.add_argument(
        "--checkpoint", required=True, help="Reference checkpoint (.ckpt / .pth / .pt / .bin / .safetensors)."
    )
    parser.add_argument("--output-dir", required=True, help="Folder to write the converted model into.")
    parser.add_argument(
        "--num-recurrences",
        type=int,
        help="Iterations of every layer; not stored in the weights. Required for image-classification (e.g. 1 for "
        f"L12R1, 12 for L1R12); default {DEFAULT_SUDOKU_NUM_RECURRENCES} for sudoku; for mim the paper's row: 24 for "
        "hyper-set with FF width 8d (mim-scaled), else 12.",
    )
    parser.add_argument(
        "--step-size-conditioning",
        choices=STEP_SIZE_CONDITIONINGS,
        help="State seen by the step-size network: current_state (reference input_cond false; default for "
        "image-classification) or initial_state (input_cond true; default for sudoku). Not used by the Sudoku "
        "Transformer baseline.",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="Load with torch.load(weights_only=False) if the file pickles non-tensor objects. This can execute "
        "arbitrary code: ONLY for files from a trusted source.",
    )
    image_arguments = parser.add_argument_group("image-classification")
    image_arguments.add_argument("--image-size", type=int, help="Input height and width in pixels (32 / 224).")
    image_arguments.add_argument("--num-channels", type=int, help="Image channels (default 3).")
    image_arguments.add_argument(
        "--hidden-act", choices=FEEDFORWARD_ACTIVATIONS, help="Feedforward activation (default gelu)."
    )
    image_arguments.add_argument(
        "--image-mean", type=float, nargs="+", help="Per-channel mean (default ImageNet: 0.485 0.456 0.406)."
    )
    image_arguments.add_argument(
        "--image-std", type=float, nargs="+", help="Per-channel std (default ImageNet: 0.229 0.224 0.225)."
    )
    image_arguments.add_argument(
        "--id2label-json",
        help='JSON file with the class names: {"0": "tench", ...} or a list ["tench", ...].',
    )
    sudoku_arguments = parser.add_argument_group("sudoku")
    sudoku_arguments.add_argument(
        "--num-attention-heads",
        type=int,
        help="Attention heads (sudoku and mim). Required for the Transformer baselines (not recoverable from their "
        "weights; 12 for the paper's models); inferred for hyper-set (a given value must agree with the weights).",
    )
    mim_arguments = parser.add_argument_group("mim")
    mim_arguments.add_argument(
        "--token-grid-size",
        type=int,
        help=f"Side of the grid of VQ codes (reference img_size // 16; default {DEFAULT_MIM_TOKEN_GRID_SIZE}: 256 px "
        "images, the only size the reference hyper-set block runs).",
    )
    return parser


def main(argv: Sequence[str] | None = None):
    """Runs the converter on the command-line arguments `argv` (default: `sys.argv[1:]`) and returns the converted
    model; a bad file or value raises (`ValueError`, `TypeError` or an `OSError` such as `FileNotFoundError`), a bad
    option exits through argparse (status 2). `command_line` is the program that turns the errors into one line."""
    parser = build_argument_parser()
    arguments = parser.parse_args(argv)
    model = TASK_CONVERTERS[arguments.task](arguments, parser)
    print(_summary(model, arguments.task, arguments.output_dir))
    return model


def command_line(argv: Sequence[str] | None = None) -> int:
    """The converter's program (`python -m hyperset_hf.release.convert`, `hyperset-hf-convert`): `main(argv)`, with
    every error on a bad file or value printed as one line on stderr and exit status 1 (argparse's usage errors: 2),
    never a traceback. Returns 0 after a conversion."""
    try:
        main(argv)
    except (ValueError, TypeError, OSError) as error:
        message = " ".join(str(error).split())
        sys.stderr.write(f"{build_argument_parser().prog}: error: {message}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(command_line())
