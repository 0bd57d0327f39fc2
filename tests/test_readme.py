"""Every Python snippet of the README runs as written (from a clone's root: the shipped checkpoints are read from
`src/`; files the snippets write land in a temporary folder)."""

import os
import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 6


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs_as_written(index, tmp_path, monkeypatch):
    snippet = SNIPPETS[index]
    if "load_fashion_mnist" in snippet and not FASHION_MNIST.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist (installed by .ci/run)")
    (tmp_path / "src").symlink_to(ROOT / "src")  # the snippets' relative checkpoint paths, seen from a clone's root
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
    exec(compile(snippet, f"README.md snippet {index}", "exec"), {"__name__": "__readme__"})
