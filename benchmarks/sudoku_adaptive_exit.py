# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Adaptive test-time compute on Sudoku: board and cell accuracy against the mean number of iterations used, for a
fixed depth (T, 1.5T, 2T) and for per-puzzle adaptive exit (relative energy change or relative state change below a
threshold, at most 2T iterations, and not before `--min_recurrences` iterations).

Usage (from the repository root; the shipped checkpoint and 1,000 generated palm-like test puzzles by default):

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/sudoku_adaptive_exit.py \\
        [--model DIR] [--num_puzzles 1000] [--energy_thresholds 3e-2,1e-2,5e-3,3e-3,1e-3] \\
        [--state_thresholds 1e-1,7e-2,5e-2] [--min_recurrences 1,8] \\
        [--figure benchmarks/results/sudoku-adaptive-exit.png]

Prints a Markdown table. "vs 2T" compares with the fixed run at 2T iterations (the budget the adaptive runs are
capped at): the difference in accuracy points and the fraction of iterations saved. The issue's goal is a board
accuracy within 0.5 points of fixed 2T with at least 40% fewer iterations on average ("goal" column).
"""

import argparse
import platform
import time

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


def evaluate(model, puzzles, solutions, batch_size, num_recurrences, threshold=None, criterion="energy", minimum=1):
    """Returns board / cell accuracy (in %), the iterations used per puzzle and the wall time."""
    grids, used = [], []
    start = time.perf_counter()
    with torch.no_grad():
        for chunk in puzzles.split(batch_size):
            outputs = model(
                chunk,
                num_recurrences=num_recurrences,
                adaptive_exit_threshold=threshold,
                adaptive_exit_criterion=criterion,
                adaptive_exit_min_recurrences=minimum,
            )
            grids.append(torch.where(chunk > 0, chunk, outputs.logits.argmax(-1) + 1))
            if outputs.iterations_used is None:
                used.append(torch.full((len(chunk),), num_recurrences, dtype=torch.long))
            else:
                used.append(outputs.iterations_used)
    seconds = time.perf_counter() - start
    scores = sudoku_metrics(torch.cat(grids).numpy(), solutions.numpy(), puzzles.numpy())
    return 100 * scores["board_accuracy"], 100 * scores["cell_accuracy"], torch.cat(used), seconds


def parse_floats(text):
    return [float(value) for value in text.split(",") if value.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Checkpoint folder or Hub id (default: the shipped checkpoint).")
    parser.add_argument("--dataset", default="palm-like", help="Generated test set: palm-like, satnet-like or mixed.")
    parser.add_argument("--num_puzzles", type=int, default=1000)
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--energy_thresholds", default="3e-2,1e-2,5e-3,3e-3,1e-3")
    parser.add_argument("--state_thresholds", default="1e-1,7e-2,5e-2")
    parser.add_argument(
        "--min_recurrences", default="1,8", help="Minimum iterations before an exit (each value adds a set of runs)."
    )
    parser.add_argument("--cache_dir", default=None, help="Where the generated puzzle set is cached.")
    parser.add_argument("--figure", default=None, help="Also plot accuracy against mean iterations (needs matplotlib).")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    model_dir = args.model or resolve_default_model()
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    trained = model.config.num_recurrences
    budget = 2 * trained
    test = load_sudoku_benchmark(args.dataset, "test", num_test=args.num_puzzles, cache_dir=args.cache_dir)
    inputs = to_model_inputs(test[:])
    puzzles = inputs["input_ids"]
    solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, puzzles)

    depths = (trained, (3 * trained) // 2, budget)
    runs = [dict(name=f"fixed T={count}", group="fixed", count=count) for count in depths]
    for minimum in (int(value) for value in args.min_recurrences.split(",") if value.strip()):
        for criterion, thresholds in (("energy", args.energy_thresholds), ("state", args.state_thresholds)):
            runs += [
                dict(
                    name=f"adaptive, {criterion} < {value:g}, min {minimum}",
                    group=f"adaptive ({criterion}, min {minimum})",
                    count=budget,
                    threshold=value,
                    criterion=criterion,
                    minimum=minimum,
                )
                for value in parse_floats(thresholds)
            ]
    results = []
    for run in runs:
        board, cell, used, seconds = evaluate(
            model, puzzles, solutions, args.batch_size, run["count"], run.get("threshold"),
            run.get("criterion", "energy"), run.get("minimum", 1),
        )  # fmt: skip
        results.append(dict(run, board=board, cell=cell, used=used.double(), seconds=seconds))

    reference = next(result for result in results if result["name"] == f"fixed T={budget}")
    print(
        f"# Sudoku adaptive exit: {model_dir} (d={model.config.hidden_size}, trained T={trained}), "
        f"{len(puzzles)} {args.dataset} test puzzles"
    )
    print(
        f"\nCPU: {platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}; "
        f"batch size {args.batch_size}; adaptive runs capped at 2T = {budget} iterations.\n"
    )
    print(
        "| run | max iterations | mean iterations used | min / median / max | iterations saved vs 2T | "
        "board accuracy | cell accuracy | board vs 2T (points) | cell vs 2T (points) | wall time | goal |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for result in results:
        used, board, cell = result["used"], result["board"], result["cell"]
        saved = 100 * (1 - used.mean().item() / budget)
        board_delta, cell_delta = board - reference["board"], cell - reference["cell"]
        goal = "-" if result["group"] == "fixed" else ("yes" if abs(board_delta) <= 0.5 and saved >= 40 else "no")
        print(
            f"| {result['name']} | {result['count']} | {used.mean().item():.2f} | {int(used.min())} / "
            f"{int(used.median())} / {int(used.max())} | {saved:.1f}% | {board:.1f}% | {cell:.2f}% | "
            f"{board_delta:+.1f} | {cell_delta:+.2f} | {result['seconds']:.1f} s | {goal} |"
        )

    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        figure, axes = plt.subplots(1, 2, figsize=(11, 4))
        groups = {}  # one marker series per group: fixed, adaptive (criterion, minimum)
        for result in results:
            groups.setdefault(result["group"], []).append(result)
        markers = ["o-", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
        for ax, key, label in ((axes[0], "board", "board accuracy (%)"), (axes[1], "cell", "cell accuracy (%)")):
            for marker, (group, members) in zip(markers, groups.items()):
                points = sorted((member["used"].mean().item(), member[key]) for member in members)
                ax.plot(*zip(*points), marker, label=group)
            ax.set_xlabel("mean iterations used")
            ax.set_ylabel(label)
            ax.axvline(trained, color="grey", linestyle="--", linewidth=1)
        axes[0].legend(fontsize=8)
        figure.suptitle(f"{len(puzzles)} {args.dataset} test puzzles; trained depth T={trained} (dashed)", fontsize=10)
        figure.tight_layout()
        figure.savefig(args.figure, dpi=110)
        print(f"\nwrote {args.figure}")


if __name__ == "__main__":
    main()
