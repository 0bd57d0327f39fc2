# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Model cards rendered from a Jinja template (`model_card_template.md`) with `huggingface_hub.ModelCard.from_template`.

A card is a function of the files a training run leaves in its output folder, nothing else:

- `config.json` (read as plain JSON, so any config class works) and the weights' safetensors header (parameter count);
- `run_metadata.json`, written at training time by `record_training_stage`: the run's facts (dataset, evaluation set,
  notes, results file, base model) and one entry per training stage (exact command, start point, steps, wall time,
  machine, date, seed); a run started from a folder that has one carries its stages on;
- the metrics: Trainer's `all_results.json` / `eval_results.json` (`eval_*` values become the `model-index`), and for
  Sudoku `extrapolation.json` (board / cell accuracy at T, 2T, ... iterations, written by `run_sudoku.py`).

Every file is checked before anything is rendered (`check_model_config_values`, `check_run_metadata`,
`read_training_results`, `read_extrapolation`): a broken one raises one `ValueError` naming the file, the key and what
is expected, so that a card never states what the folder does not hold.

`model_card_from_output_dir(folder)` collects them and renders the card; `hyperset-hf card` is its command line. The
prose of every kind (`CARD_KINDS`) lives in the template; this module only gathers facts.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shlex
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..input_checks import (
    MODEL_TYPES,
    check_model_type,
    json_type_name,
    read_json_file,
    read_json_object,
    read_safetensors_header,
    read_saved_config,
)


TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")
RUN_METADATA_FILE = "run_metadata.json"
HUB_ORGANIZATION = "hyperset-hf"
# Run facts a caller may set or override when rendering (`model_card_from_output_dir(**facts)`, `hyperset-hf card`).
RUN_FACTS = ("dataset", "test_set", "evaluation", "notes", "results_file", "base_model")

# `--dataset_name` values of the example scripts -> (Hub dataset id for the card metadata, readable name).
KNOWN_DATASETS = {
    "fashion-mnist-local": ("zalando-datasets/fashion_mnist", "Fashion-MNIST"),
    "fashion_mnist": ("zalando-datasets/fashion_mnist", "Fashion-MNIST"),
    "zalando-datasets/fashion_mnist": ("zalando-datasets/fashion_mnist", "Fashion-MNIST"),
    "cifar10": ("uoft-cs/cifar10", "CIFAR-10"),
    "uoft-cs/cifar10": ("uoft-cs/cifar10", "CIFAR-10"),
    "cifar100": ("uoft-cs/cifar100", "CIFAR-100"),
    "uoft-cs/cifar100": ("uoft-cs/cifar100", "CIFAR-100"),
    "imagenet-1k": ("ILSVRC/imagenet-1k", "ImageNet-1k"),
    "ILSVRC/imagenet-1k": ("ILSVRC/imagenet-1k", "ImageNet-1k"),
    # graphs of `hyperset_hf.data.graphs` (not on the Hub)
    "yelpchi": (None, "YelpChi reviews (the UGFraud copy: ratings and dates stripped)"),
    "injected": (None, "a generated attributed graph with injected outliers"),
}


@dataclass(frozen=True)
class CardKind:
    """The metadata of one published model kind (its prose is the template's `kind` branch).

    Attributes:
        name (`str`): the `--kind` value, e.g. `"mim"`.
        family (`str`): `"hyperset"` or `"energy_transformer"` (the paper cited first).
        pipeline_tag (`str`): the Hub pipeline tag.
        auto_class (`str`): the transformers Auto class of the head.
        task_type, task_name (`str`): the model-index task.
        metrics (`tuple` of `(key, name)`): eval metrics reported, keys without the `eval_` prefix, in order.
        tags (`tuple[str]`): Hub tags besides the shared ones.
        percent_metrics (`tuple[str]`): metrics stored as fractions and reported in %.
    """

    name: str
    family: str
    pipeline_tag: str
    auto_class: str
    task_type: str
    task_name: str
    metrics: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    percent_metrics: tuple[str, ...] = ()


_SHARED_TAGS = ("hyperset-hf", "energy-based-model", "recurrent-depth", "custom_code")
_IMAGE_RECONSTRUCTION_METRICS = (
    ("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("psnr_masked", "PSNR on masked patches (dB)")
)  # fmt: skip

CARD_KINDS: dict[str, CardKind] = {
    kind.name: kind
    for kind in (
        CardKind("sudoku", "hyperset", "token-classification", "AutoModelForTokenClassification", "sudoku-solving",
                 "Sudoku solving", (("board_accuracy", "board accuracy"), ("cell_accuracy", "cell accuracy")),
                 ("hyper-set", "sudoku")),
        CardKind("mim", "hyperset", "image-feature-extraction", "AutoModelForMaskedImageModeling",
                 "masked-image-modeling", "Masked image modeling",
                 (("loss", "L1 loss on masked pixels"),) + _IMAGE_RECONSTRUCTION_METRICS,
                 ("hyper-set", "masked-image-modeling", "vision")),
        CardKind("image-classification", "hyperset", "image-classification", "AutoModelForImageClassification",
                 "image-classification", "Image classification",
                 (("accuracy", "accuracy (%)"), ("loss", "cross-entropy loss")),
                 ("hyper-set", "image-classification", "vision"), percent_metrics=("accuracy",)),
        CardKind("energy-transformer", "energy_transformer", "image-feature-extraction",
                 "AutoModelForMaskedImageModeling", "masked-image-modeling", "Masked image modeling",
                 (("loss", "loss on masked patches"),) + _IMAGE_RECONSTRUCTION_METRICS,
                 ("energy-transformer", "hopfield", "masked-image-modeling", "vision")),
        CardKind("masked-token-modeling", "hyperset", "image-to-image", "AutoModelForMaskedLM",
                 "masked-image-modeling", "Masked image modeling (MaskGIT-style token completion)",
                 (("masked_token_accuracy", "masked-token accuracy (%)"), ("psnr", "PSNR of the completed image (dB)"),
                  ("ssim", "SSIM of the completed image"), ("masked_region_psnr", "PSNR on the hidden tokens' pixels (dB)"),
                  ("tokenizer_psnr", "PSNR of the tokenizer's reconstruction (dB), the ceiling")),
                 ("hyper-set", "masked-image-modeling", "maskgit", "vision"),
                 percent_metrics=("masked_token_accuracy",)),
        CardKind("node-classification", "energy_transformer", "graph-ml", "AutoModelForTokenClassification",
                 "node-classification", "Graph anomaly detection (node classification)",
                 (("macro_f1", "macro-F1 (%)"), ("auc", "AUC (%)")),
                 ("energy-transformer", "hopfield", "graph-anomaly-detection", "node-classification"),
                 percent_metrics=("macro_f1", "auc")),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------------
# Run metadata, written at training time
# ---------------------------------------------------------------------------------------------------------------------


def machine_description() -> str:
    """E.g. `"x86_64, 2 CPUs, torch 2.13.0+cpu, no GPU"`."""
    import torch

    device = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}{device}"


def read_json(path: str | os.PathLike, expected: str = "a JSON file") -> Any:
    """The parsed JSON file `path`; see `hyperset_hf.input_checks.read_json_file` for the errors (each names the
    file: missing, a folder, empty, not UTF-8, not JSON)."""
    return read_json_file(path, expected)


# The schema of `run_metadata.json` (what `record_training_stage` writes): value checks by key. A check returns None
# when the value is right, else what is expected. Keys not listed are the scripts' own and are not checked.
def _text(value):
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def _optional_text(value):
    return None if value is None else _text(value)


def _count(value):
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "an integer >= 0"


def _integer(value):
    return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"


def _number(value):
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if finite and value >= 0 else "a finite number >= 0"


def _optional_number(value):
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if value is None or finite else "a finite number or null"


def _date(value):
    return None if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else "a date YYYY-MM-DD"


def _flag(value):
    return None if isinstance(value, bool) else "true or false"


def _checkpoint(value):
    return None if value is None or isinstance(value, bool) or _text(value) is None else "a path, true/false or null"


RUN_FACT_CHECKS = {fact: _optional_text for fact in RUN_FACTS}
STAGE_REQUIRED_CHECKS = {"stage": _count, "started_from": _text, "date": _date, "machine": _text, "command": _text}
STAGE_OPTIONAL_CHECKS = {
    **RUN_FACT_CHECKS, "steps": _count, "epochs": _number, "wall_minutes": _number, "seed": _integer,
    "train_puzzles": _count, "batch_size": _count, "augment": _flag, "learning_rate": _number,
    "train_loss": _optional_number, "resumed_from_checkpoint": _checkpoint, "tokenizer": _optional_text,
    "preset": _optional_text,
}  # fmt: skip


def _describe(value) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({json_type_name(value)})"


def check_run_metadata(metadata: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Checks the contents of a `run_metadata.json` (`path` is named in the errors) and returns it.

    Accepted: a JSON object with optional run facts (`RUN_FACTS`: strings or null) and `stages`, a list of stage
    objects, each with `stage` (its position, 1, 2, ...), `started_from`, `machine`, `command` (non-empty strings) and
    `date` (`YYYY-MM-DD`), and optionally the values of `STAGE_OPTIONAL_CHECKS` (counts, finite numbers, strings);
    other keys are kept unchecked.

    Raises:
        `ValueError`: one line naming the file, the key (e.g. `stages[1].steps`), the value and what is expected.
    """

    def refuse(key, value, expected):
        raise ValueError(f"{os.fspath(path)}: `{key}` must be {expected}, got {_describe(value)}.")

    if not isinstance(metadata, dict):
        refuse("(top level)", metadata, "a JSON object with run facts and `stages` (written by record_training_stage)")
    for fact, check in RUN_FACT_CHECKS.items():
        if fact in metadata and (expected := check(metadata[fact])):
            refuse(fact, metadata[fact], expected)
    stages = metadata.get("stages", [])
    if not isinstance(stages, list):
        refuse("stages", stages, "a list of stage objects")
    for position, stage in enumerate(stages, start=1):
        name = f"stages[{position - 1}]"
        if not isinstance(stage, dict):
            refuse(name, stage, "a stage object with stage, started_from, date, machine and command")
        missing = [key for key in STAGE_REQUIRED_CHECKS if key not in stage]
        if missing:
            keys = ", ".join(STAGE_REQUIRED_CHECKS)
            refuse(name, stage, f"a stage object with {keys}; it lacks {', '.join(missing)}")
        for key, check in {**STAGE_REQUIRED_CHECKS, **STAGE_OPTIONAL_CHECKS}.items():
            if key in stage and (expected := check(stage[key])):
                refuse(f"{name}.{key}", stage[key], expected)
        if stage["stage"] != position:
            refuse(f"{name}.stage", stage["stage"], f"{position} (the stages are numbered in order from 1)")
    return metadata


def read_run_metadata(model_dir: str | os.PathLike | None) -> dict[str, Any]:
    """The folder's `run_metadata.json`, checked by `check_run_metadata` (`{"stages": []}` when the folder has none,
    e.g. a model from elsewhere, or when `model_dir` is `None`).

    Accepted: `model_dir` as a `str` or `os.PathLike` folder, or `None`. Raises `ValueError` naming the file and the
    key for a file that is not JSON or breaks the schema."""
    path = Path(model_dir or "") / RUN_METADATA_FILE
    if not model_dir or not path.exists():
        return {"stages": []}
    metadata = check_run_metadata(read_json(path, "the run metadata written by record_training_stage"), path)
    metadata.setdefault("stages", [])
    return metadata


def script_command(script: str | os.PathLike, argv: list[str] | None = None) -> str:
    """The shell command of a script run as `main(argv)` (`argv=None`: from the shell, `sys.argv[1:]`), with the
    script's path relative to the working directory when it is below it."""
    script = Path(script).resolve()
    if script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    return shlex.join(["python", str(script)] + list(sys.argv[1:] if argv is None else argv))


def record_training_stage(
    output_dir: str | os.PathLike, started_from: str | os.PathLike | None = None, command: str | None = None,
    **stage: Any,
) -> dict[str, Any]:
    """Appends this training run as a stage to `output_dir/run_metadata.json` and returns the metadata.

    The stages of the folder the run started from (`started_from`, e.g. `--model_name_or_path`) come first, so a
    model trained in several runs carries its whole history. Each stage records the exact command (`command`,
    e.g. from `script_command`; default: this process's `sys.argv`), the start point,
    the date and the machine, plus `stage` (whatever the script knows: dataset, steps, wall minutes, seed, ...).
    Run facts (`RUN_FACTS`: `dataset`, `evaluation`, ...) given in `stage` are also stored at the top level.

    Accepted: `output_dir` and `started_from` as `str` or `os.PathLike` (`started_from` may also be a Hub id or
    `None`); `stage` values that JSON can store. The stage is written at the end of a training run, so a broken
    `run_metadata.json` in `started_from` does not stop it: a `UserWarning` says why its stages are not carried on.
    """
    try:
        metadata = read_run_metadata(started_from if started_from and os.path.isdir(started_from) else None)
    except (ValueError, OSError) as error:
        warnings.warn(f"{error} The stages of {started_from} are not carried on.", UserWarning, stacklevel=2)
        metadata = {"stages": []}
    for key in ("evaluation", "notes", "results_file"):  # they describe the earlier model, not this one
        metadata.pop(key, None)
    for key in RUN_FACTS:
        if stage.get(key) is not None:
            metadata[key] = stage[key]
    metadata["stages"].append(
        {
            "stage": len(metadata["stages"]) + 1,
            "started_from": str(started_from) if started_from else "scratch",
            **stage,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "machine": machine_description(),
            "command": command or shlex.join(["python"] + sys.argv),
        }
    )
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / RUN_METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


# ---------------------------------------------------------------------------------------------------------------------
# Facts of a trained model
# ---------------------------------------------------------------------------------------------------------------------


def read_model_config(model_dir: str | os.PathLike) -> dict[str, Any]:
    """The `config.json` of a saved model folder as a plain dict (any config class).

    Accepted: the folder as a `str` or `os.PathLike`. Raises `NotADirectoryError` for a file (its folder is named),
    `FileNotFoundError` for a folder without `config.json`, `ValueError` naming the file when it is not a readable
    JSON object (see `hyperset_hf.input_checks.read_saved_config`)."""
    return read_saved_config(model_dir, model_types=None, parameter="model_dir")


def check_model_config_values(config: dict[str, Any], path: str | os.PathLike) -> None:
    """Checks a hyperset-hf `config.json` (`path` is named in the errors) with its config class, as loading the
    model would: `model_type` one of `MODEL_TYPES`, every field of the right type and in range. Raises `ValueError`
    (or `TypeError` for a value of the wrong JSON type) naming the file, the field and the value."""
    from .. import EnergyTransformerConfig, HyperSETConfig

    check_model_type(config, path, MODEL_TYPES)
    config_class = {"hyperset": HyperSETConfig, "energy_transformer": EnergyTransformerConfig}[config["model_type"]]
    try:
        config_class.from_dict(dict(config))
    except (TypeError, ValueError) as error:
        raise type(error)(f"{os.fspath(path)}: {' '.join(str(error).split())}") from None


def first_architecture(config: dict[str, Any]) -> str:
    """`config["architectures"][0]` (`""` without one); a value that is not a list of class names is refused."""
    architectures = config.get("architectures") or [""]
    if not isinstance(architectures, list) or not all(isinstance(name, str) for name in architectures):
        raise ValueError(f"config.json: `architectures` must be a list of class names, got {architectures!r:.80}.")
    return architectures[0]


def infer_card_kind(config: dict[str, Any]) -> str:
    """The card kind of a saved model from its `config.json`: `"node-classification"` for graph models,
    `"energy-transformer"` for other `model_type="energy_transformer"` models, `"sudoku"` for Sudoku models,
    `"masked-token-modeling"` for visual-token models, else from the head in `architectures`.

    Accepted: the config as a dict (`read_model_config`), `architectures` a list of class names or absent; a
    `ValueError` says when the kind cannot be told."""
    architecture = first_architecture(config)
    if architecture.endswith("ForNodeClassification"):
        return "node-classification"
    if config.get("model_type") == "energy_transformer":
        return "energy-transformer"
    if config.get("input_type") == "sudoku":
        return "sudoku"
    if config.get("input_type") == "visual_tokens":
        return "masked-token-modeling"
    if architecture.endswith("ForMaskedImageModeling"):
        return "mim"
    if architecture.endswith("ForImageClassification"):
        return "image-classification"
    raise ValueError(
        f"cannot tell the model-card kind of architecture {architecture!r} (model_type "
        f"{config.get('model_type')!r}); pass kind= / --kind explicitly"
    )


def read_training_results(model_dir: str | os.PathLike) -> dict[str, Any]:
    """The metrics Trainer saved in `model_dir`: `all_results.json` updated with `eval_results.json` (both
    optional; `{}` when neither exists).

    Accepted: each file a JSON object whose numbers are finite (strings and other values are kept as they are);
    `model_num_parameters`, if present, a positive integer. Raises `ValueError` naming the file and the key."""
    results: dict[str, Any] = {}
    for name in ("all_results.json", "eval_results.json"):
        path = Path(model_dir) / name
        if not path.exists():
            continue
        values = read_json(path, "the metrics Trainer saved, a JSON object")
        if not isinstance(values, dict):
            raise ValueError(f"{path}: the file must hold a JSON object of metrics, got {_describe(values)}.")
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{path}: `{key}` must be a finite number, got {value!r}.")
            if key == "model_num_parameters" and (_count(value) or not value):
                raise ValueError(f"{path}: `{key}` must be a positive integer, got {_describe(value)}.")
        results.update(values)
    return results


def read_extrapolation(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Reads `extrapolation.json` (a list of {multiplier, iterations, board_accuracy, cell_accuracy, validity}, in %)
    from a training output folder or the file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "extrapolation.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run examples/sudoku/run_sudoku.py with --do_eval first.")
    rows = read_json(path, "the extrapolation rows written by run_sudoku.py")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path}: the file must hold a list of row objects, got {_describe(rows)}.")
    for index, row in enumerate(rows):
        missing = {"iterations", "board_accuracy", "cell_accuracy", "validity"} - set(row)
        if missing:
            raise ValueError(f"{path}: row {row} lacks {sorted(missing)}.")
        if _count(row["iterations"]) or not row["iterations"]:
            iterations = _describe(row["iterations"])
            raise ValueError(f"{path}: `[{index}].iterations` must be a positive integer, got {iterations}.")
        for key in ("board_accuracy", "cell_accuracy", "validity"):
            if _number(row[key]) or row[key] > 100:
                raise ValueError(f"{path}: `[{index}].{key}` must be a percentage 0-100, got {_describe(row[key])}.")
    return rows


DECODING_FILE = "decoding.json"


def read_decoding(path: str | os.PathLike) -> dict[str, Any]:
    """Reads `decoding.json` (what `benchmarks/sudoku_decoding.py --output` writes: `num_puzzles`, `split` and `rows`,
    each row {set, protocol, copies, selector, board_accuracy, cell_accuracy, mean_iterations, max_iterations}, in %)
    from a model folder or the file itself. A broken file raises one `ValueError` naming the file, the row and the
    key."""
    path = Path(path)
    path = path / DECODING_FILE if path.is_dir() else path
    decoding = read_json(path, "the decoding results written by benchmarks/sudoku_decoding.py")
    rows = decoding.get("rows") if isinstance(decoding, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path}: the file must be an object whose `rows` is a non-empty list of row objects.")
    checks = {"set": _text, "protocol": _text, "copies": _count, "mean_iterations": _number, "max_iterations": _count,
              "board_accuracy": _number, "cell_accuracy": _number}  # fmt: skip
    for index, row in enumerate(rows):
        for key, check in checks.items():
            problem = "present" if key not in row else check(row[key])
            if problem is None and key.endswith("accuracy") and not 0 <= row[key] <= 100:
                problem = "a percentage 0-100"
            if problem is not None:
                raise ValueError(f"{path}: `rows[{index}].{key}` must be {problem}, got {_describe(row.get(key))}.")
    if _count(decoding.get("num_puzzles")) or not decoding["num_puzzles"]:
        raise ValueError(f"{path}: `num_puzzles` must be a positive integer, got {_describe(decoding.get('num_puzzles'))}.")
    return decoding


def count_safetensors_parameters(model_dir: str | os.PathLike, pattern: str = "model*.safetensors") -> int | None:
    """Number of values in the folder's weight files (`pattern`: transformers' `model*.safetensors` by default,
    `diffusion_pytorch_model*.safetensors` for diffusers), read from the headers only; `None` without weights."""
    files = sorted(Path(model_dir).glob(pattern))
    if not files:
        return None
    return sum(math.prod(shape) for file in files for _, shape in read_safetensors_header(file).values())


def read_image_tokenizer(model_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The facts of the image tokenizer kept in `model_dir/image_tokenizer/` (a diffusers VQ model folder, see
    `hyperset_hf.maskgit.IMAGE_TOKENIZER_SUBFOLDER`): its `config`, `num_parameters`, `results`
    (`tokenizer_results.json` of `train_vq_tokenizer.py`) and `stages` (its `run_metadata.json`); None without one."""
    from ..maskgit import IMAGE_TOKENIZER_SUBFOLDER

    folder = Path(model_dir) / IMAGE_TOKENIZER_SUBFOLDER
    if not (folder / "config.json").is_file():
        return None
    results_path = folder / "tokenizer_results.json"
    return {
        "config": read_saved_config(folder, model_types=None, parameter="image_tokenizer"),
        "num_parameters": count_safetensors_parameters(folder, "diffusion_pytorch_model*.safetensors"),
        "results": read_json_object(results_path, "the tokenizer's results") if results_path.exists() else {},
        "stages": read_run_metadata(folder)["stages"],
    }


def _iterations(config: dict[str, Any]) -> tuple[str, int | None]:
    for name in ("num_recurrences", "num_iterations", "num_steps"):
        if isinstance(config.get(name), int):
            return name, config[name]
    return "num_recurrences", None


def _round(value: float) -> float:
    return round(float(value), 4)


def _eval_results(kind: CardKind, config, results, extrapolation, dataset_id, dataset_name) -> list[EvalResult]:
    """The model-index: one entry per reported metric (for Sudoku, per metric and number of iterations)."""
    iteration_field, iterations = _iterations(config)
    measured = []  # (key, name, value, iterations)
    if kind.name == "sudoku":
        for row in extrapolation:
            measured += [
                (key, f"{name} at {row['iterations']} iterations", row[key], row["iterations"])
                for key, name in kind.metrics
            ]
    else:
        for key, name in kind.metrics:
            value = results.get(f"eval_{key}")
            if isinstance(value, (int, float)):
                measured.append((key, name, value * (100 if key in kind.percent_metrics else 1), iterations))
    return [
        EvalResult(
            task_type=kind.task_type, task_name=kind.task_name, dataset_type=dataset_id or "custom",
            dataset_name=dataset_name or "evaluation set", dataset_split="test", metric_type=key, metric_name=name,
            metric_value=_round(value), metric_config=f"{iteration_field}={count}" if count is not None else None,
        )
        for key, name, value, count in measured
    ]  # fmt: skip


def _check_datasets_and_ids(run: dict[str, Any], kind: str, repo_id: str | None) -> None:
    """The facts a card turns into Hub metadata: `dataset` (not Sudoku) a known `--dataset_name` or a Hub dataset id,
    `test_set` (Sudoku) a generated set or a CSV file, `base_model` and `repo_id` Hub ids; `ValueError` otherwise."""
    import difflib

    from huggingface_hub.utils import HFValidationError, validate_repo_id

    def hub_id(name, value, what):
        try:
            validate_repo_id(value)
        except HFValidationError:
            raise ValueError(f"`{name}` must be {what}, got {value!r}.") from None

    if kind == "sudoku":
        from ..data.sudoku import SUDOKU_BENCHMARKS

        test_set = run.get("test_set")
        if test_set and test_set not in SUDOKU_BENCHMARKS and not test_set.endswith((".csv", ".csv.gz")):
            close = difflib.get_close_matches(test_set, SUDOKU_BENCHMARKS, 1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ValueError(
                f"`test_set` must be a generated Sudoku set ({', '.join(SUDOKU_BENCHMARKS)}) or a CSV file, got "
                f"{test_set!r}{hint}"
            )
    elif run.get("dataset") and run["dataset"] not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        hub_id("dataset", run["dataset"], f"a --dataset_name the examples know ({known}) or a Hub dataset id")
    if run.get("base_model"):
        hub_id("base_model", run["base_model"], "a Hub model id such as ORG/NAME")
    if repo_id is not None:
        if not isinstance(repo_id, str) or repo_id.count("/") != 1:
            raise ValueError(f"`repo_id` must look like ORG/NAME (a namespace and a name), got {repo_id!r}.")
        hub_id("repo_id", repo_id, "a Hub model id such as ORG/NAME")


def _check_reported_metrics(kind: CardKind, results: dict[str, Any], model_dir: Path) -> None:
    """The metrics the card reports for `kind` are numbers, and the ones reported in % are stored as fractions 0-1
    (as Trainer's `compute_metrics` returns them): `ValueError` naming the key otherwise."""
    files = f"{model_dir / 'all_results.json'} / eval_results.json"
    for key, _ in kind.metrics:
        value = results.get(f"eval_{key}")
        if value is None:
            continue
        if _optional_number(value):
            raise ValueError(f"{files}: `eval_{key}` must be a finite number, got {_describe(value)}.")
        if key in kind.percent_metrics and not 0 <= value <= 1:
            raise ValueError(
                f"{files}: `eval_{key}` must be a fraction 0-1 (the card reports it in %), got {value!r}."
            )


def model_card_from_output_dir(
    model_dir: str | os.PathLike,
    kind: str | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
    template_path: str | os.PathLike = TEMPLATE_PATH,
    **facts: Any,
) -> ModelCard:
    """Renders the model card of a trained model from its output folder (see the module docstring).

    Args:
        model_dir: a folder with `config.json`, and as far as the run wrote them `run_metadata.json`, the weights,
            `all_results.json` / `eval_results.json` and (Sudoku) `extrapolation.json`.
        kind (`str`, *optional*): one of `CARD_KINDS`; inferred from `config.json` by default.
        repo_id (`str`, *optional*): the Hub id used in the snippets; defaults to `hyperset-hf/<folder name>`.
        license (`str`, *optional*, defaults to `"apache-2.0"`).
        template_path (*optional*): another Jinja template (it receives the same variables).
        facts: run facts that override `run_metadata.json` (`RUN_FACTS`): `dataset` (a `--dataset_name` or Hub id),
            `test_set` (Sudoku), `evaluation` (what the metrics were measured on), `notes`, `results_file`,
            `base_model`.

    Everything read is checked first, so that a card never states what the folder does not support: `config.json`
    with its config class (`check_model_config_values`), `run_metadata.json` with `check_run_metadata`, the metrics
    files with `read_training_results` (a reported metric must be a number; fractions for the metrics reported in %),
    `extrapolation.json` with `read_extrapolation`, and the facts: strings; `dataset` a known `--dataset_name` or a
    Hub dataset id (Sudoku: any description), `test_set` (Sudoku) a generated set of
    `hyperset_hf.data.sudoku.SUDOKU_BENCHMARKS` or a CSV file, `base_model` and `repo_id` Hub ids.

    Raises:
        `ValueError`: for an unknown kind or fact, or a file or fact that breaks the above (one line naming the file
        or fact, the key and what is expected); `TypeError`: a fact that is not a string;
        `FileNotFoundError`: for a folder without `config.json`; `NotADirectoryError`: for a file instead of a folder.
    """
    unknown = sorted(set(facts) - set(RUN_FACTS))
    if unknown:
        raise ValueError(f"unknown card facts {unknown}; expected some of {list(RUN_FACTS)}")
    for fact, value in facts.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"the card fact `{fact}` must be a string, got {value!r} ({type(value).__name__}).")
    model_dir = Path(model_dir)
    config = read_model_config(model_dir)
    kind = kind or infer_card_kind(config)
    if kind not in CARD_KINDS:
        raise ValueError(f"unknown card kind {kind!r}; expected one of {sorted(CARD_KINDS)}")
    check_model_config_values(config, model_dir / "config.json")
    card_kind = CARD_KINDS[kind]
    run = read_run_metadata(model_dir)
    run.update({key: value for key, value in facts.items() if value is not None})
    check_run_metadata(run, f"{model_dir / RUN_METADATA_FILE} with the facts given")
    _check_datasets_and_ids(run, kind, repo_id)
    results = read_training_results(model_dir)
    _check_reported_metrics(card_kind, results, model_dir)
    extrapolation = read_extrapolation(model_dir) if (model_dir / "extrapolation.json").is_file() else []
    decoding = read_decoding(model_dir) if (model_dir / DECODING_FILE).is_file() else None
    num_parameters = results.get("model_num_parameters") or count_safetensors_parameters(model_dir)
    iteration_field, iterations = _iterations(config)
    repo_id = repo_id or f"{HUB_ORGANIZATION}/{model_dir.resolve().name}"

    benchmark = None
    if kind == "sudoku":
        from ..data.sudoku import SUDOKU_BENCHMARKS

        train_set = SUDOKU_BENCHMARKS.get(run.get("dataset"))
        test_set = SUDOKU_BENCHMARKS.get(run.get("test_set") or run.get("dataset"))
        dataset_id = run.get("test_set") or run.get("dataset")
        dataset_name = dataset_id and test_set and (
            f"{dataset_id} (generated, {test_set['min_givens']}-{test_set['max_givens']} givens, "
            f"{test_set['num_test'] // 1000}k test puzzles)"
        )
        benchmark = {"train": train_set, "test": test_set}
    else:
        dataset_id, dataset_name = KNOWN_DATASETS.get(run.get("dataset"), (run.get("dataset"),) * 2)
    eval_results = _eval_results(card_kind, config, results, extrapolation, dataset_id, dataset_name)
    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        pipeline_tag=card_kind.pipeline_tag,
        tags=list(dict.fromkeys(card_kind.tags + _SHARED_TAGS)),
        datasets=[dataset_id] if dataset_id and kind != "sudoku" else None,
        base_model=run.get("base_model"),
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results or None,
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        kind=kind,
        family=card_kind.family,
        auto_class=card_kind.auto_class,
        repo_id=repo_id,
        folder_name=model_dir.resolve().name,
        config=config,
        num_parameters=num_parameters,
        iteration_field=iteration_field,
        iterations=iterations,
        dataset_name=dataset_name,
        benchmark=benchmark,
        run=run,
        stages=run["stages"],
        reported=[(result.metric_name, result.metric_value) for result in eval_results],
        extrapolation=extrapolation,
        decoding=decoding,
        image_tokenizer=read_image_tokenizer(model_dir),
    )


__all__ = [
    "CARD_KINDS",
    "RUN_METADATA_FILE",
    "CardKind",
    "check_model_config_values",
    "check_run_metadata",
    "count_safetensors_parameters",
    "infer_card_kind",
    "machine_description",
    "model_card_from_output_dir",
    "read_decoding",
    "read_extrapolation",
    "read_image_tokenizer",
    "read_model_config",
    "read_run_metadata",
    "read_training_results",
    "record_training_stage",
    "script_command",
]
