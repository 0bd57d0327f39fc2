# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Publishing trained models to the Hugging Face Hub, and a filesystem stand-in for the Hub.

`push_model_folder(model_dir, repo_id, api=...)` uploads what a user of the repository needs, in one commit:

- `config.json` (with its `auto_map`) and the weights (`model.safetensors`, or the shards and their index);
- the remote code: the flat `*.py` modules named in `config.auto_map` (copied from the package when a Hyper-SET
  folder lacks them), so that `from_pretrained(repo_id, trust_remote_code=True)` works without the package;
- the image processor (`preprocessor_config.json`) when there is one;
- the model card `README.md`: the one given, else the folder's own, else one generated from the training outputs by
  `hyperset_hf.model_card.model_card_from_output_dir`;
- the metrics files of the run (`all_results.json`, `eval_results.json`, `train_results.json`, `extrapolation.json`).

Optimizer states, `training_args.bin` (a pickle), `trainer_state.json` and checkpoint folders are not uploaded.

The `api` argument takes any object with `create_repo` and `create_commit` (the `huggingface_hub.HfApi` signatures);
it defaults to `HfApi(token=token)`. `FileSystemHfApi(root)` is such an object that writes repositories to a local
folder instead of the network, and lays them out as the Hugging Face cache holds a downloaded repository
(`write_hf_cache`), so that `from_pretrained("org/name")` with `HF_HUB_OFFLINE=1` loads what was pushed. The tests and
`hyperset-hf push --local-hub DIR` use it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, RepoUrl
from huggingface_hub.utils import filter_repo_objects, validate_repo_id

from .model_card import read_model_config


__all__ = [
    "FileSystemHfApi",
    "collect_upload_files",
    "infer_card_kind",
    "push_model_folder",
    "push_trainer_output",
]

PACKAGE_DIR = Path(__file__).resolve().parent

# Files of a training output folder that are published (besides the remote code and the card).
PUBLISHED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "preprocessor_config.json",
    "processor_config.json",
    "all_results.json",
    "eval_results.json",
    "train_results.json",
    "extrapolation.json",
    "extrapolation.md",
)
# Never uploaded (checkpoints of Trainer / Accelerate, optimizer states, pickled arguments).
IGNORED_PATTERNS = ("step_*", "epoch_*", "checkpoint-*", "*.pt", "*.pth", "*.bin")
# Remote-code modules the package can supply when a Hyper-SET folder lacks them.
PACKAGE_REMOTE_CODE = {
    "hyperset": ("configuration_hyperset.py", "modeling_hyperset.py"),
    "energy_transformer": ("configuration_energy_transformer.py", "modeling_energy_transformer.py"),
}
_LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".png", ".jpg", ".npz")


def infer_card_kind(config: dict[str, Any]) -> str:
    """The model-card kind of a saved model from its `config.json`: `"energy-transformer"` for
    `model_type="energy_transformer"`, `"sudoku"` for Sudoku models, else from the head in `architectures`."""
    if config.get("model_type") == "energy_transformer":
        return "energy-transformer"
    if config.get("input_type") == "sudoku":
        return "sudoku"
    architecture = (config.get("architectures") or [""])[0]
    if architecture.endswith("ForMaskedImageModeling"):
        return "mim"
    if architecture.endswith("ForImageClassification"):
        return "image-classification"
    raise ValueError(
        f"cannot tell the model-card kind of architecture {architecture!r} (model_type "
        f"{config.get('model_type')!r}); pass kind= / --kind explicitly"
    )


def _remote_code_modules(config: dict[str, Any]) -> list[str]:
    modules = set()
    for reference in (config.get("auto_map") or {}).values():
        for item in reference if isinstance(reference, (list, tuple)) else [reference]:
            if item and "--" not in item:  # "repo--module.Class" points at another repository
                modules.add(item.rsplit(".", 1)[0] + ".py")
    return sorted(modules)


def collect_upload_files(model_dir: str | os.PathLike) -> dict[str, Path]:
    """The files of `model_dir` to publish, as `{path_in_repo: local_path}` (the card excluded).

    Raises:
        `FileNotFoundError`: without `config.json` or weights.
        `ValueError`: when `config.auto_map` names a module that is neither in the folder nor in the package.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    config = read_model_config(model_dir)
    files = {name: model_dir / name for name in PUBLISHED_FILES if (model_dir / name).is_file()}
    for shard in sorted(model_dir.glob("model-*-of-*.safetensors")):
        files[shard.name] = shard
    if "model.safetensors" not in files and "model.safetensors.index.json" not in files:
        raise FileNotFoundError(
            f"{model_dir} has no model.safetensors (nor a sharded model.safetensors.index.json); save the model with "
            "save_pretrained first"
        )
    for python_file in sorted(model_dir.glob("*.py")):  # the remote code and its relative imports
        files[python_file.name] = python_file
    packaged = tuple(
        module for module in PACKAGE_REMOTE_CODE.get(config.get("model_type"), ()) if (PACKAGE_DIR / module).is_file()
    )
    for module in _remote_code_modules(config):
        if module in files:
            continue
        if module in packaged:
            files[module] = PACKAGE_DIR / module
        else:
            raise ValueError(
                f"config.json's auto_map names {module}, which is not in {model_dir}; without it "
                "from_pretrained(..., trust_remote_code=True) cannot load the pushed repository"
            )
    if packaged and any(module in files for module in packaged):
        for module in packaged:  # the modules import each other
            files.setdefault(module, PACKAGE_DIR / module)
    return files


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
        api (*optional*): an `huggingface_hub.HfApi`-like object; defaults to `HfApi(token=token)`.
        token, private, revision, create_pr, commit_message: as in `HfApi.create_repo` / `create_commit`.
        card (*optional*): a `huggingface_hub.ModelCard`, or the path of a card file, to upload as `README.md`.
        kind (`str`, *optional*): the card kind for a generated card; inferred from `config.json` by default.
        regenerate_card (`bool`, *optional*): generate the card even when the folder has a `README.md`.
        create_repo (`bool`, *optional*, defaults to `True`): create the repository if missing (callers that created
            it already, like `run_mim_no_trainer.py` at start-up, pass `False`).
        card_kwargs: passed to `model_card_from_output_dir` (`results_file`, `dataset`, `base_model`,
            `training_command`, `training_notes`, ...).

    Returns:
        What `api.create_commit` returns (`huggingface_hub.CommitInfo`).
    """
    from huggingface_hub import ModelCard

    validate_repo_id(repo_id)
    model_dir = Path(model_dir)
    files = collect_upload_files(model_dir)
    if card is None and (model_dir / "README.md").is_file() and not regenerate_card:
        card_text = (model_dir / "README.md").read_text()
    elif card is None:
        from .model_card import model_card_from_output_dir

        kind = kind or infer_card_kind(read_model_config(model_dir))
        card_text = str(model_card_from_output_dir(model_dir, kind, repo_id=repo_id, **card_kwargs))
    elif isinstance(card, ModelCard):
        card_text = str(card)
    else:
        card_text = Path(card).read_text()

    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    if create_repo:
        repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        repo_id = getattr(repo, "repo_id", repo_id)
    commit_message = commit_message or f"Upload {model_dir.resolve().name} with hyperset-hf"
    if not hasattr(api, "create_commit"):  # an HfApi stand-in with upload_folder only: stage the files in a folder
        import tempfile

        with tempfile.TemporaryDirectory() as staging:
            for name, path in files.items():
                shutil.copyfile(path, Path(staging) / name)
            (Path(staging) / "README.md").write_text(card_text)
            return api.upload_folder(
                repo_id=repo_id, folder_path=staging, repo_type="model", commit_message=commit_message,
                revision=revision, create_pr=create_pr, ignore_patterns=list(IGNORED_PATTERNS),
            )
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in files.items()]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card_text.encode("utf-8")))
    return api.create_commit(
        repo_id=repo_id,
        operations=operations,
        commit_message=commit_message,
        revision=revision,
        create_pr=create_pr,
        repo_type="model",
    )


OUR_MODEL_TYPES = ("hyperset", "energy_transformer")


def push_trainer_output(trainer, kind: str | None = None, api=None, **card_kwargs):
    """The `--push_to_hub` step of the example scripts: saves the model (and image processor) like
    `Trainer.push_to_hub`, waits for Trainer's own checkpoint uploads, then publishes `args.output_dir` with
    `push_model_folder` to `args.hub_model_id` (default: the output folder's name). Returns the commit info on the
    main process, `None` elsewhere. Models of other families (e.g. the ViT baseline) keep `Trainer.push_to_hub`
    and its generated card."""
    args = trainer.args
    model_type = getattr(getattr(getattr(trainer, "model", None), "config", None), "model_type", "hyperset")
    if model_type not in OUR_MODEL_TYPES:
        dataset = card_kwargs.get("dataset")
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


# ---------------------------------------------------------------------------------------------------------------------
# A filesystem-backed stand-in for HfApi
# ---------------------------------------------------------------------------------------------------------------------


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FileSystemHfApi:
    """A stand-in for `huggingface_hub.HfApi` that keeps model repositories in a local folder: `root/<org>/<name>/`
    holds the files of the `main` branch. Implements what `push_model_folder`, `Trainer` and `PreTrainedModel.push_to_hub`
    call: `create_repo`, `create_commit` (add and delete operations), `upload_folder`, `upload_file`, `create_branch`
    (no-op), `list_repo_files`, `repo_exists`. Only the `main` branch exists; commits get deterministic ids.

    `write_hf_cache(repo_id, cache_dir)` lays the repository out as `huggingface_hub` stores a downloaded one
    (`models--org--name/{blobs,snapshots/<commit>,refs/main}`), so that with `HF_HUB_OFFLINE=1` and
    `HF_HUB_CACHE=cache_dir`, `from_pretrained("org/name")` loads it.
    """

    endpoint = "https://huggingface.co"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.commits: list[dict[str, Any]] = []

    # -- repositories ---------------------------------------------------------------------------------------------
    def repo_folder(self, repo_id: str) -> Path:
        validate_repo_id(repo_id)
        return self.root / repo_id

    def _state_file(self, repo_id: str) -> Path:
        return self.root / ".fake_hub" / (repo_id.replace("/", "--") + ".json")

    def _state(self, repo_id: str) -> dict[str, Any]:
        path = self._state_file(repo_id)
        if not path.is_file():
            raise FileNotFoundError(f"repository {repo_id!r} does not exist in {self.root} (create_repo first)")
        return json.loads(path.read_text())

    def repo_exists(self, repo_id: str, **kwargs) -> bool:
        return self._state_file(repo_id).is_file()

    def create_repo(self, repo_id: str, *, exist_ok: bool = False, private: bool | None = None, repo_type=None,
                    **kwargs) -> RepoUrl:
        if repo_type not in (None, "model"):
            raise ValueError(f"FileSystemHfApi only holds model repositories, got repo_type={repo_type!r}")
        if self.repo_exists(repo_id):
            if not exist_ok:
                raise FileExistsError(f"repository {repo_id!r} already exists (pass exist_ok=True)")
        else:
            self.repo_folder(repo_id).mkdir(parents=True, exist_ok=True)
            self._state_file(repo_id).parent.mkdir(parents=True, exist_ok=True)
            self._state_file(repo_id).write_text(json.dumps({"private": bool(private), "head": None}))
        return RepoUrl(f"{self.endpoint}/{repo_id}", endpoint=self.endpoint)

    def create_branch(self, repo_id: str, *, branch: str, **kwargs) -> None:
        return None

    def head(self, repo_id: str) -> str | None:
        """The id of the last commit on `main` (`None` for an empty repository)."""
        return self._state(repo_id)["head"]

    def list_repo_files(self, repo_id: str, **kwargs) -> list[str]:
        folder = self.repo_folder(repo_id)
        return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())

    # -- commits --------------------------------------------------------------------------------------------------
    @staticmethod
    def _content(source) -> bytes:
        if isinstance(source, (bytes, bytearray)):
            return bytes(source)
        if isinstance(source, (str, os.PathLike)):
            return Path(source).read_bytes()
        if isinstance(source, io.IOBase) or hasattr(source, "read"):
            return source.read()
        raise TypeError(f"unsupported path_or_fileobj {type(source).__name__}")

    def create_commit(self, repo_id: str, operations: Iterable, *, commit_message: str = "", commit_description=None,
                      revision: str | None = None, create_pr: bool | None = None, repo_type=None,
                      run_as_future: bool = False, **kwargs):
        if revision not in (None, "main"):
            raise ValueError(f"FileSystemHfApi only has the main branch, got revision={revision!r}")
        state = self._state(repo_id)
        folder = self.repo_folder(repo_id)
        digest = hashlib.sha1(f"{state['head']}\n{commit_message}\n".encode())
        for operation in operations:
            if isinstance(operation, CommitOperationAdd):
                target = folder / operation.path_in_repo
                target.parent.mkdir(parents=True, exist_ok=True)
                data = self._content(operation.path_or_fileobj)
                target.write_bytes(data)
                digest.update(f"add {operation.path_in_repo} {_git_blob_sha1(data)}\n".encode())
            elif isinstance(operation, CommitOperationDelete):
                target = folder / operation.path_in_repo
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                digest.update(f"delete {operation.path_in_repo}\n".encode())
            else:
                raise TypeError(f"unsupported commit operation {type(operation).__name__}")
        state["head"] = digest.hexdigest()
        self._state_file(repo_id).write_text(json.dumps(state))
        self.commits.append({"repo_id": repo_id, "message": commit_message, "oid": state["head"]})
        info = CommitInfo(
            commit_url=f"{self.endpoint}/{repo_id}/commit/{state['head']}",
            commit_message=commit_message,
            commit_description=commit_description or "",
            oid=state["head"],
        )
        if run_as_future:
            from concurrent.futures import Future

            future = Future()
            future.set_result(info)
            return future
        return info

    def upload_folder(self, *, repo_id: str, folder_path, path_in_repo: str | None = None, commit_message=None,
                      allow_patterns=None, ignore_patterns=None, delete_patterns=None, **kwargs):
        folder_path = Path(folder_path)
        relative = sorted(
            str(path.relative_to(folder_path)) for path in folder_path.rglob("*") if path.is_file()
        )
        kept = filter_repo_objects(relative, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns)
        prefix = f"{path_in_repo.strip('/')}/" if path_in_repo else ""
        operations = [
            CommitOperationAdd(path_in_repo=prefix + name, path_or_fileobj=str(folder_path / name)) for name in kept
        ]
        return self.create_commit(repo_id, operations, commit_message=commit_message or "Upload folder", **kwargs)

    def upload_file(self, *, path_or_fileobj, path_in_repo: str, repo_id: str, commit_message=None, **kwargs):
        operation = CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=path_or_fileobj)
        return self.create_commit(repo_id, [operation], commit_message=commit_message or f"Upload {path_in_repo}",
                                  **kwargs)

    # -- the local cache layout -----------------------------------------------------------------------------------
    def write_hf_cache(self, repo_id: str, cache_dir: str | os.PathLike) -> Path:
        """Copies the repository into `cache_dir` the way `huggingface_hub` caches a downloaded model repository:
        `models--<org>--<name>/blobs/<etag>` (sha256 for large files, the git blob sha1 otherwise),
        `snapshots/<commit>/<path>` symlinks to the blobs, and `refs/main` holding the commit id. Returns the snapshot
        folder. With `HF_HUB_CACHE=cache_dir` (or `HF_HOME=<parent>` with `cache_dir=<parent>/hub`) and
        `HF_HUB_OFFLINE=1`, `from_pretrained(repo_id)` resolves `main` through `refs/main` to this snapshot."""
        commit = self.head(repo_id)
        if commit is None:
            raise ValueError(f"repository {repo_id!r} has no commit yet")
        source = self.repo_folder(repo_id)
        storage = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
        snapshot = storage / "snapshots" / commit
        (storage / "blobs").mkdir(parents=True, exist_ok=True)
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        for name in self.list_repo_files(repo_id):
            data = (source / name).read_bytes()
            etag = hashlib.sha256(data).hexdigest() if name.endswith(_LFS_SUFFIXES) else _git_blob_sha1(data)
            blob = storage / "blobs" / etag
            if not blob.exists():
                blob.write_bytes(data)
            link = snapshot / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.exists() or link.is_symlink():
                link.unlink()
            try:
                link.symlink_to(os.path.relpath(blob, link.parent))
            except OSError:  # no symlinks (Windows without developer mode): huggingface_hub then copies too
                shutil.copyfile(blob, link)
        (storage / "refs" / "main").write_text(commit)
        return snapshot
