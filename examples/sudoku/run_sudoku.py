#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Train and evaluate a Hyper-SET (or the paper's Transformer baseline) Sudoku solver with `Trainer`.

The defaults are the paper's recipe (Hyper-SET, ICLR 2026, Sec. 5.1 / App. D): the `sudoku` preset (d=768, 12 heads,
FF width 4d, 24 iterations, 5,195,584 parameters), AdamW lr 1e-4, betas (0.9, 0.95), weight decay 0.1 on every
parameter, cosine schedule, gradient clipping 1.0, batch 16, 200 epochs on 9k puzzles. After training the model is
evaluated on the test puzzles at T, 1.5T and 2T iterations (test-time extrapolation) and the table is written to
`<output_dir>/extrapolation.md` and `all_results.json`.

Examples:

    # the paper's Hyper-SET on the generated palm-like set (GPU: minutes per epoch)
    python examples/sudoku/run_sudoku.py --output_dir outputs/sudoku-hyperset

    # the paper's Transformer baseline, same recipe
    python examples/sudoku/run_sudoku.py --preset sudoku-transformer --output_dir outputs/sudoku-transformer

    # a small model for CPU
    python examples/sudoku/run_sudoku.py --config_overrides hidden_size=128,num_attention_heads=4,intermediate_size=512 \\
        --learning_rate 1e-3 --num_train_epochs 10 --per_device_train_batch_size 32 --output_dir outputs/sudoku-small

    # a mixture of generated sets: 40% hard, 30% palm-like, 30% mixed puzzles (sampling stops when one set runs out)
    python examples/sudoku/run_sudoku.py --dataset_name hard,palm-like,mixed --dataset_probabilities 0.4,0.3,0.3 \
        --eval_dataset_name hard --output_dir outputs/sudoku-mixture

    # Palm et al. CSV files (`puzzle,solution` per row) instead of a generated set
    python examples/sudoku/run_sudoku.py --train_file train.csv --validation_file test.csv --output_dir outputs/palm

    # the CPU recipe options (see the README): row/column/box cells, non-negative step sizes starting at 0.5, loss on
    # every iteration, a 100k mixed-difficulty set with augmentation, a 30-minute budget with a wall-time curve
    python examples/sudoku/run_sudoku.py --dataset_name mixed --augment --max_train_minutes 30 \
        --config_overrides hidden_size=128,num_attention_heads=4,intermediate_size=512,num_recurrences=16,\
position_embedding_type=row_column_box,step_size_activation=softplus,step_size_initial_value=0.5,deep_supervision=all \
        --learning_rate 1e-3 --per_device_train_batch_size 64 --output_dir outputs/sudoku-recipe

    # continue that model for another stage (its run_metadata.json stages are carried over and extended)
    python examples/sudoku/run_sudoku.py --model_name_or_path outputs/sudoku-recipe --output_dir outputs/sudoku-recipe-2 ...

    # train for iterative decoding (`solve()`): reveal up to 80% of each puzzle's blanks (MaskGIT's random mask ratio),
    # with an average of the weights; the stage that turned iterative decoding back up
    # (benchmarks/results/sudoku-hard-training.md, stage 7)
    python examples/sudoku/run_sudoku.py --model_name_or_path outputs/sudoku-recipe --augment \
        --max_reveal_fraction 0.8 --ema_decay 0.999 --learning_rate 3e-4 --output_dir outputs/sudoku-recipe-reveal ...

Everything runs offline: the generated benchmark sets are built and cached on first use. Every run writes
`run_metadata.json` (the model card's facts: one entry per training stage with start point, data, steps, wall time,
machine, date and command; `hyperset_hf.release.model_card.record_training_stage`) and, with evaluation
during training, `curve.json` (wall time, step and eval metrics at every evaluation).
"""

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from hyperset_hf import HyperSETConfig, HyperSETForSudoku
from hyperset_hf.data.sudoku import (
    SUDOKU_BENCHMARKS,
    SudokuAugmentationTransform,
    load_palm_csv,
    load_sudoku_benchmark,
    to_model_inputs,
)
from hyperset_hf.metrics import load_sudoku_metric
from hyperset_hf.release.model_card import record_training_stage, script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.configs import config_overrides  # noqa: E402


logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Checkpoint to start from (folder or Hub id); default: train from scratch."}
    )
    preset: str = field(
        default="sudoku",
        metadata={"help": "Configuration to train from scratch: `sudoku` (Hyper-SET) or `sudoku-transformer`."},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Comma-separated config fields to override, e.g. `hidden_size=128,num_recurrences=16`."},
    )


@dataclass
class DataTrainingArguments:
    dataset_name: str = field(
        default="palm-like",
        metadata={
            "help": f"Generated benchmark set(s) to train on: one of {sorted(SUDOKU_BENCHMARKS)}, or a "
            "comma-separated mixture such as `hard,palm-like,mixed` (see --dataset_probabilities)."
        },
    )
    dataset_probabilities: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated sampling probabilities of the --dataset_name sets, e.g. `0.4,0.3,0.3` "
            "(normalised to sum 1): the sets are interleaved with `datasets.interleave_datasets` (seeded by --seed), "
            "stopping when the first set is exhausted. Default: the sets are concatenated (each in proportion to its "
            "size)."
        },
    )
    eval_dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "One generated set to evaluate on (default: the test split of --dataset_name, or of its first set "
            "for a mixture)."
        },
    )
    train_file: str | None = field(default=None, metadata={"help": "Palm/RRN CSV file of training puzzles."})
    validation_file: str | None = field(default=None, metadata={"help": "Palm/RRN CSV file of test puzzles."})
    cache_dir: str | None = field(default=None, metadata={"help": "Where generated sets are cached."})
    max_train_samples: int | None = field(
        default=None,
        metadata={
            "help": "Use only the first this many training puzzles of EACH training set (applied per set, before "
            "mixing; only that many are generated), so a mixture of k sets has at most k times this many."
        },
    )
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only this many test puzzles."})
    augment: bool = field(
        default=False,
        metadata={"help": "Apply a random validity-preserving symmetry to every training puzzle (not in the paper)."},
    )
    max_reveal_fraction: float = field(
        default=0.0,
        metadata={
            "help": "With --augment, also reveal a random fraction r ~ U(0, this) of every training puzzle's blanks "
            "(their solution digits become givens, as MaskGIT trains on a random mask ratio): training on the grids "
            "iterative decoding meets. In [0, 1); 0 (the default) reveals nothing."
        },
    )
    eval_iteration_multipliers: str = field(
        default="1,1.5,2",
        metadata={"help": "Final evaluation at these multiples of the trained number of iterations."},
    )
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes to build the sets."})


@dataclass
class SudokuTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the paper's Sudoku recipe as defaults."""

    output_dir: str = field(default="outputs/sudoku")
    learning_rate: float = field(default=1e-4)
    adam_beta1: float = field(default=0.9)
    adam_beta2: float = field(default=0.95)
    weight_decay: float = field(default=0.1)
    lr_scheduler_type: str = field(default="cosine")
    max_grad_norm: float = field(default=1.0)
    per_device_train_batch_size: int = field(default=16)
    per_device_eval_batch_size: int = field(default=100)
    num_train_epochs: float = field(default=200.0)
    eval_strategy: str = field(default="epoch")
    save_strategy: str = field(default="epoch")
    save_total_limit: int | None = field(default=2)
    logging_steps: int = field(default=50)
    remove_unused_columns: bool = field(default=False)
    weight_decay_on_all_parameters: bool = field(
        default=True,
        metadata={"help": "Decay norm gains and embeddings too, as the paper does (Trainer's default skips them)."},
    )
    max_train_minutes: float | None = field(
        default=None,
        metadata={"help": "Stop training after this many minutes of wall time (a fixed compute budget)."},
    )
    max_train_cpu_minutes: float | None = field(
        default=None,
        metadata={
            "help": "Stop training after this many minutes of this process's CPU time (`time.process_time`, all its "
            "threads): with one thread, a budget in one-thread minutes that other jobs on the machine do not shrink."
        },
    )

    ema_decay: float | None = field(
        default=None,
        metadata={
            "help": "Keep an exponential moving average of the weights (decay in (0, 1), e.g. 0.999; "
            "`torch.optim.swa_utils`) and end the run with it: the saved model and the final evaluation use the "
            "average, the evaluations during training the trained weights. Not carried across --resume_from_checkpoint."
        },
    )

    def __post_init__(self):
        for name in ("max_train_minutes", "max_train_cpu_minutes"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"--{name} must be a number of minutes >= 0, got {value!r}.")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"--ema_decay must be a number in (0, 1), got {self.ema_decay!r}.")
        super().__post_init__()


class WeightAverageCallback(TrainerCallback):
    """An exponential moving average of the weights (`torch.optim.swa_utils.AveragedModel`), updated after every
    optimizer step (the first update copies the weights) and copied into the model when training ends."""

    def __init__(self, decay: float):
        self.decay, self.average = decay, None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=True)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.average.update_parameters(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        with torch.no_grad():
            for target, average in zip(model.state_dict().values(), self.average.module.state_dict().values()):
                target.copy_(average)


class WallTimeCallback(TrainerCallback):
    """Stops training after a wall-time or CPU-time budget and records (wall time, CPU time, step, eval metrics) at
    every evaluation."""

    def __init__(self, budget_minutes: float | None, cpu_budget_minutes: float | None = None):
        self.budget_seconds = None if budget_minutes is None else 60.0 * budget_minutes
        self.cpu_budget_seconds = None if cpu_budget_minutes is None else 60.0 * cpu_budget_minutes
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        self.curve = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def cpu_elapsed(self) -> float:
        return time.process_time() - self.cpu_start

    def on_step_end(self, args, state, control, **kwargs):
        over_wall = self.budget_seconds is not None and self.elapsed() >= self.budget_seconds
        over_cpu = self.cpu_budget_seconds is not None and self.cpu_elapsed() >= self.cpu_budget_seconds
        if over_wall or over_cpu:
            control.should_training_stop = True
            control.should_evaluate = control.should_save = True  # end with an evaluation and a checkpoint
        return control

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        elapsed = {"wall_seconds": round(self.elapsed(), 1), "cpu_seconds": round(self.cpu_elapsed(), 1)}
        self.curve.append({**elapsed, "step": state.global_step, **(metrics or {})})


def parse_mixture(dataset_name: str, dataset_probabilities: str | None) -> tuple[list[str], list[float] | None]:
    """Parses `--dataset_name` (one generated set or a comma-separated mixture) and `--dataset_probabilities`.

    Returns:
        `(names, probabilities)`: the set names in order, and their sampling probabilities normalised to sum 1 (`None`
        when no probabilities are given: the sets are concatenated).
    """
    names = [name.strip() for name in dataset_name.split(",")]
    for name in names:
        if name not in SUDOKU_BENCHMARKS:
            raise ValueError(
                f"--dataset_name: unknown Sudoku benchmark {name!r} in {dataset_name!r}; "
                f"known: {', '.join(sorted(SUDOKU_BENCHMARKS))}."
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--dataset_name names {', '.join(map(repr, repeated))} more than once: {dataset_name!r}.")
    if dataset_probabilities is None:
        return names, None
    values = []
    for text in dataset_probabilities.split(","):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"--dataset_probabilities must be comma-separated numbers, got {text.strip()!r} in "
                f"{dataset_probabilities!r}."
            ) from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"--dataset_probabilities must be non-negative numbers, got {text.strip()!r} in "
                f"{dataset_probabilities!r}."
            )
        values.append(value)
    if len(values) != len(names):
        raise ValueError(
            f"--dataset_probabilities gives {len(values)} probabilities ({dataset_probabilities!r}) for "
            f"{len(names)} --dataset_name sets ({dataset_name!r}); give one per set."
        )
    total = sum(values)
    if total <= 0:
        raise ValueError(f"--dataset_probabilities must not all be zero, got {dataset_probabilities!r}.")
    return names, [value / total for value in values]


def describe_mixture(names: list[str], probabilities: list[float] | None, sizes: list[int]) -> str:
    """The training data for the run metadata: the set name, or `name:probability,...` for a mixture (without
    probabilities, the share of each set in the concatenation)."""
    if len(names) == 1:
        return names[0]
    shares = probabilities or [size / max(1, sum(sizes)) for size in sizes]
    return ",".join(f"{name}:{share:.4g}" for name, share in zip(names, shares))


def mix_datasets(parts: list, probabilities: list[float] | None, seed: int):
    """Mixes training sets on their common columns (loaded CSV files have no `search_effort`): interleaved with
    `probabilities` (stopping when the first set is exhausted), else concatenated."""
    import datasets

    if len(parts) == 1:
        return parts[0]
    common = [column for column in parts[0].column_names if all(column in part.column_names for part in parts[1:])]
    parts = [part.select_columns(common) for part in parts]
    parts = [part if part.features == parts[0].features else part.cast(parts[0].features) for part in parts]
    if probabilities is None:
        return datasets.concatenate_datasets(parts)
    return datasets.interleave_datasets(
        parts, probabilities=probabilities, seed=seed, stopping_strategy="first_exhausted"
    )


def load_splits(data_args: DataTrainingArguments, seed: int = 42):
    """Loads the training set (one set or a mixture, see `parse_mixture`) and the test set.

    Returns:
        `(train, test, dataset)`: the two `datasets.Dataset`s and the description of the training data for the run
        metadata (`describe_mixture`, or the CSV path).
    """
    max_train = data_args.max_train_samples
    if data_args.train_file or data_args.validation_file:
        if not (data_args.train_file and data_args.validation_file):
            raise ValueError("Give both --train_file and --validation_file (Palm CSV files), or neither.")
        if data_args.dataset_probabilities is not None:
            raise ValueError("--dataset_probabilities mixes generated sets (--dataset_name), not --train_file.")
        train, test = load_palm_csv(data_args.train_file), load_palm_csv(data_args.validation_file)
        if max_train is not None:
            train = train.select(range(min(len(train), max_train)))
        dataset = data_args.train_file
    else:
        names, probabilities = parse_mixture(data_args.dataset_name, data_args.dataset_probabilities)
        kwargs = dict(cache_dir=data_args.cache_dir, num_proc=data_args.preprocessing_num_workers)
        parts = []
        for name in names:
            part = load_sudoku_benchmark(name, "train", num_train=max_train, **kwargs)
            if max_train is not None:
                part = part.select(range(min(len(part), max_train)))
            parts.append(part)
        train = mix_datasets(parts, probabilities, seed)
        dataset = describe_mixture(names, probabilities, [len(part) for part in parts])
        if len(names) > 1:
            logger.info(f"training mixture {dataset}: {[len(part) for part in parts]} puzzles -> {len(train)}")
        test_name = data_args.eval_dataset_name or names[0]
        test = load_sudoku_benchmark(test_name, "test", num_test=data_args.max_eval_samples, **kwargs)
    if data_args.max_eval_samples is not None:
        test = test.select(range(min(len(test), data_args.max_eval_samples)))
    return train, test, dataset


def test_set_name(data_args: DataTrainingArguments) -> str:
    """The evaluation set for the run metadata: the CSV file, --eval_dataset_name, or the (first) training set."""
    if data_args.validation_file:
        return data_args.validation_file
    return data_args.eval_dataset_name or data_args.dataset_name.split(",")[0].strip()


def build_compute_metrics():
    metric = load_sudoku_metric()

    def compute_metrics(eval_prediction):
        predicted_digits = eval_prediction.predictions  # (N, 81) argmax indices from `preprocess_logits`
        puzzles = np.asarray(eval_prediction.inputs)
        labels = np.asarray(eval_prediction.label_ids)
        solutions = np.where(labels >= 0, labels + 1, puzzles)
        predictions = np.where(puzzles > 0, puzzles, predicted_digits + 1)
        return metric.compute(predictions=predictions, references=solutions, puzzles=puzzles)

    return compute_metrics


def preprocess_logits(logits, labels):
    """Keeps only the argmax so evaluation does not gather (N, 81, 9) logits."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)


def main(argv=None):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, SudokuTrainingArguments))
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    training_args.include_for_metrics = sorted(set(training_args.include_for_metrics or []) | {"inputs"})

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    logger.info(f"Training/evaluation parameters {training_args}")

    multipliers = [float(value) for value in data_args.eval_iteration_multipliers.split(",") if value.strip()]
    if not multipliers or any(value <= 0 for value in multipliers):
        raise ValueError(f"--eval_iteration_multipliers must be positive numbers, got {multipliers}.")

    if not (data_args.train_file or data_args.validation_file):
        parse_mixture(data_args.dataset_name, data_args.dataset_probabilities)  # bad names fail before any work
        if data_args.eval_dataset_name is not None and data_args.eval_dataset_name not in SUDOKU_BENCHMARKS:
            raise ValueError(
                f"--eval_dataset_name must be one generated set, one of {', '.join(sorted(SUDOKU_BENCHMARKS))}; "
                f"got {data_args.eval_dataset_name!r}."
            )

    if data_args.max_reveal_fraction and not data_args.augment:
        raise ValueError(
            f"--max_reveal_fraction {data_args.max_reveal_fraction} reveals during augmentation: add --augment."
        )
    set_seed(training_args.seed)
    train, test, train_description = load_splits(data_args, seed=training_args.seed)
    logger.info(f"{len(train)} training and {len(test)} test puzzles")
    if data_args.augment:
        train = train.with_transform(SudokuAugmentationTransform(
            seed=training_args.seed, return_model_inputs=True, max_reveal_fraction=data_args.max_reveal_fraction
        ))  # fmt: skip
    else:
        train = train.with_transform(to_model_inputs)
    test = test.with_transform(to_model_inputs)

    base_config = (
        AutoConfig.from_pretrained(model_args.model_name_or_path) if model_args.model_name_or_path
        else HyperSETConfig.from_preset(model_args.preset)
    )  # fmt: skip
    overrides = config_overrides(model_args.config_overrides, base_config)
    if model_args.model_name_or_path:
        model = AutoModelForTokenClassification.from_pretrained(model_args.model_name_or_path, **overrides)
    else:
        model = HyperSETForSudoku(HyperSETConfig.from_preset(model_args.preset, **overrides))
    logger.info(f"{type(model).__name__} ({model.config.layer_type}) with {model.num_parameters():,} parameters")

    optimizers = (None, None)
    if training_args.do_train and training_args.weight_decay_on_all_parameters:
        optimizer = torch.optim.AdamW(
            model.parameters(),
            lr=training_args.learning_rate,
            betas=(training_args.adam_beta1, training_args.adam_beta2),
            eps=training_args.adam_epsilon,
            weight_decay=training_args.weight_decay,
        )
        optimizers = (optimizer, None)

    wall_time = WallTimeCallback(training_args.max_train_minutes, training_args.max_train_cpu_minutes)
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train if training_args.do_train else None,
        eval_dataset=test,
        data_collator=default_data_collator,
        compute_metrics=build_compute_metrics(),
        preprocess_logits_for_metrics=preprocess_logits,
        optimizers=optimizers,
        callbacks=[wall_time] + ([WeightAverageCallback(training_args.ema_decay)] if training_args.ema_decay else []),
    )

    if training_args.do_train:
        # --resume_from_checkpoint PATH, or `true` for the last checkpoint in --output_dir
        checkpoint = training_args.resume_from_checkpoint
        if isinstance(checkpoint, str) and checkpoint.lower() == "true":
            checkpoint = True  # Trainer resumes from the newest checkpoint in --output_dir (and says if there is none)
        train_result = trainer.train(resume_from_checkpoint=checkpoint)
        trainer.save_model()
        if trainer.is_world_process_zero():
            record_training_stage(
                training_args.output_dir,
                started_from=model_args.model_name_or_path or f"scratch (preset {model_args.preset})",
                command=script_command(__file__, argv),
                dataset=train_description,
                test_set=test_set_name(data_args),
                resumed_from_checkpoint=checkpoint,
                train_puzzles=len(train),
                augment=data_args.augment,
                **({"max_reveal_fraction": data_args.max_reveal_fraction} if data_args.max_reveal_fraction else {}),
                steps=trainer.state.global_step,
                epochs=round(trainer.state.epoch or 0.0, 3),
                batch_size=training_args.per_device_train_batch_size,
                learning_rate=training_args.learning_rate,
                wall_minutes=round(wall_time.elapsed() / 60.0, 1),
                cpu_minutes=round(wall_time.cpu_elapsed() / 60.0, 1),
                train_loss=train_result.metrics.get("train_loss"),
                seed=training_args.seed,
                ema_decay=training_args.ema_decay,
            )
            if wall_time.curve:
                with open(os.path.join(training_args.output_dir, "curve.json"), "w") as handle:
                    json.dump(wall_time.curve, handle, indent=2)
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()

    if training_args.do_eval:
        trained_iterations = model.config.num_recurrences
        rows = []
        for multiplier in multipliers:
            iterations = max(1, math.ceil(trained_iterations * multiplier - 1e-9))
            model.config.num_recurrences = iterations
            try:
                metrics = trainer.evaluate(metric_key_prefix=f"eval_T{iterations}")
            finally:
                model.config.num_recurrences = trained_iterations
            trainer.log_metrics(f"eval_T{iterations}", metrics)
            trainer.save_metrics(f"eval_T{iterations}", metrics)
            prefix = f"eval_T{iterations}_"
            rows.append(
                (
                    multiplier,
                    iterations,
                    100 * metrics[prefix + "board_accuracy"],
                    100 * metrics[prefix + "cell_accuracy"],
                    100 * metrics[prefix + "validity"],
                )
            )
        table = [
            "| iterations | multiple of T | board accuracy (%) | cell accuracy (%) | valid grids (%) |",
            "|---|---|---|---|---|",
        ] + [f"| {it} | {mult:g} | {board:.2f} | {cell:.2f} | {valid:.2f} |" for mult, it, board, cell, valid in rows]
        text = "\n".join(table)
        print(text)
        if trainer.is_world_process_zero():
            with open(os.path.join(training_args.output_dir, "extrapolation.md"), "w") as handle:
                handle.write(text + "\n")
            with open(os.path.join(training_args.output_dir, "extrapolation.json"), "w") as handle:
                json.dump(
                    [
                        dict(multiplier=m, iterations=i, board_accuracy=b, cell_accuracy=c, validity=v)
                        for m, i, b, c, v in rows
                    ],
                    handle,
                    indent=2,
                )

    if training_args.push_to_hub:
        # the same upload as `hyperset-hf push`: weights, config, remote code and the generated card
        from hyperset_hf.release.hub import push_trainer_output

        push_trainer_output(trainer, kind="sudoku")


if __name__ == "__main__":
    main()
