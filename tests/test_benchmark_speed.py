"""benchmarks/speed.py imports the previous engine with every flat module its modeling files import at that revision,
and the previous and current Energy Transformer rows compute the same loss on the same weights."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest


REPOSITORY = Path(__file__).resolve().parents[1]
SCRIPT = REPOSITORY / "benchmarks" / "speed.py"
REVISION = "941eb13"


def _load_speed():
    spec = importlib.util.spec_from_file_location("speed_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def revision():
    command = ["git", "-C", str(REPOSITORY), "cat-file", "-e", f"{REVISION}^{{commit}}"]
    found = subprocess.run(command, capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"{REVISION} is not in this clone's history")
    return REVISION


def test_sibling_modules_follow_relative_imports(revision):
    speed = _load_speed()
    assert set(speed.sibling_modules(revision, "modeling_hyperset.py")) == {
        "modeling_hyperset.py", "configuration_hyperset.py", "input_checks.py", "config_validation.py",
    }  # fmt: skip
    assert set(speed.sibling_modules(revision, "modeling_energy_transformer.py")) == {
        "modeling_energy_transformer.py", "configuration_energy_transformer.py", "input_checks.py",
        "config_validation.py",
    }  # fmt: skip
    current = set(speed.sibling_modules("HEAD", "modeling_hyperset.py"))
    assert {"modeling_hyperset.py", "recurrence.py", "configuration_hyperset.py"} <= current


def test_energy_transformer_rows_agree_with_the_previous_engine(revision):
    # a fresh process: the previous engine is imported as a temporary package
    code = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("speed_benchmark", {str(SCRIPT)!r})
speed = importlib.util.module_from_spec(spec); spec.loader.exec_module(speed)
speed.ENERGY_TRANSFORMER.update(hidden_size=16, num_attention_heads=2, head_dim=4, num_memories=32, image_size=8,
                                batch_size=2)
losses = {{}}
for implementation in ("previous", "ours", "checkpointed"):
    model, loss = speed.build("energy_transformer", implementation, 2, "", {revision!r})
    model.train()
    value = loss(model)
    value.backward()
    losses[implementation] = value.item()
print(json.dumps(losses))
"""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    losses = json.loads(result.stdout.strip().splitlines()[-1])
    assert losses["ours"] == pytest.approx(losses["previous"], rel=1e-5)
    assert losses["checkpointed"] == pytest.approx(losses["ours"], rel=1e-6)
