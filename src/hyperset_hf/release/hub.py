# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Publishing trained models to the Hugging Face Hub.

`push_model_folder(model_dir, repo_id, api=...)` uploads what a user of the repository needs, in one commit: it loads
the model and `save_pretrained`s it into a staging folder (config with its `auto_map`, safetensors weights and the
remote code, so that `from_pretrained(repo_id, trust_remote_code=True)` works without the package), adds the image
processor, the run's metrics and `run_metadata.json` and the model card `README.md` (the one given, else the folder's
own, else one generated from the training outputs by `hyperset_hf.release.model_card.model_card_from_output_dir`),
and hands the folder to `HfApi.upload_folder` with `allow_patterns` / `ignore_patterns`. Optimizer states, pickled
arguments, `trainer_state.json` and checkpoint folders are never uploaded. `api` takes any object with the
`huggingface_hub.HfApi` methods `create_repo` and `upload_folder` (it defaults to `HfApi(token=token)`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub.utils import filter_repo_objects, validate_repo_id

from ..input_checks import MODEL_TYPES, read_text_file
from .model_card import (
    first_architecture,
    infer_card_kind,
    read_model_config,
    read_run_metadata,
    read_training_results,
)


__all__ = ["infer_card_kind", "push_model_folder", "push_trainer_output", "stage_model_folder"]

# What is uploaded besides what `save_pretrained` writes (config, weights, remote code) and the card.
EXTRA_FILES = (
    "preprocessor_config.json",
    "processor_config.json",
    "*_results.json",
    "extrapolation.json",
    "extrapolation.md",
    "run_metadata.json",
)
# Never uploaded (checkpoints of Trainer / Accelerate, optimizer states, pickled arguments).
IGNORED_PATTERNS = ("step_*", "epoch_*", "checkpoint-*", "incomplete-*", "*.pt", "*.pth", "*.bin", "training_args*")
OUR_MODEL_TYPES = MODEL_TYPES


def stage_model_folder(model_dir: str | os.PathLike, staging: str | os.PathLike, card_text: str) -> list[str]:
    """Writes what `push_model_folder` uploads into `staging` and returns the file names: the model loaded from
    `model_dir` and saved with `save_pretrained`, the `EXTRA_FILES` of `model_dir`, and `card_text` as `README.md`.

    Accepted: `model_dir` and `staging` as `str` or `os.PathLike` folders; `model_dir` as `save_pretrained` /
    Trainer wrote it, its `run_metadata.json` and metrics files (uploaded too) as `model_card.read_run_metadata` /
    `read_training_results` accept them.

    Raises:
        `FileNotFoundError`: when `model_dir` or its `config.json` is missing.
        `ValueError`: when the folder does not hold a hyperset-hf model, its weights are missing or unreadable (see
        `hyperset_hf.input_checks.load_checked`), or its run metadata or metrics files are broken.
    """
    import hyperset_hf

    model_dir, staging = Path(model_dir), Path(staging)
    config = read_model_config(model_dir)
    architecture = first_architecture(config)
    model_class = getattr(hyperset_hf, architecture, None)
    if config.get("model_type") not in OUR_MODEL_TYPES or model_class is None:
        raise ValueError(
            f"{model_dir} holds a {config.get('model_type')!r} model ({architecture or 'no architecture'}), not a "
            "hyperset-hf model; push other models with their own push_to_hub"
        )
    if not any(model_dir.glob("*.safetensors")):
        raise ValueError(f"{model_dir} has no model.safetensors; save the model with save_pretrained first")
    read_run_metadata(model_dir)  # uploaded as they are: checked first
    read_training_results(model_dir)
    model_class.from_pretrained(model_dir).save_pretrained(staging)  # config, weights, remote code
    for name in filter_repo_objects(sorted(os.listdir(model_dir)), allow_patterns=list(EXTRA_FILES)):
        shutil.copyfile(model_dir / name, staging / name)
    (staging / "README.md").write_text(card_text)
    return sorted(os.listdir(staging))


def push_model_folder(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    api=None,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    card=None,
    kind: str | None = None,
    regenerate_card: bool = False,
    create_repo: bool = True,
    **card_kwargs,
):
    """Uploads a saved model folder to the Hub repository `repo_id` in one commit (see the module docstring).

    Args:
        model_dir: the folder (`save_pretrained` / `Trainer.save_model` output).
        repo_id (`str`): `"org/name"` (or `"name"` for the token's namespace); created if missing.
        api (*optional*): an `huggingface_hub.HfApi`-like object (`create_repo`, `upload_folder`); defaults to
            `HfApi(token=token)`.
        token, private, revision, create_pr, commit_message: as in `HfApi.create_repo` / `create_commit`.
        card (*optional*): a `huggingface_hub.ModelCard`, or the path of a card file (UTF-8 text, not empty; so must
            the folder's own `README.md` be), to upload as `README.md`.
        kind (`str`, *optional*): the card kind for a generated card; inferred from `config.json` by default.
        regenerate_card (`bool`, *optional*): generate the card even when the folder has a `README.md`.
        create_repo (`bool`, *optional*, defaults to `True`): create the repository if missing (callers that created
            it already, like `run_mim_no_trainer.py` at start-up, pass `False`).
        card_kwargs: run facts passed to `model_card_from_output_dir` (`results_file`, `dataset`, `base_model`,
            `training_command`, `training_notes`, ...).

    Returns:
        What `api.upload_folder` returns (`huggingface_hub.CommitInfo`).

    Raises:
        `FileNotFoundError`, `NotADirectoryError`, `IsADirectoryError`, `ValueError` or `TypeError` naming the folder or
        file for bad local input (see `stage_model_folder` and `model_card_from_output_dir`), before the repository is
        created; the Hub's own errors for the upload.
    """
    from huggingface_hub import ModelCard

    validate_repo_id(repo_id)
    model_dir = Path(model_dir)
    if model_dir.is_file():
        raise NotADirectoryError(f"model folder {model_dir} is a file; pass the folder written by save_pretrained")
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    if card is None and (model_dir / "README.md").is_file() and not regenerate_card:
        card_text = read_text_file(model_dir / "README.md", "the model card (Markdown) of the folder")
    elif card is None:
        from .model_card import model_card_from_output_dir

        kind = kind or infer_card_kind(read_model_config(model_dir))
        card_text = str(model_card_from_output_dir(model_dir, kind, repo_id=repo_id, **card_kwargs))
    elif isinstance(card, ModelCard):
        card_text = str(card)
    else:
        card_text = read_text_file(card, "a model card file (Markdown), given as --card / card")

    commit_message = commit_message or f"Upload {model_dir.resolve().name} with hyperset-hf"
    with tempfile.TemporaryDirectory() as staging:
        stage_model_folder(model_dir, staging, card_text)  # a bad folder fails here, before the repository exists
        if api is None:
            from huggingface_hub import HfApi

            api = HfApi(token=token)
        if create_repo:
            repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            repo_id = getattr(repo, "repo_id", repo_id)
        return api.upload_folder(
            repo_id=repo_id, folder_path=staging, repo_type="model", commit_message=commit_message,
            revision=revision, create_pr=create_pr, ignore_patterns=list(IGNORED_PATTERNS),
        )  # fmt: skip


def push_trainer_output(trainer, kind: str | None = None, api=None, **card_kwargs):
    """The `--push_to_hub` step of the example scripts: saves the model (and image processor) like
    `Trainer.push_to_hub`, waits for Trainer's own checkpoint uploads, then publishes `args.output_dir` with
    `push_model_folder` to `args.hub_model_id` (default: the output folder's name). Returns the commit info on the
    main process, `None` elsewhere. Models of other families (e.g. the ViT baseline) keep `Trainer.push_to_hub`
    and its generated card."""
    args = trainer.args
    model_type = getattr(getattr(getattr(trainer, "model", None), "config", None), "model_type", "hyperset")
    if model_type not in OUR_MODEL_TYPES:
        dataset = card_kwargs.get("dataset") or read_run_metadata(args.output_dir).get("dataset")
        return trainer.push_to_hub(**({"dataset": dataset} if dataset else {}))
    if model_type == "energy_transformer":
        kind = "energy-transformer"
    if getattr(trainer, "hub_model_id", None) is None:
        trainer.init_hf_repo(token=args.hub_token)
    trainer.save_model(_internal_call=True)
    if not trainer.is_world_process_zero():
        return None
    finish = getattr(trainer, "_finish_current_push", None)
    if finish is not None:
        finish()
    return push_model_folder(
        args.output_dir,
        trainer.hub_model_id,
        api=api,
        token=args.hub_token,
        private=args.hub_private_repo,
        revision=args.hub_revision,
        commit_message="End of training",
        kind=kind,
        regenerate_card=True,
        **card_kwargs,
    )
