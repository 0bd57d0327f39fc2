#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Quickstart: solve Sudoku with the Hyper-SET checkpoint that ships with the package.

Loads the shipped checkpoint with the Auto classes, solves held-out puzzles of the generated `palm-like` test set
(23-34 givens; built on first use, a few seconds for 100 puzzles), prints board and cell accuracy against the number of
iterations (the same weights, run longer at test time) and the energy trajectory of one puzzle.

    python examples/quickstart.py [--model DIR] [--num_puzzles 100] [--iterations 8,16,24,32,48]

Everything runs offline on CPU in well under a minute.
"""

import argparse

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.pipeline_sudoku import format_grid
from hyperset_hf.sudoku_data import load_sudoku_benchmark, to_model_inputs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Checkpoint folder or Hub id (default: the shipped checkpoint).")
    parser.add_argument("--num_puzzles", type=int, default=100)
    parser.add_argument("--iterations", default=None, help="Comma-separated iteration counts (default: T/2 ... 3T).")
    args = parser.parse_args()
    torch.manual_seed(0)

    model_dir = args.model or resolve_default_model()
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    config = model.config
    trained = config.num_recurrences
    print(
        f"{type(model).__name__} from {model_dir}: {model.num_parameters():,} parameters, d={config.hidden_size}, "
        f"{config.num_layers} layer x {trained} iterations (trained depth T={trained})"
    )

    test = load_sudoku_benchmark("palm-like", "test", num_test=args.num_puzzles)
    inputs = to_model_inputs(test[:])
    puzzles = inputs["input_ids"]
    solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, puzzles)
    print(f"{len(test)} held-out palm-like puzzles, {int((puzzles > 0).sum(1).min())}-{int((puzzles > 0).sum(1).max())} givens")

    if args.iterations:
        counts = [int(value) for value in args.iterations.split(",")]
    else:
        counts = sorted({max(1, trained // 2), trained, (3 * trained) // 2, 2 * trained, 3 * trained})
    print("\niterations  board accuracy  cell accuracy  valid grids")
    for count in counts:
        with torch.no_grad():
            grids = model.solve(puzzles, num_recurrences=count)
        scores = sudoku_metrics(grids.numpy(), solutions.numpy(), puzzles.numpy())
        marker = "  <- trained depth" if count == trained else ""
        print(
            f"{count:>10}  {100 * scores['board_accuracy']:>13.1f}%  {100 * scores['cell_accuracy']:>12.1f}%  "
            f"{100 * scores['validity']:>10.1f}%{marker}"
        )

    with torch.no_grad():
        outputs = model(puzzles[:1], num_recurrences=2 * trained, output_energies=True)
    solved = torch.where(puzzles[0] > 0, puzzles[0], outputs.logits[0].argmax(-1) + 1)
    print("\npuzzle 0:")
    print(format_grid(puzzles[0].numpy()))
    print(f"\nsolved with {2 * trained} iterations ({'correct' if torch.equal(solved, solutions[0]) else 'not correct'}):")
    print(format_grid(solved.numpy()))
    energies = outputs.energies[0][0]
    print("\nenergy of puzzle 0 per iteration (0 = embeddings; attention + feedforward):")
    for iteration in range(0, len(energies), max(1, len(energies) // 16)):
        attention = outputs.attention_energies[0][0, iteration].item()
        feedforward = outputs.feedforward_energies[0][0, iteration].item()
        marker = "  <- trained depth" if iteration == trained else ""
        print(f"  t={iteration:>3}  E={energies[iteration].item():>12.3f}  ({attention:.3f} + {feedforward:.3f}){marker}")
    decreasing = bool((energies[1:] <= energies[:-1]).all())
    print(f"energy decreases at every iteration: {decreasing}")


if __name__ == "__main__":
    main()
