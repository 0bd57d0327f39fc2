#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Sudoku recipe ablation at a fixed wall-time budget: the paper's recipe, each recipe option, their combination, and
the Transformer baseline with the best recipe, all trained by `examples/sudoku/run_sudoku.py` on the CPU.

Every variant is d=128, 4 heads, FF width 512, T=16, batch 64, AdamW lr 1e-3 after 200 warm-up steps (constant after),
augmentation, seed 42, one thread, evaluated every 50 steps on 200 satnet-like test puzzles. The script runs the
variants (`--parallel` at a time), then prints one Markdown table and draws the curves of cell and board accuracy
against wall time and against steps (`<output_dir>/curves.png`).

    python benchmarks/sudoku_recipe_ablation.py --budget_minutes 12 --parallel 2 --output_dir outputs/ablation
    python benchmarks/sudoku_recipe_ablation.py --summarize_only --output_dir outputs/ablation   # table and plot only
    python benchmarks/sudoku_recipe_ablation.py --summarize_only --runs hyperset=DIR transformer=DIR --time cpu \
        --figure curves.png   # any run_sudoku.py folders, against CPU time
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


REPOSITORY = Path(__file__).resolve().parents[1]
MODEL = "hidden_size=128,num_attention_heads=4,intermediate_size=512,num_recurrences=16"
RCB = "position_embedding_type=row_column_box"
SOFTPLUS = "step_size_activation=softplus,step_size_initial_value=0.5"
VARIANTS = {
    "A-paper": ("the paper's recipe (learned signed step sizes from zero, 81 learned positions)", "", []),
    "B-fixed05-rcb": ("fixed step size 0.5 + row/column/box cells", f"{RCB},step_size_type=fixed,fixed_step_size=0.5", []),
    "C-softplus-rcb": ("non-negative learned steps from 0.5 + row/column/box cells", f"{RCB},{SOFTPLUS}", []),
    "D-softplus-rcb-deep": ("C + loss on every iteration", f"{RCB},{SOFTPLUS},deep_supervision=all", []),
    "E-softplus-rcb-deep-mixed": (
        "D + the 100k mixed-difficulty set (27-63 givens)", f"{RCB},{SOFTPLUS},deep_supervision=all",
        ["--dataset_name", "mixed", "--eval_dataset_name", "satnet-like"],
    ),
    "F-transformer-rcb-deep": (
        "the paper's Transformer baseline + row/column/box cells + loss on every iteration",
        f"{RCB},deep_supervision=all", ["--preset", "sudoku-transformer"],
    ),
}


def command(name: str, budget_minutes: float, output_dir: Path) -> list[str]:
    _, overrides, extra = VARIANTS[name]
    return [
        sys.executable, str(REPOSITORY / "examples" / "sudoku" / "run_sudoku.py"),
        "--dataset_name", "satnet-like", "--augment",
        "--config_overrides", MODEL + ("," + overrides if overrides else ""),
        "--learning_rate", "1e-3", "--warmup_steps", "200", "--lr_scheduler_type", "constant_with_warmup",
        "--per_device_train_batch_size", "64", "--max_train_minutes", str(budget_minutes), "--max_steps", "100000",
        "--eval_strategy", "steps", "--eval_steps", "50", "--max_eval_samples", "200",
        "--per_device_eval_batch_size", "200", "--save_strategy", "no", "--do_train", "--do_eval",
        "--eval_iteration_multipliers", "1,2", "--logging_steps", "25", "--seed", "42",
        "--output_dir", str(output_dir / name), *extra,
    ]  # fmt: skip


def run_all(names, budget_minutes, output_dir: Path, parallel: int):
    environment = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    pending, running = list(names), []
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            log = open(output_dir / f"{name}.log", "w")
            running.append(subprocess.Popen(command(name, budget_minutes, output_dir), stdout=log, stderr=log,
                                            env=environment))  # fmt: skip
        time.sleep(5)
        running = [process for process in running if process.poll() is None]


def summarize(runs: dict[str, tuple[str, Path]], figure_path: Path, title: str, time_key: str = "wall_seconds"):
    """Prints the table of the runs `{name: (description, folder)}` (each folder holding run_sudoku.py's `curve.json`
    and `extrapolation.json`) and draws their curves against `time_key` (`wall_seconds` or `cpu_seconds`, one
    thread) and against steps into `figure_path`."""
    rows, curves = [], {}
    for name, (description, folder) in runs.items():
        curve_file, results_file = folder / "curve.json", folder / "extrapolation.json"
        if not curve_file.exists():
            continue
        curve = json.loads(curve_file.read_text())
        curves[name] = curve
        final = json.loads(results_file.read_text()) if results_file.exists() else []
        by_depth = {row["iterations"]: row for row in final}
        last = curve[-1]
        rows.append(
            f"| {name} | {description} | {last['step']} | {last[time_key] / 60:.1f} | "
            f"{100 * last['eval_cell_accuracy']:.1f} | {100 * last['eval_board_accuracy']:.1f} | "
            f"{by_depth.get(32, {}).get('cell_accuracy', float('nan')):.1f} | "
            f"{by_depth.get(32, {}).get('board_accuracy', float('nan')):.1f} |"
        )
    unit = "CPU minutes" if time_key == "cpu_seconds" else "minutes"
    print(f"| run | recipe | steps | {unit} | cell acc. T=16 (%) | boards T=16 (%) | cell acc. T=32 (%) | boards T=32 (%) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\nCell accuracy (%) at every evaluation (step: value):\n")
    for name, curve in curves.items():
        points = ", ".join(f"{point['step']}: {100 * point['eval_cell_accuracy']:.1f}" for point in curve)
        print(f"- {name}: {points}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for name, curve in curves.items():
        for column, x_key in enumerate((time_key, "step")):
            xs = [point[x_key] / (60 if x_key != "step" else 1) for point in curve]
            axes[0, column].plot(xs, [100 * point["eval_cell_accuracy"] for point in curve], label=name)
            axes[1, column].plot(xs, [100 * point["eval_board_accuracy"] for point in curve], label=name)
    time_label = "CPU time (minutes, one thread)" if time_key == "cpu_seconds" else "wall time (minutes, one thread)"
    for row, metric in enumerate(("cell accuracy (%)", "board accuracy (%)")):
        for column, label in enumerate((time_label, "training steps (batch 64)")):
            axes[row, column].set_xlabel(label)
            axes[row, column].set_ylabel(metric)
            axes[row, column].grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(figure_path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default=str(REPOSITORY / "outputs" / "ablation"))
    parser.add_argument("--budget_minutes", type=float, default=12.0)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--summarize_only", action="store_true")
    parser.add_argument("--runs", nargs="+", metavar="NAME=DIR", default=None,
                        help="with --summarize_only: other run_sudoku.py output folders to tabulate and plot")
    parser.add_argument("--time", choices=("wall", "cpu"), default="wall",
                        help="the curves' time axis: wall time, or the runs' CPU time (--max_train_cpu_minutes runs)")
    parser.add_argument("--figure", default=None, help="where to draw the curves (default: <output_dir>/curves.png)")
    parser.add_argument("--title", default="Sudoku recipe ablation, satnet-like test puzzles (200), T=16, CPU")
    args = parser.parse_args(argv)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if not args.summarize_only:
        run_all(args.variants, args.budget_minutes, output_dir, args.parallel)
    if args.runs:
        if any("=" not in run for run in args.runs):
            parser.error(f"--runs takes NAME=DIR pairs, got {args.runs}")
        runs = {name: ("", Path(folder)) for name, folder in (run.split("=", 1) for run in args.runs)}
    else:
        runs = {name: (description, output_dir / name) for name, (description, _, _) in VARIANTS.items()}
    figure = Path(args.figure) if args.figure else output_dir / "curves.png"
    summarize(runs, figure, args.title, "cpu_seconds" if args.time == "cpu" else "wall_seconds")


if __name__ == "__main__":
    main()
