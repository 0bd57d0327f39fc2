#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The paper's trajectory figures (Sec. 5.4, Fig. 5-6) for a Hyper-SET Sudoku checkpoint.

Runs the model on held-out `palm-like` puzzles for `--num_recurrences` iterations (default: twice the trained depth,
so the figures also show test-time extrapolation), measures every state with `hyperset_hf.analysis` (energies,
per-head effective rank and rank of the normalised projections, average inter-token angle in both definitions) and
writes three PNG figures, each with the mean over puzzles (line) and one standard deviation (band), the trained depth
marked by a dashed line:

    <output_dir>/sudoku-trajectory-energy.png          total, attention and feedforward energy
    <output_dir>/sudoku-trajectory-rank.png            effective rank and rank (mean over heads)
    <output_dir>/sudoku-trajectory-angle.png           average angle: mean of angles, angle of the mean cosine

and, with `--summary_json PATH`, the per-iteration means and standard deviations as JSON.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python examples/analysis/plot_sudoku_trajectories.py \\
        --num_puzzles 1000 --output_dir benchmarks/results

Needs matplotlib (`pip install matplotlib`). About 40 s on one CPU core for 1,000 puzzles with the shipped checkpoint.
"""

import argparse
import json
from pathlib import Path

import matplotlib


matplotlib.use("Agg")

import torch  # noqa: E402
from transformers import AutoModelForTokenClassification  # noqa: E402

import hyperset_hf  # noqa: E402, F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.analysis import collect_diagnostics, plot_diagnostics, summarize  # noqa: E402
from hyperset_hf.cli import resolve_default_model  # noqa: E402
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs  # noqa: E402


FIGURES = {
    "energy": ["energy", "attention_energy", "feedforward_energy"],
    "rank": ["effective_rank", "rank"],
    "angle": ["average_angle_mean_of_angles", "average_angle_of_mean_cosine"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Checkpoint folder or Hub id (default: the shipped checkpoint).")
    parser.add_argument("--num_puzzles", type=int, default=1000)
    parser.add_argument("--num_recurrences", type=int, default=None, help="Default: twice the trained depth.")
    parser.add_argument("--batch_size", type=int, default=100)
    parser.add_argument("--output_dir", default="benchmarks/results")
    parser.add_argument("--cache_dir", default=None, help="Where the generated puzzle set is cached.")
    parser.add_argument("--summary_json", default=None, help="Also write the per-iteration mean and std here.")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    model_dir = args.model or resolve_default_model()
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    trained = model.config.num_recurrences
    num_recurrences = args.num_recurrences or 2 * trained
    test = load_sudoku_benchmark("palm-like", "test", num_test=args.num_puzzles, cache_dir=args.cache_dir)
    puzzles = to_model_inputs(test[:])["input_ids"]
    batches = [{"input_ids": chunk} for chunk in puzzles.split(args.batch_size)]
    diagnostics = collect_diagnostics(model, batches, num_recurrences)

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    description = (
        f"{len(puzzles)} palm-like test puzzles, {num_recurrences} iterations (trained: {trained}, dashed); "
        "mean and one standard deviation"
    )
    for name, keys in FIGURES.items():
        figure = plot_diagnostics(diagnostics, keys, trained_iterations=trained, title=description)
        path = output_dir / f"sudoku-trajectory-{name}.png"
        figure.savefig(path, dpi=110)
        print(f"wrote {path}")
    summary = {
        "model": str(model_dir),
        "num_puzzles": len(puzzles),
        "num_recurrences": num_recurrences,
        "trained_num_recurrences": trained,
        "mean": {key: summarize(values)[0].tolist() for key, values in diagnostics.items()},
        "std": {key: summarize(values)[1].tolist() for key, values in diagnostics.items()},
    }
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=1) + "\n")
        print(f"wrote {args.summary_json}")
    for key in ("energy", "effective_rank", "average_angle_mean_of_angles", "average_angle_of_mean_cosine"):
        mean = summary["mean"][key]
        print(f"{key:>30}: x0 {mean[0]:10.3f}  t={trained} {mean[trained]:10.3f}  t={num_recurrences} {mean[-1]:10.3f}")


if __name__ == "__main__":
    main()
