"""benchmarks/step_time.py builds the Fashion-MNIST benchmark models with the parameter counts the results report."""

import importlib.util
from pathlib import Path


REPOSITORY = Path(__file__).resolve().parents[1]


def _load_step_time():
    spec = importlib.util.spec_from_file_location("step_time", REPOSITORY / "benchmarks" / "step_time.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_time_table_reports_the_benchmark_models(capsys):
    _load_step_time().main(["--batch_size", "2", "--steps", "1"])
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1] for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ") and "parameters" not in line}
    # the counts that the example scripts log as `model_num_parameters` for the benchmark runs
    assert rows == {
        "Hyper-SET classifier (d=512, 1x12)": "1,611,052",
        "ViT classifier (d=192, 4 layers)": "1,794,826",
        "Hyper-SET MIM (d=512, 1x12)": "1,631,571",
        "ViT MIM (d=192, 4 layers)": "1,802,545",
        "Energy Transformer MIM (D=512, T=12)": "1,631,794",
    }


def test_step_time_rejects_bad_arguments(capsys):
    import pytest

    with pytest.raises(SystemExit):
        _load_step_time().main(["--steps", "0"])
    assert "--steps must be >= 1" in capsys.readouterr().err
