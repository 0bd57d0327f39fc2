#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Training-step time and peak memory of the Hyper-SET and Energy Transformer engines against the authors'
implementation (Hyper-SET only) and the previous engine, on the same weights, as one Markdown table.

Models (Hyper-SET: random weights in the authors' layout, converted with `hyperset_hf.release.convert`, the
step-size networks get small random weights so that every iteration moves the state; Energy Transformer: this
engine's random initialisation, seed 0, loaded into the previous engine):
- Sudoku: d=256, 4 heads, FF width 4d, step sizes conditioned on x_0, batch 64, T = 8 and T = 24;
- Hyper-SET image classifier: d=512, 8 heads, FF width 512, 1 layer x 12 iterations, 32 px images in 4 px patches,
  batch 64;
- Energy Transformer image classifier: d=256, 4 heads of width 64, 1024 ReLU^2 memories, 1 block x 12 steps,
  32 px images in 4 px patches, batch 32 (no authors' code is compared for ET).

For each model: forward + backward time (median of `--steps` steps after one warm-up step, one thread; wall-clock
and the process's CPU time, which a process sharing the core with others inflates less) and peak
training memory (growth of the process's peak resident set during the warm-up forward + backward, measured in a fresh
process per row, so it counts activations, not the weights) of
- `reference`: the authors' code (`huyunzhe/hyper-set`, MIT), imported from a local checkout given by
  `--reference_dir` (never copied into this repository);
- `previous`: the modeling file at `--previous_revision` (read with `git show`, together with every flat sibling
  module it imports, found by following its relative imports), plain and with `gradient_checkpointing_enable()`;
- `ours`: this engine, plain and with `gradient_checkpointing_enable()` (every iteration is checkpointed);
plus the inference peak memory of this engine at T and 4T (no gradient). The "/ <revision>" columns divide a row by
the previous engine's row of the same kind (checkpointed by checkpointed, plain by plain).

    git --git-dir=<mirror of huyunzhe/hyper-set> archive HEAD | tar -x -C outputs/hyper-set   # a local checkout
    pip install einops                                                                         # the reference needs it
    OMP_NUM_THREADS=1 python benchmarks/speed.py --reference_dir outputs/hyper-set
"""

import argparse
import ast
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch


REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = "src/hyperset_hf"
SUDOKU = dict(hidden_size=256, num_attention_heads=4, intermediate_size=1024, batch_size=64)
IMAGE = dict(hidden_size=512, num_attention_heads=8, intermediate_size=512, num_recurrences=12, batch_size=64)
ENERGY_TRANSFORMER = dict(
    hidden_size=256, num_attention_heads=4, head_dim=64, num_memories=1024, num_recurrences=12, image_size=32,
    patch_size=4, num_labels=10, batch_size=32,
)  # fmt: skip
IMPLEMENTATIONS = ("reference", "previous", "previous_checkpointed", "ours", "checkpointed")


def _import_reference(reference_dir: str):
    """The reference packages import Hydra, loguru and OmegaConf for training only: stand-ins suffice for models."""
    import hyperset_hf  # noqa: F401  (imports transformers/accelerate before the stand-ins exist)

    for name in ("hydra", "hydra.core", "hydra.core.hydra_config", "loguru", "omegaconf"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["hydra.core.hydra_config"].HydraConfig = None
    sys.modules["loguru"].logger = None
    sys.modules["omegaconf"].DictConfig = sys.modules["omegaconf"].OmegaConf = None
    sys.path.insert(0, reference_dir)


def _git_show(revision: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPOSITORY), "show", f"{revision}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def sibling_modules(revision: str, module: str) -> list[str]:
    """`module` (a file name in the package, e.g. "modeling_hyperset.py") and every package file it imports at
    `revision` through relative imports (`from .x import y`, `from . import x`, at any depth of the file), followed
    recursively."""
    files = set(
        subprocess.run(
            ["git", "-C", str(REPOSITORY), "ls-tree", "-r", "--name-only", revision, f"{PACKAGE}/"],
            check=True, capture_output=True, text=True,
        ).stdout.split()
    )  # fmt: skip

    def resolve(parts: list[str]) -> str | None:
        stem = "/".join(parts)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if f"{PACKAGE}/{candidate}" in files:
                return candidate
        return None

    found, pending = [], [module]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.append(name)
        directory = name.split("/")[:-1]
        for node in ast.walk(ast.parse(_git_show(revision, f"{PACKAGE}/{name}"))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = directory[: len(directory) - (node.level - 1)] if node.level > 1 else directory
            targets = [base + node.module.split(".")] if node.module else [base + [a.name] for a in node.names]
            for parts in targets:
                for depth in range(1, len(parts) + 1):  # a package's __init__ runs before its submodule
                    resolved = resolve(parts[:depth])
                    if resolved is not None and resolved not in found:
                        pending.append(resolved)
    return found


def _previous_engine(revision: str, module: str):
    """`module` at `revision` (e.g. "modeling_hyperset"), imported from a temporary package holding it and every
    package file it imports."""
    package = Path(tempfile.mkdtemp()) / "previous_hyperset"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in sibling_modules(revision, f"{module}.py"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(_git_show(revision, f"{PACKAGE}/{name}"))
    sys.path.insert(0, str(package.parent))
    return importlib.import_module(f"previous_hyperset.{module}")


def _randomise_step_sizes(module: torch.nn.Module, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "time_mlp" in name and parameter.ndim == 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)


def _build_energy_transformer(implementation: str, num_recurrences: int, previous_revision: str):
    from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForImageClassification

    if implementation == "reference":
        raise ValueError("there is no authors' implementation of the Energy Transformer in this benchmark")
    settings = {k: v for k, v in ENERGY_TRANSFORMER.items() if k != "batch_size"}
    settings["num_recurrences"] = num_recurrences
    torch.manual_seed(0)
    config = EnergyTransformerConfig(**settings)
    state_dict = EnergyTransformerForImageClassification(config).state_dict()
    generator = torch.Generator().manual_seed(0)
    batch = ENERGY_TRANSFORMER["batch_size"]
    pixel_values = torch.randn(batch, 3, config.image_size, config.image_size, generator=generator)
    labels = torch.randint(0, config.num_labels, (batch,), generator=generator)
    model_class = EnergyTransformerForImageClassification
    if implementation.startswith("previous"):
        model_class = getattr(_previous_engine(previous_revision, "modeling_energy_transformer"), model_class.__name__)
        config = model_class.config_class(**settings)
    return model_class, config, state_dict, lambda model: model(pixel_values, labels=labels).loss


def build(model_name: str, implementation: str, num_recurrences: int, reference_dir: str, previous_revision: str):
    """(model, loss function) for one row."""
    if model_name == "energy_transformer":
        model_class, config, state_dict, loss = _build_energy_transformer(
            implementation, num_recurrences, previous_revision
        )
    else:
        model_class, config, state_dict, loss = _build_hyperset(
            model_name, implementation, num_recurrences, reference_dir, previous_revision
        )
        if implementation == "reference":
            return model_class, loss  # `_build_hyperset` gives the authors' model itself
    model = model_class(config)
    model.load_state_dict(state_dict)
    if implementation in ("checkpointed", "previous_checkpointed"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model, loss


def _build_hyperset(model_name: str, implementation: str, num_recurrences: int, reference_dir: str, previous_revision):
    from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku

    try:
        from hyperset_hf.release.convert import (
            convert_image_classification_state_dict,
            convert_sudoku_state_dict,
            infer_image_classification_config,
        )
    except ImportError:  # engines from before the `release` subpackage
        from hyperset_hf.convert_original_checkpoint import (
            convert_image_classification_state_dict,
            convert_sudoku_state_dict,
            infer_image_classification_config,
        )

    _import_reference(reference_dir)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    if model_name == "sudoku":
        from sudoku.models import Model, ModelConfig

        reference = Model(ModelConfig(
            vocab_size=10, block_size=81, n_embd=SUDOKU["hidden_size"], n_head=SUDOKU["num_attention_heads"],
            multiplier=SUDOKU["intermediate_size"] // SUDOKU["hidden_size"], n_layer=1, n_recur=num_recurrences,
            model_type="hyper-set", pos_emb="learnable", time_emb=512, input_cond=True,
            adaptive_mode="gd_with_learnable_step_size", num_classes=9,
        ))  # fmt: skip
        reference.drop.p = 0.0
        _randomise_step_sizes(reference)
        batch = SUDOKU["batch_size"]
        input_ids = torch.randint(0, 10, (batch, 81), generator=generator)
        labels = torch.randint(0, 9, (batch, 81), generator=generator)
        if implementation == "reference":
            return reference, None, None, lambda model: model(input_ids, labels)[1]
        config = HyperSETConfig.from_preset(
            "sudoku", num_recurrences=num_recurrences, embedding_dropout_prob=0.0,
            **{k: v for k, v in SUDOKU.items() if k != "batch_size"},
        )  # fmt: skip
        model_class = HyperSETForSudoku
        state_dict = convert_sudoku_state_dict(reference.state_dict(), HyperSETForSudoku(config))

        def loss(model):
            return model(input_ids, labels=labels).loss
    else:
        from ic.models import HyperSET

        reference = HyperSET(
            num_classes=10, img_size=32, patch=8, n_layer=1, n_recur=num_recurrences, n_embd=IMAGE["hidden_size"],
            head=IMAGE["num_attention_heads"], mlp_hidden=IMAGE["intermediate_size"], input_cond=False,
        )  # fmt: skip
        _randomise_step_sizes(reference)
        batch = IMAGE["batch_size"]
        pixel_values = torch.randn(batch, 3, 32, 32, generator=generator)
        labels = torch.randint(0, 10, (batch,), generator=generator)
        if implementation == "reference":
            return reference, None, None, lambda model: torch.nn.functional.cross_entropy(model(pixel_values), labels)
        config = infer_image_classification_config(
            reference.state_dict(), image_size=32, num_recurrences=num_recurrences
        )
        model_class = HyperSETForImageClassification
        state_dict = convert_image_classification_state_dict(reference.state_dict(), model_class(config))

        def loss(model):
            return model(pixel_values, labels=labels).loss

    if implementation.startswith("previous"):
        model_class = getattr(_previous_engine(previous_revision, "modeling_hyperset"), model_class.__name__)
        config = model_class.config_class(**config.to_diff_dict())
    return model_class, config, state_dict, loss


def peak_resident_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(arguments) -> dict:
    """One row, in this process: peak-memory growth of the warm-up step, then the median wall-clock and CPU time of
    `steps` steps."""
    torch.set_num_threads(1)
    model, loss = build(arguments.model, arguments.implementation, arguments.num_recurrences,
                        arguments.reference_dir, arguments.previous_revision)  # fmt: skip
    if arguments.inference:
        model.eval()
        before = peak_resident_mib()
        with torch.no_grad():
            loss(model)
        return {"inference_peak_mib": peak_resident_mib() - before}
    model.train()
    before = peak_resident_mib()
    loss(model).backward()  # the warm-up step is the memory measurement
    peak = peak_resident_mib() - before
    times, cpu_times = [], []
    for _ in range(arguments.steps):
        model.zero_grad(set_to_none=True)
        start, cpu_start = time.perf_counter(), time.process_time()
        loss(model).backward()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return {"seconds": statistics.median(times), "cpu_seconds": statistics.median(cpu_times), "times": times,
            "cpu_times": cpu_times, "peak_mib": peak}  # fmt: skip


def run_row(arguments, model: str, implementation: str, num_recurrences: int, inference: bool = False) -> dict:
    command = [
        sys.executable, __file__, "--row", "--model", model, "--implementation", implementation,
        "--num_recurrences", str(num_recurrences), "--reference_dir", arguments.reference_dir,
        "--previous_revision", arguments.previous_revision, "--steps", str(arguments.steps),
    ] + (["--inference"] if inference else [])  # fmt: skip
    # large blocks through mmap, so that freed memory leaves the process and its peak resident set tracks live tensors
    environment = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="65536")
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        sys.exit(f"row {model} / {implementation} / T={num_recurrences} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ratio(value: float, base: float | None) -> str:
    return "—" if base is None else f"{value / base:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference_dir", default=str(REPOSITORY / "outputs" / "hyper-set"),
                        help="a local checkout of huyunzhe/hyper-set")  # fmt: skip
    parser.add_argument("--previous_revision", default="941eb13", help="git revision of the previous engine")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per row (the median is reported)")
    parser.add_argument("--sudoku_depths", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--models", nargs="+", default=["sudoku", "image", "energy_transformer"],
                        choices=["sudoku", "image", "energy_transformer"])  # fmt: skip
    parser.add_argument("--json", help="also write every row (all step times) to this file")
    parser.add_argument("--row", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="sudoku", help=argparse.SUPPRESS)
    parser.add_argument("--implementation", default="ours", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--num_recurrences", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--inference", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.row:
        print(json.dumps(measure(arguments)))
        return
    uses_reference = any(model in ("sudoku", "image") for model in arguments.models)
    if uses_reference and not (Path(arguments.reference_dir) / "sudoku" / "models.py").is_file():
        parser.error(f"--reference_dir {arguments.reference_dir!r} is not a checkout of huyunzhe/hyper-set")

    revision = arguments.previous_revision
    labels = {
        "reference": "authors' implementation",
        "previous": f"previous engine ({revision})",
        "previous_checkpointed": f"previous engine ({revision}), checkpointed",
        "ours": "hyperset-hf",
        "checkpointed": "hyperset-hf, per-iteration checkpointing",
    }
    settings = []
    if "sudoku" in arguments.models:
        settings += [("sudoku", depth, f"Sudoku d=256, T={depth}") for depth in arguments.sudoku_depths]
    if "image" in arguments.models:
        settings.append(("image", IMAGE["num_recurrences"], "Image classifier d=512, 1x12, 32 px"))
    if "energy_transformer" in arguments.models:
        depth = ENERGY_TRANSFORMER["num_recurrences"]
        settings.append(("energy_transformer", depth, "ET image classifier d=256, 1x12, 32 px"))
    print(f"| model | implementation | fwd+bwd s | / authors | / {revision} | CPU s | / authors | / {revision} "
          f"| peak train MiB | / authors | / {revision} |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    records = []
    for model, depth, title in settings:
        names = [name for name in IMPLEMENTATIONS if model != "energy_transformer" or name != "reference"]
        rows = {name: run_row(arguments, model, name, depth) for name in names}
        reference = rows.get("reference")
        for name in names:
            row = rows[name]
            previous = rows["previous_checkpointed" if "checkpointed" in name else "previous"]
            cells = [f"{title} | {labels[name]}"]
            for key, digits in (("seconds", 2), ("cpu_seconds", 2), ("peak_mib", 0)):
                cells += [f"{row[key]:.{digits}f}", _ratio(row[key], reference and reference[key]),
                          _ratio(row[key], previous[key])]  # fmt: skip
            print(f"| {' | '.join(cells)} |", flush=True)
            records.append(dict(model=title, implementation=labels[name], **row))
    print()
    print("| model | inference peak MiB at T | at 4T | 4T / T |")
    print("|---|---:|---:|---:|", flush=True)
    for model, depth, title in settings:
        single = run_row(arguments, model, "ours", depth, inference=True)["inference_peak_mib"]
        quadruple = run_row(arguments, model, "ours", 4 * depth, inference=True)["inference_peak_mib"]
        print(f"| {title} (T={depth}) | {single:.1f} | {quadruple:.1f} | {quadruple / single:.2f} |", flush=True)
        records.append(dict(model=title, inference_peak_mib_at_T=single, inference_peak_mib_at_4T=quadruple))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
