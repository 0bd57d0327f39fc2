# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Model cards generated from training outputs with `huggingface_hub.ModelCard` / `ModelCardData`.

- `model_card_from_output_dir(model_dir, kind, ...)` renders the card of any published model kind (`CARD_KINDS`:
  `"sudoku"`, `"mim"`, `"image-classification"`, `"energy-transformer"`) from a training output folder: `config.json`
  (read as plain JSON, so any config class works), Trainer's `all_results.json` / `eval_results.json` (the eval
  metrics become the card's `model-index`), and optionally a results Markdown file from `benchmarks/results/` (the
  exact training command and the comparison table come from it). `hyperset-hf card` is its command line.
- `sudoku_model_card(...)` renders the card of a Sudoku checkpoint from the `extrapolation.json` files that
  `examples/sudoku/run_sudoku.py` writes (board / cell accuracy and validity at T, 1.5T and 2T), for the model and,
  optionally, for a baseline trained the same way; the `"sudoku"` kind uses it.

A new model family only needs a `CardKind` (its metadata, usage snippet and limitations) registered with
`register_card_kind`.
"""

from __future__ import annotations

import json
import re
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData


HYPERSET_CITATION = """@inproceedings{hu2026hyperset,
  title     = {Hyper-{SET}: Designing Transformers via Hyperspherical Energy Minimization},
  author    = {Hu, Yunzhe and Zou, Difan and Xu, Dong},
  booktitle = {International Conference on Learning Representations},
  year      = {2026},
  url       = {https://arxiv.org/abs/2502.11646}
}"""

ENERGY_TRANSFORMER_CITATION = """@inproceedings{hoover2023energy,
  title     = {Energy Transformer},
  author    = {Hoover, Benjamin and Liang, Yuchen and Pham, Bao and Panda, Rameswar and Strobelt, Hendrik and
               Chau, Duen Horng and Zaki, Mohammed J. and Krotov, Dmitry},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2023},
  url       = {https://arxiv.org/abs/2302.07253}
}"""


def read_extrapolation(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Reads `extrapolation.json` (a list of {multiplier, iterations, board_accuracy, cell_accuracy, validity}, in %)
    from a training output folder or the file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "extrapolation.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run examples/sudoku/run_sudoku.py with --do_eval first.")
    rows = json.loads(path.read_text())
    for row in rows:
        missing = {"iterations", "board_accuracy", "cell_accuracy", "validity"} - set(row)
        if missing:
            raise ValueError(f"{path}: row {row} lacks {sorted(missing)}.")
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| iterations | board accuracy (%) | cell accuracy (%) | valid grids (%) |", "|---|---|---|---|"]
    lines += [
        f"| {row['iterations']} | {row['board_accuracy']:.2f} | {row['cell_accuracy']:.2f} | {row['validity']:.2f} |"
        for row in rows
    ]
    return "\n".join(lines)


def sudoku_model_card(
    config,
    num_parameters: int,
    results: list[dict[str, Any]],
    training_command: str,
    dataset_description: str,
    baseline_results: list[dict[str, Any]] | None = None,
    baseline_parameters: int | None = None,
    training_notes: str = "",
    repo_id: str = "hyperset-hf/hyperset-sudoku",
    results_file: str | None = None,
    test_set: str = "palm-like",
) -> ModelCard:
    """Renders the model card of a Sudoku checkpoint.

    Args:
        config: the checkpoint's `HyperSETConfig`.
        num_parameters (`int`): the model's parameter count.
        results: rows of `extrapolation.json` of the model (percentages).
        training_command (`str`): the exact command that trained it.
        dataset_description (`str`): what the training and test puzzles are.
        baseline_results, baseline_parameters: the same for the Transformer baseline trained the same way.
        training_notes (`str`): machine, wall time and anything a reader needs to judge the numbers.
        repo_id (`str`): the Hub id used in the usage snippets.
        results_file (`str`): where the full results live in the repository.
        test_set (`str`): the generated test set (`hyperset_hf.sudoku_data.SUDOKU_BENCHMARKS`) the results are on.
    """
    from .sudoku_data import SUDOKU_BENCHMARKS

    benchmark = SUDOKU_BENCHMARKS[test_set]
    trained = config.num_recurrences
    eval_results = []
    for row in results:
        for key, name in (("board_accuracy", "board accuracy"), ("cell_accuracy", "cell accuracy")):
            eval_results.append(
                EvalResult(
                    task_type="sudoku-solving",
                    task_name="Sudoku solving",
                    dataset_type=test_set,
                    dataset_name=f"{test_set} (generated, {benchmark['min_givens']}-{benchmark['max_givens']} givens, "
                    f"{benchmark['num_test'] // 1000}k test puzzles)",
                    dataset_split="test",
                    metric_type=key,
                    metric_name=f"{name} at {row['iterations']} iterations",
                    metric_value=round(float(row[key]), 2),
                    metric_config=f"num_recurrences={row['iterations']}",
                )
            )
    data = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        pipeline_tag="token-classification",
        tags=["hyper-set", "hyperset-hf", "energy-based-model", "recurrent-depth", "sudoku", "custom_code"],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )
    baseline = ""
    if baseline_results:
        baseline = (
            f"\n### Transformer baseline trained the same way ({baseline_parameters:,} parameters)\n\n"
            "One standard pre-RMSNorm Transformer layer of the same width, weight-tied over the same number of "
            "iterations (`HyperSETConfig.from_preset(\"sudoku-transformer\")` with the same overrides):\n\n"
            + _table(baseline_results)
            + "\n"
        )
    results_link = f"\nFull record: `{results_file}` in the hyperset-hf repository.\n" if results_file else ""
    body = f"""
# Hyper-SET Sudoku solver ({config.hidden_size}-d, 1 layer x {trained} iterations)

A [Hyper-SET](https://arxiv.org/abs/2502.11646) model that fills in Sudoku puzzles: one weight-tied layer applied
{trained} times, every application a gradient step on a hyperspherical energy (bi-softmax attention with Q = K = V and
a tied output map, a tied ReLU feedforward, RMSNorm as the sphere constraint, learned step sizes from the iteration
index and the embedded puzzle). Trained with the [hyperset-hf](https://github.com/hyperset-hf/hyperset-hf) package.

- Parameters: {num_parameters:,} (d={config.hidden_size}, {config.num_attention_heads} heads, feedforward width
  {config.intermediate_size}, time embedding {config.time_embedding_size}); the paper's model is 5,195,584 (d=768).
- Input: `input_ids` of shape (batch, 81), cells in row-major order, 0 = blank, 1-9 = given digit.
- Output: `logits` of shape (batch, 81, 9); logit k scores digit k + 1.

## Use

```python
import hyperset_hf  # registers the model with the Auto classes and the "sudoku-solving" pipeline
from transformers import AutoModelForTokenClassification, pipeline

model = AutoModelForTokenClassification.from_pretrained("{repo_id}")
# without the package: AutoModelForTokenClassification.from_pretrained("{repo_id}", trust_remote_code=True)

solver = pipeline("sudoku-solving", model="{repo_id}")
result = solver(".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61",
                num_recurrences={2 * trained})
print(result["grid"], result["is_valid"], result["energies"])
```

or from the shell: `hyperset-hf solve <81 characters> --num-recurrences {2 * trained}`.

## The number of iterations is a knob

The model was trained at T = {trained} iterations. Nothing in it is indexed by the iteration except the sinusoidal
time embedding that feeds the step sizes, so it runs at any depth: `model(input_ids, num_recurrences=N)`.
`output_energies=True` returns the attention, feedforward and total energy after every iteration.

## Results on the generated palm-like test set

{dataset_description}

{_table(results)}
{baseline}{results_link}
## Training

```bash
{training_command}
```

{training_notes}

## Limitations

- Trained on generated puzzles with 23-34 givens, not on the original Palm et al. sudoku-hard set (17-34 givens);
  harder puzzles are out of distribution.
- The predicted grid is an independent argmax per cell: it is not guaranteed to be a valid Sudoku (the `is_valid`
  flag of the pipeline and the `validity` metric say when it is not), and no search or backtracking is done.
- The learned step sizes are unconstrained in sign, so the energy of a trained model need not decrease at every
  iteration; the per-iteration energies show what it does.

## Citation

```bibtex
{HYPERSET_CITATION}
```

The package also implements the Energy Transformer, the other energy-based Transformer it builds on:

```bibtex
{ENERGY_TRANSFORMER_CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


# ---------------------------------------------------------------------------------------------------------------------
# Generic cards: one `CardKind` per published model kind, rendered from a training output folder
# ---------------------------------------------------------------------------------------------------------------------

HUB_ORGANIZATION = "hyperset-hf"

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
}

_SHARED_TAGS = ("hyperset-hf", "energy-based-model", "recurrent-depth", "custom_code")

_LIMITATION_EAGER = (
    "Attention is eager only: bi-softmax / energy attention needs operations that SDPA and FlashAttention do not "
    "compute, so long inputs cost O(tokens^2) memory per iteration."
)
_LIMITATION_REMOTE_CODE = (
    "Loading without the package uses the repository's remote code (`trust_remote_code=True`), written for "
    "transformers {transformers_version}; pin that version (or install `hyperset-hf`) if a newer transformers "
    "release breaks it."
)
_LIMITATION_ENERGY = (
    "The learned step sizes are unconstrained in sign, so the energy of a trained model need not decrease at every "
    "iteration; `output_energies=True` shows what it does."
)


@dataclass(frozen=True)
class CardKind:
    """What a model card needs to know about one published model kind besides the training outputs.

    Attributes:
        name (`str`): the `--kind` value, e.g. `"mim"`.
        title (`str`): the card's heading, e.g. `"Hyper-SET masked image modeling"`.
        description (`str`): a paragraph on what the model is and does.
        family (`str`): `"hyperset"` or `"energy_transformer"` (the paper cited first).
        pipeline_tag (`str`): the Hub pipeline tag.
        auto_class (`str`): the transformers Auto class of the head, e.g. `"AutoModelForMaskedImageModeling"`.
        task_type, task_name (`str`): the model-index task.
        metrics (`tuple` of `(key, name)`): eval metrics to report, keys without the `eval_` prefix, in order.
        tags (`tuple[str]`): Hub tags besides the shared ones.
        run_example (`str`): Python lines that run the loaded `model` (may use `{iterations}` and `{deeper}`).
        pipeline_example (`str`): Python lines with the stock pipeline (may use `{repo_id}`).
        limitations (`tuple[str]`): bullet points.
        iteration_fields (`tuple[str]`): config fields holding the trained number of iterations, the first present
            one wins.
        metric_scale (`dict`): factor per metric key for the card (e.g. 100 for accuracies reported in %).
    """

    name: str
    title: str
    description: str
    family: str
    pipeline_tag: str
    auto_class: str
    task_type: str
    task_name: str
    metrics: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    run_example: str
    pipeline_example: str
    limitations: tuple[str, ...]
    iteration_fields: tuple[str, ...] = ("num_recurrences", "num_iterations", "num_steps")
    metric_scale: dict[str, float] = field(default_factory=dict)


_IMAGE_RUN = """\
from PIL import Image
from transformers import AutoImageProcessor

processor = AutoImageProcessor.from_pretrained("{repo_id}")
inputs = processor(Image.open("image.png"), return_tensors="pt")
"""

CARD_KINDS: dict[str, CardKind] = {}


def register_card_kind(kind: CardKind, exist_ok: bool = False) -> CardKind:
    """Adds a model kind to `CARD_KINDS` (and so to `hyperset-hf card --kind`)."""
    if kind.name in CARD_KINDS and not exist_ok:
        raise ValueError(f"card kind {kind.name!r} is already registered; pass exist_ok=True to replace it.")
    CARD_KINDS[kind.name] = kind
    return kind


register_card_kind(
    CardKind(
        name="sudoku",
        title="Hyper-SET Sudoku solver",
        description="A Hyper-SET model that fills in Sudoku puzzles (see `sudoku_model_card`).",
        family="hyperset",
        pipeline_tag="token-classification",
        auto_class="AutoModelForTokenClassification",
        task_type="sudoku-solving",
        task_name="Sudoku solving",
        metrics=(("board_accuracy", "board accuracy"), ("cell_accuracy", "cell accuracy")),
        tags=("hyper-set", "sudoku"),
        run_example="",
        pipeline_example="",
        limitations=(),
    )
)
register_card_kind(
    CardKind(
        name="mim",
        title="Hyper-SET masked image modeling",
        description=(
            "A [Hyper-SET](https://arxiv.org/abs/2502.11646) encoder pre-trained by masked image modeling in the "
            "manner of SimMIM: masked patches are replaced by a learned mask token, one weight-tied layer is iterated "
            "(every iteration a gradient step on a hyperspherical energy: bi-softmax attention with Q = K = V and a "
            "tied output map, a tied feedforward, RMSNorm as the sphere constraint, learned step sizes), and a "
            "LayerNorm -> 1x1 convolution -> PixelShuffle decoder predicts the pixels; the loss is the L1 error on the "
            "masked pixels."
        ),
        family="hyperset",
        pipeline_tag="image-feature-extraction",
        auto_class="AutoModelForMaskedImageModeling",
        task_type="masked-image-modeling",
        task_name="Masked image modeling",
        metrics=(
            ("loss", "L1 loss on masked pixels"),
            ("psnr", "PSNR (dB)"),
            ("ssim", "SSIM"),
            ("psnr_masked", "PSNR on masked patches (dB)"),
        ),
        tags=("hyper-set", "masked-image-modeling", "vision"),
        run_example="""\
import torch

num_patches = (model.config.image_size // model.config.patch_size) ** 2
bool_masked_pos = torch.rand(1, num_patches) < 0.5          # (batch, num_patches), True = masked
with torch.no_grad():
    outputs = model(**inputs, bool_masked_pos=bool_masked_pos, output_energies=True,
                    num_recurrences={deeper})             # more iterations than trained: same weights, deeper
outputs.reconstruction.shape   # (batch, channels, height, width), normalised like the inputs
outputs.energies[0]            # (batch, {deeper_plus_one}): energy of the input and after every iteration
""",
        pipeline_example="""\
from transformers import pipeline

extractor = pipeline("image-feature-extraction", model="{repo_id}")   # the encoder's token states
features = extractor("image.png")
""",
        limitations=(
            "Pre-trained for reconstruction only; use it as an encoder (`AutoModel`) or fine-tune it "
            "(`AutoModelForImageClassification.from_pretrained(...)` loads the encoder weights).",
            "The masked patches are chosen by the caller (`bool_masked_pos`); nothing is sampled inside the model.",
            _LIMITATION_ENERGY,
            _LIMITATION_EAGER,
            _LIMITATION_REMOTE_CODE,
        ),
    )
)
register_card_kind(
    CardKind(
        name="image-classification",
        title="Hyper-SET image classifier",
        description=(
            "A [Hyper-SET](https://arxiv.org/abs/2502.11646) image classifier: patch embedding, a CLS token, one "
            "weight-tied layer iterated T times (every iteration a gradient step on a hyperspherical energy: "
            "bi-softmax attention with Q = K = V and a tied output map, a tied feedforward, RMSNorm as the sphere "
            "constraint, learned step sizes from a time embedding), and a LayerNorm -> Linear readout on the CLS "
            "state."
        ),
        family="hyperset",
        pipeline_tag="image-classification",
        auto_class="AutoModelForImageClassification",
        task_type="image-classification",
        task_name="Image classification",
        metrics=(("accuracy", "accuracy (%)"), ("loss", "cross-entropy loss")),
        tags=("hyper-set", "image-classification", "vision"),
        run_example="""\
import torch

with torch.no_grad():
    outputs = model(**inputs, output_energies=True, num_recurrences={deeper})
predicted = model.config.id2label[outputs.logits.argmax(-1).item()]
outputs.energies[0]            # (batch, {deeper_plus_one}): energy of the input and after every iteration
""",
        pipeline_example="""\
from transformers import pipeline

classifier = pipeline("image-classification", model="{repo_id}")
classifier("image.png")        # [{{"label": ..., "score": ...}}, ...]
""",
        limitations=(
            "Trained at a fixed input resolution; other sizes need `interpolate_pos_encoding=True` and are out of "
            "distribution.",
            _LIMITATION_ENERGY,
            _LIMITATION_EAGER,
            _LIMITATION_REMOTE_CODE,
        ),
        metric_scale={"accuracy": 100.0},
    )
)
register_card_kind(
    CardKind(
        name="energy-transformer",
        title="Energy Transformer masked image modeling",
        description=(
            "An [Energy Transformer](https://arxiv.org/abs/2302.07253) (Hoover et al., NeurIPS 2023): one block whose "
            "forward pass is gradient descent on a single energy (an energy attention term and a Hopfield-network "
            "memory term, both of the energy-layer-normalised tokens), iterated T times with tied weights, trained to "
            "reconstruct masked image patches."
        ),
        family="energy_transformer",
        pipeline_tag="image-feature-extraction",
        auto_class="AutoModelForMaskedImageModeling",
        task_type="masked-image-modeling",
        task_name="Masked image modeling",
        metrics=(
            ("loss", "loss on masked patches"),
            ("psnr", "PSNR (dB)"),
            ("ssim", "SSIM"),
            ("psnr_masked", "PSNR on masked patches (dB)"),
            ("accuracy", "accuracy (%)"),
        ),
        tags=("energy-transformer", "hopfield", "masked-image-modeling", "vision"),
        run_example="""\
import torch

num_patches = (model.config.image_size // model.config.patch_size) ** 2
bool_masked_pos = torch.rand(1, num_patches) < 0.5          # (batch, num_patches), True = masked
with torch.no_grad():
    outputs = model(**inputs, bool_masked_pos=bool_masked_pos, output_energies=True,
                    num_recurrences={deeper})
outputs.energies               # the energy of the input and after every iteration
""",
        pipeline_example="""\
from transformers import pipeline

extractor = pipeline("image-feature-extraction", model="{repo_id}")   # the encoder's token states
features = extractor("image.png")
""",
        limitations=(
            "Energy decrease is guaranteed only in continuous time; with a fixed step size it is empirical, so watch "
            "the per-iteration energies when running many more iterations than trained.",
            _LIMITATION_EAGER,
            _LIMITATION_REMOTE_CODE,
        ),
        metric_scale={"accuracy": 100.0},
    )
)


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def read_model_config(model_dir: str | os.PathLike) -> dict[str, Any]:
    """The `config.json` of a saved model folder as a plain dict (any config class)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{model_dir} has no config.json: expected a folder written by save_pretrained / Trainer.save_model "
            "(the --output_dir of a finished training run)"
        )
    return read_json(path)


def read_training_results(model_dir: str | os.PathLike) -> dict[str, Any]:
    """The metrics Trainer saved in `model_dir`: `all_results.json` updated with `eval_results.json` (both
    optional; `{}` when neither exists)."""
    model_dir = Path(model_dir)
    results: dict[str, Any] = {}
    for name in ("all_results.json", "eval_results.json"):
        if (model_dir / name).is_file():
            results.update(read_json(model_dir / name))
    return results


def count_safetensors_parameters(model_dir: str | os.PathLike) -> int | None:
    """Number of values in the folder's `model.safetensors` (or its shards), read from the headers only; `None`
    without weights."""
    from safetensors import safe_open

    model_dir = Path(model_dir)
    files = sorted(model_dir.glob("model*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(str(file), framework="numpy") as handle:
            for key in handle.keys():
                numel = 1
                for size in handle.get_slice(key).get_shape():
                    numel *= size
                total += numel
    return total


@dataclass
class ResultsRecord:
    """What a card takes from a results Markdown file of `benchmarks/results/`."""

    path: str
    title: str | None
    summary: str | None
    table: str | None
    commands: list[str]


def read_results_file(path: str | os.PathLike) -> ResultsRecord:
    """Parses a results Markdown file: the `# title`, the first paragraph when it is bold (the caveat the file opens
    with), the first Markdown table and the lines of every fenced `bash` block (the exact commands)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} does not exist")
    lines = path.read_text().splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), None)
    summary = None
    paragraph: list[str] = []
    for line in lines:
        if line.startswith("# "):
            continue
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    if paragraph and paragraph[0].startswith("**"):
        summary = " ".join(paragraph)
    commands, in_bash = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            in_bash = (not in_bash) and stripped[3:].strip() in ("bash", "sh", "shell")
            continue
        if in_bash and stripped and not stripped.startswith("#"):
            commands.append(stripped)
    table_lines: list[str] = []
    for line in lines:
        if line.lstrip().startswith("|"):
            table_lines.append(line.strip())
        elif table_lines:
            break
    return ResultsRecord(str(path), title, summary, "\n".join(table_lines) or None, commands)


def _command_for(commands: list[str], model_dir: Path) -> str | None:
    """The command whose `--output_dir` (or `--output-dir`) is the model folder (compared by folder name)."""

    for command in commands:
        match = re.search(r"--output[_-]dir[ =](\S+)", command)
        if match and Path(match.group(1)).name == model_dir.resolve().name:
            return command
    return None


def _dataset_from_command(command: str | None) -> str | None:

    if not command:
        return None
    match = re.search(r"--dataset_name[ =](\S+)", command)
    return match.group(1) if match else None


def _iterations(config: dict[str, Any], kind: CardKind) -> tuple[str, int | None]:
    for name in kind.iteration_fields:
        if isinstance(config.get(name), int):
            return name, config[name]
    return kind.iteration_fields[0], None


def _format_number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def model_card_from_output_dir(
    model_dir: str | os.PathLike,
    kind: str,
    repo_id: str | None = None,
    results_file: str | os.PathLike | None = None,
    training_command: str | None = None,
    dataset: str | None = None,
    base_model: str | None = None,
    training_notes: str = "",
    license: str = "apache-2.0",
    baseline_dir: str | os.PathLike | None = None,
) -> ModelCard:
    """Renders the model card of a trained model from its output folder.

    Args:
        model_dir: a folder with `config.json` (any config class: it is read as JSON), optionally Trainer's
            `all_results.json` / `eval_results.json` (the `eval_*` metrics of the kind become the model-index),
            `model.safetensors` (for the parameter count when the results lack `model_num_parameters`) and, for
            Sudoku, `extrapolation.json`.
        kind (`str`): one of `CARD_KINDS` (`"sudoku"`, `"mim"`, `"image-classification"`, `"energy-transformer"`).
        repo_id (`str`, *optional*): the Hub id used in the snippets; defaults to `hyperset-hf/<folder name>`.
        results_file (*optional*): a results Markdown file (`benchmarks/results/*.md`); its `bash` line whose
            `--output_dir` is this folder becomes the training command, and its caveat and first table are quoted.
        training_command (`str`, *optional*): overrides the command; otherwise the results file's, else the text of
            `<model_dir>.cmd` next to the folder.
        dataset (`str`, *optional*): the dataset (a `--dataset_name` value or a Hub id); defaults to the command's
            `--dataset_name`.
        base_model (`str`, *optional*): the Hub id this model was fine-tuned from (card metadata `base_model`).
        training_notes (`str`, *optional*): machine, wall time, anything a reader needs to judge the numbers.
        license (`str`, *optional*, defaults to `"apache-2.0"`).
        baseline_dir (*optional*, Sudoku only): the output folder of the baseline trained the same way.

    Raises:
        `ValueError`: for an unknown kind; `FileNotFoundError`: for a folder without `config.json` or a missing
            results file.
    """
    if kind not in CARD_KINDS:
        raise ValueError(f"unknown card kind {kind!r}; expected one of {sorted(CARD_KINDS)}")
    card_kind = CARD_KINDS[kind]
    model_dir = Path(model_dir)
    config = read_model_config(model_dir)
    repo_id = repo_id or f"{HUB_ORGANIZATION}/{model_dir.resolve().name}"
    record = read_results_file(results_file) if results_file is not None else None
    if training_command is None and record is not None:
        training_command = _command_for(record.commands, model_dir)
    command_file = model_dir.resolve().with_suffix(".cmd")
    if training_command is None and command_file.is_file():
        training_command = command_file.read_text().strip()

    if kind == "sudoku":
        return _sudoku_card_from_output_dir(
            model_dir, repo_id, record, training_command, training_notes, baseline_dir
        )

    results = read_training_results(model_dir)
    num_parameters = results.get("model_num_parameters") or count_safetensors_parameters(model_dir)
    iteration_field, iterations = _iterations(config, card_kind)
    dataset = dataset or _dataset_from_command(training_command)
    dataset_id, dataset_name = KNOWN_DATASETS.get(dataset, (dataset, dataset)) if dataset else (None, None)

    eval_results, rows = [], []
    for key, name in card_kind.metrics:
        value = results.get(f"eval_{key}")
        if not isinstance(value, (int, float)):
            continue
        value = round(float(value) * card_kind.metric_scale.get(key, 1.0), 4)
        rows.append(f"| {name} | {_format_number(value)} |")
        eval_results.append(
            EvalResult(
                task_type=card_kind.task_type,
                task_name=card_kind.task_name,
                dataset_type=dataset_id or "custom",
                dataset_name=dataset_name or "evaluation set",
                dataset_split="test",
                metric_type=key,
                metric_name=name,
                metric_value=value,
                metric_config=f"{iteration_field}={iterations}" if iterations is not None else None,
            )
        )
    data = ModelCardData(
        library_name="transformers",
        license=license,
        pipeline_tag=card_kind.pipeline_tag,
        tags=list(dict.fromkeys(card_kind.tags + _SHARED_TAGS)),
        datasets=[dataset_id] if dataset_id else None,
        base_model=base_model,
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results or None,
    )

    trained = iterations if iterations is not None else "T"
    deeper = 2 * iterations if iterations is not None else 24
    shape = [
        f"{config[name]} {label}"
        for name, label in (
            ("hidden_size", "hidden size"),
            ("num_attention_heads", "heads"),
            ("intermediate_size", "feedforward width"),
            ("num_layers", "distinct layer(s)"),
        )
        if name in config
    ]
    image = (
        f"; inputs {config['image_size']}x{config['image_size']} px, {config.get('num_channels', 3)} channel(s), "
        f"{config['patch_size']}-px patches"
        if "image_size" in config and "patch_size" in config
        else ""
    )
    parameters = f"{num_parameters:,} parameters; " if num_parameters else ""
    format_values = dict(
        repo_id=repo_id, iterations=trained, deeper=deeper, deeper_plus_one=deeper + 1 if iterations else "T + 1"
    )
    run_example = card_kind.run_example.format(**format_values)
    pipeline_example = card_kind.pipeline_example.format(**format_values)
    pipeline_section = f"With the pipeline:\n\n```python\n{pipeline_example}```"
    if card_kind.pipeline_tag.startswith("image") and config.get("num_channels", 3) != 3:
        # transformers' image pipelines open every image with `load_image`, which converts it to RGB
        pipeline_section = (
            f"The stock `{card_kind.pipeline_tag}` pipeline converts every image to RGB, so it cannot feed this "
            f"{config.get('num_channels')}-channel model; use the image processor and the model as above."
        )
    image_run = _IMAGE_RUN.format(repo_id=repo_id) + "\n" if card_kind.pipeline_tag.startswith("image") else ""
    metrics_section = (
        "| metric | value |\n|---|---|\n" + "\n".join(rows)
        if rows
        else "No evaluation results were found in the training output."
    )
    max_eval = re.search(r"--max_eval_samples[ =](\d+)", training_command or "")
    subset = f"the first {int(max_eval.group(1)):,} images of " if max_eval else ""
    protocol = (
        f"Evaluated on {subset}the {dataset_name or 'evaluation'} test split at {iteration_field}={iterations}"
        + (f" (`{model_dir.name}/all_results.json`)." if rows else ".")
    )
    record_section = ""
    if record is not None:
        record_section = f"\n### From `{record.path}`\n\n"
        if record.title:
            record_section += f"{record.title}.\n\n"
        if record.summary:
            record_section += f"{record.summary}\n\n"
        if record.table:
            record_section += f"{record.table}\n"
    citations = [HYPERSET_CITATION, ENERGY_TRANSFORMER_CITATION]
    if card_kind.family == "energy_transformer":
        citations.reverse()
    limitations = "\n".join(
        "- " + item.format(transformers_version=config.get("transformers_version", "5.x"))
        for item in card_kind.limitations
    )
    body = f"""
# {card_kind.title} ({model_dir.resolve().name})

{card_kind.description} Trained with the [hyperset-hf](https://github.com/hyperset-hf/hyperset-hf) package.

- Model: `{(config.get('architectures') or ['?'])[0]}` (`model_type="{config.get('model_type', '?')}"`), {parameters}{', '.join(shape)}; {trained} iterations{image}.
- Dataset: {dataset_name or 'see the training command'}.

## Use

```python
import hyperset_hf  # registers the models with the transformers Auto classes
from transformers import AutoModel, {card_kind.auto_class}

model = {card_kind.auto_class}.from_pretrained("{repo_id}").eval()
# without the package: {card_kind.auto_class}.from_pretrained("{repo_id}", trust_remote_code=True)
encoder = AutoModel.from_pretrained("{repo_id}")   # the encoder alone (its states and energies)

{image_run}{run_example}```

{pipeline_section}

## The number of iterations is a knob

The model was trained at {iteration_field} = {trained}. The weights are shared by every iteration, so the same model
runs at any depth: pass `{iteration_field}=N` to the forward (or set `model.config.{iteration_field}`) to run N
iterations, e.g. {deeper} for twice the trained depth. `output_energies=True` returns the energy of the input and after
every iteration, which shows whether extra iterations still descend.

## Results

{protocol}

{metrics_section}
{record_section}
## Training

```bash
{training_command or '(training command not recorded)'}
```

{training_notes}

## Limitations

{limitations}

## Citation

```bibtex
{citations[0]}
```

```bibtex
{citations[1]}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def _sudoku_card_from_output_dir(
    model_dir: Path,
    repo_id: str,
    record: ResultsRecord | None,
    training_command: str | None,
    training_notes: str,
    baseline_dir: str | os.PathLike | None,
) -> ModelCard:
    from transformers import AutoConfig

    from . import HyperSETConfig  # noqa: F401  (registers the config class)
    from .sudoku_data import SUDOKU_BENCHMARKS

    config = AutoConfig.from_pretrained(model_dir)
    results = read_training_results(model_dir)
    num_parameters = results.get("model_num_parameters") or count_safetensors_parameters(model_dir) or 0
    baseline_results = baseline_parameters = None
    if baseline_dir is not None:
        baseline_results = read_extrapolation(baseline_dir)
        baseline_parameters = read_training_results(baseline_dir).get(
            "model_num_parameters"
        ) or count_safetensors_parameters(baseline_dir)
    return sudoku_model_card(
        config,
        num_parameters,
        read_extrapolation(model_dir) if (model_dir / "extrapolation.json").is_file() else [],
        training_command=training_command or "(training command not recorded)",
        dataset_description=SUDOKU_BENCHMARKS["palm-like"]["description"] + " (9k train / 1k test puzzles).",
        baseline_results=baseline_results,
        baseline_parameters=baseline_parameters,
        training_notes=training_notes,
        repo_id=repo_id,
        results_file=record.path if record is not None else None,
    )


__all__ = [
    "CARD_KINDS",
    "ENERGY_TRANSFORMER_CITATION",
    "HYPERSET_CITATION",
    "CardKind",
    "ResultsRecord",
    "count_safetensors_parameters",
    "model_card_from_output_dir",
    "read_extrapolation",
    "read_results_file",
    "read_training_results",
    "register_card_kind",
    "sudoku_model_card",
]
