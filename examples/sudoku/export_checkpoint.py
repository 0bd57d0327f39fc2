#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Export a trained Sudoku model as the checkpoint the package ships, with its generated model card.

Reads the training output of `run_sudoku.py` (model + `extrapolation.json`) and, optionally, the baseline's output,
writes `model.safetensors` + `config.json` + the remote code + `README.md` (the card) into `--output_dir` (default: the
package's `checkpoints/hyperset-sudoku`, replacing what is there), and the same card to `model_cards/`.

    python examples/sudoku/export_checkpoint.py --model_dir outputs/sudoku-cpu-hyperset \\
        --baseline_dir outputs/sudoku-cpu-transformer --command "$(cat outputs/sudoku-cpu-hyperset.cmd)"
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf
from hyperset_hf.model_card import read_extrapolation, sudoku_model_card
from hyperset_hf.sudoku_data import SUDOKU_BENCHMARKS


REPOSITORY = Path(__file__).resolve().parents[2]
MAX_BYTES = 25 * 1024 * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--baseline_dir", default=None)
    parser.add_argument("--command", required=True, help="The exact training command (goes into the card).")
    parser.add_argument("--notes", default="", help="Machine, wall time, anything needed to read the numbers.")
    parser.add_argument("--output_dir", default=str(Path(hyperset_hf.__file__).parent / "checkpoints" / "hyperset-sudoku"))
    parser.add_argument("--card_path", default=str(REPOSITORY / "model_cards" / "hyperset-sudoku.md"))
    parser.add_argument("--results_file", default="benchmarks/results/sudoku-cpu-hyperset-vs-transformer.md")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--dataset_name", default="palm-like", choices=sorted(SUDOKU_BENCHMARKS),
                        help="The generated set the model was trained on (for the card).")  # fmt: skip
    parser.add_argument("--test_set", default=None, choices=sorted(SUDOKU_BENCHMARKS),
                        help="The generated test set of the card's results (default: --dataset_name).")  # fmt: skip
    parser.add_argument("--test_description", default="the test split of the same set",
                        help="What the card's results were measured on.")  # fmt: skip
    parser.add_argument("--results_dir", default=None,
                        help="Folder with the extrapolation.json of the card (default: --model_dir).")  # fmt: skip
    args = parser.parse_args()

    model = AutoModelForTokenClassification.from_pretrained(args.model_dir, dtype=getattr(torch, args.dtype))
    results = read_extrapolation(args.results_dir or args.model_dir)
    history_file = Path(args.model_dir) / "training_history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else []
    baseline_results = baseline_parameters = None
    if args.baseline_dir:
        baseline_results = read_extrapolation(args.baseline_dir)
        baseline = AutoModelForTokenClassification.from_pretrained(args.baseline_dir)
        baseline_parameters = baseline.num_parameters()

    output_dir = Path(args.output_dir)
    if output_dir.exists():
        shutil.rmtree(output_dir)  # replace the older checkpoint rather than adding versions
    model.save_pretrained(output_dir)
    for code in output_dir.glob("*.py"):  # the package ships no copies of its code; `hyperset-hf push` adds them
        code.unlink()
    if history:  # a later stage started from the shipped checkpoint carries the history on
        (output_dir / "training_history.json").write_text(json.dumps(history, indent=2) + "\n")
    size = (output_dir / "model.safetensors").stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"model.safetensors is {size / 2**20:.1f} MB, over the 25 MB limit; use --dtype bfloat16.")

    card = sudoku_model_card(
        model.config,
        model.num_parameters(),
        results,
        training_command=args.command,
        dataset_description=SUDOKU_BENCHMARKS[args.dataset_name]["description"] + f"; results on {args.test_description}.",
        baseline_results=baseline_results,
        baseline_parameters=baseline_parameters,
        training_notes=args.notes + history_table(history),
        results_file=args.results_file,
        test_set=args.test_set or args.dataset_name,
    )
    card.save(output_dir / "README.md")
    Path(args.card_path).parent.mkdir(parents=True, exist_ok=True)
    card.save(args.card_path)
    print(f"wrote {output_dir} ({size / 2**20:.2f} MB weights) and {args.card_path}")


def history_table(history: list[dict]) -> str:
    """The training stages as a Markdown table (empty without history)."""
    if not history:
        return ""
    lines = [
        "",
        "",
        "Training history (every stage, from `training_history.json`):",
        "",
        "| stage | started from | data | steps | wall time (min) | machine | date |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for stage in history:
        data = f"{stage['dataset']} ({stage['train_puzzles']:,} puzzles{', augmented' if stage['augment'] else ''})"
        lines.append(
            f"| {stage['stage']} | {stage['started_from']} | {data} | {stage['steps']} | {stage['wall_minutes']} | "
            f"{stage['machine']} | {stage['date']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
