# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Bad saved files at every public boundary that reads them: `config.json` contents of both families, the safetensors
weights, the converter of reference checkpoints (`python -m hyperset_hf.release.convert`, every task) and
`hyperset-hf card` / `push` / `solve` on folders. Each case must raise the package's own exception of a fitting type
naming the file or field, the value and what is accepted (`bad_inputs.check_case`), or, on the command line, exit with
status 2 (a bad input) or 1 (the converter) and one error line on stderr, never a traceback. The accepted forms are
tested as accepted at the end."""

import io
import json
import math
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from bad_inputs import CaseTable, check_case, no_hang
from conftest import tiny_config, tiny_sudoku_config
from safetensors.torch import load_file, save_file
from test_convert_original_checkpoint import IMAGE_SIZE, make_reference_state_dict, make_sudoku_state_dict
from transformers import AutoConfig, AutoModel, AutoModelForMaskedImageModeling, AutoModelForTokenClassification

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForMaskedImageModeling,
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
    HyperSETForMaskedTokenModeling,
    HyperSETForSudoku,
)
from hyperset_hf.release.model_card import model_card_from_output_dir, read_run_metadata, record_training_stage


REPOSITORY = Path(__file__).resolve().parents[1]
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
CONSTRUCTION = CaseTable()  # calls: `function()`
FOLDERS = CaseTable()  # broken saved folders: `function(root)`, root = the `saved` fixture
folder_case = FOLDERS.case
DELETE = object()  # `edit_config(..., key=DELETE)` removes the key


def _et_config(**overrides):
    values = dict(hidden_size=16, num_attention_heads=2, head_dim=8, num_memories=32, num_recurrences=2, image_size=16,
                  patch_size=4)  # fmt: skip
    return EnergyTransformerConfig(**{**values, **overrides})


# ---------------------------------------------------------------------------------------------------------------------
# Saved folders, reference checkpoints and a run folder, built once
# ---------------------------------------------------------------------------------------------------------------------


def mim_reference_state_dict(seed=0):
    """A reference `hyper-set` MIM state dict (`MaskTransformerUncond` key names): a tiny hyperset-hf masked token model
    with its weights renamed back through the converter's tables."""
    from hyperset_hf.release.convert import MIM_HYPERSET_KEYS, MIM_MODEL_KEYS

    torch.manual_seed(seed)
    sizes = dict(hidden_size=16, num_attention_heads=2, intermediate_size=16, time_embedding_size=16, codebook_size=8)
    config = HyperSETConfig.from_preset("mim", **sizes, token_grid_size=16, rms_norm_eps=None)
    model = HyperSETForMaskedTokenModeling(config)
    reference_names = {ours: reference for reference, ours in {**MIM_MODEL_KEYS, **MIM_HYPERSET_KEYS}.items()}
    return {reference_names[name]: value.clone() for name, value in model.state_dict().items()}


def reference_state_dicts():
    """A valid reference state dict per converter task."""
    return {
        "sudoku": make_sudoku_state_dict(),
        "image-classification": make_reference_state_dict(),
        "mim": mim_reference_state_dict(),
    }


# the options each converter task needs besides --task, --checkpoint and --output-dir
CONVERTER_OPTIONS = {
    "sudoku": [],
    "image-classification": ["--image-size", str(IMAGE_SIZE), "--num-recurrences", "2"],
    "mim": ["--num-recurrences", "2"],
}


RUN_METADATA = {
    "dataset": "fashion-mnist-local",
    "evaluation": "the first 500 test images",
    "stages": [
        {"stage": 1, "started_from": "scratch", "dataset": "fashion-mnist-local", "steps": 100, "epochs": 1.0,
         "wall_minutes": 1.5, "seed": 0, "date": "2026-12-01", "machine": "x86_64, 2 CPUs", "command": "python run.py"},
        {"stage": 2, "started_from": "outputs/one", "steps": 50, "wall_minutes": 0.5, "date": "2026-12-02",
         "machine": "x86_64, 2 CPUs", "command": "python run.py --again"},
    ],
}  # fmt: skip
RESULTS = {"eval_accuracy": 0.4875, "eval_loss": 1.25, "epoch": 1.0}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """root/sudoku, root/et, root/image (saved models), root/run (the image model with run metadata and metrics),
    root/mim-image (a masked image model), root/reference-<task>.pth (reference checkpoints)."""
    root = tmp_path_factory.mktemp("saved-files")
    torch.manual_seed(0)
    HyperSETForSudoku(tiny_sudoku_config()).save_pretrained(root / "sudoku")
    EnergyTransformerForMaskedImageModeling(_et_config()).save_pretrained(root / "et")
    HyperSETForImageClassification(tiny_config()).save_pretrained(root / "image")
    HyperSETForMaskedImageModeling(tiny_config()).save_pretrained(root / "mim-image")
    shutil.copytree(root / "image", root / "run")
    (root / "run" / "run_metadata.json").write_text(json.dumps(RUN_METADATA))
    (root / "run" / "all_results.json").write_text(json.dumps(RESULTS))
    for task, state_dict in reference_state_dicts().items():
        torch.save(state_dict, root / f"reference-{task}.pth")
        tensors = {name: value.contiguous() for name, value in state_dict.items()}
        save_file(tensors, root / f"reference-{task}.safetensors")
    return root


_copies = iter(range(10**6))


def broken_copy(root, source="sudoku", **files):
    """A fresh copy of the saved folder `root/source` with `files` written into it: `name=value` (underscores for
    dots: `config_json`), the value `bytes` (raw), `str` (text), `DELETE` (removed) or anything else (as JSON)."""
    folder = root / f"{source}-broken-{next(_copies)}"
    shutil.copytree(root / source, folder)
    for name, value in files.items():
        path = folder / name.replace("_json", ".json").replace("_safetensors", ".safetensors").replace("_md", ".md")
        if value is DELETE:
            path.unlink()
        elif isinstance(value, bytes):
            path.write_bytes(value)
        elif isinstance(value, str):
            path.write_text(value)
        else:
            path.write_text(json.dumps(value))
    return folder


def edit_config(root, source="sudoku", **changes):
    """A copy of `root/source` whose config.json has `changes` (`DELETE` removes a key)."""
    config = json.loads((root / source / "config.json").read_text())
    for key, value in changes.items():
        config.pop(key, None) if value is DELETE else config.__setitem__(key, value)
    return broken_copy(root, source, config_json=json.dumps(config))


def edit_weights(root, source="sudoku", edit=None):
    """A copy of `root/source` whose model.safetensors is rewritten by `edit(tensors: dict) -> dict`."""
    folder = broken_copy(root, source)
    tensors = load_file(folder / "model.safetensors")
    save_file(edit(dict(tensors)), folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def _first_weight(tensors):
    return sorted(tensors)[0]


# ---------------------------------------------------------------------------------------------------------------------
# config.json contents, both families (the model classes, the Auto classes and the config classes)
# ---------------------------------------------------------------------------------------------------------------------

MODEL_CLASS = {"sudoku": HyperSETForSudoku, "et": EnergyTransformerForMaskedImageModeling}

for family in ("sudoku", "et"):
    for name, changes, exception, fragments in [
        ("num-labels-zero", dict(num_labels=0, id2label=DELETE, label2id=DELETE), ValueError, ("num_labels", "0", "positive")),
        ("num-labels-negative", dict(num_labels=-3, id2label=DELETE, label2id=DELETE), ValueError, ("num_labels", "-3")),
        ("num-labels-string", dict(num_labels="9", id2label=DELETE, label2id=DELETE), ValueError, ("num_labels", "'9'")),
        ("id2label-empty", dict(id2label={}, label2id={}), ValueError, ("id2label", "num_labels >= 1")),
        ("id2label-bad-key", dict(id2label={"a": "x"}), ValueError, ("id2label", "'a'", "class indices")),
        ("hidden-size-string", dict(hidden_size="16"), TypeError, ("hidden_size", "'16'", "int")),
        ("hidden-size-float", dict(hidden_size=16.0), TypeError, ("hidden_size", "16.0", "int")),
        ("num-recurrences-null", dict(num_recurrences=None), TypeError, ("num_recurrences", "None", "int")),
        ("num-recurrences-list", dict(num_recurrences=[4]), TypeError, ("num_recurrences", "[4]")),
        ("num-recurrences-zero", dict(num_recurrences=0), ValueError, ("num_recurrences", "0", "positive")),
        ("num-recurrences-huge", dict(num_recurrences=10**9), ValueError, ("num_recurrences", "1000000000", "at most")),
        ("num-recurrences-true", dict(num_recurrences=True), Exception, ("num_recurrences", "True")),
        ("layer-norm-eps-nan", dict(layer_norm_eps=math.nan), ValueError, ("layer_norm_eps", "nan")),
        ("initializer-range-inf", dict(initializer_range=math.inf), ValueError, ("initializer_range", "inf")),
        ("architectures-string", dict(architectures="HyperSETForSudoku"), TypeError, ("architectures", "'HyperSETForSudoku'", "list")),
        ("no-model-type", dict(model_type=DELETE), ValueError, ("config.json", "no `model_type`", "must be")),
        ("bogus-model-type", dict(model_type="hyperset2"), ValueError, ("config.json", "'hyperset2'", "must be")),
    ]:
        folder_case(f"config/{family}/{name}", exception, *fragments)(
            lambda root, family=family, changes=changes: MODEL_CLASS[family].from_pretrained(
                edit_config(root, family, **changes)
            )
        )

for name, changes, exception, fragments in [
    ("energy-descent-weight-nan", dict(energy_descent_loss_weight=math.nan), ValueError, ("energy_descent_loss_weight", "nan")),
    ("hidden-act-unknown", dict(hidden_act="gelu2"), ValueError, ("hidden_act", "'gelu2'", "must be one of")),
    ("rms-eps-minus-inf", dict(rms_norm_eps=-math.inf), ValueError, ("rms_norm_eps", "-inf")),
    ("fixed-step-nan", dict(step_size_type="fixed", fixed_step_size=math.nan), ValueError, ("fixed_step_size", "nan")),
    ("lora-scale-string", dict(depthwise_lora_scale="4"), TypeError, ("depthwise_lora_scale", "'4'")),
    ("hidden-size-mismatch-weights", dict(hidden_size=32, intermediate_size=64), ValueError,
     ("shapes", "config.json", "do not belong together")),
]:  # fmt: skip
    folder_case(f"config/sudoku/{name}", exception, *fragments)(
        lambda root, changes=changes: HyperSETForSudoku.from_pretrained(edit_config(root, "sudoku", **changes))
    )

for name, changes, exception, fragments in [
    ("softmax-memory-negative-beta", dict(memory_type="softmax", memory_beta_init=-1.0), ValueError,
     ("memory_beta_init", "-1.0", "positive")),
    ("memory-beta-nan", dict(memory_beta_init=math.nan), ValueError, ("memory_beta_init", "nan", "finite")),
    ("step-size-nan", dict(step_size=math.nan), ValueError, ("step_size", "nan")),
    ("step-size-string", dict(step_size="0.1"), TypeError, ("step_size", "'0.1'", "float")),
    ("attention-beta-infinity", dict(attention_beta=math.inf), ValueError, ("attention_beta", "inf")),
    ("memory-type-unknown", dict(memory_type="tanh"), ValueError, ("memory_type", "'tanh'")),
    ("visible-loss-ratio-nan", dict(visible_loss_ratio=math.nan), ValueError, ("visible_loss_ratio", "nan")),
]:  # fmt: skip
    folder_case(f"config/et/{name}", exception, *fragments)(
        lambda root, changes=changes: EnergyTransformerForMaskedImageModeling.from_pretrained(
            edit_config(root, "et", **changes)
        )
    )


@folder_case("config/no-model-type-starts-no-prompt", ValueError, "model_type")
def _(root):  # `auto_map` would make transformers ask `[y/N]` for remote code: refused before any prompt
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("builtins.input", lambda *args: pytest.fail("an interactive prompt was started"))
        HyperSETForSudoku.from_pretrained(edit_config(root, "sudoku", model_type=DELETE))


@folder_case("config/config-class/no-model-type", ValueError, "config.json", "no `model_type`", "'hyperset'")
def _(root):
    HyperSETConfig.from_pretrained(edit_config(root, "sudoku", model_type=DELETE))


@folder_case("config/config-class/other-family", ValueError, "'energy_transformer'", "'hyperset'")
def _(root):
    HyperSETConfig.from_pretrained(root / "et")


@folder_case("config/other-family-folder", ValueError, "config.json", "'energy_transformer'", "'hyperset'")
def _(root):
    HyperSETForSudoku.from_pretrained(root / "et")


@folder_case("config/et-class-on-hyperset-folder", ValueError, "'hyperset'", "'energy_transformer'")
def _(root):
    EnergyTransformerForMaskedImageModeling.from_pretrained(root / "sudoku")


@folder_case("config/autoconfig-string-value", TypeError, "num_recurrences", "'4'")
def _(root):
    AutoConfig.from_pretrained(edit_config(root, "sudoku", num_recurrences="4"))


@folder_case("config/config-path-instead-of-folder", NotADirectoryError, "config.json", "pretrained_model_name_or_path")
def _(root):
    HyperSETForSudoku.from_pretrained(root / "sudoku" / "config.json")


@folder_case("config/auto-config-path-instead-of-folder", NotADirectoryError, "config.json", "pass its folder")
def _(root):
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) < Version("5.25"):  # older ones refuse a file path before our code runs
        pytest.skip(f"transformers {transformers.__version__} answers a file path itself (an OSError naming it)")
    AutoModelForTokenClassification.from_pretrained(root / "sudoku" / "config.json")


@folder_case("config/weights-path-instead-of-folder", NotADirectoryError, "model.safetensors", "pass its folder")
def _(root):
    EnergyTransformerForMaskedImageModeling.from_pretrained(root / "et" / "model.safetensors")


for name, content, exception, fragments in [
    ("invalid-json", "{'hidden_size': 16", ValueError, ("config.json", "not valid JSON", "line 1")),
    ("empty", "", ValueError, ("config.json", "empty")),
    ("whitespace-only", "  \n", ValueError, ("config.json", "empty")),
    ("non-utf8", b'{"model_type": "hyperset", "x": "\xff\xfe"}', ValueError, ("config.json", "UTF-8", "0xff")),
    ("byte-order-mark", b'\xef\xbb\xbf{"model_type": "hyperset"}', ValueError, ("config.json", "not valid JSON", "BOM")),
    ("json-array", [1, 2], ValueError, ("config.json", "array", "JSON object")),
    ("json-null", None, ValueError, ("config.json", "null", "JSON object")),
    ("json-number", 42, ValueError, ("config.json", "number", "42")),
    ("missing", DELETE, FileNotFoundError, ("config.json", "save_pretrained")),
]:  # fmt: skip
    folder_case(f"config-file/{name}", exception, *fragments)(
        lambda root, content=content: HyperSETForSudoku.from_pretrained(
            broken_copy(root, "sudoku", config_json=content if content is not None else "null")
        )
    )

for name, kwargs, fragments in [
    ("num-labels-zero", dict(num_labels=0), ("num_labels", "0", "positive")),
    ("num-labels-float", dict(num_labels=2.5), ("num_labels", "2.5")),
    ("num-labels-bool", dict(num_labels=True), ("num_labels", "True")),
    ("id2label-empty", dict(id2label={}), ("id2label", "num_labels >= 1")),
]:
    for family, build in (("hyperset", tiny_config), ("et", _et_config)):
        CONSTRUCTION.cases(
            f"construct/{family}", [(name, kwargs, fragments)], ValueError, lambda values, build=build: build(**values)
        )
CONSTRUCTION.cases(
    "construct/et",
    [
        ("softmax-negative-beta", dict(memory_type="softmax", memory_beta_init=-1.0), ("memory_beta_init", "-1.0", "positive")),
        ("softmax-tiny-negative-beta", dict(memory_type="softmax", memory_beta_init=-1e-9), ("memory_beta_init", "-1e-09")),
    ],
    ValueError,
    lambda kwargs: _et_config(**kwargs),
)
CONSTRUCTION.cases(
    "construct/override",
    [("num-labels-zero", dict(num_labels=0), ("num_labels", "0"))],
    ValueError,
    lambda kwargs: HyperSETConfig.from_dict(tiny_config().to_dict(), **kwargs),
)
CONSTRUCTION.cases(
    "construct/override",
    [
        ("num-recurrences-too-many", dict(num_recurrences=10**6), ("num_recurrences", "1000000", "at most")),
        ("architectures-string", dict(architectures="HyperSETModel"), ("architectures", "'HyperSETModel'", "list")),
    ],
    Exception,
    lambda kwargs: HyperSETConfig.from_dict(tiny_config().to_dict(), **kwargs),
)
for family, build in (("hyperset", tiny_config), ("et", _et_config)):
    CONSTRUCTION.cases(
        f"construct/{family}",
        [
            ("num-recurrences-too-many", dict(num_recurrences=10**7), ("num_recurrences", "10000000", "at most")),
            ("architectures-string", dict(architectures="Model"), ("architectures", "'Model'", "list")),
            ("architectures-numbers", dict(architectures=[1, 2]), ("architectures", "[1, 2]")),
            ("layer-norm-eps-bool", dict(layer_norm_eps=True), ("layer_norm_eps", "True")),
            ("initializer-range-nan", dict(initializer_range=math.nan), ("initializer_range", "nan")),
        ],
        Exception,
        lambda kwargs, build=build: build(**kwargs),
    )


# ---------------------------------------------------------------------------------------------------------------------
# model.safetensors contents
# ---------------------------------------------------------------------------------------------------------------------


def _truncated(fraction):
    def cut(root):
        data = (root / "sudoku" / "model.safetensors").read_bytes()
        return broken_copy(root, "sudoku", model_safetensors=data[: int(len(data) * fraction)])

    return cut


def _all_nan(tensors):
    return {name: torch.full_like(value, math.nan) for name, value in tensors.items()}


def _one_inf(tensors):
    name = _first_weight(tensors)
    tensors[name] = tensors[name].clone().view(-1).index_fill(0, torch.tensor([0]), math.inf).view(tensors[name].shape)
    return tensors


def _one_missing(tensors):
    tensors.pop("readout_norm.weight")
    return tensors


def _integer_weights(tensors):
    tensors["readout_norm.weight"] = tensors["readout_norm.weight"].to(torch.int32)
    return tensors


def _wrong_shape(tensors):
    tensors["readout_norm.weight"] = torch.ones(7)
    return tensors


def _bool_weights(tensors):
    tensors["readout_norm.weight"] = tensors["readout_norm.weight"] > 0
    return tensors


for name, build, fragments in [
    ("empty", lambda root: broken_copy(root, "sudoku", model_safetensors=b""), ("model.safetensors", "empty")),
    ("random-bytes", lambda root: broken_copy(root, "sudoku", model_safetensors=np.random.default_rng(0).bytes(4096)),
     ("model.safetensors", "not a safetensors file")),
    ("text", lambda root: broken_copy(root, "sudoku", model_safetensors="not weights at all"),
     ("model.safetensors", "not a safetensors file")),
    ("truncated-in-data", _truncated(0.6), ("model.safetensors", "truncated")),
    ("truncated-in-header", _truncated(0.002), ("model.safetensors", "truncated")),
    ("trailing-bytes", lambda root: broken_copy(
        root, "sudoku", model_safetensors=(root / "sudoku" / "model.safetensors").read_bytes() + b"\0" * 10),
     ("model.safetensors", "longer than its header")),
    ("header-not-object", lambda root: broken_copy(root, "sudoku", model_safetensors=(2).to_bytes(8, "little") + b"[]"),
     ("model.safetensors", "not a safetensors file")),
    ("all-nan", lambda root: edit_weights(root, "sudoku", _all_nan), ("nan or inf", "model.safetensors")),
    ("one-inf", lambda root: edit_weights(root, "sudoku", _one_inf), ("nan or inf", "1 nan")),
    ("missing-tensor", lambda root: edit_weights(root, "sudoku", _one_missing), ("missing", "readout_norm.weight")),
    ("integer-tensor", lambda root: edit_weights(root, "sudoku", _integer_weights), ("readout_norm.weight", "I32", "floating")),
    ("bool-tensor", lambda root: edit_weights(root, "sudoku", _bool_weights), ("readout_norm.weight", "BOOL")),
    ("wrong-shape", lambda root: edit_weights(root, "sudoku", _wrong_shape), ("readout_norm.weight", "(7,)", "(16,)")),
]:  # fmt: skip
    folder_case(f"weights/sudoku/{name}", ValueError, *fragments)(
        lambda root, build=build: HyperSETForSudoku.from_pretrained(build(root))
    )
    if name in ("all-nan", "truncated-in-data", "random-bytes"):
        folder_case(f"weights/auto-model/{name}", ValueError, *fragments[:1])(
            lambda root, build=build: AutoModel.from_pretrained(build(root))
        )


def _integer_embeddings(tensors):
    name = "hyperset.embeddings.digit_embeddings.weight"
    tensors[name] = tensors[name].to(torch.int64)
    return tensors


@folder_case("weights/auto-model/integer-tensor-of-the-base", ValueError, "digit_embeddings", "I64", "floating")
def _(root):  # the base model loads this tensor of a Sudoku folder (without the prefix `hyperset.`)
    AutoModel.from_pretrained(edit_weights(root, "sudoku", _integer_embeddings))


@folder_case("weights/unused-integer-tensor-is-not-read", ValueError, "nan or inf")
def _(root):  # an extra tensor the model does not load is ignored; the nan weights are still found
    folder = edit_weights(root, "sudoku", lambda tensors: {**_all_nan(tensors), "step": torch.tensor([3])})
    HyperSETForSudoku.from_pretrained(folder)


@folder_case("weights/shape-mismatch-is-also-transformers-runtime-error", RuntimeError, "readout_norm.weight", "(7,)")
def _(root):  # code written for transformers catches RuntimeError for mismatched sizes
    HyperSETForSudoku.from_pretrained(edit_weights(root, "sudoku", _wrong_shape))


@folder_case("card-api/fact-not-a-string", TypeError, "dataset", "42", "string")
def _(root):
    model_card_from_output_dir(root / "run", dataset=42)


@folder_case("card-api/metadata-stage-lacks-keys", ValueError, "run_metadata.json", "stages[0]", "lacks", "command")
def _(root):
    read_run_metadata(broken_copy(root, "run", run_metadata_json={"stages": [{"stage": 1, "started_from": "x"}]}))


@folder_case("card-api/unknown-kind", ValueError, "'nope'", "expected one of")
def _(root):
    model_card_from_output_dir(root / "run", "nope")


@folder_case("weights/et/all-nan", ValueError, "nan or inf")
def _(root):
    EnergyTransformerForMaskedImageModeling.from_pretrained(edit_weights(root, "et", _all_nan))


@pytest.mark.parametrize("name", sorted(CONSTRUCTION))
def test_bad_construction(name):
    check_case(*CONSTRUCTION[name])


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_bad_saved_folder(name, saved):
    function, exception, fragments = FOLDERS[name]
    check_case(function, exception, fragments, saved)


# ---------------------------------------------------------------------------------------------------------------------
# The converter: exit status 1 and one error line for a bad file or value, 2 for a bad option; no traceback; no
# `--trust-pickle` advice for a file that is not a pickle; nothing written
# ---------------------------------------------------------------------------------------------------------------------


def _reference_file(name, content):
    """`content(root) -> bytes | str | dict of tensors` written to root/name (dicts with torch.save, or with
    safetensors for a `.safetensors` name)."""

    def write(root):
        path = root / f"converter-{next(_copies)}-{name}"
        value = content(root)
        if isinstance(value, bytes):
            path.write_bytes(value)
        elif isinstance(value, str):
            path.write_text(value)
        elif name.endswith(".safetensors"):
            save_file({key: tensor.contiguous() for key, tensor in value.items()}, path)
        else:
            torch.save(value, path)
        return path

    return write


def _state_dict(task, edit=lambda tensors: tensors):
    return lambda root: edit(dict(torch.load(root / f"reference-{task}.pth", weights_only=True)))


def _legacy_pickle_truncated(root):
    buffer = io.BytesIO()
    torch.save(_state_dict("sudoku")(root), buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()[:-200]


def _zip_of_text(root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    return buffer.getvalue()


def _cut(task, suffix, fraction):
    def cut(root):
        data = (root / f"reference-{task}{suffix}").read_bytes()
        return data[: int(len(data) * fraction)]

    return cut


RANDOM_BYTES = np.random.default_rng(1).bytes(2048)
NOT_A_CHECKPOINT = ("not a PyTorch checkpoint", "starts with the bytes")
# (task, checkpoint writer, extra options, exit status, fragments that must be in the error, fragments that must not)
CONVERTER_CASES = {
    "random-bytes": ("sudoku", _reference_file("random.pth", lambda root: RANDOM_BYTES), [], 1, NOT_A_CHECKPOINT, ["trust-pickle"]),
    "random-bytes-trusted": ("sudoku", _reference_file("random.pth", lambda root: RANDOM_BYTES), ["--trust-pickle"], 1,
                             NOT_A_CHECKPOINT, ["trust-pickle"]),
    "random-bytes-mim": ("mim", _reference_file("random.ckpt", lambda root: RANDOM_BYTES), [], 1, NOT_A_CHECKPOINT, ["trust-pickle"]),
    "text-file": ("image-classification", _reference_file("notes.pth", lambda root: "hello"), [], 1, NOT_A_CHECKPOINT, ["trust-pickle"]),
    "empty-pth": ("sudoku", _reference_file("empty.pth", lambda root: b""), [], 1, ["empty", "0 bytes"], ["trust-pickle"]),
    "empty-pth-mim": ("mim", _reference_file("empty.pth", lambda root: b""), [], 1, ["empty", "0 bytes"], ["trust-pickle"]),
    "truncated-zip": ("sudoku", _reference_file("cut.pth", _cut("sudoku", ".pth", 0.5)), [], 1, ["truncated or corrupted"], ["trust-pickle"]),
    "truncated-zip-mim": ("mim", _reference_file("cut.pth", _cut("mim", ".pth", 0.7)), [], 1, ["truncated or corrupted"], ["trust-pickle"]),
    "truncated-zip-trusted": ("sudoku", _reference_file("cut.pth", _cut("sudoku", ".pth", 0.5)), ["--trust-pickle"], 1,
                              ["truncated or corrupted"], []),
    "truncated-legacy-pickle": ("sudoku", _reference_file("legacy.pth", _legacy_pickle_truncated), [], 1,
                                ["truncated or corrupted"], ["trust-pickle"]),
    "zip-of-text": ("sudoku", _reference_file("archive.pth", _zip_of_text), [], 1, ["truncated or corrupted"], ["trust-pickle"]),
    "random-safetensors": ("sudoku", _reference_file("random.safetensors", lambda root: RANDOM_BYTES), [], 1,
                           NOT_A_CHECKPOINT, ["trust-pickle"]),
    "truncated-safetensors": ("sudoku", _reference_file("cut.safetensors", _cut("sudoku", ".safetensors", 0.5)), [], 1,
                              ["truncated"], ["trust-pickle"]),
    "truncated-safetensors-mim": ("mim", _reference_file("cut.safetensors", _cut("mim", ".safetensors", 0.9)), [], 1,
                                  ["truncated"], []),
    "empty-safetensors": ("mim", _reference_file("empty.safetensors", lambda root: b""), [], 1, ["empty"], []),
    "all-nan-sudoku": ("sudoku", _reference_file("nan.pth", _state_dict("sudoku", _all_nan)), [], 1, ["nan or inf", "nan.pth"], []),
    "all-nan-mim": ("mim", _reference_file("nan.pth", _state_dict("mim", _all_nan)), [], 1, ["nan or inf"], []),
    "all-nan-safetensors": ("mim", _reference_file("nan.safetensors", _state_dict("mim", _all_nan)), [], 1, ["nan or inf"], []),
    "one-inf-image": ("image-classification", _reference_file("inf.pth", _state_dict("image-classification", _one_inf)), [], 1,
                      ["nan or inf"], []),
    "integer-weights": ("sudoku", _reference_file("int.pth", _state_dict("sudoku", lambda t: {k: v.long() for k, v in t.items()})),
                        [], 1, ["dtype", "int64", "floating"], []),
    "directory": ("sudoku", lambda root: root, [], 1, ["is a folder"], []),
    "missing": ("mim", lambda root: root / "no-such-checkpoint.pth", [], 1, ["not found", "no-such-checkpoint.pth"], []),
    "sudoku-as-mim": ("mim", lambda root: root / "reference-sudoku.pth", [], 1, ["MIM", "a Sudoku model", "--task sudoku"], []),
    "mim-as-sudoku": ("sudoku", lambda root: root / "reference-mim.pth", [], 1, ["Sudoku", "--task mim"], []),
    "image-as-mim": ("mim", lambda root: root / "reference-image-classification.pth", [], 1,
                     ["image classifier", "--task image-classification"], []),
    "image-mean-nan": ("image-classification", lambda root: root / "reference-image-classification.pth",
                       ["--image-mean", "nan", "0.5", "0.5"], 1, ["image_mean", "nan"], []),
    "image-std-zero": ("image-classification", lambda root: root / "reference-image-classification.pth",
                       ["--image-std", "0", "1", "1"], 1, ["image_std", "0.0", "positive"], []),
    "id2label-invalid-json": ("image-classification", lambda root: root / "reference-image-classification.pth",
                              ["--id2label-json", "{labels}"], 1, ["labels.json", "not valid JSON"], []),
    "num-recurrences-zero": ("mim", lambda root: root / "reference-mim.pth", ["--num-recurrences", "0"], 1, ["num_recurrences", "0"], []),
    "num-recurrences-word": ("sudoku", lambda root: root / "reference-sudoku.pth", ["--num-recurrences", "many"], 2, ["'many'"], []),
    "unknown-task": ("masked-image-modeling", lambda root: root / "reference-mim.pth", [], 2, ["invalid choice"], []),
    "empty-state-dict": ("sudoku", _reference_file("empty-dict.pth", lambda root: {}), [], 1, ["layout"], []),
    "tensor-not-dict": ("mim", _reference_file("tensor.pth", lambda root: torch.zeros(3)), [], 1,
                        ["checkpoint dictionary", "Tensor"], []),
    "list-not-dict": ("sudoku", _reference_file("list.pth", lambda root: [torch.zeros(3)]), [], 1,
                      ["checkpoint dictionary", "list"], []),
    "heads-zero": ("sudoku", lambda root: root / "reference-sudoku.pth", ["--num-attention-heads", "0"], 1,
                   ["num_attention_heads", "0", "positive"], []),
    "heads-contradict-weights": ("mim", lambda root: root / "reference-mim.pth", ["--num-attention-heads", "3"], 1,
                                 ["3"], []),
    "token-grid-zero": ("mim", lambda root: root / "reference-mim.pth", ["--token-grid-size", "0"], 1,
                        ["token_grid_size", "0"], []),
    "id2label-not-names": ("image-classification", lambda root: root / "reference-image-classification.pth",
                           ["--id2label-json", "{numbers}"], 1, ["--id2label-json", "class names"], []),
    "id2label-missing-file": ("image-classification", lambda root: root / "reference-image-classification.pth",
                              ["--id2label-json", "{missing}"], 1, ["no-labels.json", "does not exist"], []),
}  # fmt: skip


@pytest.mark.parametrize("output", ["file", "below-a-file"])
@pytest.mark.parametrize("task", ["sudoku", "mim"])
def test_converter_refuses_an_output_folder_that_is_a_file(task, output, saved, capsys):
    from hyperset_hf.release.convert import command_line

    blocker = saved / f"blocker-{task}-{output}"
    blocker.write_text("a file")
    output_dir = blocker if output == "file" else blocker / "converted"
    options = CONVERTER_OPTIONS[task]
    arguments = ["--task", task, "--checkpoint", str(saved / f"reference-{task}.pth"), "--output-dir", str(output_dir)]
    assert command_line(arguments + options) == 1
    error = capsys.readouterr().err
    assert "output_dir" in error and "is a file" in error and len(error.strip().splitlines()) == 1, error
    assert blocker.read_text() == "a file"


def test_the_converter_program_prints_one_line_without_a_traceback(saved):
    """`python -m hyperset_hf.release.convert` itself (its `__main__`), on random bytes."""
    import subprocess
    import sys

    checkpoint = saved / "random-for-the-program.pth"
    checkpoint.write_bytes(RANDOM_BYTES)
    completed = subprocess.run(
        [sys.executable, "-m", "hyperset_hf.release.convert", "--task", "mim", "--checkpoint", str(checkpoint),
         "--output-dir", str(saved / "never-written")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr and "trust-pickle" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a PyTorch checkpoint" in lines[0], completed.stderr
    assert not (saved / "never-written").exists()


def test_the_converter_is_installed_as_a_program():
    text = (REPOSITORY / "pyproject.toml").read_text()
    assert 'hyperset-hf-convert = "hyperset_hf.release.convert:command_line"' in text


@pytest.mark.parametrize("name", sorted(CONVERTER_CASES))
def test_converter_bad_input(name, saved, capsys):
    from hyperset_hf.release.convert import command_line

    task, checkpoint, extra, status, fragments, absent = CONVERTER_CASES[name]
    (saved / "labels.json").write_text("{'0': 'a'")
    (saved / "numbers.json").write_text(json.dumps([1, 2, 3, 4, 5]))
    paths = dict(labels=saved / "labels.json", numbers=saved / "numbers.json", missing=saved / "no-labels.json")
    extra = [item.format(**paths) for item in extra]
    options = CONVERTER_OPTIONS.get(task, [])
    output_dir = saved / f"converted-{name}"
    arguments = ["--task", task, "--checkpoint", str(checkpoint(saved)), "--output-dir", str(output_dir)]
    with no_hang():
        if status == 2:
            with pytest.raises(SystemExit) as info:
                command_line(arguments + options + extra)
            result = info.value.code
        else:
            result = command_line(arguments + options + extra)
    error = capsys.readouterr().err
    assert result == status, error
    assert "Traceback" not in error
    lines = [line for line in error.splitlines() if "error:" in line]
    assert len(lines) == 1, error
    missing = [fragment for fragment in fragments if fragment.lower() not in lines[0].lower()]
    assert not missing, f"{lines[0]!r} does not name {missing}"
    present = [fragment for fragment in absent if fragment.lower() in error.lower()]
    assert not present, f"{lines[0]!r} should not mention {present}"
    assert not output_dir.exists()


# ---------------------------------------------------------------------------------------------------------------------
# The command line on folders: `card`, `push`, `solve`
# ---------------------------------------------------------------------------------------------------------------------


def _run(**files):
    return lambda root: broken_copy(root, "run", **files)


def _stages(*edits):
    """RUN_METADATA with stage i updated by edits[i] (a dict; `DELETE` values remove keys)."""
    metadata = json.loads(json.dumps(RUN_METADATA))
    for stage, edit in zip(metadata["stages"], edits):
        for key, value in edit.items():
            stage.pop(key, None) if value is DELETE else stage.__setitem__(key, value)
    return metadata


NAN_METADATA = _stages({"wall_minutes": math.nan})
# name -> (command, folder builder, extra options, exit status, fragments of the one error line)
FOLDER_COMMANDS = {
    "metadata-array": ("card", _run(run_metadata_json=[]), [], 2, ["run_metadata.json", "JSON object", "[]"]),
    "metadata-null": ("card", _run(run_metadata_json="null"), [], 2, ["run_metadata.json", "null", "JSON object"]),
    "metadata-number": ("card", _run(run_metadata_json=42), [], 2, ["run_metadata.json", "42", "JSON object"]),
    "metadata-string": ("card", _run(run_metadata_json='"stages"'), [], 2, ["run_metadata.json", "string"]),
    "metadata-non-utf8": ("card", _run(run_metadata_json=b'{"dataset": "caf\xe9"}'), [], 2, ["run_metadata.json", "UTF-8", "0xe9"]),
    "metadata-invalid-json": ("card", _run(run_metadata_json="{stages: []}"), [], 2, ["run_metadata.json", "not valid JSON"]),
    "metadata-empty": ("card", _run(run_metadata_json=""), [], 2, ["run_metadata.json", "empty"]),
    "metadata-stages-string": ("card", _run(run_metadata_json={"stages": "abc"}), [], 2, ["run_metadata.json", "`stages`", "list"]),
    "metadata-stages-object": ("card", _run(run_metadata_json={"stages": {"stage": 1}}), [], 2, ["`stages`", "list"]),
    "metadata-empty-stage": ("card", _run(run_metadata_json={"stages": [{}]}), [], 2, ["run_metadata.json", "stages[0]", "lacks"]),
    "metadata-stage-number": ("card", _run(run_metadata_json={"stages": [42]}), [], 2, ["stages[0]", "42", "stage object"]),
    "metadata-stage-lacks-command": ("card", _run(run_metadata_json=_stages({}, {"command": DELETE})), [], 2,
                                     ["stages[1]", "lacks command"]),
    "metadata-steps-string": ("card", _run(run_metadata_json=_stages({"steps": "100"})), [], 2,
                              ["run_metadata.json", "stages[0].steps", "integer", '"100"']),
    "metadata-steps-negative": ("card", _run(run_metadata_json=_stages({"steps": -1})), [], 2, ["stages[0].steps", "-1", ">= 0"]),
    "metadata-wall-minutes-nan": ("card", _run(run_metadata_json=NAN_METADATA), [], 2, ["stages[0].wall_minutes", "nan", "finite"]),
    "metadata-stage-numbering": ("card", _run(run_metadata_json=_stages({}, {"stage": 1})), [], 2, ["stages[1].stage", "2"]),
    "metadata-date": ("card", _run(run_metadata_json=_stages({"date": "yesterday"})), [], 2, ["stages[0].date", "yesterday", "YYYY-MM-DD"]),
    "metadata-empty-command": ("card", _run(run_metadata_json=_stages({"command": ""})), [], 2, ["stages[0].command", "non-empty"]),
    "metadata-dataset-number": ("card", _run(run_metadata_json={**RUN_METADATA, "dataset": 42}), [], 2, ["`dataset`", "42", "string"]),
    "metadata-augment-string": ("card", _run(run_metadata_json=_stages({"augment": "yes"})), [], 2, ["stages[0].augment", "true or false"]),
    "metadata-is-a-folder": ("card", lambda root: _make_dir(broken_copy(root, "run", run_metadata_json=DELETE), "run_metadata.json"),
                             [], 2, ["run_metadata.json", "folder"]),
    "made-up-dataset": ("card", _run(), ["--dataset", "my made-up data!"], 2, ["dataset", "'my made-up data!'", "Hub dataset id"]),
    "bad-base-model": ("card", _run(), ["--base-model", "not a model id"], 2, ["base_model", "'not a model id'"]),
    "card-repo-id-without-namespace": ("card", _run(), ["--repo-id", "noslash"], 2, ["repo_id", "ORG/NAME", "'noslash'"]),
    "empty-dataset-fact": ("card", _run(), ["--dataset", ""], 2, ["dataset", "non-empty"]),
    "results-array": ("card", _run(all_results_json=[]), [], 2, ["all_results.json", "JSON object"]),
    "results-non-utf8": ("card", _run(all_results_json=b"\xff\xfe{}"), [], 2, ["all_results.json", "UTF-8"]),
    "results-metric-string": ("card", _run(all_results_json={"eval_accuracy": "high"}), [], 2, ["eval_accuracy", "high", "number"]),
    "results-metric-bool": ("card", _run(all_results_json={"eval_accuracy": True}), [], 2, ["eval_accuracy", "true", "number"]),
    "results-percent-not-fraction": ("card", _run(all_results_json={"eval_accuracy": 48.75}), [], 2,
                                     ["eval_accuracy", "48.75", "fraction"]),
    "results-loss-nan": ("card", _run(all_results_json={"eval_loss": math.nan}), [], 2, ["all_results.json", "eval_loss", "nan", "finite"]),
    "results-parameters-negative": ("card", _run(all_results_json={"model_num_parameters": -5}), [], 2,
                                    ["model_num_parameters", "-5", "positive"]),
    "eval-results-invalid": ("card", _run(eval_results_json="{"), [], 2, ["eval_results.json", "not valid JSON"]),
    "config-array": ("card", _run(config_json=[]), [], 2, ["config.json", "array", "JSON object"]),
    "config-no-model-type": ("card", lambda root: edit_config(root, "run", model_type=DELETE), [], 2, ["config.json", "model_type"]),
    "config-string-value": ("card", lambda root: edit_config(root, "run", hidden_size="x"), [], 2,
                            ["config.json", "hidden_size", "'x'"]),
    "config-architectures-string": ("card", lambda root: edit_config(root, "run", architectures="HyperSET"), [], 2,
                                    ["architectures", "list"]),
    "config-non-utf8": ("card", _run(config_json=b'{"model_type": "hyperset\xff"}'), [], 2, ["config.json", "UTF-8"]),
    "weights-garbage": ("card", _run(model_safetensors=b"\x00" * 100), [], 2, ["model.safetensors", "not a safetensors file"]),
    "model-dir-is-a-file": ("card", lambda root: root / "run" / "config.json", [], 2, ["config.json", "folder"]),
    "extrapolation-object": ("card", lambda root: _sudoku_run(root, extrapolation_json={}), [], 2,
                             ["extrapolation.json", "list"]),
    "extrapolation-string-accuracy": ("card", lambda root: _sudoku_run(root, extrapolation_json=[
        {"iterations": 4, "board_accuracy": "x", "cell_accuracy": 1.0, "validity": 1.0}]), [], 2,
        ["extrapolation.json", "board_accuracy", "percentage"]),
    "sudoku-made-up-test-set": ("card", lambda root: _sudoku_run(root), ["--test-set", "satnet"], 2,
                                ["test_set", "'satnet'", "did you mean 'satnet-like'"]),
    "push-metadata-array": ("push", _run(run_metadata_json=[]), ["--dry-run"], 2, ["run_metadata.json", "JSON object"]),
    "push-nan-weights": ("push", lambda root: edit_weights(root, "run", _all_nan), ["--dry-run"], 2, ["nan or inf"]),
    "push-no-model-type": ("push", lambda root: edit_config(root, "run", model_type=DELETE), ["--dry-run"], 2, ["model_type"]),
    "push-truncated-weights": ("push", lambda root: broken_copy(
        root, "run", model_safetensors=(root / "run" / "model.safetensors").read_bytes()[:-50]), ["--dry-run"], 2,
        ["model.safetensors", "truncated"]),
    "push-config-non-utf8": ("push", _run(config_json=b"\xff"), ["--dry-run"], 2, ["config.json", "UTF-8"]),
    "push-results-nan": ("push", _run(all_results_json={"eval_loss": math.nan}), ["--dry-run"], 2, ["eval_loss", "finite"]),
    "push-readme-non-utf8": ("push", _run(README_md=b"# card \xff"), ["--dry-run"], 2, ["README.md", "UTF-8"]),
    "push-readme-empty": ("push", _run(README_md=""), ["--dry-run"], 2, ["README.md", "empty"]),
    "push-card-missing": ("push", _run(), ["--dry-run", "--card", "/no/such/card.md"], 2, ["/no/such/card.md", "does not exist"]),
    "push-card-folder": ("push", _run(), ["--dry-run", "--card", "/"], 2, ["is a folder"]),
    "push-model-dir-file": ("push", lambda root: root / "run" / "config.json", ["--dry-run"], 2, ["config.json", "is a file"]),
    "push-shape-mismatch": ("push", lambda root: edit_config(root, "run", hidden_size=64, intermediate_size=96), ["--dry-run"],
                            2, ["shapes", "do not belong together"]),
    "card-weights-truncated": ("card", lambda root: broken_copy(
        root, "run", model_safetensors=(root / "run" / "model.safetensors").read_bytes()[:-50]), [], 2,
        ["model.safetensors", "truncated"]),
    "card-tokenizer-config-array": ("card", lambda root: _with_tokenizer(root, config_json=[]), [], 2,
                                    ["image_tokenizer", "config.json", "JSON object"]),
    "card-tokenizer-results-invalid": ("card", lambda root: _with_tokenizer(root, tokenizer_results_json="{"), [], 2,
                                       ["tokenizer_results.json", "not valid JSON"]),
    "card-tokenizer-metadata-null": ("card", lambda root: _with_tokenizer(root, run_metadata_json="null"), [], 2,
                                     ["image_tokenizer", "run_metadata.json", "null"]),
    "solve-no-model-type": ("solve", lambda root: edit_config(root, "sudoku", model_type=DELETE), [], 2,
                            ["config.json", "model_type", "'hyperset'"]),
    "solve-bogus-model-type": ("solve", lambda root: edit_config(root, "sudoku", model_type="bert"), [], 2, ["'bert'"]),
    "solve-config-path": ("solve", lambda root: root / "sudoku" / "config.json", [], 2, ["--model", "pass its folder"]),
    "solve-other-family": ("solve", lambda root: root / "et", [], 2, ["'energy_transformer'", "'hyperset'"]),
    "solve-invalid-config": ("solve", lambda root: broken_copy(root, "sudoku", config_json="{"), [], 2, ["config.json", "not valid JSON"]),
    "solve-nan-weights": ("solve", lambda root: edit_weights(root, "sudoku", _all_nan), [], 2, ["nan or inf"]),
}  # fmt: skip


def _make_dir(folder, name):
    (folder / name).mkdir()
    return folder


def _with_tokenizer(root, **files):
    """The run folder with an `image_tokenizer/` subfolder (a valid VQ config), then `files` written into that."""
    folder = broken_copy(root, "run")
    tokenizer = folder / "image_tokenizer"
    tokenizer.mkdir()
    config = {"_class_name": "VQModel", "sample_size": 16, "in_channels": 3, "num_vq_embeddings": 8}
    (tokenizer / "config.json").write_text(json.dumps(config))
    for name, value in files.items():
        path = tokenizer / name.replace("_json", ".json")
        path.write_text(value if isinstance(value, str) else json.dumps(value))
    return folder


def _sudoku_run(root, **files):
    """A Sudoku run folder: the saved tiny Sudoku model with a valid extrapolation.json, then `files`."""
    rows = [{"multiplier": 1.0, "iterations": 4, "board_accuracy": 10.0, "cell_accuracy": 60.0, "validity": 10.0}]
    folder = broken_copy(root, "sudoku", extrapolation_json=rows)
    for name, value in files.items():
        (folder / name.replace("_json", ".json")).write_text(json.dumps(value))
    return folder


@pytest.mark.parametrize("name", sorted(FOLDER_COMMANDS))
def test_command_line_on_bad_folder(name, saved, capsys, monkeypatch):
    from hyperset_hf.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("builtins.input", lambda *args: pytest.fail("an interactive prompt was started"))
    command, folder, extra, status, fragments = FOLDER_COMMANDS[name]
    folder = folder(saved)
    if command == "solve":
        argv = ["solve", PUZZLE, "--model", str(folder)]
    elif command == "push":
        argv = ["push", "--model-dir", str(folder), "--repo-id", "org/name"]
    else:
        argv = ["card", "--model-dir", str(folder)]
    with no_hang(), pytest.raises(SystemExit) as info:
        main(argv + extra)
    error = capsys.readouterr().err
    assert info.value.code == status, error
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, f"not one line: {error!r}"
    missing = [fragment for fragment in fragments if fragment.lower() not in error.lower()]
    assert not missing, f"{error!r} does not name {missing}"


def test_card_output_that_is_a_folder_is_one_error_line(saved, tmp_path, capsys):
    from hyperset_hf.cli import main

    with pytest.raises(SystemExit) as info:
        main(["card", "--model-dir", str(saved / "run"), "--output", str(tmp_path)])
    error = capsys.readouterr().err
    assert info.value.code == 2 and "cannot write --output" in error and len(error.strip().splitlines()) == 1, error


# ---------------------------------------------------------------------------------------------------------------------
# The accepted forms
# ---------------------------------------------------------------------------------------------------------------------


def _loads_and_matches(model, folder):
    reference = load_file(Path(folder) / "model.safetensors")
    state = model.state_dict()
    assert all(torch.equal(state[name].float(), value.float()) for name, value in reference.items())


def test_valid_folders_still_load_through_every_entry_point(saved):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a clean folder gives no misspelling warning
        _loads_and_matches(HyperSETForSudoku.from_pretrained(saved / "sudoku"), saved / "sudoku")
        _loads_and_matches(AutoModelForTokenClassification.from_pretrained(saved / "sudoku"), saved / "sudoku")
        _loads_and_matches(AutoModelForMaskedImageModeling.from_pretrained(saved / "et"), saved / "et")
        _loads_and_matches(EnergyTransformerForMaskedImageModeling.from_pretrained(str(saved / "et")), saved / "et")
        assert AutoConfig.from_pretrained(saved / "sudoku").num_recurrences == 4
        assert HyperSETConfig.from_pretrained(saved / "sudoku" / "config.json").num_labels == 9  # a config file: fine
    model, info = HyperSETForSudoku.from_pretrained(saved / "sudoku", output_loading_info=True)
    assert isinstance(model, HyperSETForSudoku) and not info["missing_keys"]


@pytest.mark.parametrize("family, typo, field", [("sudoku", "num_recurrence", "num_recurrences"),
                                                 ("et", "step_sizee", "step_size")])  # fmt: skip
def test_a_typo_key_in_config_json_gives_exactly_one_warning_naming_the_field(family, typo, field, saved):
    folder = edit_config(saved, family, **{typo: 8})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MODEL_CLASS[family].from_pretrained(folder)
    messages = [str(warning.message) for warning in caught if typo in str(warning.message)]
    assert len(messages) == 1, messages
    assert f"did you mean {field!r}" in messages[0]
    assert getattr(model.config, field) == getattr(MODEL_CLASS[family].from_pretrained(saved / family).config, field)


def test_whole_numbers_for_float_fields_and_half_precision_weights_are_accepted(saved):
    folder = edit_config(saved, "et", step_size=1, layer_norm_eps=1)  # JSON writers drop the ".0"
    config = EnergyTransformerForMaskedImageModeling.from_pretrained(folder).config
    assert config.step_size == 1 and config.layer_norm_eps == 1
    half = saved / "sudoku-half"
    HyperSETForSudoku.from_pretrained(saved / "sudoku").half().save_pretrained(half)
    model = HyperSETForSudoku.from_pretrained(half, dtype=torch.float32)
    assert all(torch.isfinite(parameter).all() for parameter in model.parameters())


def test_softmax_memories_with_a_positive_beta_and_relu_memories_with_any_finite_beta_are_accepted():
    assert _et_config(memory_type="softmax", memory_beta_init=0.5).memory_beta_init == 0.5
    assert _et_config(memory_type="relu_squared", memory_beta_init=-1.0).memory_type == "relu_squared"  # unused there
    assert tiny_config(num_labels=1).num_labels == 1


def test_whole_numbers_for_float_fields_are_accepted_when_constructing():
    config = _et_config(step_size=1, memory_beta_init=1, layer_norm_eps=1, visible_loss_ratio=0)
    assert (config.step_size, config.memory_beta_init, config.visible_loss_ratio) == (1, 1, 0)
    assert tiny_config(layer_norm_eps=1, initializer_range=1, embedding_dropout_prob=0).layer_norm_eps == 1
    assert tiny_config(num_recurrences=10_000).num_recurrences == 10_000  # the limit itself is allowed


def test_intended_mismatches_are_still_allowed(saved):
    # a head missing from a folder saved by another class is fine-tuning's start, not a broken file
    model = HyperSETForImageClassification.from_pretrained(saved / "mim-image")
    assert isinstance(model, HyperSETForImageClassification)
    # re-initialising mismatched shapes on purpose
    folder = edit_config(saved, "image", num_labels=3, id2label=DELETE, label2id=DELETE)
    model = HyperSETForImageClassification.from_pretrained(folder, ignore_mismatched_sizes=True)
    assert model.config.num_labels == 3
    # a model keyword that adds a weight (the mask token) to a folder saved by the same class
    from hyperset_hf import HyperSETModel

    HyperSETModel(tiny_config()).save_pretrained(saved / "base")
    assert HyperSETModel.from_pretrained(saved / "base", use_mask_token=True).embeddings.mask_token is not None
    # missing tensors when the caller asks for the loading info: initialised and listed
    incomplete = edit_weights(saved, "sudoku", _one_missing)
    model, info = HyperSETForSudoku.from_pretrained(incomplete, output_loading_info=True)
    assert info["missing_keys"] == {"readout_norm.weight"} or list(info["missing_keys"]) == ["readout_norm.weight"]


@pytest.mark.parametrize(
    "folder",
    ["src/hyperset_hf/checkpoints/hyperset-sudoku", "src/hyperset_hf/checkpoints/hyperset-mim",
     "src/hyperset_hf/checkpoints/hyperset-maskgit", "model_cards/runs/energy-transformer-yelpchi"],
)  # fmt: skip
def test_the_shipped_checkpoints_load_with_every_check(folder):
    import hyperset_hf

    config = json.loads((REPOSITORY / folder / "config.json").read_text())
    model_class = getattr(hyperset_hf, config["architectures"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no misspelt key in a shipped config.json
        model = model_class.from_pretrained(REPOSITORY / folder)
    assert type(model) is model_class


@pytest.mark.parametrize("task", ["sudoku", "mim", "image-classification"])
@pytest.mark.parametrize("suffix", [".pth", ".safetensors", "-legacy.pth", "-safetensors-named.pth"])
def test_converter_accepts_valid_checkpoints_in_every_format(task, suffix, saved, capsys):
    from hyperset_hf.release.convert import command_line

    checkpoint = saved / f"reference-{task}{suffix}"
    if suffix == "-legacy.pth":
        torch.save(reference_state_dicts()[task], checkpoint, _use_new_zipfile_serialization=False)
    if suffix == "-safetensors-named.pth":  # the format is read from the bytes, not the extension
        shutil.copyfile(saved / f"reference-{task}.safetensors", checkpoint)
    output_dir = saved / f"converted-ok-{task}{suffix}"
    arguments = ["--task", task, "--checkpoint", str(checkpoint), "--output-dir", str(output_dir)]
    assert command_line(arguments + CONVERTER_OPTIONS[task]) == 0, capsys.readouterr().err
    assert (output_dir / "model.safetensors").is_file()


def test_a_valid_run_folder_gives_the_published_card(capsys):
    from hyperset_hf.cli import main

    folder = REPOSITORY / "model_cards" / "runs" / "hyperset-fashion-mnist"
    assert main(["card", "--model-dir", str(folder), "--repo-id", "hyperset-hf/hyperset-fashion-mnist"]) == 0
    assert capsys.readouterr().out == (REPOSITORY / "model_cards" / "hyperset-fashion-mnist.md").read_text() + "\n"


def test_a_valid_run_folder_renders_every_stage(saved):
    card = model_card_from_output_dir(saved / "run", repo_id="org/run")
    assert "| 1 | scratch | fashion-mnist-local | 100 | 1.5 |" in card.text and "python run.py --again" in card.text
    assert [(result.metric_type, result.metric_value) for result in card.data.eval_results][0] == ("accuracy", 48.75)


def test_a_broken_start_folder_does_not_stop_recording_a_stage(saved, tmp_path):
    start = broken_copy(saved, "run", run_metadata_json=[])
    with pytest.warns(UserWarning, match="not carried on"):
        record_training_stage(tmp_path / "next", started_from=start, command="python run.py", steps=3)
    assert [stage["steps"] for stage in read_run_metadata(tmp_path / "next")["stages"]] == [3]


def test_the_tables_are_large():
    total = len(CONSTRUCTION) + len(FOLDERS) + len(CONVERTER_CASES) + len(FOLDER_COMMANDS) + 4
    assert total >= 150, total


@pytest.mark.parametrize("content", [b"", b"not a tensor file", b"PK\x03\x04truncated zip"])
def test_a_broken_satnet_tensor_file_is_named(tmp_path, content):
    from hyperset_hf.data.sudoku import load_satnet_tensors

    (tmp_path / "features.pt").write_bytes(content)
    (tmp_path / "labels.pt").write_bytes(content)
    with pytest.raises(ValueError) as error:
        load_satnet_tensors(tmp_path / "features.pt", tmp_path / "labels.pt")
    assert "features_path" in str(error.value) and "features.pt" in str(error.value)


def test_a_missing_satnet_tensor_file_is_named(tmp_path):
    from hyperset_hf.data.sudoku import load_satnet_tensors

    with pytest.raises(FileNotFoundError, match="`features_path`: .*missing.pt is not a file"):
        load_satnet_tensors(tmp_path / "missing.pt", tmp_path / "labels.pt")
