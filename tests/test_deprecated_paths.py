"""The module paths of 0.1 still import until 0.3.0: each warns once with a DeprecationWarning naming its new path and
hands out the new module's own objects; example helpers that left the package say where they went."""

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import hyperset_hf
from hyperset_hf._deprecation import MOVED_MODULES, REMOVED_IN


ROOT = Path(__file__).resolve().parents[1]


def import_fresh(name):
    """`import name` as if for the first time in this process (another test may have imported it already)."""
    sys.modules.pop(name, None)
    parent, _, child = name.rpartition(".")
    vars(sys.modules[parent]).pop(child, None)
    __import__(name)  # the import statement's own call
    return sys.modules[name]


@pytest.mark.parametrize("old, new", sorted(MOVED_MODULES.items()))
def test_the_old_path_warns_and_forwards_to_the_new_module(old, new):
    message = rf"{old} is deprecated since hyperset-hf 0\.2\.0 and will be removed in {REMOVED_IN}; import {new} "
    with pytest.warns(DeprecationWarning, match=message) as caught:
        module = import_fresh(old)
    ours = [warning for warning in caught if "is deprecated since hyperset-hf" in str(warning.message)]
    assert [warning.filename for warning in ours] == [__file__]  # once, and attributed to the importing line
    target = importlib.import_module(new)
    if hasattr(target, "__all__"):
        assert module.__all__ == target.__all__
    public = [name for name in vars(target) if not name.startswith("_")]
    assert public and all(getattr(module, name) is getattr(target, name) for name in public)
    private = [name for name in vars(target) if name.startswith("_") and not name.startswith("__")]
    assert all(getattr(module, name) is getattr(target, name) for name in private)
    assert set(dir(module)) == set(dir(target))
    with pytest.raises(AttributeError, match=f"module '{old}' has no attribute 'nope'"):
        module.nope
    # once: a second import is the cached module, without a second warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert importlib.import_module(old) is module


def test_star_and_private_imports_of_an_old_path():
    sys.modules.pop("hyperset_hf.sudoku_data", None)
    namespace = {}
    with pytest.warns(DeprecationWarning, match="hyperset_hf.data.sudoku"):
        exec("from hyperset_hf.sudoku_data import *", namespace)
        exec("from hyperset_hf.sudoku_data import _has_other_solution", namespace)
    from hyperset_hf.data import sudoku

    assert all(namespace[name] is getattr(sudoku, name) for name in sudoku.__all__)
    assert namespace["_has_other_solution"] is sudoku._has_other_solution


@pytest.mark.parametrize(
    "old, name, where",
    [
        ("hyperset_hf.image_data", "build_image_model", "examples/_shared/images.py"),
        ("hyperset_hf.image_data", "MaskGenerator", "examples/_shared/images.py"),
        ("hyperset_hf.image_data", "FASHION_MNIST_LOCAL", "examples/_shared/images.py"),
        ("hyperset_hf.graph_data", "roc_auc", "examples/_shared/graph_metrics.py"),
    ],
)
def test_example_helpers_that_left_the_package_say_where_they_went(old, name, where):
    with pytest.warns(DeprecationWarning):
        module = import_fresh(old)
    with pytest.raises(AttributeError, match=rf"no attribute '{name}' \(.* {where}, since hyperset-hf 0\.2\.0\)"):
        getattr(module, name)
    helpers = importlib.import_module("_shared." + Path(where).stem)  # examples/ is on sys.path (conftest)
    assert hasattr(helpers, name)


def test_config_overrides_left_the_travelling_configuration_module():
    from hyperset_hf import configuration_hyperset

    assert not hasattr(configuration_hyperset, "config_overrides")
    assert "config_overrides" not in configuration_hyperset.__all__


def test_the_package_itself_uses_no_old_path():
    """A fresh interpreter that turns DeprecationWarning into errors imports every current module and loads the shipped
    Sudoku checkpoint through the Auto class."""
    code = (
        "import hyperset_hf, hyperset_hf.metrics, hyperset_hf.analysis\n"
        "import hyperset_hf.data.sudoku, hyperset_hf.data.images, hyperset_hf.data.graphs\n"
        "import hyperset_hf.release.convert, hyperset_hf.release.hub, hyperset_hf.release.model_card\n"
        "from transformers import AutoModelForTokenClassification\n"
        "AutoModelForTokenClassification.from_pretrained('src/hyperset_hf/checkpoints/hyperset-sudoku')\n"
    )
    subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], cwd=ROOT, check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip


def test_python_dash_m_of_the_old_converter_path_still_runs():
    result = subprocess.run(
        [sys.executable, "-m", "hyperset_hf.convert_original_checkpoint", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "python -m hyperset_hf.release.convert" in result.stdout and "--task" in result.stdout
    assert "DeprecationWarning: hyperset_hf.convert_original_checkpoint is deprecated" in result.stderr


def test_the_version_is_0_2():
    assert hyperset_hf.__version__ == "0.2.0"
