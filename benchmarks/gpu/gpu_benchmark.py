#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The benchmark half of the one-call GPU check (`benchmarks/gpu/check.sh`, issue 22): Markdown tables printed and
written to `<out>/gpu-check.md` (raw numbers in `<out>/gpu-check.json`), rewritten after every row so that a run cut
short still leaves the rows it finished.

a. (with `--cuda-tests-junit`) the outcome of every `cuda`-marked test, read from pytest's JUnit XML;
b. achieved TFLOP/s of one training step (forward + backward of the model's loss, no optimizer) of every d=768 preset
   (`HyperSETConfig.from_preset`, `EnergyTransformerConfig.from_preset`) and of a same-width
   `transformers.ViTForImageClassification` (ViT-B/16: d=768, 12 layers, 12 heads, MLP 3072, 224 px), bf16 autocast
   on float32 weights, random inputs, plus one large bf16 matmul as the device's practical peak. FLOPs are counted
   with `torch.utils.flop_counter.FlopCounterMode` on one step: matmuls, convolutions and attention kernels
   (elementwise work, softmaxes and norms are not counted);
c. training throughput of the paper's Sudoku preset (`HyperSETForSudoku`, `from_preset("sudoku")`) with AdamW on
   random puzzles (about 60 % blanks), at batch 16 and a larger batch, bf16 autocast and float32 (TF32 off).

Every part has a share of `--budget_s`; a row starts only while its part has time left, runs its timed steps for at
most `--row_seconds`, and rows past the budget are listed as skipped. A row that runs out of memory is retried at half
the batch. A failing row is reported in its table and makes the exit status 1.

    python benchmarks/gpu/gpu_benchmark.py [--out outputs/gpu-check] [--budget_s 180]
    python benchmarks/gpu/gpu_benchmark.py --dry-run      # CPU, tiny configs, one or two steps per row (or DRY_RUN=1)

Uses only the public model classes, configs, presets and forward arguments.
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import sys
import time
import traceback
import xml.etree.ElementTree as ElementTree
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


D_MODEL = 768  # the presets benchmarked in part b
TINY_HYPERSET = dict(
    hidden_size=32, num_attention_heads=2, intermediate_size=64, time_embedding_size=32, num_recurrences=2,
    token_grid_size=4, codebook_size=16, image_size=16, patch_size=4,
)  # fmt: skip
TINY_ENERGY_TRANSFORMER = dict(
    hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=64, num_recurrences=2, image_size=16, patch_size=4
)
VIT_BASE = dict(
    hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, image_size=224,
    patch_size=16, num_labels=1000,
)  # fmt: skip
TINY_VIT = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=16, patch_size=4,
    num_labels=10,
)  # fmt: skip
PART_SHARES = {"flops": 0.6, "sudoku": 0.4}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true",
                        help="CPU, tiny configs, one or two steps per row (also DRY_RUN=1)")  # fmt: skip
    parser.add_argument("--out", default=None, help="output folder (default: $OUT, else outputs/gpu-check)")
    parser.add_argument("--device", default=None, help="default: cuda if available (cpu in a dry run)")
    parser.add_argument("--budget_s", type=float, default=None, help="time for parts b and c (default 180, dry 60)")
    parser.add_argument("--row_seconds", type=float, default=None, help="timed seconds per row (default 3)")
    parser.add_argument("--batch_size", type=int, default=None, help="part b batch (default 32, dry 2)")
    parser.add_argument("--sudoku_batch_sizes", default=None, help="part c batches (default 16,256; dry 2,4)")
    parser.add_argument("--parts", default="flops,sudoku", help="comma-separated: flops (b), sudoku (c)")
    parser.add_argument("--cuda-tests-junit", "--cuda_tests_junit", dest="cuda_tests_junit", default=None,
                        help="pytest JUnit XML of the cuda tests, reported as part a")  # fmt: skip
    parser.add_argument("--cuda-tests-status", "--cuda_tests_status", dest="cuda_tests_status", default=None,
                        help="exit status of the cuda test run (reported with part a)")  # fmt: skip
    args = parser.parse_args(argv)
    args.dry_run = args.dry_run or _truthy(os.environ.get("DRY_RUN"))
    args.out = Path(args.out or os.environ.get("OUT") or "outputs/gpu-check")
    if args.device is None:
        args.device = "cpu" if args.dry_run or not torch.cuda.is_available() else "cuda"
    defaults = (60.0, 1.0, 2, "2,4") if args.dry_run else (180.0, 3.0, 32, "16,256")
    args.budget_s = defaults[0] if args.budget_s is None else args.budget_s
    args.row_seconds = defaults[1] if args.row_seconds is None else args.row_seconds
    args.batch_size = defaults[2] if args.batch_size is None else args.batch_size
    args.sudoku_batch_sizes = [int(b) for b in (args.sudoku_batch_sizes or defaults[3]).split(",") if b.strip()]
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = sorted(set(args.parts) - set(PART_SHARES))
    if unknown:
        parser.error(f"unknown --parts {unknown}; choose from {sorted(PART_SHARES)}")
    if args.budget_s <= 0 or args.row_seconds <= 0 or args.batch_size < 1 or not args.sudoku_batch_sizes:
        parser.error("--budget_s, --row_seconds, --batch_size and --sudoku_batch_sizes must be positive")
    if min(args.sudoku_batch_sizes) < 1:
        parser.error("--sudoku_batch_sizes must be positive")
    return args


# ---------------------------------------------------------------------------------------------------------------------
# Timing and FLOPs
# ---------------------------------------------------------------------------------------------------------------------


class Clock:
    """Deadlines: the whole run and one part."""

    def __init__(self, budget_s: float):
        self.start = time.perf_counter()
        self.deadline = self.start + budget_s
        self.part_deadline = self.deadline

    def start_part(self, share: float, budget_s: float):
        self.part_deadline = min(self.deadline, time.perf_counter() + share * budget_s)

    def part_left(self) -> float:
        return self.part_deadline - time.perf_counter()


def synchronize(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_flops(step) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def time_steps(step, device: torch.device, warmup: int, seconds: float, dry_run: bool) -> tuple[float, int]:
    """Mean seconds per step and the number of steps timed: `warmup` untimed steps, one probe step, then as many
    steps as fit in `seconds` (3 to 50). A dry run times the probe step only."""
    for _ in range(warmup):
        step()
    synchronize(device)
    begin = time.perf_counter()
    step()
    synchronize(device)
    probe = time.perf_counter() - begin
    if dry_run:
        return probe, 1
    count = max(3, min(50, int(seconds / max(probe, 1e-6))))
    synchronize(device)
    begin = time.perf_counter()
    for _ in range(count):
        step()
    synchronize(device)
    return (time.perf_counter() - begin) / count, count


def reset_memory(device: torch.device):
    if device.type == "cuda":  # (a full collection takes a quarter second: not worth it on the CPU)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def is_out_of_memory(error: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", RuntimeError)
    return isinstance(error, oom) or "out of memory" in str(error).lower()


def bf16_autocast(device: torch.device, enabled: bool = True):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16) if enabled else nullcontext()


# ---------------------------------------------------------------------------------------------------------------------
# Models and inputs (public classes, configs and forward arguments only)
# ---------------------------------------------------------------------------------------------------------------------


def sudoku_batch(batch_size: int, generator: torch.Generator) -> dict:
    """Random puzzles: about 60 % blank cells (0) with a random target digit (0-8), the others given (-100)."""
    digits = torch.randint(1, 10, (batch_size, 81), generator=generator)
    blank = torch.rand(batch_size, 81, generator=generator) < 0.6
    targets = torch.randint(0, 9, (batch_size, 81), generator=generator)
    return {"input_ids": torch.where(blank, 0, digits), "labels": torch.where(blank, targets, -100)}


def image_batch(config, batch_size: int, generator: torch.Generator, labels: bool = True) -> dict:
    shape = (batch_size, config.num_channels, config.image_size, config.image_size)
    batch = {"pixel_values": torch.randn(shape, generator=generator)}
    if labels:
        batch["labels"] = torch.randint(0, config.num_labels, (batch_size,), generator=generator)
    return batch


def visual_token_batch(config, batch_size: int, generator: torch.Generator) -> dict:
    codes = torch.randint(0, config.codebook_size, (batch_size, config.token_grid_size**2), generator=generator)
    masked = torch.rand(codes.shape, generator=generator) < 0.5
    return {"input_ids": torch.where(masked, config.codebook_size, codes), "labels": torch.where(masked, codes, -100)}


def masked_image_batch(config, batch_size: int, generator: torch.Generator) -> dict:
    batch = image_batch(config, batch_size, generator, labels=False)
    num_patches = (config.image_size // config.patch_size) ** 2
    batch["bool_masked_pos"] = torch.rand(batch_size, num_patches, generator=generator) < 0.5
    return batch


def flop_models(dry_run: bool) -> list[dict]:
    """Part b's rows: every d=768 preset of both model families and ViT-B/16. Each entry builds its model and a batch
    lazily (`build(batch_size) -> (model, batch)`)."""
    import hyperset_hf
    from transformers import ViTConfig, ViTForImageClassification

    entries = []
    for name in sorted(hyperset_hf.PRESETS):
        if hyperset_hf.HyperSETConfig.from_preset(name).hidden_size != D_MODEL:
            continue
        config = hyperset_hf.HyperSETConfig.from_preset(name, **(TINY_HYPERSET if dry_run else {}))
        if config.input_type == "sudoku":
            model_class, tokens = hyperset_hf.HyperSETForSudoku, 81
            make_batch = lambda config, b, g: sudoku_batch(b, g)  # noqa: E731
        elif config.input_type == "visual_tokens":
            model_class, tokens = hyperset_hf.HyperSETForMaskedTokenModeling, config.token_grid_size**2
            make_batch = visual_token_batch
        else:
            model_class = hyperset_hf.HyperSETForImageClassification
            tokens = (config.image_size // config.patch_size) ** 2 + 1
            make_batch = image_batch
        family = "Transformer baseline" if config.layer_type == "transformer" else "Hyper-SET"
        entries.append(dict(model=f"{family} ({model_class.__name__})", preset=name, config=config,
                            model_class=model_class, make_batch=make_batch, tokens=tokens,
                            depth=f"{config.num_layers} x {config.num_recurrences}"))  # fmt: skip
    for name in sorted(hyperset_hf.ENERGY_TRANSFORMER_PRESETS):
        if hyperset_hf.EnergyTransformerConfig.from_preset(name).hidden_size != D_MODEL:
            continue
        config = hyperset_hf.EnergyTransformerConfig.from_preset(name, **(TINY_ENERGY_TRANSFORMER if dry_run else {}))
        masked = name.endswith("mim")
        model_class = (hyperset_hf.EnergyTransformerForMaskedImageModeling if masked
                       else hyperset_hf.EnergyTransformerForImageClassification)  # fmt: skip
        entries.append(dict(model=f"Energy Transformer ({model_class.__name__})", preset=name, config=config,
                            model_class=model_class, make_batch=masked_image_batch if masked else image_batch,
                            tokens=(config.image_size // config.patch_size) ** 2 + 1,
                            depth=f"{config.num_layers} x {config.num_recurrences}"))  # fmt: skip
    vit_config = ViTConfig(**(TINY_VIT if dry_run else VIT_BASE))
    entries.append(dict(model="ViT (ViTForImageClassification)", preset="ViT-B/16" if not dry_run else "ViT tiny",
                        config=vit_config, model_class=ViTForImageClassification, make_batch=image_batch,
                        tokens=(vit_config.image_size // vit_config.patch_size) ** 2 + 1,
                        depth=f"{vit_config.num_hidden_layers} layers"))  # fmt: skip
    return entries


# ---------------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------------


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def cuda_test_rows(junit_path: str | None) -> tuple[list[list], dict]:
    """One row per test case of pytest's JUnit XML (test, outcome, seconds, message) and the outcome counts."""
    rows, counts = [], {}
    if not junit_path or not Path(junit_path).is_file():
        return rows, counts
    try:
        root = ElementTree.parse(junit_path).getroot()
    except ElementTree.ParseError as error:
        return [["(unreadable JUnit XML)", "error", None, str(error)]], {"error": 1}
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (child.get("message") or "").splitlines()[0][:160] if child.get("message") else ""
                break
        counts[outcome] = counts.get(outcome, 0) + 1
        rows.append([case.get("name"), outcome, float(case.get("time") or 0.0), message])
    return rows, counts


class Report:
    FLOP_HEADERS = ["model", "preset", "parameters (M)", "tokens", "depth", "batch", "GFLOP / step", "ms / step",
                    "TFLOP/s", "samples/s", "peak memory (GiB)", "steps timed", "note"]  # fmt: skip
    SUDOKU_HEADERS = ["precision", "batch", "puzzles/s", "steps/s", "ms / step", "GFLOP / step", "TFLOP/s",
                      "peak memory (GiB)", "last loss", "steps timed", "note"]  # fmt: skip

    def __init__(self, args, device: torch.device):
        import transformers

        self.args, self.device = args, device
        self.failures = 0
        self.flop_rows, self.sudoku_rows = [], []
        self.json = {"environment": self.environment(transformers.__version__), "flops": [], "sudoku": []}
        self.test_rows, self.test_counts = cuda_test_rows(args.cuda_tests_junit)
        self.json["cuda_tests"] = {"counts": self.test_counts, "status": args.cuda_tests_status,
                                   "tests": [dict(zip(["test", "outcome", "seconds", "message"], row))
                                             for row in self.test_rows]}  # fmt: skip

    def environment(self, transformers_version: str) -> dict:
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else platform.processor() or "CPU"
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": name,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "transformers": transformers_version,
            "python": platform.python_version(),
            "dry_run": self.args.dry_run,
            "budget_s": self.args.budget_s,
        }

    def markdown(self) -> str:
        env = self.json["environment"]
        lines = [
            "# hyperset-hf GPU check" + (" (DRY RUN: CPU, tiny configs; no GPU numbers)" if self.args.dry_run else ""),
            "",
            f"device: {env['device']} | torch {env['torch']} (CUDA {env['cuda']}) | transformers {env['transformers']} "
            f"| Python {env['python']} | {env['date']}",
            "",
        ]
        if self.args.cuda_tests_junit is not None:
            counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.test_counts.items())) or "no test results"
            status = self.args.cuda_tests_status
            lines += ["## a. cuda-marked tests (tests/test_cuda.py)", "",
                      f"pytest exit status: {status if status is not None else '?'}; {counts}", ""]  # fmt: skip
            if self.test_rows:
                lines += [markdown_table(["test", "outcome", "seconds", "message"], self.test_rows), ""]
        if "flops" in self.args.parts:
            lines += [
                "## b. Achieved TFLOP/s, one training step (forward + backward of the loss), bf16 autocast",
                "",
                "FLOPs counted by torch.utils.flop_counter.FlopCounterMode (matmuls, convolutions, attention kernels; "
                "not elementwise work). Random weights and inputs; parameters in float32. The bf16 matmul row is the "
                "device's practical peak.",
                "",
                markdown_table(self.FLOP_HEADERS, self.flop_rows),
                "",
            ]
        if "sudoku" in self.args.parts:
            lines += [
                "## c. Sudoku preset training throughput (HyperSETForSudoku, AdamW, random puzzles)",
                "",
                "One step = forward + backward + AdamW update; float32 means TF32 off (torch's default for matmuls).",
                "",
                markdown_table(self.SUDOKU_HEADERS, self.sudoku_rows),
                "",
            ]
        return "\n".join(lines)

    def write(self):
        self.args.out.mkdir(parents=True, exist_ok=True)
        (self.args.out / "gpu-check.md").write_text(self.markdown())
        (self.args.out / "gpu-check.json").write_text(json.dumps(self.json, indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------------------------------------------------
# Parts
# ---------------------------------------------------------------------------------------------------------------------


def _error_note(error: BaseException) -> str:
    return f"ERROR {type(error).__name__}: {str(error).splitlines()[0][:150] if str(error) else ''}"


def gemm_row(args, device: torch.device, report: Report, clock: Clock):
    size = 64 if args.dry_run else 8192
    reset_memory(device)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(size, size, generator=generator).to(device, torch.bfloat16)
        b = torch.randn(size, size, generator=generator).to(device, torch.bfloat16)
        holder = {}

        def step():
            holder["c"] = a @ b

        seconds, steps = time_steps(step, device, warmup=0 if args.dry_run else 3,
                                    seconds=min(1.0, args.row_seconds), dry_run=args.dry_run)  # fmt: skip
        flops = 2 * size**3
        row = dict(model=f"bf16 matmul {size} x {size} x {size}", preset="-", parameters_m=None, tokens=None,
                   depth=None, batch=None, gflop_per_step=flops / 1e9, ms_per_step=1e3 * seconds,
                   tflops=flops / seconds / 1e12, samples_per_s=None, peak_memory_gib=peak_memory_gib(device),
                   steps_timed=steps, note="peak reference")  # fmt: skip
    except Exception as error:  # noqa: BLE001 (reported in the table)
        traceback.print_exc()
        report.failures += 1
        row = dict(model=f"bf16 matmul {size}", preset="-", note=_error_note(error))
    _add_flop_row(report, row)


def _add_flop_row(report: Report, row: dict):
    keys = ["model", "preset", "parameters_m", "tokens", "depth", "batch", "gflop_per_step", "ms_per_step", "tflops",
            "samples_per_s", "peak_memory_gib", "steps_timed", "note"]  # fmt: skip
    report.flop_rows.append([row.get(key) for key in keys])
    report.json["flops"].append(row)
    report.write()
    print(markdown_table(Report.FLOP_HEADERS, [report.flop_rows[-1]]).splitlines()[-1], flush=True)


def flop_row(entry: dict, args, device: torch.device, report: Report):
    batch_size, note = args.batch_size, ""
    row = dict(model=entry["model"], preset=entry["preset"], tokens=entry["tokens"], depth=entry["depth"])
    while True:
        model = batch = None
        reset_memory(device)
        try:
            torch.manual_seed(0)
            model = entry["model_class"](entry["config"]).to(device).train()
            generator = torch.Generator().manual_seed(0)
            batch = {k: v.to(device) for k, v in entry["make_batch"](entry["config"], batch_size, generator).items()}

            def step():
                model.zero_grad(set_to_none=True)
                with bf16_autocast(device):
                    loss = model(**batch).loss
                loss.backward()

            if not args.dry_run:
                step()  # warm-up (kernel selection, allocator) before counting
            flops = count_flops(step)
            seconds, steps = time_steps(step, device, warmup=0 if args.dry_run else 1, seconds=args.row_seconds,
                                        dry_run=args.dry_run)  # fmt: skip
            row.update(parameters_m=sum(p.numel() for p in model.parameters()) / 1e6, batch=batch_size,
                       gflop_per_step=flops / 1e9, ms_per_step=1e3 * seconds, tflops=flops / seconds / 1e12,
                       samples_per_s=batch_size / seconds, peak_memory_gib=peak_memory_gib(device), steps_timed=steps,
                       note=note or None)  # fmt: skip
            if args.dry_run and not math.isfinite(row["tflops"]):
                raise RuntimeError("non-finite timing")
            break
        except Exception as error:  # noqa: BLE001 (reported in the table)
            del model, batch
            if is_out_of_memory(error) and batch_size > 1:
                batch_size //= 2
                note = f"out of memory at batch {batch_size * 2}, halved"
                continue
            traceback.print_exc()
            report.failures += 1
            row.update(batch=batch_size, note=_error_note(error))
            break
    model = batch = None
    reset_memory(device)
    _add_flop_row(report, row)


def part_flops(args, device: torch.device, report: Report, clock: Clock):
    print("\n## b. Achieved TFLOP/s (forward + backward, bf16 autocast)\n", flush=True)
    print("\n".join(markdown_table(Report.FLOP_HEADERS, []).splitlines()[:2]), flush=True)
    gemm_row(args, device, report, clock)
    for entry in flop_models(args.dry_run):
        if clock.part_left() <= 0:
            _add_flop_row(report, dict(model=entry["model"], preset=entry["preset"], note="skipped: time budget"))
            continue
        flop_row(entry, args, device, report)


def sudoku_row(args, device: torch.device, report: Report, batch_size: int, bf16: bool):
    import hyperset_hf

    config = hyperset_hf.HyperSETConfig.from_preset("sudoku", **(TINY_HYPERSET if args.dry_run else {}))
    precision = "bf16 autocast" if bf16 else "float32"
    row, note, requested = dict(precision=precision), "", batch_size
    while True:
        model = optimizer = batches = None
        reset_memory(device)
        try:
            torch.manual_seed(0)
            model = hyperset_hf.HyperSETForSudoku(config).to(device).train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
            generator = torch.Generator().manual_seed(0)
            batches = [{k: v.to(device) for k, v in sudoku_batch(batch_size, generator).items()} for _ in range(4)]
            state = {"step": 0, "loss": None}

            def step():
                batch = batches[state["step"] % len(batches)]
                state["step"] += 1
                optimizer.zero_grad(set_to_none=True)
                with bf16_autocast(device, bf16):
                    loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                state["loss"] = loss.detach()

            if not args.dry_run:
                step()  # warm-up (kernel selection, AdamW state) before counting
            flops = count_flops(step)
            seconds, steps = time_steps(step, device, warmup=0 if args.dry_run else 1, seconds=args.row_seconds,
                                        dry_run=args.dry_run)  # fmt: skip
            last_loss = float(state["loss"])
            row.update(batch=batch_size, puzzles_per_s=batch_size / seconds, steps_per_s=1 / seconds,
                       ms_per_step=1e3 * seconds, gflop_per_step=flops / 1e9, tflops=flops / seconds / 1e12,
                       peak_memory_gib=peak_memory_gib(device), last_loss=last_loss, steps_timed=steps,
                       note=note or None)  # fmt: skip
            if not math.isfinite(last_loss):
                report.failures += 1
                row["note"] = "ERROR: non-finite loss"
            break
        except Exception as error:  # noqa: BLE001 (reported in the table)
            del model, optimizer, batches
            if is_out_of_memory(error) and batch_size > 1:
                batch_size //= 2
                note = f"out of memory at batch {batch_size * 2}, halved (asked {requested})"
                continue
            traceback.print_exc()
            report.failures += 1
            row.update(batch=batch_size, note=_error_note(error))
            break
    model = optimizer = batches = None
    reset_memory(device)
    _add_sudoku_row(report, row)


def _add_sudoku_row(report: Report, row: dict):
    keys = ["precision", "batch", "puzzles_per_s", "steps_per_s", "ms_per_step", "gflop_per_step", "tflops",
            "peak_memory_gib", "last_loss", "steps_timed", "note"]  # fmt: skip
    report.sudoku_rows.append([row.get(key) for key in keys])
    report.json["sudoku"].append(row)
    report.write()
    print(markdown_table(Report.SUDOKU_HEADERS, [report.sudoku_rows[-1]]).splitlines()[-1], flush=True)


def part_sudoku(args, device: torch.device, report: Report, clock: Clock):
    print("\n## c. Sudoku preset training throughput (AdamW)\n", flush=True)
    print("\n".join(markdown_table(Report.SUDOKU_HEADERS, []).splitlines()[:2]), flush=True)
    for bf16 in (True, False):
        for batch_size in args.sudoku_batch_sizes:
            if clock.part_left() <= 0:
                _add_sudoku_row(report, dict(precision="bf16 autocast" if bf16 else "float32", batch=batch_size,
                                             note="skipped: time budget"))  # fmt: skip
                continue
            sudoku_row(args, device, report, batch_size, bf16)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available: pass --device cpu or --dry-run", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 rows mean float32 (torch's default, made explicit)
    report = Report(args, device)
    report.write()
    env = report.json["environment"]
    print(f"device: {env['device']} | torch {env['torch']} | transformers {env['transformers']} | dry run: "
          f"{args.dry_run} | budget {args.budget_s:.0f} s", flush=True)  # fmt: skip
    clock = Clock(args.budget_s)
    remaining_share = sum(PART_SHARES[part] for part in args.parts)
    for part in args.parts:
        left = clock.deadline - time.perf_counter()
        clock.start_part(PART_SHARES[part] / remaining_share, max(left, 0.0))
        remaining_share -= PART_SHARES[part]
        (part_flops if part == "flops" else part_sudoku)(args, device, report, clock)
    report.write()
    elapsed = time.perf_counter() - clock.start
    print(f"\nwrote {args.out / 'gpu-check.md'} and gpu-check.json; {elapsed:.1f} s; {report.failures} failed rows",
          flush=True)  # fmt: skip
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
