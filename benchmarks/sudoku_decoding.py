# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Sudoku decoding protocols side by side: one pass (the paper's protocol), iterative (MaskGIT-style) decoding with
`HyperSETForSudoku.solve()`, and iterative decoding with test-time selection over K symmetric copies of each puzzle.

For every generated test set (satnet-like, palm-like, mixed, hard; `hyperset_hf.data.sudoku.load_sudoku_benchmark`)
and every protocol it reports board and cell accuracy, the mean and maximum recurrent iterations per puzzle (all
rounds, all copies) and the CPU time per puzzle. Pure network: no Sudoku rule is used anywhere unless `--rule_mask`
adds rows that say so.

Selection: `model.solve(num_copies=K, return_dict=True)` decodes each puzzle K times (copy 0 the puzzle itself, the
others under random validity-preserving symmetries seeded by `--seed` and the puzzle), maps every answer back, and
the rows choose one answer per puzzle from its copies with `hyperset_hf.modeling_hyperset.select_copies`:
- `energy`: the lowest energy of the completed grid, every copy scored at the same depth (one forward pass of T
  iterations with the grid as input; the copies' decodings took different numbers of rounds);
- `confidence`: the highest mean probability of the committed digits;
- `vote`: per cell, the digit most copies chose (ties: the most confident copy's digit);
- `oracle`: a correct copy if any (an upper bound, not a selector).
The Transformer baseline has no energy: its `energy` rows are left out.

Usage (from the repository root):

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/sudoku_decoding.py [--model DIR] [--num_puzzles 1000] \\
        [--sets satnet-like,palm-like,mixed,hard] [--copies 1,4,8] [--seed 0] [--output results.json]

Prints a Markdown table (and writes the rows as JSON with `--output`).

`--commit_errors` adds, per set, where iterative decoding goes wrong: the share of wrong commits among the commits
of round 1, rounds 2-4 and later rounds, the boards with at least one wrong commit and the round of each board's
first wrong commit; and the calibration of one pass (of the blanks whose probability is >= 0.99 / 0.95 / 0.9, the
share and their accuracy), the confidence ranking iterative decoding commits by.
"""

import argparse
import json
import platform
import time

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Hyper-SET classes with the Auto classes)
from hyperset_hf.cli import resolve_default_model
from hyperset_hf.data.sudoku import SUDOKU_BENCHMARKS, generate_sudoku_dataset, load_sudoku_benchmark
from hyperset_hf.modeling_hyperset import SudokuSolution, select_copies


SELECTORS = ("energy", "confidence", "vote", "oracle")


def as_grids(strings) -> torch.Tensor:
    return torch.tensor([[int(character) for character in text] for text in strings])


def decode(model, puzzles: torch.Tensor, batch_size: int, **options) -> tuple[SudokuSolution, float]:
    """`model.solve(..., return_dict=True)` over batches, joined into one `SudokuSolution`, and its CPU seconds."""
    start = time.process_time()
    parts = [model.solve(chunk, return_dict=True, **options) for chunk in puzzles.split(batch_size)]
    seconds = time.process_time() - start
    joined = {name: torch.cat([getattr(part, name) for part in parts])
              for name in ("grids", "committed_round", "iterations_used", "copy_grids", "copy_confidences",
                           "copy_energies")
              if getattr(parts[0], name) is not None}  # fmt: skip
    return SudokuSolution(**joined), seconds


def select(solution: SudokuSolution, solutions: torch.Tensor, selector: str) -> torch.Tensor:
    """One grid per puzzle from the copies of `solution` (`oracle`: the first correct copy, else copy 0)."""
    if selector == "oracle":
        correct = (solution.copy_grids == solutions[:, None]).all(-1)  # (N, K)
        return solution.copy_grids[torch.arange(len(solutions)), correct.float().argmax(-1)]
    return select_copies(solution.copy_grids, solution.copy_confidences, solution.copy_energies, selector)[0]


def evaluate(model, puzzles, solutions, copies: int, seed: int, batch_size: int,
             options: dict) -> tuple[list[dict], SudokuSolution]:  # fmt: skip
    """Rows for one protocol: K = `copies` symmetric copies, every selector (one row when K = 1); and the decoding."""
    options = {**options, **({"num_copies": copies, "seed": seed} if copies > 1 else {})}
    solution, seconds = decode(model, puzzles, batch_size, **options)
    has_energy = model.config.layer_type == "hyperset"
    rows = []
    for selector in ("-",) if copies == 1 else [name for name in SELECTORS if has_energy or name != "energy"]:
        chosen = solution.grids if copies == 1 else select(solution, solutions, selector)
        blanks = puzzles == 0
        rows.append({
            "copies": copies, "selector": selector,
            "board_accuracy": 100 * float((chosen == solutions).all(-1).float().mean()),
            "cell_accuracy": 100 * float((chosen == solutions)[blanks].float().mean()),
            "mean_iterations": float(solution.iterations_used.float().mean()),
            "max_iterations": int(solution.iterations_used.max()),
            "cpu_seconds_per_puzzle": seconds / len(puzzles),
        })  # fmt: skip
    return rows, solution


def commit_errors(model, puzzles, solutions, batch_size: int, solution: SudokuSolution) -> dict:
    """Where an iterative decoding (`solution`, K = 1) committed wrong digits, and how well one pass's confidence
    ranks the blanks."""
    grids, rounds = solution.grids, solution.committed_round  # rounds 0-based, -1 on the givens
    wrong = (grids != solutions) & (puzzles == 0)
    report = {}
    for name, low, high in (("round 1", 0, 0), ("rounds 2-4", 1, 3), ("rounds 5+", 4, 10**9)):
        in_rounds = (rounds >= low) & (rounds <= high)
        report[f"wrong commits, {name} %"] = 100 * float(wrong[in_rounds].float().mean()) if in_rounds.any() else None
    first_wrong = torch.where(wrong, rounds, torch.full_like(rounds, 10**9)).min(-1).values
    failed = first_wrong < 10**9
    report["boards with a wrong commit %"] = 100 * float(failed.float().mean())
    median = float(first_wrong[failed].float().median() + 1) if failed.any() else None
    report["first wrong round (1-based), median"] = median
    report["first wrong in round 1, % of boards"] = 100 * float((first_wrong == 0).float().mean())
    with torch.no_grad():
        probabilities = torch.cat([model(input_ids=chunk).logits.softmax(-1) for chunk in puzzles.split(batch_size)])
    confidence, digit = probabilities.max(-1)
    blanks = puzzles == 0
    correct = (digit + 1) == solutions
    for threshold in (0.99, 0.95, 0.9):
        sure = blanks & (confidence >= threshold)
        report[f"one pass p >= {threshold}: share of blanks %"] = 100 * float(sure.sum() / blanks.sum())
        accuracy = 100 * float(correct[sure].float().mean()) if sure.any() else None
        report[f"one pass p >= {threshold}: accuracy %"] = accuracy
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a saved HyperSETForSudoku folder (default: the shipped one)")
    parser.add_argument("--num_puzzles", type=int, default=1000)
    parser.add_argument("--sets", default="satnet-like,palm-like,mixed,hard")
    parser.add_argument("--copies", default="1,4", help="numbers of symmetric copies K for the selection rows")
    parser.add_argument("--num_recurrences", type=int, default=None, help="iterations per round (default: the model's)")
    parser.add_argument("--rule_mask", action="store_true", help="add rows with the Sudoku rule mask (uses the rules)")
    parser.add_argument("--variants", default=None,
                        help="JSON list of extra iterative-decoding option dicts to compare (e.g. a sweep of "
                             "reveal_fraction / confidence_threshold / warm_start), one row each with K = 1")
    parser.add_argument("--split", default="test", choices=("train", "test", "fresh"),
                        help="tune on train puzzles, report on test puzzles (never pick a setting on the test split); "
                             "`fresh`: new puzzles drawn like the set (its givens range and rating threshold) from "
                             "--fresh_seed, seen by no model: a validation set")
    parser.add_argument("--fresh_seed", type=int, default=20261207)
    parser.add_argument("--commit_errors", action="store_true",
                        help="add, per set, where iterative decoding commits wrong digits and one pass's calibration")
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache_dir", default=None, help="where the generated sets are cached")
    parser.add_argument("--output", default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    copies = [int(value) for value in args.copies.split(",") if value.strip()]
    if not copies or min(copies) < 1:
        parser.error(f"--copies must be positive integers, got {args.copies!r}")
    if args.num_puzzles < 1:
        parser.error(f"--num_puzzles must be a positive integer, got {args.num_puzzles}")

    torch.manual_seed(args.seed)
    model_path = args.model or resolve_default_model()
    model = AutoModelForTokenClassification.from_pretrained(model_path).eval()
    protocols = [("one pass (paper)", {"decoding": "one_pass"}, [1])]
    protocols.append(("iterative", {"decoding": "iterative"}, copies))
    if args.rule_mask:
        protocols.append(("iterative + rule mask (uses the rules)", {"decoding": "iterative", "rule_mask": True}, [1]))
    for variant in json.loads(args.variants) if args.variants else []:
        protocols.append((f"iterative {json.dumps(variant, sort_keys=True)}", {"decoding": "iterative", **variant}, [1]))
    if args.num_recurrences is not None:
        for _, options, _ in protocols:
            options["num_recurrences"] = args.num_recurrences
    print(f"model: {model_path} ({model.config.layer_type}, T={args.num_recurrences or model.config.num_recurrences}); "
          f"{args.num_puzzles} {args.split} puzzles per set; seed {args.seed}; {platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)\n")  # fmt: skip
    print("| set | protocol | K | selector | boards % | cells % | mean iterations | max iterations | CPU s / puzzle |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    results, errors = [], []
    for name in [value.strip() for value in args.sets.split(",") if value.strip()]:
        if args.split == "fresh":
            spec = SUDOKU_BENCHMARKS[name]
            test = generate_sudoku_dataset(args.num_puzzles, spec["min_givens"], spec["max_givens"], [args.fresh_seed, 7],
                                           min_search_effort=spec.get("min_search_effort", 0))  # fmt: skip
        else:
            size = {"num_test" if args.split == "test" else "num_train": args.num_puzzles}
            test = load_sudoku_benchmark(name, args.split, cache_dir=args.cache_dir, num_proc=1, **size)
        puzzles, solutions = as_grids(test["puzzle"]), as_grids(test["solution"])
        iterative = None  # the default iterative decoding of one copy, for --commit_errors
        for protocol, options, counts in protocols:
            for count in counts:
                rows, solution = evaluate(model, puzzles, solutions, count, args.seed, args.batch_size, options)
                if protocol == "iterative" and count == 1:
                    iterative = solution
                for row in rows:
                    row = {"set": name, "protocol": protocol, **row}
                    results.append(row)
                    print(f"| {name} | {protocol} | {row['copies']} | {row['selector']} | {row['board_accuracy']:.1f} | "
                          f"{row['cell_accuracy']:.1f} | {row['mean_iterations']:.1f} | {row['max_iterations']} | "
                          f"{row['cpu_seconds_per_puzzle']:.3f} |", flush=True)  # fmt: skip
        if args.commit_errors:
            if iterative is None:  # --copies without 1
                iterative, _ = decode(model, puzzles, args.batch_size, **protocols[1][1])
            report = commit_errors(model, puzzles, solutions, args.batch_size, iterative)
            errors.append({"set": name, **report})
            described = [f"{key} {'-' if value is None else round(value, 1)}" for key, value in report.items()]
            print(f"\ncommit errors, {name}: " + "; ".join(described) + "\n", flush=True)
    if args.output:
        with open(args.output, "w") as handle:
            json.dump({"model": str(model_path), "num_puzzles": args.num_puzzles, "seed": args.seed, "rows": results,
                       **({"commit_errors": errors} if args.commit_errors else {})},
                      handle, indent=2)  # fmt: skip


if __name__ == "__main__":
    main()
