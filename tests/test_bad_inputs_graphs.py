# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Bad and edge inputs of the graph area: the protocol's metrics (`examples/_shared/graph_metrics.py`), the graph data
(`hyperset_hf.data.graphs`: the stratified split, the injected-outlier generator, the YelpChi loader and its cache),
the graph model's forward boundary (`EnergyTransformerForNodeClassification`) and the graph example scripts' options.

Each bad case (a `bad_inputs.CaseTable`) must raise the package's own exception of a fitting type naming the argument,
the value and what is accepted; the accepted forms are tested as accepted, with the numbers they must give (the metrics
equal scikit-learn's, nodes labelled -100 left out; seeded graphs identical to before the checks were added; a
damaged YelpChi cache rebuilt with a warning, to the values of a fresh build)."""

import gzip
import hashlib
import math
import warnings
import zipfile

import numpy as np
import pytest
import torch
from bad_inputs import CaseTable, check_case, no_hang


pytest.importorskip("torch_geometric", reason="the graph data needs torch_geometric (pip install -e '.[graph]')")
pytest.importorskip("sklearn", reason="the graph metrics are scikit-learn's (pip install -e '.[graph]')")

from conftest import load_example  # noqa: E402
from pathlib import Path  # noqa: E402

from _shared.graph_metrics import best_threshold, macro_f1, roc_auc  # noqa: E402
from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForNodeClassification  # noqa: E402
from hyperset_hf.data import graphs  # noqa: E402


CASES = CaseTable()  # calls: `function()`
case, cases = CASES.case, CASES.cases
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "graph"

SCORES = torch.tensor([0.9, 0.2, 0.7, 0.4, 0.1, 0.6])
LABELS = torch.tensor([1, 0, 1, 0, 0, 1])


def _replace(tensor, index, value):
    tensor = tensor.clone().double() if isinstance(value, float) else tensor.clone()
    tensor[index] = value
    return tensor


# ---------------------------------------------------------------------------------------------------------------------
# The metrics: roc_auc, macro_f1, best_threshold
# ---------------------------------------------------------------------------------------------------------------------

SCORE_ONLY = ("nan-score", "inf-score")  # problems of a score, not of a 0/1 prediction
METRIC_INPUTS = [
    # (id, scores, labels, fragments): the same bad input given to roc_auc and best_threshold (scores) and, but for
    # SCORE_ONLY, to macro_f1 (predictions = scores > 0.5, "scores" read "predictions" in the fragments)
    ("nan-score", _replace(SCORES, 2, math.nan), LABELS, ("scores", "nan", "finite", "node 2")),
    ("inf-score", _replace(SCORES, 0, math.inf), LABELS, ("scores", "inf", "finite")),
    ("label-2", SCORES, _replace(LABELS, 1, 2), ("labels", "2", "0 (normal), 1 (anomalous) or -100", "node 1")),
    ("label-minus-1", SCORES, _replace(LABELS, 3, -1), ("labels", "-1", "-100 (ignored)", "node 3")),
    ("label-half", SCORES, _replace(LABELS, 0, 0.5), ("labels", "0.5", "0 (normal)")),
    ("label-nan", SCORES, _replace(LABELS, 4, math.nan), ("labels", "nan", "node 4")),
    ("mismatched-lengths", SCORES[:5], LABELS[:4], ("labels", "same length", "5", "4")),
    ("one-score-many-labels", SCORES[:1], LABELS, ("labels", "same length", "1", "6")),
    ("all-ignored", SCORES[:4], torch.full((4,), -100), ("labels", "-100", "no node to score", "at least one label")),
    ("empty", torch.zeros(0), torch.zeros(0, dtype=torch.long), ("empty", "(0,)", "at least one of the nodes")),
    ("two-dimensional-scores", torch.stack([SCORES, 1 - SCORES], 1), LABELS, ("1-D", "(6, 2)", "(num_nodes,)")),
    ("two-dimensional-labels", SCORES, LABELS[:, None], ("labels", "1-D", "(6, 1)")),
    ("zero-dimensional", torch.tensor(0.5), torch.tensor(1), ("1-D", "()", "(num_nodes,)")),
]
for name, scores, labels, fragments in METRIC_INPUTS:
    case(f"roc_auc/{name}", ValueError, *fragments)(lambda scores=scores, labels=labels: roc_auc(scores, labels))
    case(f"best_threshold/{name}", ValueError, *fragments)(
        lambda scores=scores, labels=labels: best_threshold(scores, labels)
    )
    if name in SCORE_ONLY:
        continue
    predictions = scores > 0.5
    fragments = tuple("predictions" if fragment == "scores" else fragment for fragment in fragments)
    case(f"macro_f1/{name}", ValueError, *fragments)(
        lambda predictions=predictions, labels=labels: macro_f1(predictions, labels)
    )

cases(
    "roc_auc/wrong-type",
    [
        ("string-labels", ("scores", SCORES, "labels", "101001"), ("labels", "'101001'", "numpy array or list")),
        ("none-scores", ("scores", None, "labels", LABELS), ("scores", "None", "tensor, numpy array or list")),
        ("complex-scores", ("scores", SCORES.to(torch.complex64), "labels", LABELS), ("scores", "complex64", "real")),
        ("word-scores", ("scores", ["high", "low"], "labels", [1, 0]), ("scores", "list", "real numbers")),
        ("object-labels", ("scores", SCORES, "labels", np.array([1, None] * 3, dtype=object)), ("labels", "object")),
    ],
    TypeError,
    lambda arguments: roc_auc(**{arguments[0]: arguments[1], arguments[2]: arguments[3]}),
)
cases(
    "roc_auc/one-class",
    [
        ("all-normal", (SCORES, torch.zeros(6)), ("both classes", "0 positive", "6 negative")),
        ("all-anomalous", (SCORES, torch.ones(6, dtype=torch.bool)), ("both classes", "6 positive", "0 negative")),
        ("one-class-once-ignored-removed", (SCORES, torch.tensor([1, -100, 1, -100, -100, 1])), ("both classes",
                                                                                                   "3 positive")),
    ],
    ValueError,
    lambda arguments: roc_auc(*arguments),
)
cases(
    "macro_f1/bad-prediction",
    [
        ("two", _replace(LABELS, 0, 2), ("predictions", "2", "0 or 1", "node 0")),
        ("half", _replace(LABELS, 5, 0.5), ("predictions", "0.5", "0 or 1", "node 5")),
        ("nan", _replace(LABELS, 1, math.nan), ("predictions", "nan", "0 or 1")),
        ("minus-100", _replace(LABELS, 2, -100), ("predictions", "-100", "0 or 1")),
        ("scores-not-predictions", SCORES, ("predictions", "node 0", "0 or 1")),
    ],
    ValueError,
    lambda predictions: macro_f1(predictions, LABELS),
)
cases(
    "best_threshold/thresholds",
    [
        ("nan", [0.3, math.nan], ("thresholds", "nan", "finite", "entry 1")),
        ("empty", [], ("thresholds", "empty", "at least one of the thresholds")),
        ("two-dimensional", torch.ones(2, 2) / 2, ("thresholds", "1-D", "(2, 2)")),
    ],
    ValueError,
    lambda thresholds: best_threshold(SCORES, LABELS, thresholds),
)
case("best_threshold/thresholds/string", TypeError, "thresholds", "'0.5'")(
    lambda: best_threshold(SCORES, LABELS, "0.5")
)


# ---------------------------------------------------------------------------------------------------------------------
# The graph data: stratified_masks, make_injected_outlier_graph, load_yelpchi_ugfraud
# ---------------------------------------------------------------------------------------------------------------------

SPLIT_LABELS = torch.tensor([0, 1] * 10)
SEED_VALUES = [  # the package's one seed check, input_checks.as_seed
    ("fraction", 1.7, ("1.7", "integer", "[0, 2**63)")),
    ("integral-float", 2.0, ("2.0", "integer")),
    ("bool", True, ("True", "integer")),
    ("negative", -1, ("-1", "[0, 2**63)")),
    ("too-large", 2**63, (str(2**63), "[0, 2**63)")),
    ("string", "0", ("'0'", "integer")),
    ("none", None, ("None", "integer")),
]
FRACTION_VALUES = [
    ("bool", True, ("True", "real number", "(0, 1)")),
    ("nan", math.nan, ("nan", "(0, 1)")),
    ("inf", math.inf, ("inf", "(0, 1)")),
    ("string", "0.4", ("'0.4'", "real number", "(0, 1)")),
    ("zero", 0, ("0", "(0, 1)")),
    ("one", 1.0, ("1.0", "(0, 1)")),
    ("list", [0.4], ("[0.4]", "real number")),
]
cases("stratified_masks/seed", [(name, value, ("seed", *shown)) for name, value, shown in SEED_VALUES],
      ValueError, lambda seed: graphs.stratified_masks(SPLIT_LABELS, seed=seed))  # fmt: skip
cases("stratified_masks/train_fraction", [(name, value, ("train_fraction", *shown)) for name, value, shown in
      FRACTION_VALUES], ValueError,
      lambda fraction: graphs.stratified_masks(SPLIT_LABELS, train_fraction=fraction))  # fmt: skip
cases(
    "stratified_masks/labels",
    [
        ("nan", _replace(SPLIT_LABELS, 3, math.nan), ("labels", "node 3", "nan", "whole-number class indices")),
        ("inf", _replace(SPLIT_LABELS, 5, math.inf), ("labels", "node 5", "inf")),
        ("fractional", _replace(SPLIT_LABELS, 0, 0.5), ("labels", "node 0", "0.5")),
        ("minus-one", _replace(SPLIT_LABELS, 7, -1), ("labels", "node 7", "-1", ">= 0")),
        ("minus-100", _replace(SPLIT_LABELS, 2, -100), ("labels", "node 2", "-100", ">= 0")),
        ("two-dimensional", SPLIT_LABELS.view(10, 2), ("labels", "(num_nodes,)", "(10, 2)")),
        ("string", "0101", ("labels", "str", "class indices")),
        ("complex", SPLIT_LABELS.to(torch.complex64), ("labels", "complex64", "integer")),
    ],
    ValueError,
    lambda labels: graphs.stratified_masks(labels),
)

INJECTED_SMALL = dict(num_nodes=300, num_features=8, num_contextual=12, num_structural=15, clique_size=5,
                      num_candidates=20)  # fmt: skip
INJECTED_BAD = [
    ("num_nodes-huge", dict(num_nodes=200_000), ("num_nodes", "200000", "at most 20000", "num_nodes^2")),
    ("num_nodes-just-over", dict(num_nodes=graphs.MAX_INJECTED_NUM_NODES + 1), ("num_nodes", "20001", "2 to 20000")),
    ("num_nodes-fraction", dict(num_nodes=1.5), ("num_nodes", "1.5", "integer >= 2")),
    ("num_nodes-integral-float", dict(num_nodes=300.0), ("num_nodes", "300.0", "integer")),
    ("num_nodes-zero", dict(num_nodes=0), ("num_nodes", "0", "at least 2")),
    ("num_nodes-negative", dict(num_nodes=-1), ("num_nodes", "-1", "at least 2")),
    ("num_nodes-bool", dict(num_nodes=True), ("num_nodes", "True", "integer")),
    ("num_nodes-string", dict(num_nodes="300"), ("num_nodes", "'300'", "integer")),
    ("num_features-zero", dict(num_features=0), ("num_features", "0", "at least 1")),
    ("num_features-huge", dict(num_features=10**9), ("num_features=1000000000", "num_nodes=300", "at most 100000000")),
    ("complete-graph-too-many-edges", dict(num_nodes=20_000, num_communities=1, average_degree=19_000.0),
     ("average_degree=19000.0", "num_nodes=20000", "at most 10000000")),
    ("clique-too-many-edges", dict(num_nodes=20_000, num_contextual=0, num_structural=20_000, clique_size=10_000),
     ("clique_size=10000", "num_structural=20000", "edges")),
    ("num_contextual-negative", dict(num_contextual=-1), ("num_contextual", "-1", "at least 0")),
    ("num_contextual-fraction", dict(num_contextual=1.5), ("num_contextual", "1.5", "integer")),
    ("num_structural-bool", dict(num_structural=False), ("num_structural", "False", "integer")),
    ("clique_size-one", dict(clique_size=1), ("clique_size", "1", "at least 2")),
    ("clique_size-over-num_nodes", dict(clique_size=301, num_structural=0), ("clique_size=301", "num_nodes=300")),
    ("num_structural-not-multiple", dict(num_structural=7), ("num_structural=7", "clique_size=5", "multiple")),
    ("num_candidates-zero", dict(num_candidates=0), ("num_candidates", "0", "at least 1")),
    ("num_candidates-too-many", dict(num_candidates=289), ("num_candidates=289", "288")),
    ("num_communities-zero", dict(num_communities=0), ("num_communities", "0", "at least 1")),
    ("seed-fraction", dict(seed=1.7), ("seed", "1.7", "integer")),
    ("seed-negative", dict(seed=-1), ("seed", "-1", "[0, 2**63)")),
    ("seed-bool", dict(seed=True), ("seed", "True", "integer")),
    ("average_degree-nan", dict(average_degree=math.nan), ("average_degree", "nan", "positive number")),
    ("average_degree-inf", dict(average_degree=math.inf), ("average_degree", "inf", "positive number")),
    ("average_degree-bool", dict(average_degree=True), ("average_degree", "True", "real number")),
    ("average_degree-negative", dict(average_degree=-2.0), ("average_degree", "-2.0", "positive number")),
    ("within_community_fraction-bool", dict(within_community_fraction=True), ("within_community_fraction", "True",
                                                                              "number in [0, 1]")),
    ("within_community_fraction-nan", dict(within_community_fraction=math.nan), ("within_community_fraction", "nan",
                                                                                 "[0, 1]")),
    ("within_community_fraction-negative", dict(within_community_fraction=-0.1), ("within_community_fraction",
                                                                                 "-0.1", "[0, 1]")),
    ("noise_std-inf", dict(noise_std=math.inf), ("noise_std", "inf", "non-negative number")),
    ("noise_std-nan", dict(noise_std=math.nan), ("noise_std", "nan", "non-negative number")),
    ("noise_std-bool", dict(noise_std=True), ("noise_std", "True", "real number")),
    ("noise_std-string", dict(noise_std="1.0"), ("noise_std", "'1.0'", "real number")),
    ("train_fraction-bool", dict(train_fraction=True), ("train_fraction", "True", "(0, 1)")),
    ("train_fraction-zero", dict(train_fraction=0), ("train_fraction", "0", "(0, 1)")),
]
cases("make_injected_outlier_graph", INJECTED_BAD, ValueError,
      lambda overrides: graphs.make_injected_outlier_graph(**{**INJECTED_SMALL, **overrides}))  # fmt: skip

YELPCHI_BAD = [  # all checked before the file is looked for: no UGFraud needed
    ("seed-fraction", dict(seed=1.7), ("seed", "1.7", "integer")),
    ("seed-negative", dict(seed=-3), ("seed", "-3", "[0, 2**63)")),
    ("graph_seed-bool", dict(graph_seed=True), ("graph_seed", "True", "integer")),
    ("graph_seed-too-large", dict(graph_seed=2**70), ("graph_seed", str(2**70), "[0, 2**63)")),
    ("train_fraction-bool", dict(train_fraction=True), ("train_fraction", "True", "(0, 1)")),
    ("train_fraction-nan", dict(train_fraction=math.nan), ("train_fraction", "nan", "(0, 1)")),
    ("product_neighbors-zero", dict(product_neighbors=0), ("product_neighbors", "0", "at least 1")),
    ("product_neighbors-fraction", dict(product_neighbors=1.5), ("product_neighbors", "1.5", "integer")),
    ("metadata_path-number", dict(metadata_path=123), ("metadata_path", "123", "os.PathLike")),
    ("cache_dir-number", dict(cache_dir=4.5), ("cache_dir", "4.5", "os.PathLike")),
]
cases("load_yelpchi_ugfraud", YELPCHI_BAD, ValueError, lambda overrides: graphs.load_yelpchi_ugfraud(**overrides))


def _yelpchi_text(num_products=3, flip=False) -> bytes:
    """A tiny file in the format of UGFraud's YelpChi `metadata.gz`: users 200.., products 0.., labels 1 / -1."""
    lines = [(user, product) for product in range(num_products) for user in range(6 + product * 3)]
    return "".join(
        f"{200 + user} {product} None {(-1 if (user + product) % 4 == 0 else 1) * (-1 if flip else 1)} None\n"
        for user, product in lines
    ).encode()


def _tiny_yelpchi(tmp_path) -> Path:
    path = tmp_path / "metadata.gz"
    path.write_bytes(gzip.compress(_yelpchi_text()))
    return path


YELPCHI_FILE_CASES = {
    # id: (how to build the arguments from tmp_path, exception, fragments)
    "metadata_path-missing": (lambda tmp: dict(metadata_path=tmp / "none.gz"), FileNotFoundError,
                              ("metadata_path", "none.gz", "not a file")),
    "metadata_path-folder": (lambda tmp: dict(metadata_path=tmp), FileNotFoundError, ("metadata_path", "not a file")),
    "metadata_path-not-gzip": (lambda tmp: dict(metadata_path=_write(tmp / "plain.txt", _yelpchi_text())), ValueError,
                               ("metadata_path", "plain.txt", "gzip")),
    "metadata_path-truncated-gzip": (lambda tmp: dict(metadata_path=_write(
        tmp / "cut.gz", gzip.compress(_yelpchi_text() * 50)[:200])), ValueError, ("metadata_path", "cut.gz", "gzip")),
    "metadata_path-binary": (lambda tmp: dict(metadata_path=_write(tmp / "binary.gz", gzip.compress(bytes(range(256))
                             * 4))), ValueError, ("binary.gz",)),
    "metadata_path-bad-label": (lambda tmp: dict(metadata_path=_write(tmp / "label.gz", gzip.compress(
        b"201 0 None 1 None\n202 0 None 7 None\n"))), ValueError, ("label.gz", "line 2", "label(1/-1)")),
    "metadata_path-empty": (lambda tmp: dict(metadata_path=_write(tmp / "empty.gz", gzip.compress(b""))), ValueError,
                            ("empty.gz", "no reviews")),
    "cache_dir-a-file": (lambda tmp: dict(metadata_path=_tiny_yelpchi(tmp), cache_dir=_write(tmp / "file", b"x")),
                         NotADirectoryError, ("cache_dir", "file", "not a folder")),
}


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", sorted(YELPCHI_FILE_CASES))
def test_yelpchi_file_bad_input(name, tmp_path):
    arguments, exception, fragments = YELPCHI_FILE_CASES[name]
    arguments = arguments(tmp_path)
    arguments.setdefault("cache_dir", tmp_path / "cache")
    check_case(lambda: graphs.load_yelpchi_ugfraud(**arguments), exception, fragments)


# ---------------------------------------------------------------------------------------------------------------------
# The graph model's forward boundary
# ---------------------------------------------------------------------------------------------------------------------

NUM_NODES, NUM_FEATURES = 7, 6
_MODELS = {}


def graph_model() -> EnergyTransformerForNodeClassification:
    """A tiny graph ET with two edge types and three labels (built once)."""
    if not _MODELS:
        torch.manual_seed(0)
        config = EnergyTransformerConfig(num_node_features=NUM_FEATURES, num_edge_types=2, hidden_size=12,
                                         num_attention_heads=2, head_dim=4, num_memories=16, num_recurrences=2,
                                         num_labels=3)  # fmt: skip
        _MODELS["model"] = EnergyTransformerForNodeClassification(config).eval()
    return _MODELS["model"]


def graph_inputs(**overrides) -> dict:
    generator = torch.Generator().manual_seed(1)
    inputs = dict(
        x=torch.randn(NUM_NODES, NUM_FEATURES, generator=generator),
        edge_index=torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]]),
        edge_type=torch.tensor([0, 1, 0, 1, 0, 1]),
        labels=torch.tensor([0, 1, 2, -100, 0, 1, -100]),
    )
    inputs.update(overrides)
    return {key: value for key, value in inputs.items() if value is not None}


X = graph_inputs()["x"]
EDGES = graph_inputs()["edge_index"]
FORWARD_BAD = [
    ("x-nan", dict(x=_replace(X, (2, 3), math.nan)), ("`x`", "nan", "finite", "node 2")),
    ("x-inf", dict(x=_replace(X, (0, 0), -math.inf)), ("`x`", "-inf", "finite")),
    ("x-int", dict(x=X.long()), ("`x`", "int64", "float")),
    ("x-bool", dict(x=X > 0), ("`x`", "bool", "float")),
    ("x-one-dimensional", dict(x=X[:, 0]), ("`x`", "(7,)", "(num_nodes, num_node_features)")),
    ("x-three-dimensional", dict(x=X[None]), ("`x`", "(1, 7, 6)", "(num_nodes, num_node_features)")),
    ("x-wrong-width", dict(x=X[:, :5]), ("`x`", "5 features", "expects 6")),
    ("x-no-nodes", dict(x=X[:0], edge_index=EDGES[:, :0], edge_type=torch.zeros(0, dtype=torch.long),
                        labels=torch.zeros(0, dtype=torch.long)), ("`x`", "0 nodes", "at least one")),  # fmt: skip
    ("x-numpy", dict(x=X.numpy()), ("`x`", "ndarray", "tensor")),
    ("edge_index-float", dict(edge_index=EDGES.float()), ("`edge_index`", "float32", "integer")),
    ("edge_index-bool", dict(edge_index=EDGES > 2), ("`edge_index`", "bool", "integer")),
    ("edge_index-out-of-range", dict(edge_index=_replace(EDGES, (1, 3), 7)), ("`edge_index`", "0-6", "target 7",
                                                                              "edge 3")),  # fmt: skip
    ("edge_index-negative", dict(edge_index=_replace(EDGES, (0, 0), -1)), ("`edge_index`", "0-6", "source -1")),
    ("edge_index-transposed", dict(edge_index=EDGES.T), ("`edge_index`", "(2, num_edges)", "(6, 2)")),
    ("edge_index-one-dimensional", dict(edge_index=EDGES[0]), ("`edge_index`", "(2, num_edges)", "(6,)")),
    ("edge_index-list", dict(edge_index=EDGES.tolist()), ("`edge_index`", "(2, num_edges)", "list")),
    ("edge_type-negative", dict(edge_type=torch.tensor([0, -1, 0, 1, 0, 1])), ("`edge_type`", "-1", "0-1")),
    ("edge_type-too-large", dict(edge_type=torch.tensor([0, 1, 2, 1, 0, 1])), ("`edge_type`", "type 2", "0-1")),
    ("edge_type-float", dict(edge_type=torch.zeros(6)), ("`edge_type`", "float32", "integer")),
    ("edge_type-wrong-length", dict(edge_type=torch.zeros(5, dtype=torch.long)), ("`edge_type`", "(6,)", "(5,)")),
    ("edge_type-missing", dict(edge_type=None), ("`edge_type`", "required", "num_edge_types = 2")),
    ("labels-nan", dict(labels=_replace(torch.zeros(7), 2, math.nan)), ("`labels`", "float", "integer")),
    ("labels-float", dict(labels=torch.zeros(7)), ("`labels`", "float32", "integer", "0-2")),
    ("labels-all-ignored", dict(labels=torch.full((7,), -100)), ("`labels`", "-100", "all 7 nodes", "at least one")),
    ("labels-too-large", dict(labels=_replace(torch.zeros(7, dtype=torch.long), 4, 3)), ("`labels`", "0-2",
                                                                                         "node 4 has 3")),
    ("labels-minus-one", dict(labels=_replace(torch.zeros(7, dtype=torch.long), 1, -1)), ("`labels`", "node 1 has -1",
                                                                                          "-100")),
    ("labels-wrong-length", dict(labels=torch.zeros(6, dtype=torch.long)), ("`labels`", "(7,)", "(6,)")),
    ("labels-two-dimensional", dict(labels=torch.zeros(7, 1, dtype=torch.long)), ("`labels`", "(7,)", "(7, 1)")),
    ("labels-list", dict(labels=[0] * 7), ("`labels`", "(7,)", "list")),
    ("no-x", dict(x=None), ("`x`", "`edge_index`", "graph model")),
    ("no-edge_index", dict(edge_index=None), ("`x`", "`edge_index`", "graph model")),
    ("num_recurrences-zero", dict(num_recurrences=0), ("num_recurrences", "0", "positive integer")),
    ("num_recurrences-fraction", dict(num_recurrences=1.5), ("num_recurrences", "1.5", "positive integer")),
]
cases("forward", FORWARD_BAD, ValueError, lambda overrides: graph_model()(**graph_inputs(**overrides)))
case("forward/misspelt-keyword", TypeError, "edge_types", "accepted")(
    lambda: graph_model()(**graph_inputs(), edge_types=EDGES[0])
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name):
    check_case(*CASES[name])


# ---------------------------------------------------------------------------------------------------------------------
# The example scripts' options: a one-line error, exit status 2, no traceback
# ---------------------------------------------------------------------------------------------------------------------

RUN_SCRIPT_CASES = {
    "num_attention_heads-zero": (["--num_attention_heads", "0"], ["--num_attention_heads", "positive integer", "0"]),
    "num_attention_heads-over-hidden_size": (["--hidden_size", "8", "--num_attention_heads", "16"],
                                             ["--num_attention_heads", "--hidden_size", "16"]),
    "step_size-nan": (["--step_size", "nan"], ["--step_size", "nan", "finite positive"]),
    "step_size-zero": (["--step_size", "0"], ["--step_size", "0.0", "finite positive"]),
    "learning_rate-negative": (["--learning_rate", "-1"], ["--learning_rate", "-1.0", "finite positive"]),
    "learning_rate-inf": (["--learning_rate", "inf"], ["--learning_rate", "inf", "finite positive"]),
    "weight_decay-negative": (["--weight_decay", "-0.1"], ["--weight_decay", "-0.1", ">= 0"]),
    "max_minutes-zero": (["--max_minutes", "0"], ["--max_minutes", "0.0", "finite positive"]),
    "train_fraction-nan": (["--train_fraction", "nan"], ["--train_fraction", "nan", "(0, 1)"]),
    "train_fraction-one": (["--train_fraction", "1"], ["--train_fraction", "1.0", "(0, 1)"]),
    "seeds-negative": (["--seeds", "-1"], ["--seeds", "'-1'", "from 0"]),
    "seeds-repeated": (["--seeds", "0,0"], ["--seeds", "'0,0'", "distinct"]),
    "seeds-fraction": (["--seeds", "1.7"], ["--seeds", "'1.7'", "integers"]),
    "seeds-too-large": (["--seeds", str(2**32)], ["--seeds", str(2**32), str(2**32 - 1)]),
    "models-empty": (["--models", ","], ["--models", "at least one", "'et'"]),
    "models-repeated": (["--models", "et,et"], ["--models", "twice", "'et,et'"]),
    "models-unknown": (["--models", "et,gnn"], ["--models", "'gnn'", "'gcn'"]),
    "epochs-fraction": (["--epochs", "1.5"], ["--epochs", "'1.5'", "int"]),
    "epochs-zero": (["--epochs", "0"], ["--epochs", "positive integer", "0"]),
    "num_nodes-huge": (["--num_nodes", "200000"], ["num_nodes", "200000", "at most 20000"]),
    "num_nodes-two": (["--num_nodes", "2"], ["clique_size=15", "num_nodes=2"]),
    "clique_size-one": (["--clique_size", "1"], ["clique_size", "1", "at least 2"]),
    "dataset-unknown": (["--dataset", "cora"], ["--dataset", "'cora'", "injected"]),
    "output_dir-a-file": (["--output_dir", "{file}"], ["--output_dir", "is a file", "folder"]),
}


def _run_script_error(argv, tmp_path, capsys, script_name="run_graph_anomaly.py"):
    script = load_example(EXAMPLES / script_name)
    (tmp_path / "a-file").write_text("x")
    argv = [item.format(file=tmp_path / "a-file", tmp=tmp_path) for item in argv]
    if script_name == "run_graph_anomaly.py" and "--output_dir" not in argv:
        argv += ["--output_dir", str(tmp_path / "out")]
    with no_hang(), pytest.raises(SystemExit) as info:
        script.main(argv)
    error = capsys.readouterr().err
    assert info.value.code == 2, error
    assert "Traceback" not in error
    message = [line for line in error.splitlines() if "error:" in line]
    assert len(message) == 1, error  # one line after the usage
    return message[0]


@pytest.mark.parametrize("name", sorted(RUN_SCRIPT_CASES))
def test_run_graph_anomaly_bad_option(name, tmp_path, capsys):
    argv, fragments = RUN_SCRIPT_CASES[name]
    message = _run_script_error(argv, tmp_path, capsys)
    missing = [fragment for fragment in fragments if fragment.lower() not in message.lower()]
    assert not missing, f"{message!r} does not name {missing}"


def _fake_run(tmp_path, with_metadata=False) -> Path:
    run = tmp_path / "run"
    (run / "et-seed0").mkdir(parents=True)
    (run / "et-seed0" / "config.json").write_text("{}")
    if with_metadata:
        (run / "et-seed0" / "run_metadata.json").write_text('{"stages": [{"command": "python x.py --output_dir y"}]}')
    return run


PLOT_SCRIPT_CASES = {
    "run_dir-missing": (lambda tmp: ["--run_dir", str(tmp / "none"), "--output", str(tmp / "f.png")],
                        ["--run_dir", "none", "not a folder"]),
    "run_dir-without-model": (lambda tmp: ["--run_dir", str(tmp), "--output", str(tmp / "f.png")],
                              ["et-seed0", "no saved model", "--seeds 0"]),
    "seed-without-model": (lambda tmp: ["--run_dir", str(_fake_run(tmp)), "--seed", "3", "--output",
                                        str(tmp / "f.png")], ["et-seed3", "no saved model"]),
    "output-unknown-format": (lambda tmp: ["--run_dir", str(_fake_run(tmp)), "--output", str(tmp / "f.txt")],
                              ["--output", "f.txt", ".png"]),
    "output-a-folder": (lambda tmp: ["--run_dir", str(_fake_run(tmp)), "--output", str(tmp)],
                        ["--output", ".png"]),
    "run-without-metadata": (lambda tmp: ["--run_dir", str(_fake_run(tmp)), "--output", str(tmp / "f.png")],
                             ["--run_dir", "not a complete run", "run_metadata.json"]),
    "run-without-results": (lambda tmp: ["--run_dir", str(_fake_run(tmp, True)), "--output", str(tmp / "f.png")],
                            ["--run_dir", "results.json", "not a complete run"]),
}


@pytest.mark.parametrize("name", sorted(PLOT_SCRIPT_CASES))
def test_plot_graph_energy_bad_option(name, tmp_path, capsys):
    build, fragments = PLOT_SCRIPT_CASES[name]
    message = _run_script_error(build(tmp_path), tmp_path, capsys, "plot_graph_energy.py")
    missing = [fragment for fragment in fragments if fragment.lower() not in message.lower()]
    assert not missing, f"{message!r} does not name {missing}"


def test_the_tables_are_large():
    assert len(CASES) + len(YELPCHI_FILE_CASES) + len(RUN_SCRIPT_CASES) + len(PLOT_SCRIPT_CASES) >= 150


# ---------------------------------------------------------------------------------------------------------------------
# Accepted forms, with the numbers they must give
# ---------------------------------------------------------------------------------------------------------------------


def _random_metric_inputs(seed=0, size=300):
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.rand(size, generator=generator) < 0.3).long()
    labels[:2] = torch.tensor([0, 1])
    scores = (torch.rand(size, generator=generator, dtype=torch.float64) + 0.4 * labels).mul(20).round().div(20)
    ignored = torch.rand(size, generator=generator) < 0.25
    ignored[:2] = False
    return scores, labels, ignored


@pytest.mark.parametrize(
    "form",
    ["tensor", "numpy", "list", "bool-labels", "float-labels", "float32-scores", "int32-labels", "uint8-labels"],
)
def test_metrics_equal_scikit_learn_on_every_accepted_form(form):
    from sklearn.metrics import f1_score, roc_auc_score

    scores, labels, _ = _random_metric_inputs()
    expected_auc = roc_auc_score(labels.numpy(), scores.double().numpy())
    predictions = scores > 0.5
    expected_f1 = f1_score(labels.numpy(), predictions.long().numpy(), average="macro")
    given_scores, given_labels, given_predictions = {
        "tensor": (scores, labels, predictions),
        "numpy": (scores.numpy(), labels.numpy(), predictions.numpy()),
        "list": (scores.tolist(), labels.tolist(), predictions.tolist()),
        "bool-labels": (scores, labels.bool(), predictions),
        "float-labels": (scores, labels.double(), predictions.double()),
        "float32-scores": (scores.float(), labels, predictions.int()),
        "int32-labels": (scores, labels.int(), predictions.to(torch.int8)),
        "uint8-labels": (scores, labels.to(torch.uint8), predictions.to(torch.uint8)),
    }[form]
    assert roc_auc(given_scores, given_labels) == pytest.approx(expected_auc, abs=1e-12)  # (ties survive float32)
    assert macro_f1(given_predictions, given_labels) == pytest.approx(expected_f1, abs=1e-12)
    if form != "float32-scores":  # (float32 scores compare with the thresholds in float32)
        assert best_threshold(given_scores, given_labels) == best_threshold(scores, labels)


def test_labels_minus_100_are_left_out_of_every_metric():
    from sklearn.metrics import f1_score, roc_auc_score

    scores, labels, ignored = _random_metric_inputs(seed=3)
    marked = labels.masked_fill(ignored, -100)
    kept = ~ignored
    expected_auc = roc_auc_score(labels[kept].numpy(), scores[kept].numpy())
    assert roc_auc(scores, marked) == pytest.approx(expected_auc, abs=1e-12)
    predictions = scores > 0.45
    expected = f1_score(labels[kept].numpy(), predictions[kept].long().numpy(), average="macro")
    assert macro_f1(predictions, marked) == pytest.approx(expected, abs=1e-12)
    assert best_threshold(scores, marked) == best_threshold(scores[kept], labels[kept])
    # the ignored nodes' scores and predictions are never read: changing them changes nothing
    shuffled = scores.masked_fill(ignored, 0.99)
    assert roc_auc(shuffled, marked) == roc_auc(scores, marked)
    assert macro_f1(~predictions & ignored | predictions & kept, marked) == macro_f1(predictions, marked)


def test_best_threshold_accepts_thresholds_as_a_list_array_or_tensor():
    scores, labels, _ = _random_metric_inputs(seed=5)
    for thresholds in ([0.3, 0.5, 0.7], np.array([0.3, 0.5, 0.7]), torch.tensor([0.3, 0.5, 0.7]), [1]):
        chosen = best_threshold(scores, labels, thresholds)
        candidates = [float(value) for value in np.asarray(thresholds, dtype=np.float64)]
        assert chosen in candidates
        assert macro_f1(scores > chosen, labels) == max(macro_f1(scores > value, labels) for value in candidates)


def test_stratified_masks_accepts_numpy_lists_floats_and_bools():
    labels = torch.tensor([0] * 30 + [1] * 10)
    expected = graphs.stratified_masks(labels, 0.4, 3)
    for given in (labels.numpy(), labels.tolist(), labels.double(), labels.bool(), labels.int(), labels.byte()):
        for got, want in zip(graphs.stratified_masks(given, np.float64(0.4), np.int64(3)), expected):
            assert torch.equal(got, want)
    assert torch.equal(graphs.stratified_masks(labels, 0.4, torch.tensor(3))[0], expected[0])  # a 0-d integer tensor
    largest = graphs.stratified_masks(labels, 0.4, 2**63 - 1)  # the largest seed of input_checks.as_seed
    assert not torch.equal(largest[0], expected[0]) and int(largest[0].sum()) == int(expected[0].sum())


def _graph_digest(data) -> str:
    digest = hashlib.sha256()
    for key in sorted(data.keys()):
        tensor = data[key].contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


# SHA-256 of every tensor of seeded graphs, recorded with the code before the input checks were added (commit 5f17b7b):
# the checks must not change a single value of the graphs people already generated.
INJECTED_DIGESTS = {
    "small-seed-7": (dict(INJECTED_SMALL, seed=7), "eb0035be543acb6a1441f481eba46449be2487414f04bbe6e22fb91ad53d7546"),
    "defaults-seed-0": (dict(), "318f82add11e42ad54aa7296e40c80e032d2b95116a21b0131cd12da05b9a810"),
    "one-community-seed-3": (dict(num_nodes=500, num_communities=1, num_contextual=0, num_structural=30,
                                  average_degree=4, noise_std=0, train_fraction=0.5, seed=3),
                             "6d7520b7125997dadc615eed918ee721804b560429f91345cd103c547236bd04"),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(INJECTED_DIGESTS))
def test_seeded_injected_graphs_are_unchanged(name):
    arguments, expected = INJECTED_DIGESTS[name]
    assert _graph_digest(graphs.make_injected_outlier_graph(**arguments)) == expected


def test_injected_graph_accepts_numpy_numbers():
    plain = graphs.make_injected_outlier_graph(**INJECTED_SMALL, seed=7, average_degree=6, noise_std=0.5)
    numpy_arguments = {key: np.int64(value) for key, value in INJECTED_SMALL.items()}
    given = graphs.make_injected_outlier_graph(**numpy_arguments, seed=np.int64(7), average_degree=np.float64(6),
                                               noise_std=np.float64(0.5))  # fmt: skip
    assert _graph_digest(given) == _graph_digest(plain)


def test_injected_graph_at_the_size_limit_is_refused_quickly():
    with no_hang(), pytest.raises(ValueError, match="at most 20000"):
        graphs.make_injected_outlier_graph(num_nodes=10**9)


# --- the YelpChi cache ------------------------------------------------------------------------------------------------


def _load(tmp_path, **overrides):
    return graphs.load_yelpchi_ugfraud(metadata_path=_tiny_yelpchi(tmp_path), product_neighbors=3,
                                       cache_dir=tmp_path / "cache", **overrides)  # fmt: skip


def _cache_file(tmp_path) -> Path:
    (path,) = (tmp_path / "cache").iterdir()
    return path


def _assert_same_graph(one, other):
    for key in ("x", "y", "edge_index", "edge_type", "user_index", "product_index", "train_mask", "val_mask",
                "test_mask"):  # fmt: skip
        assert one[key].dtype == other[key].dtype and torch.equal(one[key], other[key]), key


def test_yelpchi_cache_is_safetensors_without_pickle_and_reloads_without_a_rebuild(tmp_path, monkeypatch):
    fresh = _load(tmp_path)
    path = _cache_file(tmp_path)
    assert path.suffix == ".safetensors" and not path.name.startswith(".")  # no temporary file left behind
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    header = path.read_bytes()[8 : 8 + header_size].decode()
    assert '"format_version":"v2"' in header.replace(" ", "") and '"sha256"' in header
    assert header.startswith("{") and not zipfile.is_zipfile(path)  # safetensors, not a torch.save zip of pickles
    monkeypatch.setattr(graphs, "_build_yelpchi", lambda *arguments: pytest.fail("the valid cache was rebuilt"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same_graph(_load(tmp_path), fresh)


DAMAGES = {
    "random-bytes": lambda path: path.write_bytes(bytes(range(256)) * 8),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
    "header-only": lambda path: _keep_header_only(path),
    "empty": lambda path: path.write_bytes(b""),
    "old-torch-save-pickle": lambda path: torch.save({"x": torch.zeros(1)}, path),
    "flipped-value": lambda path: path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1])),
    "other-format-version": lambda path: _resave(path, {"format": graphs._CACHE_FORMAT, "format_version": "v1"}),
    "no-metadata": lambda path: _resave(path, None),
    "missing-tensor": lambda path: _resave(path, "keep", drop="user_index"),
}


def _keep_header_only(path):
    content = path.read_bytes()
    path.write_bytes(content[: 8 + int.from_bytes(content[:8], "little")])  # a half-written file: no tensor data


def _resave(path, metadata, drop=None):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys() if name != drop}
        metadata = handle.metadata() if metadata == "keep" else metadata
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_yelpchi_cache_is_rebuilt_with_a_warning(damage, tmp_path):
    fresh = _load(tmp_path)
    path = _cache_file(tmp_path)
    DAMAGES[damage](path)
    with pytest.warns(UserWarning, match="not usable.*rebuilding") as caught:
        rebuilt = _load(tmp_path)
    message = str(caught[0].message)
    assert str(path) in message and "\n" not in message
    _assert_same_graph(rebuilt, fresh)
    with warnings.catch_warnings():  # rewritten: the next load reads it without a word
        warnings.simplefilter("error")
        _assert_same_graph(_load(tmp_path), fresh)


def test_the_old_pickled_yelpchi_cache_is_never_read(tmp_path):
    """A v1 cache (`torch.save`, `.pt`) is left alone: the v2 file is built beside it, and the pickle is not loaded."""
    (tmp_path / "cache").mkdir()
    old = tmp_path / "cache" / "yelpchi-v1-0123456789abcdef-neighbors3-graphseed0.pt"
    old.write_bytes(b"not even a pickle")
    fresh = _load(tmp_path)
    assert sorted(path.suffix for path in (tmp_path / "cache").iterdir()) == [".pt", ".safetensors"]
    assert fresh.num_nodes == len(_yelpchi_text().splitlines())


def test_an_unwritable_yelpchi_cache_is_a_warning(tmp_path, monkeypatch):
    def refuse(*arguments, **keywords):
        raise OSError("read-only file system")

    monkeypatch.setattr("safetensors.torch.save_file", refuse)
    with pytest.warns(UserWarning, match="could not be written"):
        data = _load(tmp_path)
    assert data.num_nodes == len(_yelpchi_text().splitlines())
    assert not any((tmp_path / "cache").iterdir())  # no temporary file left behind


# --- the model -------------------------------------------------------------------------------------------------------


def test_forward_accepts_bool_labels_and_float64_features():
    from torch.nn import functional as F

    torch.manual_seed(0)
    config = EnergyTransformerConfig(num_node_features=NUM_FEATURES, hidden_size=12, num_attention_heads=2,
                                     head_dim=4, num_memories=16, num_recurrences=2, num_labels=2)  # fmt: skip
    model = EnergyTransformerForNodeClassification(config).eval()
    inputs = graph_inputs(edge_type=None, labels=None)
    labels = torch.tensor([True, False, False, True, False, False, True])
    outputs = model(**inputs, labels=labels)
    torch.testing.assert_close(outputs.loss, F.cross_entropy(outputs.logits, labels.long()))
    torch.testing.assert_close(model(**inputs, labels=labels.long()).loss, outputs.loss)
    as_double = model(x=inputs["x"].double(), edge_index=inputs["edge_index"].int()).logits
    torch.testing.assert_close(as_double, outputs.logits)
    one_labelled = torch.full((NUM_NODES,), -100)
    one_labelled[3] = 1
    loss = model(**inputs, labels=one_labelled).loss
    torch.testing.assert_close(loss, F.cross_entropy(outputs.logits[3:4], torch.tensor([1])))


def test_run_graph_anomaly_accepts_the_documented_forms():
    script = load_example(EXAMPLES / "run_graph_anomaly.py")
    args = script.parse_args(["--models", " et , gcn ", "--seeds", "4,0", "--weight_decay", "0", "--train_fraction",
                              "0.5", "--num_attention_heads", "4", "--hidden_size", "4",
                              "--output_dir", "x"])  # fmt: skip
    assert args.models == ["et", "gcn"] and args.seeds == [4, 0] and args.weight_decay == 0.0
