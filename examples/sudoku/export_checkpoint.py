#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Export a trained Sudoku model as the checkpoint the package ships, with its generated model card.

Copies the training output of `run_sudoku.py` (weights, config, `run_metadata.json` with every training stage) and the
`extrapolation.json` of its evaluation into `--output_dir` (default: the package's `checkpoints/hyperset-sudoku`,
replacing what is there), adds the card's facts (`--test_set`, `--notes`, `--results_file`) to its
`run_metadata.json`, and renders the card (`hyperset_hf.release.model_card`) into it and into `model_cards/`. The folder alone
regenerates the same card: `hyperset-hf card --model-dir <output_dir>`.

    python examples/sudoku/export_checkpoint.py --model_dir outputs/final/stage-3 \\
        --results_dir outputs/final/eval-satnet-s3 --test_set satnet-like --notes "..."
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf
from hyperset_hf.release.model_card import RUN_METADATA_FILE, model_card_from_output_dir, read_extrapolation, read_run_metadata
from hyperset_hf.data.sudoku import SUDOKU_BENCHMARKS


REPOSITORY = Path(__file__).resolve().parents[2]
MAX_BYTES = 25 * 1024 * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--results_dir", default=None,
                        help="Folder with the extrapolation.json of the card (default: --model_dir).")  # fmt: skip
    parser.add_argument("--test_set", default=None, choices=sorted(SUDOKU_BENCHMARKS),
                        help="The generated test set of the card's results (default: the training set).")  # fmt: skip
    parser.add_argument("--notes", default=None, help="Machine, wall time, anything needed to read the numbers.")
    parser.add_argument("--results_file", default=None, help="The results file in benchmarks/results/.")
    parser.add_argument("--output_dir", default=str(Path(hyperset_hf.__file__).parent / "checkpoints" / "hyperset-sudoku"))
    parser.add_argument("--card_path", default=str(REPOSITORY / "model_cards" / "hyperset-sudoku.md"))
    parser.add_argument("--repo_id", default="hyperset-hf/hyperset-sudoku")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()

    model = AutoModelForTokenClassification.from_pretrained(args.model_dir, dtype=getattr(torch, args.dtype))
    results = read_extrapolation(args.results_dir or args.model_dir)
    metadata = read_run_metadata(args.model_dir)
    metadata.update({key: value for key, value in vars(args).items()
                     if key in ("test_set", "notes", "results_file") and value is not None})  # fmt: skip

    output_dir = Path(args.output_dir)
    if output_dir.exists():
        shutil.rmtree(output_dir)  # replace the older checkpoint rather than adding versions
    model.save_pretrained(output_dir)
    for code in output_dir.glob("*.py"):  # the package ships no copies of its code; `hyperset-hf push` adds them
        code.unlink()
    (output_dir / RUN_METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    (output_dir / "extrapolation.json").write_text(json.dumps(results, indent=2) + "\n")
    size = (output_dir / "model.safetensors").stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"model.safetensors is {size / 2**20:.1f} MB, over the 25 MB limit; use --dtype bfloat16.")

    card = model_card_from_output_dir(output_dir, "sudoku", repo_id=args.repo_id)
    card.save(output_dir / "README.md")
    Path(args.card_path).parent.mkdir(parents=True, exist_ok=True)
    card.save(args.card_path)
    print(f"wrote {output_dir} ({size / 2**20:.2f} MB weights) and {args.card_path}")


if __name__ == "__main__":
    main()
