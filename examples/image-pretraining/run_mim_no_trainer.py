#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Masked image modeling (SimMIM-style, pixel space) with `HyperSETForMaskedImageModeling` and an explicit
Accelerate training loop, on any number of processes.

Modelled on transformers' `examples/pytorch/image-pretraining/run_mim_no_trainer.py` (same argument names); the task,
data and masking are those of `run_mim.py` in this folder. Additions: `--mixed_precision`, `--max_grad_norm`,
`--resume_from_checkpoint latest`, `--stop_after_steps` (stop early while keeping the schedule of
`--max_train_steps`, e.g. for preemptible jobs and for testing resumption), `--cpu`, `--dataloader_num_workers`.

Reproducibility: the order of the training images is a permutation drawn from `--seed` and the epoch (Accelerate's
seedable sampler, `DataLoaderConfiguration(use_seedable_sampler=True)`), and every
random draw of the augmentation and of the mask of image `i` comes from a generator seeded with
(seed, epoch, i). A run resumed from `step_N` (`accelerator.load_state` + `accelerator.skip_first_batches`) therefore
sees exactly the batches of an uninterrupted run and ends with the same weights (given the same process count).

Examples:

    # one process (CPU or one GPU)
    accelerate launch examples/image-pretraining/run_mim_no_trainer.py --dataset_name fashion-mnist-local \\
        --per_device_train_batch_size 128 --learning_rate 1e-4 --weight_decay 0.05 --num_train_epochs 10 \\
        --checkpointing_steps 500 --output_dir outputs/mim-accelerate

    # two GPUs, bf16, gradient accumulation, resume from the newest checkpoint in --output_dir
    accelerate launch --multi_gpu --num_processes 2 --mixed_precision bf16 \\
        examples/image-pretraining/run_mim_no_trainer.py --dataset_name fashion-mnist-local \\
        --gradient_accumulation_steps 2 --checkpointing_steps 500 --resume_from_checkpoint latest \\
        --output_dir outputs/mim-accelerate

    # two CPU processes (gloo), a tiny model, image folders. Without MPI, `accelerate launch --cpu --num_processes 2`
    # starts a single process; `--multi_gpu` starts two through torchrun and the script's `--cpu` keeps them on CPU.
    accelerate launch --multi_gpu --num_processes 2 examples/image-pretraining/run_mim_no_trainer.py --cpu \\
        --train_dir data/train --validation_dir data/val --image_size 32 \\
        --config_overrides hidden_size=64,num_attention_heads=4,intermediate_size=64,time_embedding_size=64 \\
        --max_train_steps 100 --checkpointing_steps 50 --output_dir outputs/mim-cpu

    # the same run interrupted after 50 steps and resumed: ends with the same weights as the run above
    accelerate launch ... --max_train_steps 100 --checkpointing_steps 50 --stop_after_steps 50 \\
        --output_dir outputs/mim-b
    accelerate launch ... --max_train_steps 100 --checkpointing_steps 50 --resume_from_checkpoint latest \\
        --output_dir outputs/mim-b

`--push_to_hub [--hub_model_id org/name] [--hub_token ...]` uploads the final folder (model + image processor) with
`HfApi().upload_folder`; nothing touches the Hub without it. `--with_tracking [--report_to tensorboard]` logs losses
through Accelerate's trackers.
"""

import argparse
import json
import logging
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import datasets
import torch
import transformers
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from huggingface_hub import HfApi
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import (
    get_scheduler,
    SchedulerType,
)

from hyperset_hf.release.model_card import record_training_stage, script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.images import (  # noqa: E402
    build_image_model,
    build_image_processor,
    collate_fn,
    FASHION_MNIST_LOCAL,
    find_image_column,
    load_image_datasets,
    mim_transforms,
    with_sample_index,
)


logger = logging.getLogger(__name__)

CHECKPOINT_PATTERN = re.compile(r"^(step|epoch)_(\d+)$")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Masked image modeling with Hyper-SET and Accelerate.")
    # data
    parser.add_argument("--dataset_name", type=str, default=None,
                        help=f"A `datasets` image dataset (needs the Hub) or `{FASHION_MNIST_LOCAL}`.")
    parser.add_argument("--dataset_config_name", type=str, default=None, help="Configuration name of the dataset.")
    parser.add_argument("--data_dir", type=str, default=None, help=f"Folder of the `{FASHION_MNIST_LOCAL}` IDX files.")
    parser.add_argument("--train_dir", type=str, default=None, help="Image folder of training images.")
    parser.add_argument("--validation_dir", type=str, default=None, help="Image folder of validation images.")
    parser.add_argument("--eval_split_name", type=str, default="validation", help="Dataset split to evaluate on.")
    parser.add_argument("--train_val_split", type=float, default=0.15,
                        help="Fraction of the training split held out when there is no evaluation split.")
    parser.add_argument("--max_train_samples", type=int, default=None, help="Keep this many (shuffled) train images.")
    parser.add_argument("--max_eval_samples", type=int, default=None, help="Keep this many (shuffled) eval images.")
    parser.add_argument("--image_column_name", type=str, default=None, help="Image column; default `image` or `img`.")
    parser.add_argument("--image_size", type=int, default=None,
                        help="Side of the model input (default: the checkpoint's, or the first training image's).")
    parser.add_argument("--mask_patch_size", type=int, default=None,
                        help="Side of the masked squares in pixels (default: the model's patch size).")
    parser.add_argument("--mask_ratio", type=float, default=0.4, help="Fraction of the squares to mask.")
    parser.add_argument("--min_crop_scale", type=float, default=0.67,
                        help="Random resized crop: smallest area fraction (1.0 disables cropping).")
    parser.add_argument("--horizontal_flip", action=argparse.BooleanOptionalAction, default=True,
                        help="Random horizontal flip of training images.")
    parser.add_argument("--dataloader_num_workers", type=int, default=0, help="Dataloader worker processes.")
    # model
    parser.add_argument("--model_name_or_path", type=str, default=None,
                        help="Checkpoint to continue from; default: a new model (the paper's d=512 1x12 config).")
    parser.add_argument("--model_type", type=str, default="hyperset", choices=["hyperset", "energy_transformer"],
                        help="Model family built from scratch (ignored with --model_name_or_path): `hyperset`, or "
                             "`energy_transformer` (the paper's D=768 ET with the data's image size and channels "
                             "and the Hyper-SET default patch size).")
    parser.add_argument("--config_overrides", type=str, default=None,
                        help="Comma-separated HyperSETConfig (or EnergyTransformerConfig) fields, e.g. "
                             "`hidden_size=64,num_attention_heads=4`.")
    parser.add_argument("--image_processor_name", type=str, default=None, help="Image processor folder or Hub id.")
    parser.add_argument("--cache_dir", type=str, default=None, help="Where to cache downloaded models and datasets.")
    parser.add_argument("--model_revision", type=str, default="main", help="Model version (branch, tag or commit).")
    parser.add_argument("--token", type=str, default=None, help="Hub token for private models and datasets.")
    parser.add_argument("--trust_remote_code", action="store_true", help="Allow Hub model code (not needed here).")
    # optimisation
    parser.add_argument("--per_device_train_batch_size", type=int, default=8, help="Training batch size per process.")
    parser.add_argument("--per_device_eval_batch_size", type=int, default=8, help="Evaluation batch size per process.")
    parser.add_argument("--learning_rate", type=float, default=5e-5, help="Peak learning rate of AdamW.")
    parser.add_argument("--weight_decay", type=float, default=0.0, help="AdamW weight decay (not on biases and norms).")
    parser.add_argument("--adam_beta1", type=float, default=0.9, help="AdamW beta1.")
    parser.add_argument("--adam_beta2", type=float, default=0.999, help="AdamW beta2.")
    parser.add_argument("--max_grad_norm", type=float, default=None, help="Clip gradients to this norm.")
    parser.add_argument("--num_train_epochs", type=float, default=3.0, help="Training epochs.")
    parser.add_argument("--max_train_steps", type=int, default=None,
                        help="Optimisation steps (overrides --num_train_epochs); also the length of the LR schedule.")
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1, help="Batches per optimisation step.")
    parser.add_argument("--lr_scheduler_type", type=SchedulerType, default="linear", help="LR schedule.",
                        choices=["linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                                 "constant_with_warmup"])
    parser.add_argument("--num_warmup_steps", type=int, default=0, help="LR warm-up steps.")
    parser.add_argument("--mixed_precision", type=str, default=None, choices=["no", "fp16", "bf16"],
                        help="Mixed precision (default: whatever `accelerate launch`/`accelerate config` set).")
    parser.add_argument("--cpu", action="store_true", help="Run on CPU even if an accelerator is available.")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the model init, data order, crops and masks.")
    # checkpoints, outputs, tracking, Hub
    parser.add_argument("--output_dir", type=str, required=True, help="Where checkpoints and the final model go.")
    parser.add_argument("--checkpointing_steps", type=str, default=None,
                        help="Save the training state every N optimisation steps (`N`) or every epoch (`epoch`) "
                             "into output_dir/step_N or output_dir/epoch_E.")
    parser.add_argument("--resume_from_checkpoint", type=str, default=None,
                        help="A step_N / epoch_E folder, or `latest` for the newest one in --output_dir.")
    parser.add_argument("--stop_after_steps", type=int, default=None,
                        help="Save the state and stop after this many optimisation steps; the LR schedule stays "
                             "that of --max_train_steps (preemptible jobs, resumption tests).")
    parser.add_argument("--with_tracking", action="store_true", help="Log with Accelerate's experiment trackers.")
    parser.add_argument("--report_to", type=str, default="all",
                        help="Trackers for --with_tracking: tensorboard, wandb, comet_ml, clearml, ... or `all`.")
    parser.add_argument("--push_to_hub", action="store_true", help="Upload the final folder to the Hub.")
    parser.add_argument("--hub_model_id", type=str, default=None, help="Hub repository (default: output_dir's name).")
    parser.add_argument("--hub_token", type=str, default=None, help="Hub token for --push_to_hub.")
    args = parser.parse_args(argv)

    if args.dataset_name is None and args.train_dir is None and args.validation_dir is None:
        parser.error("give --dataset_name, or --train_dir and/or --validation_dir (image folders)")
    steps = args.checkpointing_steps
    if steps is not None and not (steps == "epoch" or (steps.isdigit() and int(steps) > 0)):
        parser.error(f"--checkpointing_steps must be a positive integer or `epoch`, got {args.checkpointing_steps!r}")
    if not 0.0 < args.mask_ratio < 1.0:
        parser.error(f"--mask_ratio must be in (0, 1), got {args.mask_ratio}")
    if args.gradient_accumulation_steps < 1:
        parser.error("--gradient_accumulation_steps must be >= 1")
    return args


# ---------------------------------------------------------------------------------------------------------------------
# Data (the same helpers as run_mim.py)


# ---------------------------------------------------------------------------------------------------------------------
# Masking, transforms and the seeded sampler


def find_latest_checkpoint(output_dir: str, steps_per_epoch: int) -> str | None:
    """The step_N / epoch_E folder of `output_dir` with the most completed optimisation steps."""
    best, best_steps = None, -1
    if os.path.isdir(output_dir):
        for name in os.listdir(output_dir):
            match = CHECKPOINT_PATTERN.match(name)
            if match and os.path.isdir(os.path.join(output_dir, name)):
                kind, number = match.group(1), int(match.group(2))
                steps = number if kind == "step" else (number + 1) * steps_per_epoch
                if steps > best_steps:
                    best, best_steps = os.path.join(output_dir, name), steps
    return best


def completed_steps_of(checkpoint: str, steps_per_epoch: int) -> int:
    match = CHECKPOINT_PATTERN.match(os.path.basename(os.path.normpath(checkpoint)))
    if match is None:
        raise ValueError(f"--resume_from_checkpoint must point to a step_N or epoch_E folder, got {checkpoint!r}.")
    number = int(match.group(2))
    return number if match.group(1) == "step" else (number + 1) * steps_per_epoch


# ---------------------------------------------------------------------------------------------------------------------


def main(argv=None):
    started = time.monotonic()
    args = parse_args(argv)

    accelerator_kwargs = {}
    if args.with_tracking:
        accelerator_kwargs.update(log_with=args.report_to, project_dir=args.output_dir)
    accelerator = Accelerator(
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=args.seed),
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        cpu=args.cpu,
        **accelerator_kwargs,
    )

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S", level=logging.INFO
    )
    logger.info(accelerator.state)
    if accelerator.is_local_main_process:
        datasets.utils.logging.set_verbosity_warning()
        transformers.utils.logging.set_verbosity_warning()
    else:
        datasets.utils.logging.set_verbosity_error()
        transformers.utils.logging.set_verbosity_error()

    set_seed(args.seed)

    # Hub repository (only with --push_to_hub)
    api, repo_id = None, None
    if accelerator.is_main_process:
        os.makedirs(args.output_dir, exist_ok=True)
        if args.push_to_hub:
            api = HfApi(token=args.hub_token)
            repo_id = api.create_repo(args.hub_model_id or Path(args.output_dir).absolute().name, exist_ok=True).repo_id
            with open(os.path.join(args.output_dir, ".gitignore"), "w") as gitignore:
                gitignore.write("step_*\nepoch_*\nincomplete-*\n")
    accelerator.wait_for_everyone()

    # 1. Data
    with accelerator.main_process_first():
        dataset = load_image_datasets(args, cache_dir=args.cache_dir, token=args.token, seed=args.seed)
        if "train" not in dataset:
            raise ValueError("Training needs a training split (--train_dir or a dataset with a `train` split).")
        dataset["train"] = with_sample_index(dataset["train"])
        if "validation" in dataset:
            dataset["validation"] = with_sample_index(dataset["validation"])
    image_column = find_image_column(dataset["train"], args.image_column_name)

    # 2. Model
    model = build_image_model("masked-image-modeling", args, dataset["train"][0][image_column], args.image_size)
    config = model.config

    # 3. Transforms and dataloaders
    image_processor = build_image_processor(args, args.dataset_name, config.image_size, config.num_channels)
    # deterministic: every draw is a function of (seed, epoch, sample index), so a resumed run sees the same data
    train_transform, eval_transform = mim_transforms(args, image_processor, image_column, config, args.seed, True)
    train_dataset = dataset["train"].with_transform(train_transform)
    train_dataloader = DataLoader(
        train_dataset,
        shuffle=True,  # Accelerate's seedable sampler: the order depends on (--seed, epoch) only
        collate_fn=collate_fn,
        batch_size=args.per_device_train_batch_size,
        num_workers=args.dataloader_num_workers,
    )
    eval_dataloader = None
    if "validation" in dataset:
        eval_dataloader = DataLoader(
            dataset["validation"].with_transform(eval_transform),
            collate_fn=collate_fn,
            batch_size=args.per_device_eval_batch_size,
            num_workers=args.dataloader_num_workers,
        )

    # 4. Optimiser and schedule (no weight decay on biases and normalisation gains)
    named = list(model.named_parameters())
    no_decay = {name for name, _ in named if name.endswith("bias") or "norm" in name.lower()}
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if n not in no_decay], "weight_decay": args.weight_decay},
            {"params": [p for n, p in named if n in no_decay], "weight_decay": 0.0},
        ],
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
    )
    # Every process gets ceil(batches / processes) batches (Accelerate pads the last round).
    batches_per_process = math.ceil(len(train_dataloader) / accelerator.num_processes)
    num_update_steps_per_epoch = math.ceil(batches_per_process / args.gradient_accumulation_steps)
    if args.max_train_steps is None:
        args.max_train_steps = math.ceil(args.num_train_epochs * num_update_steps_per_epoch)
    # The prepared scheduler steps once per process at every optimisation step.
    lr_scheduler = get_scheduler(
        name=args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
        num_training_steps=args.max_train_steps * accelerator.num_processes,
    )

    model, optimizer, train_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, train_dataloader, lr_scheduler
    )
    if eval_dataloader is not None:
        eval_dataloader = accelerator.prepare(eval_dataloader)
    num_update_steps_per_epoch = math.ceil(len(train_dataloader) / args.gradient_accumulation_steps)
    num_train_epochs = math.ceil(args.max_train_steps / num_update_steps_per_epoch)
    checkpointing_steps = args.checkpointing_steps
    if checkpointing_steps is not None and checkpointing_steps.isdigit():
        checkpointing_steps = int(checkpointing_steps)

    if args.with_tracking:
        tracked = {key: value for key, value in vars(args).items() if isinstance(value, (int, float, str, bool))}
        tracked["lr_scheduler_type"] = getattr(args.lr_scheduler_type, "value", str(args.lr_scheduler_type))
        accelerator.init_trackers("mim_no_trainer", tracked)

    total_batch_size = args.per_device_train_batch_size * accelerator.num_processes * args.gradient_accumulation_steps
    logger.info("***** Running training *****")
    logger.info(f"  Model = {type(accelerator.unwrap_model(model)).__name__}, {config.hidden_size=}, "
                f"{config.num_recurrences=}, {config.image_size=}, {config.num_channels=}")
    logger.info(f"  Num examples = {len(train_dataset)}, num epochs = {num_train_epochs}")
    logger.info(f"  Batch size per device = {args.per_device_train_batch_size}, total = {total_batch_size}")
    logger.info(f"  Gradient accumulation steps = {args.gradient_accumulation_steps}")
    logger.info(f"  Total optimization steps = {args.max_train_steps}")

    # 5. Resumption: restore model, optimizer, scheduler and RNG states, then skip the batches already seen
    completed_steps, starting_epoch, resume_batches = 0, 0, 0
    if args.resume_from_checkpoint:
        checkpoint = args.resume_from_checkpoint
        if checkpoint == "latest":
            checkpoint = find_latest_checkpoint(args.output_dir, num_update_steps_per_epoch)
            if checkpoint is None:
                raise ValueError(f"--resume_from_checkpoint latest: no step_N / epoch_E folder in {args.output_dir}.")
        completed_steps = completed_steps_of(checkpoint, num_update_steps_per_epoch)
        accelerator.print(f"Resumed from checkpoint: {checkpoint} ({completed_steps} steps done)")
        accelerator.load_state(checkpoint)
        starting_epoch = completed_steps // num_update_steps_per_epoch
        resume_batches = (completed_steps % num_update_steps_per_epoch) * args.gradient_accumulation_steps

    def save_state(name):
        """Atomic checkpoint: every process writes into `incomplete-<name>`, which the main process renames to `<name>`
        once all are done, so a run killed during a save leaves no half-written step_N / epoch_E folder for
        `--resume_from_checkpoint latest` to pick."""
        final, pending = os.path.join(args.output_dir, name), os.path.join(args.output_dir, f"incomplete-{name}")
        accelerator.save_state(pending)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.replace(pending, final)
        accelerator.wait_for_everyone()

    progress_bar = tqdm(range(args.max_train_steps), disable=not accelerator.is_local_main_process)
    progress_bar.update(completed_steps)
    stop_after = args.stop_after_steps
    eval_loss = None
    for epoch in range(starting_epoch, num_train_epochs):
        if completed_steps >= args.max_train_steps or (stop_after is not None and completed_steps >= stop_after):
            break
        model.train()
        train_transform.epoch = epoch
        active_dataloader = train_dataloader
        if epoch == starting_epoch and resume_batches > 0:
            active_dataloader = accelerator.skip_first_batches(train_dataloader, resume_batches)
        # Accelerate's dataloaders pass their own iteration counter to the sampler when iteration starts (a fresh
        # skipping dataloader would start at 0): set it to the epoch explicitly.
        active_dataloader.set_epoch(epoch)
        total_loss, num_batches = 0.0, 0
        for batch in active_dataloader:
            with accelerator.accumulate(model):
                outputs = model(**batch)
                loss = outputs.loss
                if args.with_tracking:
                    total_loss += loss.detach().float()
                    num_batches += 1
                accelerator.backward(loss)
                if args.max_grad_norm is not None and accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()

            if accelerator.sync_gradients:
                progress_bar.update(1)
                completed_steps += 1
                if isinstance(checkpointing_steps, int) and completed_steps % checkpointing_steps == 0:
                    save_state(f"step_{completed_steps}")
                if stop_after is not None and completed_steps >= stop_after:
                    if not (isinstance(checkpointing_steps, int) and completed_steps % checkpointing_steps == 0):
                        save_state(f"step_{completed_steps}")
                    break
                if completed_steps >= args.max_train_steps:
                    break

        if stop_after is not None and completed_steps >= stop_after and completed_steps < args.max_train_steps:
            accelerator.print(f"Stopped after {completed_steps} of {args.max_train_steps} steps (--stop_after_steps).")
            accelerator.wait_for_everyone()
            accelerator.end_training()
            return {"completed_steps": completed_steps}

        if eval_dataloader is not None:
            eval_loss = evaluate(model, eval_dataloader, accelerator)
            logger.info(f"epoch {epoch}: eval_loss: {eval_loss:.6f}")
        if args.with_tracking:
            train_loss = float(total_loss) / max(num_batches, 1)
            logs = {"train_loss": train_loss, "epoch": epoch, "step": completed_steps}
            if eval_loss is not None:
                logs["eval_loss"] = eval_loss
            accelerator.log(logs, step=completed_steps)
        if args.checkpointing_steps == "epoch":
            save_state(f"epoch_{epoch}")

    if args.with_tracking:
        accelerator.end_training()

    # 6. Final model + image processor (and upload)
    accelerator.wait_for_everyone()
    unwrapped_model = accelerator.unwrap_model(model)
    unwrapped_model.save_pretrained(
        args.output_dir, is_main_process=accelerator.is_main_process, save_function=accelerator.save
    )
    results = {"completed_steps": completed_steps}
    if eval_loss is not None:
        results["eval_loss"] = eval_loss
    if accelerator.is_main_process:
        image_processor.save_pretrained(args.output_dir)
        with open(os.path.join(args.output_dir, "all_results.json"), "w") as handle:
            json.dump(results, handle, indent=2)
        subset = f"the first {args.max_eval_samples:,} images of " if args.max_eval_samples else ""
        record_training_stage(  # the model card's facts
            args.output_dir, started_from=args.model_name_or_path, command=script_command(__file__, argv),
            dataset=args.dataset_name,
            evaluation=f"{subset}the test split", steps=completed_steps, seed=args.seed,
            wall_minutes=round((time.monotonic() - started) / 60.0, 1),
        )  # fmt: skip
        if args.push_to_hub:
            # the same upload as `hyperset-hf push`: weights, config, remote code, image processor, generated card
            from hyperset_hf.release.hub import push_model_folder

            push_model_folder(args.output_dir, repo_id, api=api, commit_message="End of training",
                              regenerate_card=True, create_repo=False)
    accelerator.wait_for_everyone()
    return results


def evaluate(model, eval_dataloader, accelerator) -> float:
    """Mean masked-pixel L1 loss over the evaluation set (batch losses weighted by batch size)."""
    model.eval()
    losses = []
    for batch in eval_dataloader:
        with torch.no_grad():
            loss = model(**batch).loss
        losses.append(accelerator.gather_for_metrics(loss.detach().float().repeat(batch["pixel_values"].shape[0])))
    model.train()
    return torch.cat(losses).mean().item()


if __name__ == "__main__":
    main()
