"""The whole Hub round trip, offline: push to a filesystem-backed HfApi, lay the pushed repository out as the HF cache
holds a downloaded one, and load `"org/hyperset-sudoku"` by repo id in fresh processes with HF_HUB_OFFLINE=1, with
the package and with `trust_remote_code=True` without it."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from huggingface_hub import ModelCard

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku, modeling_hyperset
from hyperset_hf.cli import main as cli_main
from hyperset_hf.release.hub import push_model_folder, push_trainer_output, stage_model_folder

from conftest import activate_step_sizes, tiny_config
from hub_stand_in import FileSystemHfApi


REPO_ID = "org/hyperset-sudoku"
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
EXTRAPOLATION = [
    {"multiplier": 1.0, "iterations": 3, "board_accuracy": 1.5, "cell_accuracy": 40.25, "validity": 2.0},
    {"multiplier": 2.0, "iterations": 6, "board_accuracy": 2.5, "cell_accuracy": 41.75, "validity": 3.0},
]


def tiny_sudoku_folder(path):
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset(
        "sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32, num_recurrences=3,
        time_embedding_size=8,
    )
    model = activate_step_sizes(HyperSETForSudoku(config).eval(), std=0.2)
    model.save_pretrained(path)
    (path / "extrapolation.json").write_text(json.dumps(EXTRAPOLATION))
    (path / "training_args.bin").write_bytes(b"pickle")  # must not be uploaded
    (path / "optimizer.pt").write_bytes(b"state")
    return model


LOAD_SCRIPT = textwrap.dedent(
    """
    import os, sys
    with_package = sys.argv[1] == "package"
    if not with_package:
        sys.modules["hyperset_hf"] = None  # the package is NOT importable: the code must come from the repository
    import torch
    from transformers import AutoModel, AutoModelForTokenClassification
    if with_package:
        import hyperset_hf
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    expected = torch.load(sys.argv[2])
    kwargs = {} if with_package else {"trust_remote_code": True}
    model = AutoModel.from_pretrained("org/hyperset-sudoku", **kwargs).eval()
    module = type(model).__module__
    assert module.startswith("hyperset_hf." if with_package else "transformers_modules."), module
    with torch.no_grad():
        hidden = model(input_ids=expected["input_ids"], output_energies=True)
    assert torch.equal(hidden.last_hidden_state, expected["last_hidden_state"])
    assert torch.equal(hidden.energies[0], expected["energies"])
    head = AutoModelForTokenClassification.from_pretrained("org/hyperset-sudoku", **kwargs).eval()
    with torch.no_grad():
        logits = head(input_ids=expected["input_ids"], num_recurrences=6).logits
    assert torch.equal(logits, expected["logits_6"])
    try:
        AutoModel.from_pretrained("org/never-pushed", **kwargs)
    except OSError:
        pass
    else:
        raise AssertionError("a repository that was never pushed loaded")
    print("LOADED", type(model).__name__, module)
    """
)


def test_push_cache_and_reload_by_repo_id_offline(tmp_path):
    model = tiny_sudoku_folder(tmp_path / "run")
    api = FileSystemHfApi(tmp_path / "hub")
    info = push_model_folder(tmp_path / "run", REPO_ID, api=api)

    # what was pushed: weights, config, remote code, card, metrics - not the pickles
    assert info.oid == api.head(REPO_ID) and len(info.oid) == 40
    files = api.list_repo_files(REPO_ID)
    assert files == sorted(
        ["README.md", "config.json", "config_validation.py", "configuration_hyperset.py", "embeddings.py",
         "energies.py", "extrapolation.json", "input_checks.py", "maskgit.py", "model.safetensors", "modeling_hyperset.py",
         "recurrence.py", "sudoku_rules.py"]
    )
    card = ModelCard.load(api.repo_folder(REPO_ID) / "README.md")
    assert card.data.pipeline_tag == "token-classification"
    values = {(r.metric_type, r.metric_config): r.metric_value for r in card.data.eval_results}
    assert values[("cell_accuracy", "num_recurrences=6")] == 41.75
    assert f'from_pretrained("{REPO_ID}")' in card.text

    # the HF cache layout of a downloaded repository
    snapshot = api.write_hf_cache(REPO_ID, tmp_path / "hf_home" / "hub")
    storage = tmp_path / "hf_home" / "hub" / "models--org--hyperset-sudoku"
    assert (storage / "refs" / "main").read_text() == info.oid and snapshot == storage / "snapshots" / info.oid
    assert (snapshot / "model.safetensors").is_symlink()
    assert (snapshot / "model.safetensors").read_bytes() == (tmp_path / "run" / "model.safetensors").read_bytes()

    input_ids = torch.tensor([[0 if c == "." else int(c) for c in PUZZLE]])
    with torch.no_grad():
        hidden = model.hyperset(input_ids=input_ids, output_energies=True)
        logits_6 = model(input_ids=input_ids, num_recurrences=6).logits
    expected = tmp_path / "expected.pt"
    torch.save(
        {"input_ids": input_ids, "last_hidden_state": hidden.last_hidden_state, "energies": hidden.energies[0],
         "logits_6": logits_6},
        expected,
    )
    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "HF_MODULES_CACHE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE")
    }
    environment.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), PYTHONNOUSERSITE="1")
    for mode, expected_module in (("package", "hyperset_hf.modeling_hyperset"), ("remote-code", "transformers_modules")):
        result = subprocess.run(
            [sys.executable, str(script), mode, str(expected)], cwd=tmp_path, env=environment,
            capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, f"{mode}:\n{result.stdout}\n{result.stderr}"
        assert f"LOADED HyperSETModel {expected_module}" in result.stdout


def test_folder_card_is_kept_and_remote_code_is_supplied(tmp_path):
    """A folder without the remote-code modules (e.g. hand-assembled) gets the package's; its own README.md is
    uploaded as is unless a card is given or regeneration asked for."""
    model = HyperSETForImageClassification(tiny_config())
    model.save_pretrained(tmp_path / "run")
    for name in ("configuration_hyperset.py", "modeling_hyperset.py"):
        (tmp_path / "run" / name).unlink()
    (tmp_path / "run" / "README.md").write_text("my own card")
    api = FileSystemHfApi(tmp_path / "hub")
    push_model_folder(tmp_path / "run", "org/classifier", api=api)
    repo = api.repo_folder("org/classifier")
    assert (repo / "README.md").read_text() == "my own card"
    assert (repo / "modeling_hyperset.py").read_text() == Path(modeling_hyperset.__file__).read_text()
    push_model_folder(tmp_path / "run", "org/classifier", api=api, regenerate_card=True)
    assert ModelCard.load(repo / "README.md").data.pipeline_tag == "image-classification"
    assert len(api.commits) == 2 and api.commits[0]["oid"] != api.commits[1]["oid"]


def test_bad_folders_are_refused_before_a_repository_is_created(tmp_path):
    api = FileSystemHfApi(tmp_path / "hub")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        stage_model_folder(tmp_path, tmp_path / "staging", "card")
    HyperSETForImageClassification(tiny_config()).save_pretrained(tmp_path / "run")
    (tmp_path / "run" / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="has no model.safetensors"):
        push_model_folder(tmp_path / "run", "org/broken", api=api, kind="image-classification")
    assert not api.repo_exists("org/broken")  # nothing was created for a folder that cannot be pushed
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "vit", "architectures": ["ViTModel"]}))
    with pytest.raises(ValueError, match="not a hyperset-hf model"):
        stage_model_folder(other, tmp_path / "staging", "card")
    with pytest.raises(Exception, match="repo"):
        push_model_folder(tmp_path / "run", "not a repo id!", api=api)


def test_cli_push_uses_the_injected_api_and_dry_runs(tmp_path, capsys):
    tiny_sudoku_folder(tmp_path / "run")
    api = FileSystemHfApi(tmp_path / "injected")
    assert cli_main(["push", "--model-dir", str(tmp_path / "run"), "--repo-id", REPO_ID], hf_api=api) == 0
    assert "model.safetensors" in api.list_repo_files(REPO_ID)
    capsys.readouterr()
    assert cli_main(["push", "--model-dir", str(tmp_path / "run"), "--repo-id", "org/copy", "--dry-run"]) == 0
    listed = capsys.readouterr().out.split()
    assert set(api.list_repo_files(REPO_ID)) <= set(listed) and "optimizer.pt" not in listed
    with pytest.raises(SystemExit):
        cli_main(["push", "--model-dir", str(tmp_path / "missing"), "--repo-id", REPO_ID], hf_api=api)
    assert "does not exist" in capsys.readouterr().err


def test_trainer_hook_saves_then_pushes_the_output_dir(tmp_path):
    """What `--push_to_hub` of the example scripts runs (a stand-in Trainer with Trainer's attributes)."""
    calls = []
    model = HyperSETForImageClassification(tiny_config())

    class StubTrainer:
        args = SimpleNamespace(output_dir=str(tmp_path / "run"), hub_token=None, hub_private_repo=None,
                               hub_revision=None)
        hub_model_id = "org/from-trainer"

        def save_model(self, _internal_call=False):
            calls.append("save")
            model.save_pretrained(self.args.output_dir)

        def is_world_process_zero(self):
            return True

        def _finish_current_push(self):
            calls.append("wait")

    api = FileSystemHfApi(tmp_path / "hub")
    info = push_trainer_output(StubTrainer(), kind="image-classification", api=api)
    assert calls == ["save", "wait"] and info.commit_message == "End of training"
    assert {"config.json", "model.safetensors", "README.md", "modeling_hyperset.py"} <= set(
        api.list_repo_files("org/from-trainer")
    )


def test_an_api_with_upload_folder_only_gets_the_same_files(tmp_path):
    """HfApi stand-ins that implement only create_repo + upload_folder (as Trainer uses) receive the staged folder."""
    tiny_sudoku_folder(tmp_path / "run")
    uploaded = {}

    class UploadFolderOnly:
        def create_repo(self, repo_id, **kwargs):
            return SimpleNamespace(repo_id=repo_id)

        def upload_folder(self, repo_id, folder_path, **kwargs):
            uploaded[repo_id] = sorted(os.listdir(folder_path))

    push_model_folder(tmp_path / "run", REPO_ID, api=UploadFolderOnly())
    assert uploaded[REPO_ID] == sorted(
        ["README.md", "config.json", "config_validation.py", "configuration_hyperset.py", "embeddings.py",
         "energies.py", "extrapolation.json", "input_checks.py", "maskgit.py", "model.safetensors", "modeling_hyperset.py",
         "recurrence.py", "sudoku_rules.py"]
    )
