# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Speed of the pure-Python Sudoku solver and generator in `hyperset_hf.data.sudoku`, and the time to build the full
named benchmark sets.

Usage (from the repository root):

    PYTHONPATH=src python benchmarks/sudoku_generator_speed.py            # generator table + solver + full sets
    PYTHONPATH=src python benchmarks/sudoku_generator_speed.py --skip-full-sets --puzzles 50

Prints Markdown tables. "success per attempt" is the fraction of random grids / removal orders whose greedy clue
removal reaches the requested count (the rest end at a minimal puzzle above it and are retried by `generate_puzzle`);
"time per puzzle" includes the failed attempts.
"""

import argparse
import os
import platform
import tempfile
import time

import numpy as np

from hyperset_hf.data import sudoku as sd


HARD_PUZZLES = {
    "Inkala 2012 (21 givens)": "800000000003600000070090200050007000000045700000100030001000068008500010090000400",
    "Norvig 'hardest' (17 givens)": "000000010400000000020000000000050407008000300001090000300400200050100000000806000",
}


def measure_generator(num_givens, num_puzzles, seed, time_budget_s):
    """Generates up to `num_puzzles` puzzles one attempt at a time, stopping early after `time_budget_s`."""
    rng = np.random.default_rng(seed)
    attempts = 0
    puzzles = []
    start = time.perf_counter()
    while len(puzzles) < num_puzzles and time.perf_counter() - start < time_budget_s:
        attempts += 1
        try:
            puzzles.append(sd.generate_puzzle(num_givens, rng, max_attempts=1)[0])
        except ValueError:
            continue
    return attempts, puzzles, time.perf_counter() - start


def measure_uniqueness_check(puzzles):
    start = time.perf_counter()
    for puzzle in puzzles:
        assert sd.count_solutions(puzzle) == 1
    return (time.perf_counter() - start) / max(1, len(puzzles))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=200, help="puzzles per givens count")
    parser.add_argument("--time-budget", type=float, default=30.0, help="seconds per givens count at most")
    parser.add_argument("--givens", type=int, nargs="+", default=[42, 36, 31, 27, 25, 23, 22, 21])
    parser.add_argument("--num-proc", type=int, default=2, help="processes for the full-set build")
    parser.add_argument("--skip-full-sets", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"# hyperset_hf.data.sudoku speed ({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, one process unless stated)\n")

    print("## Generator (exact givens, unique solution)\n")
    print("| givens | puzzles | attempts | success per attempt | time per puzzle | puzzles/s | count_solutions |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for num_givens in args.givens:
        seed = args.seed + num_givens
        attempts, puzzles, elapsed = measure_generator(num_givens, args.puzzles, seed, args.time_budget)
        if not puzzles:
            print(f"| {num_givens} | 0 | {attempts} | 0% | - | 0 | - |", flush=True)
            continue
        check = measure_uniqueness_check(puzzles[:20])
        print(
            f"| {num_givens} | {len(puzzles)} | {attempts} | {len(puzzles) / attempts:.1%} | "
            f"{1e3 * elapsed / len(puzzles):.1f} ms | {len(puzzles) / elapsed:.1f} | {1e3 * check:.2f} ms |",
            flush=True,
        )
    print()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for _ in range(500):
        sd.random_solution(rng)
    print(f"random_solution: {1e3 * (time.perf_counter() - start) / 500:.2f} ms per grid\n")

    print("## Solver on known hard puzzles\n")
    print("| puzzle | count_solutions(limit=2) | time |")
    print("|---|---:|---:|")
    for name, puzzle in HARD_PUZZLES.items():
        start = time.perf_counter()
        count = sd.count_solutions(puzzle)
        print(f"| {name} | {count} | {1e3 * (time.perf_counter() - start):.1f} ms |", flush=True)
    print()

    if args.skip_full_sets:
        return
    print(f"## Full named benchmark sets (9000 train + 1000 test, num_proc={args.num_proc}, fresh cache)\n")
    print("| name | givens | train build | test build | cached reload (train) |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as cache_dir:
        for name, spec in sd.SUDOKU_BENCHMARKS.items():
            times = []
            for split in ("train", "test"):
                start = time.perf_counter()
                data = sd.load_sudoku_benchmark(name, split, cache_dir=cache_dir, num_proc=args.num_proc)
                times.append(time.perf_counter() - start)
                assert len(data) == spec[f"num_{split}"]
            start = time.perf_counter()
            sd.load_sudoku_benchmark(name, "train", cache_dir=cache_dir, num_proc=args.num_proc)
            reload = time.perf_counter() - start
            print(
                f"| {name} | {spec['min_givens']}-{spec['max_givens']} | {times[0]:.1f} s | {times[1]:.1f} s | "
                f"{1e3 * reload:.0f} ms |",
                flush=True,
            )


if __name__ == "__main__":
    main()
