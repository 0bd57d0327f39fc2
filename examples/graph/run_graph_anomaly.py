#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Graph anomaly detection: the Energy Transformer against GCN, GAT and an MLP from PyTorch Geometric, same recipe.

The protocol of the Energy Transformer paper (from BWGNN, Tang et al., ICML 2022): a stratified split (40% of the
nodes for training, the rest validation : test = 1 : 2), full-batch training with a class-weighted cross-entropy
(anomalous class weighted #normal / #anomalous of the training nodes), the anomaly probability thresholded at the value
in {0.05, ..., 0.95} that maximises the validation macro-F1; reported: test macro-F1 at that threshold and test AUC,
at the epoch with the best validation macro-F1 (evaluated in eval mode, no dropout). Every model gets the same
optimiser, epochs, wall-time budget and data; the baselines have about the ET's parameter count (hidden width
chosen to match). Training-free baselines: each node feature alone as a score (YelpChi), and the distance of a node's
features from its neighbours' mean (injected outliers).

    OMP_NUM_THREADS=1 python examples/graph/run_graph_anomaly.py --dataset injected --models et,gcn,gat,mlp \
        --seeds 0,1,2 --output_dir outputs/graph-injected

Writes `results.json` (every run) and `results.md` (mean +- std over seeds) into `--output_dir`, and the ET model of
the first seed (`save_pretrained`, with `run_metadata.json`) into `--output_dir/et-seed<seed>`.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed

from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForNodeClassification
from hyperset_hf.data.graphs import YELPCHI_FEATURE_NAMES, load_yelpchi_ugfraud, make_injected_outlier_graph
from hyperset_hf.release.model_card import record_training_stage, script_command


EXAMPLES_DIR = str(Path(__file__).resolve().parents[1])  # the scripts' shared helpers are examples/_shared
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)
from _shared.graph_metrics import best_threshold, macro_f1, roc_auc  # noqa: E402


MODELS = ("et", "gcn", "gat", "mlp")
DATASETS = ("yelpchi", "injected")


def build_parser() -> argparse.ArgumentParser:
    """The script's options (their checks beyond argparse's types are in `parse_args`)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, default="injected")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {MODELS}")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated split and initialisation seeds")
    parser.add_argument("--train_fraction", type=float, default=0.4)
    parser.add_argument("--hidden_size", type=int, default=64, help="ET hidden size (baselines: matched parameters)")
    parser.add_argument("--num_attention_heads", type=int, default=1)
    parser.add_argument("--num_memories", type=int, default=128, help="ET Hopfield memories")
    parser.add_argument("--num_recurrences", type=int, default=2, help="ET steps of the energy descent")
    parser.add_argument("--step_size", type=float, default=1.0, help="ET step size")
    parser.add_argument("--classifier_type", choices=["linear", "mlp"], default="mlp", help="ET readout of [x_T, x_0]")
    parser.add_argument("--energy_readout", action="store_true", help="ET: every node's final energies in the readout")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=1e-2)
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--max_minutes", type=float, default=10.0, help="wall-time budget of every training run")
    parser.add_argument("--baseline_layers", type=int, default=3, help="layers of the GCN, GAT and MLP baselines")
    parser.add_argument("--num_nodes", type=int, default=2000, help="injected graph: nodes")
    parser.add_argument("--clique_size", type=int, default=15,
                        help="injected graph: nodes per clique; 3%% of the nodes are contextual outliers and about "
                        "3%% (whole cliques) structural ones")  # fmt: skip
    parser.add_argument("--output_dir", required=True)
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    """The options, checked: a bad value ends the script with a one-line error naming the option, the value and what
    is accepted (exit status 2, no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    bad = [name for name in models if name not in MODELS]
    if bad:
        parser.error(f"--models: unknown {bad}; expected some of {list(MODELS)}")
    if not models:
        parser.error(f"--models must name at least one model, got {args.models!r}; expected some of {list(MODELS)}")
    if len(set(models)) != len(models):
        parser.error(f"--models names a model twice, got {args.models!r}; expected distinct names from {list(MODELS)}")
    args.models = models
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if any(not 0 <= seed < 2**32 for seed in seeds) or len(set(seeds)) != len(seeds):
        parser.error(f"--seeds must be distinct integers from 0 to {2**32 - 1}, got {args.seeds!r}")
    args.seeds = seeds
    positive = ("epochs", "hidden_size", "num_attention_heads", "num_recurrences", "num_memories", "num_nodes",
                "clique_size", "baseline_layers")  # fmt: skip
    for name in positive:
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if args.num_attention_heads > args.hidden_size:
        parser.error(f"--num_attention_heads must be at most --hidden_size ({args.hidden_size}), got "
                     f"{args.num_attention_heads}")  # fmt: skip
    if not 0 < args.train_fraction < 1:  # also refuses nan
        parser.error(f"--train_fraction must be in (0, 1), got {args.train_fraction}")
    for name, minimum in (("max_minutes", None), ("step_size", None), ("learning_rate", None), ("weight_decay", 0.0)):
        value = getattr(args, name)
        if not math.isfinite(value) or (value <= 0 if minimum is None else value < minimum):
            accepted = "a finite positive number" if minimum is None else "a finite number >= 0"
            parser.error(f"--{name} must be {accepted}, got {value}")
    output_dir = Path(args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        parser.error(f"--output_dir {args.output_dir!r} is a file; expected a folder (created if missing)")
    return args


def load_graph(args, seed: int):
    if args.dataset == "yelpchi":
        return load_yelpchi_ugfraud(seed=seed, train_fraction=args.train_fraction)
    num_cliques = max(1, round(0.03 * args.num_nodes / args.clique_size))
    return make_injected_outlier_graph(
        num_nodes=args.num_nodes, num_contextual=max(1, round(0.03 * args.num_nodes)),
        num_structural=num_cliques * args.clique_size, clique_size=args.clique_size,
        train_fraction=args.train_fraction, seed=seed,
    )  # fmt: skip


def class_weights(data) -> list[float]:
    """[1, #normal / #anomalous] over the training nodes."""
    train_labels = data.y[data.train_mask]
    return [1.0, float((train_labels == 0).sum()) / max(float((train_labels == 1).sum()), 1.0)]


def build_et(args, data) -> EnergyTransformerForNodeClassification:
    num_edge_types = int(data.edge_type.max()) + 1 if data.edge_type.numel() else 1
    config = EnergyTransformerConfig(
        num_node_features=data.num_features, num_edge_types=num_edge_types, hidden_size=args.hidden_size,
        num_attention_heads=args.num_attention_heads, head_dim=args.hidden_size // args.num_attention_heads,
        num_memories=args.num_memories, num_recurrences=args.num_recurrences, step_size=args.step_size,
        num_labels=2, class_weights=class_weights(data), classifier_type=args.classifier_type,
        energy_readout=args.energy_readout,
    )  # fmt: skip
    return EnergyTransformerForNodeClassification(config)


def build_baseline(name: str, data, target_parameters: int, num_layers: int = 3) -> torch.nn.Module:
    """A PyG model of `num_layers` layers (3 by default: two hidden layers keep the width needed to match moderate
    when the node features are few) whose hidden width gives about `target_parameters` parameters."""
    from torch_geometric.nn.models import GAT, GCN, MLP

    def make(width: int) -> torch.nn.Module:
        if name == "mlp":
            return MLP(in_channels=data.num_features, hidden_channels=width, out_channels=2, num_layers=num_layers,
                       dropout=0.0)  # fmt: skip
        model_class = {"gcn": GCN, "gat": GAT}[name]
        return model_class(in_channels=data.num_features, hidden_channels=width, out_channels=2, num_layers=num_layers)

    width = min(range(4, 1025, 4), key=lambda w: abs(sum(p.numel() for p in make(w).parameters()) - target_parameters))
    return make(width)


def node_logits(name: str, model, data) -> torch.Tensor:
    """(num_nodes, 2) logits of any of the models on the graph."""
    if name == "et":
        return model(x=data.x, edge_index=data.edge_index, edge_type=data.edge_type).logits
    return model(data.x) if name == "mlp" else model(data.x, data.edge_index)


def anomaly_probabilities(name: str, model, data) -> torch.Tensor:
    return node_logits(name, model, data).softmax(-1)[:, 1]


def evaluate(probabilities: torch.Tensor, data) -> dict[str, float]:
    threshold = best_threshold(probabilities[data.val_mask], data.y[data.val_mask])
    test_scores, test_labels = probabilities[data.test_mask], data.y[data.test_mask]
    return {
        "threshold": threshold,
        "val_macro_f1": macro_f1(probabilities[data.val_mask] > threshold, data.y[data.val_mask]),
        "test_macro_f1": macro_f1(test_scores > threshold, test_labels),
        "test_auc": roc_auc(test_scores, test_labels),
    }


def train_one(name: str, args, data, seed: int, target_parameters: int | None) -> tuple[dict, torch.nn.Module]:
    set_seed(seed)
    if name == "et":
        model = build_et(args, data)
    else:
        model = build_baseline(name, data, target_parameters, args.baseline_layers)
    weight = torch.tensor(class_weights(data))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    labels = data.y.clone()
    labels[~data.train_mask] = -100
    best, best_state, started, epoch = None, None, time.monotonic(), 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        optimizer.zero_grad()
        # the same class-weighted loss for every model (the ET's own `loss` with `config.class_weights` is equal)
        loss = F.cross_entropy(node_logits(name, model, data), labels, weight=weight, ignore_index=-100)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            metrics = evaluate(anomaly_probabilities(name, model, data), data)
        if best is None or metrics["val_macro_f1"] > best["val_macro_f1"]:
            best = {**metrics, "epoch": epoch, "train_loss": float(loss.detach())}
            best_state = {key: value.clone() for key, value in model.state_dict().items()}
        if time.monotonic() - started > 60 * args.max_minutes:
            break
    model.load_state_dict(best_state)
    result = {
        "model": name, "seed": seed, "parameters": sum(p.numel() for p in model.parameters()), **best,
        "epochs_run": epoch, "wall_seconds": round(time.monotonic() - started, 1),
    }  # fmt: skip
    return result, model


def training_free_baselines(args, data, seed: int) -> list[dict]:
    """Scores that need no training: each feature (and its negation) on YelpChi, the best one on validation; the
    distance of a node's features from its neighbours' mean on the injected graph."""
    from torch_geometric.utils import scatter

    candidates = {}
    if args.dataset == "yelpchi":
        for index, feature in enumerate(YELPCHI_FEATURE_NAMES):
            candidates[feature] = data.x[:, index]
            candidates[f"-{feature}"] = -data.x[:, index]
    else:
        source, target = data.edge_index
        neighbour_mean = scatter(data.x[source], target, dim=0, dim_size=data.num_nodes, reduce="mean")
        candidates["neighbour feature distance"] = (data.x - neighbour_mean).norm(dim=-1)
        candidates["degree"] = torch.bincount(target, minlength=data.num_nodes).double()
    rows = []
    for feature, score in candidates.items():
        ranks = score.argsort().argsort().double() / max(data.num_nodes - 1, 1)  # scores in [0, 1] to threshold
        rows.append({"model": f"score: {feature}", "seed": seed, "parameters": 0, **evaluate(ranks, data)})
    best = max(rows, key=lambda row: row["val_macro_f1"] + roc_auc(
        candidates[row["model"][7:]][data.val_mask], data.y[data.val_mask]))  # fmt: skip
    return [{**best, "model": f"training-free ({best['model'][7:]})"}]


def summarise(runs: list[dict]) -> str:
    lines = [
        "| model | parameters | test macro-F1 (%) | test AUC (%) | validation macro-F1 (%) | best epoch "
        "| wall time per run (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(run["model"] for run in runs):
        group = [run for run in runs if run["model"] == name]

        def stat(key):
            values = [100 * run[key] for run in group]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.2f} +- {spread:.2f}"

        epochs = ", ".join(str(run.get("epoch", "-")) for run in group)
        wall = statistics.mean(run.get("wall_seconds", 0.0) for run in group)
        lines.append(f"| {name} | {group[0]['parameters']:,} | {stat('test_macro_f1')} | {stat('test_auc')} | "
                     f"{stat('val_macro_f1')} | {epochs} | {wall:.0f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    from huggingface_hub.errors import StrictDataclassError

    args = parse_args(argv)
    output_dir = Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        build_parser().error(f"--output_dir {args.output_dir!r} cannot be created: {error}")
    runs = []
    for seed in args.seeds:
        try:  # the data loaders and the config check the values the options give them, naming the bad one
            data = load_graph(args, seed)
            et_parameters = sum(p.numel() for p in build_et(args, data).parameters())
        except (ValueError, OSError, ModuleNotFoundError, StrictDataclassError) as error:
            build_parser().error(" ".join(str(error).split()))  # one line, exit status 2, as a bad option
        runs += training_free_baselines(args, data, seed)
        for name in args.models:
            result, model = train_one(name, args, data, seed, et_parameters)
            runs.append(result)
            print(json.dumps(result), flush=True)
            if name == "et" and seed == args.seeds[0]:
                model.save_pretrained(output_dir / f"et-seed{seed}")
                (output_dir / f"et-seed{seed}" / "all_results.json").write_text(json.dumps(
                    {f"eval_{key[5:]}": value for key, value in result.items() if key.startswith("test_")}
                    | {"model_num_parameters": result["parameters"]}, indent=2))  # fmt: skip
                record_training_stage(
                    output_dir / f"et-seed{seed}", command=script_command(__file__, argv), dataset=args.dataset,
                    evaluation=f"the test nodes of the seed-{seed} split", steps=result["epoch"], seed=seed,
                    wall_minutes=round(result["wall_seconds"] / 60, 1),
                )  # fmt: skip
    (output_dir / "results.json").write_text(json.dumps(runs, indent=2) + "\n")
    table = summarise(runs)
    (output_dir / "results.md").write_text(table + "\n")
    print(table)
    return runs


if __name__ == "__main__":
    main(sys.argv[1:])
