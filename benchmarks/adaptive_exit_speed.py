# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Inference time of adaptive exit (and of a fixed depth) on the shipped Sudoku checkpoint: this engine, where
adaptive exit runs in the one recurrence loop, against the engine at `--previous_revision` (941eb13, where it was a
separate evaluator), on the same weights and puzzles.

Each engine runs in its own process (the previous one imported from `git archive` of that revision's `src/`), on one
thread; a row is the median CPU time of `--repeats` calls after one warm-up call, and the outputs of both engines are
compared (the same final states and iterations used).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/adaptive_exit_speed.py [--num_puzzles 200] [--repeats 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


REPOSITORY = Path(__file__).resolve().parents[1]
CHECKPOINT = REPOSITORY / "src" / "hyperset_hf" / "checkpoints" / "hyperset-sudoku"
SETTINGS = [  # (label, forward keyword arguments)
    ("fixed depth T=32", {"num_recurrences": 32}),
    ("adaptive exit, energy < 1e-2, at most 32", {"num_recurrences": 32, "adaptive_exit_threshold": 1e-2}),
    ("adaptive exit, state < 5e-2, at most 32",
     {"num_recurrences": 32, "adaptive_exit_threshold": 5e-2, "adaptive_exit_criterion": "state"}),
]


def measure(num_puzzles: int, repeats: int, output: str) -> None:
    """In this process: times every setting and saves the final states and iterations used."""
    import torch
    from transformers import AutoModelForTokenClassification

    import hyperset_hf  # noqa: F401

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(CHECKPOINT).eval()
    puzzles = torch.load(Path(output).with_suffix(".puzzles.pt"))[:num_puzzles]
    rows, outputs = [], {}
    with torch.no_grad():
        for label, kwargs in SETTINGS:
            model(input_ids=puzzles, **kwargs)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.process_time()
                result = model(input_ids=puzzles, **kwargs)
                times.append(time.process_time() - start)
            used = result.iterations_used
            rows.append({"setting": label, "cpu_seconds": statistics.median(times), "times": times,
                         "mean_iterations": None if used is None else float(used.float().mean())})  # fmt: skip
            outputs[label] = (result.logits, used)
    torch.save(outputs, output + ".outputs.pt")
    Path(output).write_text(json.dumps(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_puzzles", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--previous_revision", default="941eb13")
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.num_puzzles, args.repeats, args.measure)
        return

    import torch

    from hyperset_hf.data.sudoku import load_sudoku_benchmark

    work = Path(tempfile.mkdtemp())
    test = load_sudoku_benchmark("palm-like", "test", num_test=args.num_puzzles, num_proc=1)
    puzzles = torch.tensor([[int(c) for c in text] for text in test["puzzle"]])
    previous = work / "previous"
    previous.mkdir()
    archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", args.previous_revision, "src"], check=True,
                             capture_output=True).stdout  # fmt: skip
    (work / "previous.tar").write_bytes(archive)
    with tarfile.open(work / "previous.tar") as tar:
        tar.extractall(previous, filter="data")
    results = {}
    for name, source in (("previous", previous / "src"), ("this", REPOSITORY / "src")):
        output = str(work / f"{name}-rows.json")
        torch.save(puzzles, Path(output).with_suffix(".puzzles.pt"))
        environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(source))
        subprocess.run([sys.executable, __file__, "--measure", output, "--num_puzzles", str(args.num_puzzles),
                        "--repeats", str(args.repeats)], check=True, env=environment)  # fmt: skip
        results[name] = (json.loads(Path(output).read_text()), torch.load(output + ".outputs.pt"))
    print(f"{args.num_puzzles} palm-like test puzzles, shipped Sudoku checkpoint, one thread, median CPU seconds of "
          f"{args.repeats} calls\n")  # fmt: skip
    print(f"| setting | {args.previous_revision} s | this engine s | ratio | mean iterations | same outputs |")
    print("|---|---:|---:|---:|---:|---|")
    for old, new in zip(results["previous"][0], results["this"][0]):
        (old_logits, old_used), (new_logits, new_used) = (results[key][1][old["setting"]] for key in ("previous", "this"))
        same = torch.allclose(old_logits, new_logits, atol=1e-5) and (
            (old_used is None and new_used is None) or torch.equal(old_used, new_used)
        )
        ratio = new["cpu_seconds"] / old["cpu_seconds"]
        iterations = "-" if new["mean_iterations"] is None else f"{new['mean_iterations']:.1f}"
        print(f"| {old['setting']} | {old['cpu_seconds']:.2f} | {new['cpu_seconds']:.2f} | {ratio:.2f} | {iterations} | "
              f"{'yes' if same else 'NO'} |")  # fmt: skip


if __name__ == "__main__":
    main()
