#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Quickstart: solve Sudoku with the Hyper-SET checkpoint that ships with the package.

Loads the shipped checkpoint with the Auto classes, solves held-out puzzles of a generated test set (default `mixed`:
27-63 givens, from easy to hard; `satnet-like`: 31-42; `palm-like`: 23-34; built on first use, a few seconds for 100
puzzles), prints the boards solved and the cell accuracy against the number of iterations (the same weights, run
longer at test time) and the energy trajectory of a solved puzzle.

    python examples/quickstart.py [--model DIR] [--dataset mixed] [--num_puzzles 100] [--iterations 8,16,32,64]

Everything runs offline on CPU in well under a minute.
"""

import argparse

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.pipeline_sudoku import format_grid
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Checkpoint folder or Hub id (default: the shipped checkpoint).")
    parser.add_argument("--dataset", default="mixed", help="Generated test set: mixed, satnet-like or palm-like.")
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

    test = load_sudoku_benchmark(args.dataset, "test", num_test=args.num_puzzles)
    inputs = to_model_inputs(test[:])
    puzzles = inputs["input_ids"]
    solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, puzzles)
    givens = (puzzles > 0).sum(1)
    print(f"{len(test)} held-out {args.dataset} puzzles, {int(givens.min())}-{int(givens.max())} givens")

    if args.iterations:
        counts = [int(value) for value in args.iterations.split(",")]
    else:
        counts = sorted({max(1, trained // 2), trained, 2 * trained, 4 * trained})
    print("\niterations  boards solved  board accuracy  cell accuracy  valid grids")
    correct = {}
    for count in counts:
        with torch.no_grad():
            grids = model.solve(puzzles, num_recurrences=count)
        correct[count] = (grids == solutions).all(dim=1)
        scores = sudoku_metrics(grids.numpy(), solutions.numpy(), puzzles.numpy())
        marker = "  <- trained depth" if count == trained else ""
        print(
            f"{count:>10}  {int(correct[count].sum()):>8} / {len(puzzles):<4} {100 * scores['board_accuracy']:>13.1f}%  "
            f"{100 * scores['cell_accuracy']:>12.1f}%  {100 * scores['validity']:>10.1f}%{marker}"
        )
    deepest = max(counts)
    print(f"more iterations, same weights: {int(correct[deepest].sum()) - int(correct.get(trained, correct[deepest]).sum()):+d} "
          f"boards at {deepest} iterations against the trained depth {trained}")

    # a puzzle the model solves at twice its trained depth (the hardest such), else the first one
    with torch.no_grad():
        solved_twice = (model.solve(puzzles, num_recurrences=2 * trained) == solutions).all(dim=1)
    candidates = solved_twice.nonzero().flatten()
    index = int(candidates[givens[candidates].argmin()]) if len(candidates) else 0
    with torch.no_grad():
        outputs = model(puzzles[index : index + 1], num_recurrences=2 * trained, output_energies=True)
    solved = torch.where(puzzles[index] > 0, puzzles[index], outputs.logits[0].argmax(-1) + 1)
    print(f"\npuzzle {index} ({int(givens[index])} givens):")
    print(format_grid(puzzles[index].numpy()))
    verdict = "correct" if torch.equal(solved, solutions[index]) else "not correct"
    print(f"\nsolved with {2 * trained} iterations ({verdict}):")
    print(format_grid(solved.numpy()))
    energies = outputs.energies[0][0]
    print(f"\nenergy of puzzle {index} per iteration (0 = embeddings; attention + feedforward):")
    for iteration in range(0, len(energies), max(1, len(energies) // 16)):
        attention = outputs.attention_energies[0][0, iteration].item()
        feedforward = outputs.feedforward_energies[0][0, iteration].item()
        marker = "  <- trained depth" if iteration == trained else ""
        print(f"  t={iteration:>3}  E={energies[iteration].item():>12.3f}  ({attention:.3f} + {feedforward:.3f}){marker}")
    decreasing = bool((energies[1:] <= energies[:-1]).all())
    print(f"energy decreases at every iteration: {decreasing}")


if __name__ == "__main__":
    main()
