#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The energy descent of a trained graph Energy Transformer and the nodes it detects, as one figure.

Reads the output folder of `run_graph_anomaly.py --dataset injected` (the saved ET model `et-seed<seed>` and the
validation-tuned threshold in `results.json`), rebuilds the same graph and split, and plots (left) the graph's energy
before the first step and after every step, at the trained number of steps and at 2x and 4x, and (right) every test
node's attention energy against its anomaly probability, coloured by what it is (normal, contextual or structural
outlier), with the threshold: the nodes above it are the detected ones.

    OMP_NUM_THREADS=1 python examples/graph/plot_graph_energy.py --run_dir outputs/graph/injected \
        --output benchmarks/results/graph-anomaly-injected-energy.png
"""

import argparse
import importlib.util
import json
import shlex
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForTokenClassification  # noqa: E402

import hyperset_hf  # noqa: E402,F401  (registers the Auto classes)
from hyperset_hf.release.model_card import read_run_metadata  # noqa: E402
from hyperset_hf.modeling_energy_transformer import build_graph_index  # noqa: E402


def load_run_script():
    spec = importlib.util.spec_from_file_location("run_graph_anomaly", Path(__file__).with_name("run_graph_anomaly.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run_dir", required=True, help="the --output_dir of run_graph_anomaly.py --dataset injected")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True, help="the PNG to write")
    args = parser.parse_args(argv)

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        parser.error(f"--run_dir {args.run_dir!r} is not a folder; expected the --output_dir of run_graph_anomaly.py")
    model_dir = run_dir / f"et-seed{args.seed}"
    if not (model_dir / "config.json").is_file():
        parser.error(f"{model_dir} has no saved model: run run_graph_anomaly.py with --seeds {args.seed} first")
    output = Path(args.output)
    formats = FigureCanvasBase.get_supported_filetypes()
    if output.is_dir() or output.suffix.lower().lstrip(".") not in formats:
        parser.error(f"--output must be an image file name ending in one of {sorted('.' + name for name in formats)} "
                     f"(e.g. figure.png), got {args.output!r}")  # fmt: skip
    script = load_run_script()
    try:  # the saved command gives the same graph and split as in training
        command = shlex.split(read_run_metadata(model_dir)["stages"][-1]["command"])
        run_args = script.parse_args(command[2:])
        results = json.loads((run_dir / "results.json").read_text())
        result = next(run for run in results if run["model"] == "et" and run["seed"] == args.seed)
    except (OSError, ValueError, KeyError, IndexError, TypeError, StopIteration, SystemExit) as error:
        reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
        parser.error(f"--run_dir {args.run_dir!r} is not a complete run of run_graph_anomaly.py for --seed "
                     f"{args.seed} (its run_metadata.json or results.json: {reason})")  # fmt: skip
    if run_args.dataset != "injected":
        parser.error(f"{model_dir} was trained on {run_args.dataset!r}; the figure needs the injected graph")
    data = script.load_graph(run_args, args.seed)
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    trained = model.config.num_recurrences

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    inputs = dict(x=data.x, edge_index=data.edge_index, edge_type=data.edge_type)
    for steps, width, marker in ((4 * trained, 5, "o"), (2 * trained, 3, "s"), (trained, 1.5, "^")):
        with torch.no_grad():
            energies = model(**inputs, num_recurrences=steps, output_energies=True).energies[0]
        left.plot(range(steps + 1), energies.numpy(), marker=marker, linewidth=width, label=f"{steps} steps")
    left.set_xlabel("step")
    left.set_ylabel("energy of the graph (attention + Hopfield)")
    left.set_title(f"Energy descent (trained at {trained} steps)")
    left.legend()

    with torch.no_grad():
        outputs = model(**inputs, output_hidden_states=True)  # the final node states: hidden_states[-1]
        probabilities = outputs.logits.softmax(-1)[:, 1]
        graph = build_graph_index(
            data.edge_index, data.edge_type, data.num_nodes, model.config.num_edge_types, model.config.add_self_loops
        )
        attention_energy = model.layers[-1].node_energies(outputs.hidden_states[-1], graph)[:, :-1].sum(dim=-1)
    test = data.test_mask
    threshold = result["threshold"]
    for code, name, colour in ((0, "normal", "tab:gray"), (1, "contextual outlier", "tab:orange"),
                               (2, "structural outlier", "tab:red")):  # fmt: skip
        chosen = test & (data.outlier_type == code)
        detected = int((probabilities[chosen] > threshold).sum())
        right.scatter(attention_energy[chosen], probabilities[chosen], s=8 if code == 0 else 18, c=colour,
                      alpha=0.5 if code == 0 else 0.9,
                      label=f"{name}: {detected}/{int(chosen.sum())} detected")  # fmt: skip
    right.axhline(threshold, color="black", linestyle="--", linewidth=1,
                  label=f"threshold {threshold:.2f} (validation)")
    right.set_xlabel("node's attention energy after the last step")
    right.set_ylabel("anomaly probability")
    right.set_title(f"Test nodes: AUC {100 * result['test_auc']:.1f}%, macro-F1 {100 * result['test_macro_f1']:.1f}%")
    right.legend(fontsize=8)
    figure.tight_layout()
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
