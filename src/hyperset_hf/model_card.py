# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Model cards generated from training outputs with `huggingface_hub.ModelCard` / `ModelCardData`.

`sudoku_model_card(...)` renders the card of a Sudoku checkpoint from the `extrapolation.json` files that
`examples/sudoku/run_sudoku.py` writes (board / cell accuracy and validity at T, 1.5T and 2T), for the model and,
optionally, for a baseline trained the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData


HYPERSET_CITATION = """@inproceedings{hu2026hyperset,
  title     = {Hyper-{SET}: Designing Transformers via Hyperspherical Energy Minimization},
  author    = {Hu, Yunzhe and Zou, Difan and Xu, Dong},
  booktitle = {International Conference on Learning Representations},
  year      = {2026},
  url       = {https://arxiv.org/abs/2502.11646}
}"""

ENERGY_TRANSFORMER_CITATION = """@inproceedings{hoover2023energy,
  title     = {Energy Transformer},
  author    = {Hoover, Benjamin and Liang, Yuchen and Pham, Bao and Panda, Rameswar and Strobelt, Hendrik and
               Chau, Duen Horng and Zaki, Mohammed J. and Krotov, Dmitry},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2023},
  url       = {https://arxiv.org/abs/2302.07253}
}"""


def read_extrapolation(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Reads `extrapolation.json` (a list of {multiplier, iterations, board_accuracy, cell_accuracy, validity}, in %)
    from a training output folder or the file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "extrapolation.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run examples/sudoku/run_sudoku.py with --do_eval first.")
    rows = json.loads(path.read_text())
    for row in rows:
        missing = {"iterations", "board_accuracy", "cell_accuracy", "validity"} - set(row)
        if missing:
            raise ValueError(f"{path}: row {row} lacks {sorted(missing)}.")
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| iterations | board accuracy (%) | cell accuracy (%) | valid grids (%) |", "|---|---|---|---|"]
    lines += [
        f"| {row['iterations']} | {row['board_accuracy']:.2f} | {row['cell_accuracy']:.2f} | {row['validity']:.2f} |"
        for row in rows
    ]
    return "\n".join(lines)


def sudoku_model_card(
    config,
    num_parameters: int,
    results: list[dict[str, Any]],
    training_command: str,
    dataset_description: str,
    baseline_results: list[dict[str, Any]] | None = None,
    baseline_parameters: int | None = None,
    training_notes: str = "",
    repo_id: str = "hyperset-hf/hyperset-sudoku",
    results_file: str | None = None,
) -> ModelCard:
    """Renders the model card of a Sudoku checkpoint.

    Args:
        config: the checkpoint's `HyperSETConfig`.
        num_parameters (`int`): the model's parameter count.
        results: rows of `extrapolation.json` of the model (percentages).
        training_command (`str`): the exact command that trained it.
        dataset_description (`str`): what the training and test puzzles are.
        baseline_results, baseline_parameters: the same for the Transformer baseline trained the same way.
        training_notes (`str`): machine, wall time and anything a reader needs to judge the numbers.
        repo_id (`str`): the Hub id used in the usage snippets.
        results_file (`str`): where the full results live in the repository.
    """
    trained = config.num_recurrences
    eval_results = []
    for row in results:
        for key, name in (("board_accuracy", "board accuracy"), ("cell_accuracy", "cell accuracy")):
            eval_results.append(
                EvalResult(
                    task_type="sudoku-solving",
                    task_name="Sudoku solving",
                    dataset_type="palm-like",
                    dataset_name="palm-like (generated, 23-34 givens, 1k test puzzles)",
                    dataset_split="test",
                    metric_type=key,
                    metric_name=f"{name} at {row['iterations']} iterations",
                    metric_value=round(float(row[key]), 2),
                    metric_config=f"num_recurrences={row['iterations']}",
                )
            )
    data = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        pipeline_tag="token-classification",
        tags=["hyper-set", "hyperset-hf", "energy-based-model", "recurrent-depth", "sudoku", "custom_code"],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )
    baseline = ""
    if baseline_results:
        baseline = (
            f"\n### Transformer baseline trained the same way ({baseline_parameters:,} parameters)\n\n"
            "One standard pre-RMSNorm Transformer layer of the same width, weight-tied over the same number of "
            "iterations (`HyperSETConfig.from_preset(\"sudoku-transformer\")` with the same overrides):\n\n"
            + _table(baseline_results)
            + "\n"
        )
    results_link = f"\nFull record: `{results_file}` in the hyperset-hf repository.\n" if results_file else ""
    body = f"""
# Hyper-SET Sudoku solver ({config.hidden_size}-d, 1 layer x {trained} iterations)

A [Hyper-SET](https://arxiv.org/abs/2502.11646) model that fills in Sudoku puzzles: one weight-tied layer applied
{trained} times, every application a gradient step on a hyperspherical energy (bi-softmax attention with Q = K = V and
a tied output map, a tied ReLU feedforward, RMSNorm as the sphere constraint, learned step sizes from the iteration
index and the embedded puzzle). Trained with the [hyperset-hf](https://github.com/hyperset-hf/hyperset-hf) package.

- Parameters: {num_parameters:,} (d={config.hidden_size}, {config.num_attention_heads} heads, feedforward width
  {config.intermediate_size}, time embedding {config.time_embedding_size}); the paper's model is 5,195,584 (d=768).
- Input: `input_ids` of shape (batch, 81), cells in row-major order, 0 = blank, 1-9 = given digit.
- Output: `logits` of shape (batch, 81, 9); logit k scores digit k + 1.

## Use

```python
import hyperset_hf  # registers the model with the Auto classes and the "sudoku-solving" pipeline
from transformers import AutoModelForTokenClassification, pipeline

model = AutoModelForTokenClassification.from_pretrained("{repo_id}")
# without the package: AutoModelForTokenClassification.from_pretrained("{repo_id}", trust_remote_code=True)

solver = pipeline("sudoku-solving", model="{repo_id}")
result = solver("53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79",
                num_recurrences={2 * trained})
print(result["grid"], result["is_valid"], result["energies"])
```

or from the shell: `hyperset-hf solve <81 characters> --num-recurrences {2 * trained}`.

## The number of iterations is a knob

The model was trained at T = {trained} iterations. Nothing in it is indexed by the iteration except the sinusoidal
time embedding that feeds the step sizes, so it runs at any depth: `model(input_ids, num_recurrences=N)`.
`output_energies=True` returns the attention, feedforward and total energy after every iteration.

## Results on the generated palm-like test set

{dataset_description}

{_table(results)}
{baseline}{results_link}
## Training

```bash
{training_command}
```

{training_notes}

## Limitations

- Trained on generated puzzles with 23-34 givens, not on the original Palm et al. sudoku-hard set (17-34 givens);
  harder puzzles are out of distribution.
- The predicted grid is an independent argmax per cell: it is not guaranteed to be a valid Sudoku (the `is_valid`
  flag of the pipeline and the `validity` metric say when it is not), and no search or backtracking is done.
- The learned step sizes are unconstrained in sign, so the energy of a trained model need not decrease at every
  iteration; the per-iteration energies show what it does.

## Citation

```bibtex
{HYPERSET_CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


__all__ = ["HYPERSET_CITATION", "ENERGY_TRANSFORMER_CITATION", "read_extrapolation", "sudoku_model_card"]
