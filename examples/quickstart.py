#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Quickstart: solve Sudoku with the Hyper-SET checkpoint that ships with the package, by both protocols.

Loads the shipped checkpoint with the Auto classes and solves held-out puzzles of a generated test set (default
`mixed`: 27-63 givens, from easy to hard; `satnet-like`: 31-42; `palm-like`: 23-34; built on first use, a few seconds
for 100 puzzles) by the two protocols of `model.solve()`, reported separately, never mixed:

- one pass (the paper's protocol, `decoding="one_pass"`): every blank from one forward pass. Prints the boards solved
  and the cell accuracy against the number of iterations (the same weights, run longer at test time), then one puzzle
  solved this way and its energy trajectory;
- iterative decoding (the default of `solve()`): the grid decoded the way MaskGIT decodes image tokens, every round
  committing the most confident blanks. Prints the same scores at the trained depth with the rounds used, then the
  round in which each blank of one puzzle was committed.

    python examples/quickstart.py [--model DIR] [--dataset mixed] [--num_puzzles 100] [--iterations 8,16,32,64]
        [--iterative_iterations 16]

Everything runs offline on CPU, in about a minute on one thread.
"""

import argparse

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.pipeline_sudoku import format_grid
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


SCORES = "boards solved  board accuracy  cell accuracy  valid grids"


def score_row(count, grids, puzzles, solutions, trained, extra="", width=10):
    """One table row: the iterations (right-aligned in `width`), boards solved, board / cell accuracy, valid grids
    (and `extra`)."""
    scores = sudoku_metrics(grids.numpy(), solutions.numpy(), puzzles.numpy())
    solved = int((grids == solutions).all(dim=1).sum())
    marker = "  <- trained depth" if count == trained else ""
    return (
        f"{count:>{width}}  {solved:>8} / {len(puzzles):<4} {100 * scores['board_accuracy']:>13.1f}%  "
        f"{100 * scores['cell_accuracy']:>12.1f}%  {100 * scores['validity']:>10.1f}%{extra}{marker}"
    )


def rounds_grid(committed_round):
    """The round (1 = first) in which each blank was committed, as a 9 x 9 drawing; `.` for the givens."""
    cells = [" ." if step < 0 else f"{step + 1:>2}" for step in committed_round.tolist()]
    lines = []
    for row in range(9):
        if row in (3, 6):
            lines.append("---------+----------+---------")
        values = cells[9 * row : 9 * row + 9]
        lines.append(" | ".join(" ".join(values[stack : stack + 3]) for stack in (0, 3, 6)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Checkpoint folder or Hub id (default: the shipped checkpoint).")
    parser.add_argument("--dataset", default="mixed", help="Generated test set: mixed, satnet-like or palm-like.")
    parser.add_argument("--num_puzzles", type=int, default=100)
    parser.add_argument("--iterations", default=None,
                        help="One pass: comma-separated iteration counts (default: T/2, T, 2T, 4T).")
    parser.add_argument("--iterative_iterations", default=None,
                        help="Iterative decoding: comma-separated iterations per round (default: T, the trained depth).")
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

    # ---- one pass (the paper's protocol) ----------------------------------------------------------------------------
    if args.iterations:
        counts = [int(value) for value in args.iterations.split(",")]
    else:
        counts = sorted({max(1, trained // 2), trained, 2 * trained, 4 * trained})
    print("\n== One pass (paper protocol): every blank from one forward pass ==")
    print(f"iterations  {SCORES}")
    one_pass = {}
    for count in counts:
        with torch.no_grad():
            one_pass[count] = model.solve(puzzles, num_recurrences=count, decoding="one_pass")
        print(score_row(count, one_pass[count], puzzles, solutions, trained))
    correct = {count: (grids == solutions).all(dim=1) for count, grids in one_pass.items()}
    deepest = max(counts)
    print(f"more iterations, same weights: {int(correct[deepest].sum()) - int(correct.get(trained, correct[deepest]).sum()):+d} "
          f"boards at {deepest} iterations against the trained depth {trained}")

    # a puzzle solved in one pass at twice the trained depth (the hardest such), else the first one
    depth = 2 * trained
    with torch.no_grad():
        if depth not in one_pass:
            one_pass[depth] = model.solve(puzzles, num_recurrences=depth, decoding="one_pass")
    candidates = (one_pass[depth] == solutions).all(dim=1).nonzero().flatten()
    index = int(candidates[givens[candidates].argmin()]) if len(candidates) else 0
    with torch.no_grad():
        solution = model.solve(puzzles[index : index + 1], num_recurrences=depth, decoding="one_pass", return_dict=True)
    print(f"\npuzzle {index} ({int(givens[index])} givens):")
    print(format_grid(puzzles[index].numpy()))
    verdict = "correct" if torch.equal(solution.grids[0], solutions[index]) else "not correct"
    print(f"\nsolved in one pass of {depth} iterations ({verdict}):")
    print(format_grid(solution.grids[0].numpy()))
    if solution.energy_trace is not None:  # (1, total / attention / feedforward, layers, iterations + 1)
        energies, attention, feedforward = solution.energy_trace[0, :, 0]
        print(f"\nenergy of puzzle {index} per iteration of the one pass (0 = embeddings; attention + feedforward):")
        for iteration in range(0, len(energies), max(1, len(energies) // 16)):
            marker = "  <- trained depth" if iteration == trained else ""
            print(f"  t={iteration:>3}  E={energies[iteration].item():>12.3f}  "
                  f"({attention[iteration].item():.3f} + {feedforward[iteration].item():.3f}){marker}")
        decreasing = bool((energies[1:] <= energies[:-1]).all())
        print(f"energy decreases at every iteration: {decreasing}")

    # ---- iterative decoding (the default of solve()) ----------------------------------------------------------------
    if args.iterative_iterations:
        iterative_counts = [int(value) for value in args.iterative_iterations.split(",")]
    else:
        iterative_counts = [trained]
    print("\n== Iterative decoding (solve()'s default): MaskGIT-style rounds, each committing the most confident "
          "blanks, until the grid is full ==")
    print(f"iterations per round  {SCORES}  rounds (mean)")
    iterative = {}
    for count in iterative_counts:
        with torch.no_grad():
            iterative[count] = model.solve(puzzles, num_recurrences=count, return_dict=True)
        rounds = iterative[count].num_rounds.float().mean().item()
        print(score_row(count, iterative[count].grids, puzzles, solutions, trained, extra=f"  {rounds:>13.1f}",
                        width=20))

    # the hardest puzzle iterative decoding solves and one pass (at the same depth) does not, else the hardest solved
    count = trained if trained in iterative else iterative_counts[0]
    result = iterative[count]
    solved = (result.grids == solutions).all(dim=1)
    if count in correct:
        print(f"boards solved at {count} iterations: {int(solved.sum())} by iterative decoding, "
              f"{int(correct[count].sum())} in one pass")
        only_iterative = solved & ~correct[count]
        candidates = (only_iterative if only_iterative.any() else solved).nonzero().flatten()
    else:
        candidates = solved.nonzero().flatten()
    if len(candidates):
        index = int(candidates[givens[candidates].argmin()])
        verdict = "correct" if bool(solved[index]) else "not correct"
        print(f"\npuzzle {index} ({int(givens[index])} givens) by iterative decoding, {int(result.num_rounds[index])} "
              f"rounds of {count} iterations ({verdict}):")
        print(format_grid(result.grids[index].numpy()))
        print("\nthe round in which each blank was committed (1 = first; . = given):")
        print(rounds_grid(result.committed_round[index]))


if __name__ == "__main__":
    main()
