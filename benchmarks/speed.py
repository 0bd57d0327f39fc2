#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Training-step time and peak memory of the Hyper-SET engine against the authors' implementation and the previous
engine, on the same weights, as one Markdown table.

Models (random weights in the authors' layout, converted with `hyperset_hf.release.convert`; the
step-size networks get small random weights so that every iteration moves the state):
- Sudoku: d=256, 4 heads, FF width 4d, step sizes conditioned on x_0, batch 64, T = 8 and T = 24;
- image classifier: d=512, 8 heads, FF width 512, 1 layer x 12 iterations, 32 px images in 4 px patches, batch 64.

For each model: forward + backward time (mean of `--steps` steps after one warm-up step, one thread) and peak
training memory (growth of the process's peak resident set during one forward + backward, measured in a fresh
process per row, so it counts activations, not the weights) of
- `reference`: the authors' code (`huyunzhe/hyper-set`, MIT), imported from a local checkout given by
  `--reference_dir` (never copied into this repository);
- `previous engine`: `src/hyperset_hf/modeling_hyperset.py` at `--previous_revision` (read with `git show`);
- `hyperset-hf`: this engine, and `hyperset-hf, checkpointed` with `gradient_checkpointing_enable()` (every
  iteration is checkpointed);
plus the inference peak memory of this engine at T and 4T (no gradient).

    git --git-dir=<mirror of huyunzhe/hyper-set> archive HEAD | tar -x -C outputs/hyper-set   # a local checkout
    pip install einops                                                                         # the reference needs it
    OMP_NUM_THREADS=1 python benchmarks/speed.py --reference_dir outputs/hyper-set
"""

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch


REPOSITORY = Path(__file__).resolve().parents[1]
SUDOKU = dict(hidden_size=256, num_attention_heads=4, intermediate_size=1024, batch_size=64)
IMAGE = dict(hidden_size=512, num_attention_heads=8, intermediate_size=512, num_recurrences=12, batch_size=64)


def _import_reference(reference_dir: str):
    """The reference packages import Hydra, loguru and OmegaConf for training only: stand-ins suffice for models."""
    import hyperset_hf  # noqa: F401  (imports transformers/accelerate before the stand-ins exist)

    for name in ("hydra", "hydra.core", "hydra.core.hydra_config", "loguru", "omegaconf"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["hydra.core.hydra_config"].HydraConfig = None
    sys.modules["loguru"].logger = None
    sys.modules["omegaconf"].DictConfig = sys.modules["omegaconf"].OmegaConf = None
    sys.path.insert(0, reference_dir)


def _previous_engine(revision: str):
    """The model classes of `modeling_hyperset.py` at `revision`, imported from a temporary package."""
    package = Path(tempfile.mkdtemp()) / "previous_hyperset"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("configuration_hyperset.py", "modeling_hyperset.py"):
        source = subprocess.run(
            ["git", "-C", str(REPOSITORY), "show", f"{revision}:src/hyperset_hf/{name}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        (package / name).write_text(source)
    sys.path.insert(0, str(package.parent))
    return importlib.import_module("previous_hyperset.modeling_hyperset")


def _randomise_step_sizes(module: torch.nn.Module, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "time_mlp" in name and parameter.ndim == 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)


def build(model_name: str, implementation: str, num_recurrences: int, reference_dir: str, previous_revision: str):
    """(model, inputs, loss function) for one row."""
    from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku
    from hyperset_hf.release.convert import (
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
            return reference, lambda model: model(input_ids, labels)[1]
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
            return reference, lambda model: torch.nn.functional.cross_entropy(model(pixel_values), labels)
        config = infer_image_classification_config(reference.state_dict(), image_size=32, num_recurrences=num_recurrences)
        model_class = HyperSETForImageClassification
        state_dict = convert_image_classification_state_dict(reference.state_dict(), model_class(config))

        def loss(model):
            return model(pixel_values, labels=labels).loss

    if implementation == "previous":
        model_class = getattr(_previous_engine(previous_revision), model_class.__name__)
        config = model_class.config_class(**config.to_diff_dict())
    model = model_class(config)
    model.load_state_dict(state_dict)
    if implementation == "checkpointed":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model, loss


def peak_resident_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(arguments) -> dict:
    """One row, in this process: peak-memory growth of one step, then the mean time of `steps` steps."""
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
    times = []
    for _ in range(arguments.steps):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss(model).backward()
        times.append(time.perf_counter() - start)
    return {"seconds": sum(times) / len(times), "peak_mib": peak}


def run_row(arguments, model: str, implementation: str, num_recurrences: int, inference: bool = False) -> dict:
    command = [
        sys.executable, __file__, "--row", "--model", model, "--implementation", implementation,
        "--num_recurrences", str(num_recurrences), "--reference_dir", arguments.reference_dir,
        "--previous_revision", arguments.previous_revision, "--steps", str(arguments.steps),
    ] + (["--inference"] if inference else [])  # fmt: skip
    # large blocks through mmap, so that freed memory leaves the process and its peak resident set tracks live tensors
    environment = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="65536")
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference_dir", default=str(REPOSITORY / "outputs" / "hyper-set"),
                        help="a local checkout of huyunzhe/hyper-set")  # fmt: skip
    parser.add_argument("--previous_revision", default="14b064a", help="git revision of the previous engine")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--sudoku_depths", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--row", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="sudoku", help=argparse.SUPPRESS)
    parser.add_argument("--implementation", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--num_recurrences", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--inference", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.row:
        print(json.dumps(measure(arguments)))
        return
    if not (Path(arguments.reference_dir) / "sudoku" / "models.py").is_file():
        parser.error(f"--reference_dir {arguments.reference_dir!r} is not a checkout of huyunzhe/hyper-set")

    implementations = {
        "reference": "authors' implementation",
        "previous": f"previous engine ({arguments.previous_revision})",
        "ours": "hyperset-hf",
        "checkpointed": "hyperset-hf, per-iteration checkpointing",
    }
    settings = [("sudoku", depth, f"Sudoku d=256, T={depth}") for depth in arguments.sudoku_depths]
    settings.append(("image", IMAGE["num_recurrences"], "Image classifier d=512, 1x12, 32 px"))
    print("| model | implementation | fwd+bwd s | / authors | peak train MiB | / authors |")
    print("|---|---|---:|---:|---:|---:|")
    for model, depth, title in settings:
        rows = {name: run_row(arguments, model, name, depth) for name in implementations}
        reference = rows["reference"]
        for name, label in implementations.items():
            row = rows[name]
            print(f"| {title} | {label} | {row['seconds']:.2f} | {row['seconds'] / reference['seconds']:.2f} | "
                  f"{row['peak_mib']:.0f} | {row['peak_mib'] / reference['peak_mib']:.2f} |", flush=True)  # fmt: skip
    print()
    print("| model | inference peak MiB at T | at 4T | 4T / T |")
    print("|---|---:|---:|---:|")
    for model, depth, title in settings:
        single = run_row(arguments, model, "ours", depth, inference=True)["inference_peak_mib"]
        quadruple = run_row(arguments, model, "ours", 4 * depth, inference=True)["inference_peak_mib"]
        print(f"| {title} (T={depth}) | {single:.1f} | {quadruple:.1f} | {quadruple / single:.2f} |", flush=True)


if __name__ == "__main__":
    main()
