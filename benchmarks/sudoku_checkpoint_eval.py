#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Evaluates a Sudoku checkpoint on the generated test sets: board and cell accuracy at T, 2T and 4T iterations
(T = the trained depth), and how many puzzles see their energy fall at every iteration.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/sudoku_checkpoint_eval.py \\
        [--model DIR] [--sets satnet-like,palm-like,mixed] [--num_puzzles 1000] [--multipliers 1,2,4]

Prints Markdown tables (the shipped checkpoint by default).
"""

import argparse

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.metrics import sudoku_metrics
from hyperset_hf.data.sudoku import load_sudoku_benchmark, to_model_inputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--sets", default="satnet-like,palm-like,mixed")
    parser.add_argument("--num_puzzles", type=int, default=1000)
    parser.add_argument("--multipliers", default="1,2,4")
    parser.add_argument("--batch_size", type=int, default=250)
    args = parser.parse_args(argv)
    model_dir = args.model or resolve_default_model()
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    trained = model.config.num_recurrences
    depths = [max(1, round(trained * float(value))) for value in args.multipliers.split(",")]
    print(f"model: {model_dir} ({model.num_parameters():,} parameters, trained depth T={trained})\n")
    print("| test set | puzzles | iterations | board accuracy (%) | cell accuracy (%) | valid grids (%) | "
          "energy falls at every iteration (% of puzzles) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in filter(None, args.sets.split(",")):
        inputs = to_model_inputs(load_sudoku_benchmark(name, "test", num_test=args.num_puzzles)[:])
        puzzles = inputs["input_ids"]
        solutions = torch.where(inputs["labels"] >= 0, inputs["labels"] + 1, puzzles)
        for depth in depths:
            grids, monotone = [], []
            with torch.no_grad():
                for chunk in puzzles.split(args.batch_size):
                    outputs = model(chunk, num_recurrences=depth, output_energies=model.config.layer_type == "hyperset")
                    grids.append(torch.where(chunk > 0, chunk, outputs.logits.argmax(-1) + 1))
                    if outputs.energies is not None:
                        energies = outputs.energies[0]
                        monotone.append((energies[:, 1:] < energies[:, :-1]).all(dim=1))
            scores = sudoku_metrics(torch.cat(grids).numpy(), solutions.numpy(), puzzles.numpy())
            falling = f"{100 * torch.cat(monotone).float().mean():.1f}" if monotone else "-"
            print(f"| {name} | {len(puzzles)} | {depth} | {100 * scores['board_accuracy']:.1f} | "
                  f"{100 * scores['cell_accuracy']:.1f} | {100 * scores['validity']:.1f} | {falling} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
