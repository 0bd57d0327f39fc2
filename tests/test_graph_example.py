"""`examples/graph/run_graph_anomaly.py` end to end on a small injected-outlier graph: every model trains, the
protocol's metrics are reported per seed and summarised, the ET model is saved with its run metadata and renders a
card; bad arguments are refused."""

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import load_example
import torch
from transformers import AutoModelForTokenClassification

import hyperset_hf  # noqa: F401  (registers the Auto classes)
from hyperset_hf.release.model_card import model_card_from_output_dir


pytest.importorskip("torch_geometric")
SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "graph" / "run_graph_anomaly.py"


def load_script():
    return load_example(SCRIPT)


def test_all_models_train_and_the_et_model_is_saved_with_a_card(tmp_path):
    script = load_script()
    runs = script.main([
        "--dataset", "injected", "--num_nodes", "300", "--clique_size", "5", "--seeds", "0,1", "--epochs", "15",
        "--hidden_size", "16", "--num_memories", "16", "--energy_readout", "--output_dir", str(tmp_path),
    ])  # fmt: skip
    models = [run["model"] for run in runs]
    assert models.count("et") == models.count("gcn") == models.count("gat") == models.count("mlp") == 2
    assert sum(model.startswith("training-free") for model in models) == 2
    for run in runs:
        assert 0.0 <= run["test_auc"] <= 1.0 and 0.0 <= run["test_macro_f1"] <= 1.0
        assert 0.05 <= run["threshold"] <= 0.95
    trained = [run for run in runs if run["model"] in ("et", "gcn", "gat", "mlp")]
    et_parameters = next(run["parameters"] for run in trained if run["model"] == "et")
    for run in trained:  # the baselines are matched to the ET's parameter count
        assert abs(run["parameters"] - et_parameters) / et_parameters < 0.15, run
    assert json.loads((tmp_path / "results.json").read_text()) == runs
    table = (tmp_path / "results.md").read_text()
    assert table.startswith("| model | parameters | test macro-F1 (%) | test AUC (%) | validation macro-F1 (%) |")
    assert "| et |" in table

    folder = tmp_path / "et-seed0"
    model = AutoModelForTokenClassification.from_pretrained(folder)
    data = script.load_graph(script.parse_args(["--num_nodes", "300", "--clique_size", "5", "--output_dir", "x"]), 0)
    with torch.no_grad():
        outputs = model(x=data.x, edge_index=data.edge_index, edge_type=data.edge_type, output_energies=True)
    probabilities = outputs.logits.softmax(-1)[:, 1]
    saved = next(run for run in runs if run["model"] == "et" and run["seed"] == 0)
    assert abs(script.evaluate(probabilities, data)["test_auc"] - saved["test_auc"]) < 1e-6  # the best epoch's weights
    card = model_card_from_output_dir(folder, repo_id="org/et-graph")
    assert card.data.pipeline_tag == "graph-ml" and "graph-anomaly-detection" in card.data.tags
    assert {result.metric_type for result in card.data.eval_results} == {"macro_f1", "auc"}
    assert "run_graph_anomaly.py --dataset injected" in card.text and "x=x, edge_index=edge_index" in card.text

    # the figure of the energy descent and the detected nodes
    spec = importlib.util.spec_from_file_location("plot_graph_energy", SCRIPT.with_name("plot_graph_energy.py"))
    plot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot)
    plot.main(["--run_dir", str(tmp_path), "--output", str(tmp_path / "figure.png")])
    assert (tmp_path / "figure.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--models", "et,gnn"], r"--models: unknown \['gnn'\]"),
        (["--seeds", "0,a"], "--seeds must be comma-separated integers, got '0,a'"),
        (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
        (["--train_fraction", "1.5"], "--train_fraction must be in"),
    ],
)
def test_bad_arguments_are_refused(arguments, message, capsys):
    with pytest.raises(SystemExit):
        load_script().parse_args(arguments + ["--output_dir", "x"])
    assert len(__import__("re").findall(message, capsys.readouterr().err)) == 1


def test_the_published_yelpchi_model_reproduces_its_card_figures():
    """The weights behind `model_cards/energy-transformer-yelpchi.md` on the same YelpChi split (seed 0)."""
    from _shared.graph_metrics import best_threshold, macro_f1, roc_auc
    from hyperset_hf.data.graphs import load_yelpchi_ugfraud

    folder = Path(__file__).resolve().parents[1] / "model_cards" / "runs" / "energy-transformer-yelpchi"
    try:
        data = load_yelpchi_ugfraud(seed=0)
    except (FileNotFoundError, ImportError) as error:
        pytest.skip(f"the UGFraud wheel is not installed: {error}")
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        outputs = model(x=data.x, edge_index=data.edge_index, edge_type=data.edge_type, output_energies=True)
    probabilities = outputs.logits.softmax(-1)[:, 1]
    results = json.loads((folder / "all_results.json").read_text())
    threshold = best_threshold(probabilities[data.val_mask], data.y[data.val_mask])
    assert abs(roc_auc(probabilities[data.test_mask], data.y[data.test_mask]) - results["eval_auc"]) < 1e-4
    test_f1 = macro_f1(probabilities[data.test_mask] > threshold, data.y[data.test_mask])
    assert abs(test_f1 - results["eval_macro_f1"]) < 1e-4
    energies = outputs.energies[0]
    assert bool((energies[1:] < energies[:-1]).all())  # the trained steps descend the graph's energy
