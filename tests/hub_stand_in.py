"""A filesystem-backed stand-in for `huggingface_hub.HfApi`, for the offline Hub tests: it stores pushed model
repositories in a local folder and lays them out as the Hugging Face cache holds a downloaded repository."""

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


_LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".png", ".jpg", ".npz")


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
