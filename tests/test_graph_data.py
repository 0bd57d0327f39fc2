# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the graph anomaly detection data: YelpChi from the UGFraud wheel, generated graphs with injected outliers,
stratified masks and input checks."""

import gzip
import re

import pytest
import torch


pytest.importorskip("torch_geometric", reason="the graph data needs torch_geometric (pip install -e '.[graph]')")

from hyperset_hf.data import graphs as gd  # noqa: E402


def edge_codes(edge_index, num_nodes):
    """Sorted `source * num_nodes + target` codes of the edges (tensor work: YelpChi has 1.5M edges)."""
    return torch.sort(edge_index[0] * num_nodes + edge_index[1]).values


def check_masks(data, tolerance=0.01):
    masks = torch.stack([data.train_mask, data.val_mask, data.test_mask])
    assert masks.dtype == torch.bool
    assert (masks.sum(0) == 1).all(), "masks must be disjoint and cover every node"
    overall = data.y.float().mean()
    for mask in masks:
        assert abs(data.y[mask].float().mean() - overall) < tolerance
    return masks.sum(1).tolist()


def check_simple_undirected(edge_index, num_nodes):
    assert edge_index.dtype == torch.long and edge_index.shape[0] == 2
    assert edge_index.min() >= 0 and edge_index.max() < num_nodes
    assert not (edge_index[0] == edge_index[1]).any(), "self-loop"
    codes = edge_codes(edge_index, num_nodes)
    assert torch.unique(codes).numel() == codes.numel(), "duplicate edge"
    assert torch.equal(codes, edge_codes(edge_index.flip(0), num_nodes)), "not undirected"


# ------------------------------------------------------------------------------------------------------------------
# Stratified masks
# ------------------------------------------------------------------------------------------------------------------


def test_stratified_masks_sizes_and_rates():
    labels = torch.tensor([0] * 900 + [1] * 100)
    train, val, test = gd.stratified_masks(labels, train_fraction=0.4, seed=3)
    assert [int(train.sum()), int(val.sum()), int(test.sum())] == [400, 200, 400]
    assert [int(labels[mask].sum()) for mask in (train, val, test)] == [40, 20, 40]
    again = gd.stratified_masks(labels, train_fraction=0.4, seed=3)
    other = gd.stratified_masks(labels, train_fraction=0.4, seed=4)
    assert torch.equal(train, again[0]) and torch.equal(test, again[2])
    assert not torch.equal(train, other[0])


@pytest.mark.parametrize("train_fraction", [0, 0.0, 1.0, 1.5, -0.2])
def test_stratified_masks_bad_fraction(train_fraction):
    with pytest.raises(ValueError, match=re.escape(str(train_fraction))):
        gd.stratified_masks(torch.tensor([0, 1] * 10), train_fraction=train_fraction)


def test_stratified_masks_empty_split():
    with pytest.raises(ValueError, match="empty split"):
        gd.stratified_masks(torch.tensor([0, 0]), train_fraction=0.4)


# ------------------------------------------------------------------------------------------------------------------
# Injected outliers
# ------------------------------------------------------------------------------------------------------------------

SMALL = dict(num_nodes=300, num_features=8, num_contextual=12, num_structural=15, clique_size=5, num_candidates=20)


@pytest.fixture(scope="module")
def injected():
    return gd.make_injected_outlier_graph(**SMALL, seed=7)


def test_injected_counts_and_fields(injected):
    data = injected
    assert data.x.shape == (300, 8) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.long and int(data.y.sum()) == 12 + 15
    assert torch.bincount(data.outlier_type, minlength=3).tolist() == [300 - 27, 12, 15]
    assert torch.equal(data.y, (data.outlier_type > 0).long())
    assert torch.equal(data.edge_type, torch.zeros(data.edge_index.shape[1], dtype=torch.long))
    check_simple_undirected(data.edge_index, 300)
    assert check_masks(data, tolerance=0.02) == [120, 60, 120]


def test_injected_cliques_fully_connected(injected):
    data = injected
    edges = set(map(tuple, data.edge_index.t().tolist()))
    structural = (data.outlier_type == 2).nonzero().flatten()
    assert torch.equal((data.clique >= 0).nonzero().flatten(), structural)
    assert torch.bincount(data.clique[structural]).tolist() == [5, 5, 5]
    for clique in range(3):
        members = (data.clique == clique).nonzero().flatten().tolist()
        assert all((a, b) in edges for a in members for b in members if a != b)


def test_injected_contextual_features_are_copies(injected):
    data = injected
    identical = (data.x[:, None, :] == data.x[None, :, :]).all(-1)
    identical.fill_diagonal_(False)
    for node in (data.outlier_type == 1).nonzero().flatten().tolist():
        sources = identical[node].nonzero().flatten()
        assert (data.outlier_type[sources] != 1).any(), f"contextual outlier {node} copies no non-contextual node"
    # Nodes that neither copy nor were copied have unique (continuous Gaussian) features.
    copied = identical.any(1)
    assert copied[data.outlier_type == 1].all()
    assert int(copied.sum()) <= 2 * 12


def test_injected_base_graph_statistics():
    data = gd.make_injected_outlier_graph(
        num_nodes=1000, num_contextual=0, num_structural=0, average_degree=10.0, within_community_fraction=0.8, seed=1
    )
    degree = data.edge_index.shape[1] / 1000
    within = (data.community[data.edge_index[0]] == data.community[data.edge_index[1]]).float().mean()
    assert 9.0 < degree < 11.0
    assert 0.75 < within < 0.85
    assert int(data.y.sum()) == 0


def test_injected_seed_reproducibility(injected):
    state = torch.random.get_rng_state()
    again = gd.make_injected_outlier_graph(**SMALL, seed=7)
    other = gd.make_injected_outlier_graph(**SMALL, seed=8)
    assert torch.equal(torch.random.get_rng_state(), state), "the global RNG must be untouched"
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask", "clique"):
        assert torch.equal(injected[key], again[key]), key
    assert not torch.equal(injected.y, other.y)
    assert not torch.equal(injected.x, other.x)
    assert not torch.equal(injected.train_mask, other.train_mask)


@pytest.mark.parametrize(
    "overrides, shown",
    [
        (dict(num_nodes=0), "num_nodes must be at least 2, got 0"),
        (dict(num_features=-1), "num_features must be at least 1, got -1"),
        (dict(num_contextual=-3), "num_contextual must be at least 0, got -3"),
        (dict(clique_size=400), "clique_size=400 is larger than num_nodes=300"),
        (dict(num_structural=14), "num_structural=14 is not a multiple of clique_size=5"),
        (dict(num_contextual=290), "num_contextual + num_structural = 290 + 15 exceeds num_nodes=300"),
        (dict(num_candidates=289), "num_candidates=289"),
        (dict(num_communities=301), "num_communities=301"),
        (dict(num_communities=300), "needs communities of at least 2 nodes, got num_communities=300"),
        (dict(average_degree=0), "average_degree must be a positive number, got 0"),
        (dict(average_degree=1000.0), "average_degree=1000.0"),
        (dict(within_community_fraction=1.5), "`within_community_fraction` must be a number in [0, 1], got 1.5"),
        (dict(noise_std=-1.0), "noise_std must be a non-negative number, got -1.0"),
        (dict(train_fraction=1.0), "train_fraction must be in (0, 1), got 1.0"),
        (dict(num_nodes=2.5), "num_nodes must be an integer, got 2.5"),
        (dict(seed="0"), "`seed` must be an integer in [0, 2**63), got '0'"),
    ],
)
def test_injected_bad_inputs(overrides, shown):
    with pytest.raises(ValueError, match=re.escape(shown)):
        gd.make_injected_outlier_graph(**{**SMALL, **overrides})


# ------------------------------------------------------------------------------------------------------------------
# YelpChi (UGFraud wheel)
# ------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yelpchi_cache(tmp_path_factory):
    pytest.importorskip("UGFraud", reason="YelpChi is read from the UGFraud wheel (pip install UGFraud==0.1.1.3)")
    return tmp_path_factory.mktemp("graphs")


@pytest.fixture(scope="module")
def yelpchi(yelpchi_cache):
    return gd.load_yelpchi_ugfraud(seed=0, cache_dir=yelpchi_cache)


def test_yelpchi_counts_match_docstring(yelpchi):
    data = yelpchi
    assert data.num_nodes == gd.YELPCHI_NUM_REVIEWS == 67_395
    assert int(data.user_index.max()) + 1 == gd.YELPCHI_NUM_USERS == 38_063
    assert int(data.product_index.max()) + 1 == gd.YELPCHI_NUM_PRODUCTS == 201
    assert int(data.y.sum()) == gd.YELPCHI_NUM_SPAM == 8_919
    counts = torch.bincount(data.edge_type, minlength=2).tolist()
    assert counts == [gd.YELPCHI_NUM_EDGES["R-U-R"], gd.YELPCHI_NUM_EDGES["R-P-R"]] == [220_224, 1_328_604]
    assert data.x.shape == (67_395, len(gd.YELPCHI_FEATURE_NAMES)) and data.x.dtype == torch.float32
    assert torch.isfinite(data.x).all()
    documented = gd.load_yelpchi_ugfraud.__doc__
    for number in (67_395, 8_919, 220_224, 1_328_604, sum(counts), 48_155_750):
        assert f"{number:,}" in documented, number
    assert sum(counts) < 3_000_000


def test_yelpchi_label_convention(yelpchi):
    """Label -1 in the file is spam (UGFraud's helper `create_ground_truth`) and becomes y = 1."""
    with gzip.open(gd.ugfraud_yelpchi_path(), "rt") as handle:
        raw = torch.tensor([int(line.split()[3]) for line in handle])
    assert int((raw == -1).sum()) == 8_919
    assert torch.equal(yelpchi.y, (raw == -1).long())


def test_yelpchi_masks(yelpchi):
    sizes = check_masks(yelpchi)
    assert sizes == [26_958, 13_479, 26_958]


def test_yelpchi_edges(yelpchi):
    data = yelpchi
    edge_index, edge_type = data.edge_index, data.edge_type
    assert not (edge_index[0] == edge_index[1]).any()
    assert set(edge_type.unique().tolist()) == {0, 1}
    for relation, index in ((0, data.user_index), (1, data.product_index)):
        edges = edge_index[:, edge_type == relation]
        check_simple_undirected(edges, data.num_nodes)
        assert torch.equal(index[edges[0]], index[edges[1]]), f"relation {relation} links different groups"
    # Every review has R-P-R degree at least min(product_neighbors, product size - 1).
    same_product = edge_index[:, edge_type == 1]
    degree = torch.bincount(same_product[0], minlength=data.num_nodes)
    product_size = torch.bincount(data.product_index)[data.product_index]
    assert (degree >= torch.clamp(product_size - 1, max=10)).all()
    # R-U-R is complete within each user.
    user_size = torch.bincount(data.user_index)[data.user_index]
    assert torch.equal(torch.bincount(edge_index[0, edge_type == 0], minlength=data.num_nodes), user_size - 1)


def test_yelpchi_cache_and_seeds(yelpchi, yelpchi_cache, monkeypatch):
    assert len(list(yelpchi_cache.glob("yelpchi-*.safetensors"))) == 1 and len(list(yelpchi_cache.iterdir())) == 1
    monkeypatch.setattr(gd, "_build_yelpchi", lambda *arguments: pytest.fail("the cached graph was rebuilt"))
    again = gd.load_yelpchi_ugfraud(seed=0, cache_dir=yelpchi_cache)
    other = gd.load_yelpchi_ugfraud(seed=1, cache_dir=yelpchi_cache)
    for key in ("x", "y", "edge_index", "edge_type", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(yelpchi[key], again[key]), key
    assert torch.equal(yelpchi.edge_index, other.edge_index), "the split seed must not change the graph"
    assert not torch.equal(yelpchi.train_mask, other.train_mask)
    check_masks(other)


def test_yelpchi_graph_seed_changes_only_product_links(yelpchi, yelpchi_cache):
    other = gd.load_yelpchi_ugfraud(seed=0, graph_seed=1, cache_dir=yelpchi_cache)
    same_user = yelpchi.edge_index[:, yelpchi.edge_type == 0]
    assert torch.equal(same_user, other.edge_index[:, other.edge_type == 0])
    size = yelpchi.num_nodes
    same_product = edge_codes(yelpchi.edge_index[:, yelpchi.edge_type == 1], size)
    assert not torch.equal(same_product, edge_codes(other.edge_index[:, other.edge_type == 1], size))
    assert torch.equal(yelpchi.x, other.x)


def test_yelpchi_features_ignore_labels(tmp_path):
    """Features and edges are the same when the labels in the file are flipped (tiny file in the same format)."""
    lines = [(user, product) for product in range(3) for user in range(10 + product * 3)]
    for name, flip in (("plain", False), ("flipped", True)):
        text = "".join(
            f"{200 + user} {product} None {(-1 if (user + product) % 4 == 0 else 1) * (-1 if flip else 1)} None\n"
            for user, product in lines
        )
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(text.encode()))
    plain = gd.load_yelpchi_ugfraud(metadata_path=tmp_path / "plain.gz", product_neighbors=3, cache_dir=tmp_path)
    flipped = gd.load_yelpchi_ugfraud(metadata_path=tmp_path / "flipped.gz", product_neighbors=3, cache_dir=tmp_path)
    assert torch.equal(plain.y, 1 - flipped.y)
    assert torch.equal(plain.x, flipped.x)
    assert torch.equal(plain.edge_index, flipped.edge_index)


@pytest.mark.parametrize(
    "overrides, shown",
    [
        (dict(train_fraction=0.0), "train_fraction must be in (0, 1), got 0.0"),
        (dict(train_fraction=1.2), "train_fraction must be in (0, 1), got 1.2"),
        (dict(product_neighbors=0), "product_neighbors must be at least 1, got 0"),
        (dict(graph_seed=1.5), "`graph_seed` must be an integer in [0, 2**63), got 1.5"),
        (dict(metadata_path="/nonexistent/metadata.gz"), "/nonexistent/metadata.gz"),
    ],
)
def test_yelpchi_bad_inputs(overrides, shown, tmp_path):
    with pytest.raises((ValueError, FileNotFoundError), match=re.escape(shown)):
        gd.load_yelpchi_ugfraud(cache_dir=tmp_path, **overrides)


def test_yelpchi_malformed_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"201 0 None 1 None\n202 0 None 7 None\n"))
    with pytest.raises(ValueError, match="line 2"):
        gd.load_yelpchi_ugfraud(metadata_path=path, cache_dir=tmp_path)


def test_yelpchi_tiny_and_empty_files(tmp_path):
    path = tmp_path / "tiny.gz"
    path.write_bytes(gzip.compress(b"".join(b"%d %d None %d None\n" % (200 + i, i, 1 - 2 * (i % 2)) for i in range(9))))
    data = gd.load_yelpchi_ugfraud(metadata_path=path, cache_dir=tmp_path)  # nobody shares a user or a product
    assert data.num_nodes == 9 and data.edge_index.shape == (2, 0) and data.edge_type.shape == (0,)
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(ValueError, match="has no reviews"):
        gd.load_yelpchi_ugfraud(metadata_path=empty, cache_dir=tmp_path)


# --- the metrics of the protocol ---------------------------------------------------------------------------------------


def test_roc_auc_is_the_fraction_of_correctly_ordered_pairs_with_ties_halved():
    from _shared.graph_metrics import roc_auc

    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (200,), generator=generator).double()  # many ties
    labels = torch.rand(200, generator=generator) < 0.3
    positive, negative = scores[labels], scores[~labels]
    pairs = positive[:, None] - negative[None, :]
    expected = float(((pairs > 0).double() + 0.5 * (pairs == 0).double()).mean())
    assert abs(roc_auc(scores, labels) - expected) < 1e-12
    assert roc_auc(labels.double(), labels) == 1.0 and roc_auc(-labels.double(), labels) == 0.0
    with pytest.raises(ValueError, match="needs both classes; got 0 positive"):
        roc_auc(scores, torch.zeros(200, dtype=torch.bool))


def test_macro_f1_and_the_validation_threshold():
    from _shared.graph_metrics import best_threshold, macro_f1

    labels = torch.tensor([1, 1, 0, 0, 0, 0])
    predictions = torch.tensor([1, 0, 1, 0, 0, 0])
    # anomalous class: precision 1/2, recall 1/2 -> F1 1/2; normal class: precision 3/4, recall 3/4 -> F1 3/4
    assert abs(macro_f1(predictions, labels) - (0.5 + 0.75) / 2) < 1e-12
    scores = torch.tensor([0.9, 0.7, 0.6, 0.2, 0.1, 0.3])
    assert abs(best_threshold(scores, labels) - 0.6) < 1e-9  # the lowest of 0.05, ..., 0.95 that separates them


# The hand-written metrics that scikit-learn's replaced (commit bfa9ce4 and before), kept here to show that the values
# did not change on valid inputs (two classes, equal lengths, finite scores).


def old_roc_auc(scores, labels):
    scores, labels = scores.detach().double().flatten(), labels.flatten().bool()
    num_positive, num_negative = int(labels.sum()), int((~labels).sum())
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    counts = counts.double()
    first_rank = torch.cumsum(counts, 0) - counts
    ranks = (first_rank + (counts + 1) / 2.0)[inverse]
    return float((ranks[labels].sum() - num_positive * (num_positive + 1) / 2.0) / (num_positive * num_negative))


def old_macro_f1(predictions, labels):
    predictions, labels = predictions.flatten().bool(), labels.flatten().bool()
    scores = []
    for positive in (True, False):
        predicted, actual = predictions == positive, labels == positive
        true_positives = float((predicted & actual).sum())
        denominator = float(predicted.sum() + actual.sum())
        scores.append(2.0 * true_positives / denominator if denominator else 0.0)
    return sum(scores) / 2.0


def old_best_threshold(scores, labels):
    thresholds = torch.arange(1, 20, dtype=torch.float64) / 20
    return float(max(thresholds, key=lambda threshold: old_macro_f1(scores > threshold, labels)))


@pytest.mark.parametrize("seed", range(6))
def test_the_scikit_learn_metrics_equal_the_former_hand_written_ones(seed):
    from _shared.graph_metrics import best_threshold, macro_f1, roc_auc

    generator = torch.Generator().manual_seed(seed)
    size = int(torch.randint(2, 400, (1,), generator=generator))
    labels = torch.rand(size, generator=generator) < [0.5, 0.1, 0.02, 0.9, 0.3, 0.5][seed]
    labels[0], labels[1] = True, False  # both classes
    labels = [labels, labels.long(), labels.float(), labels.long(), labels, labels.long()][seed]
    # scores with many ties (a few levels, rounded probabilities), and continuous float32 ones
    levels = torch.randint(0, 1 + seed, (size,), generator=generator).double() / max(seed, 1)
    rounded = (torch.rand(size, generator=generator) + 0.3 * labels.float()).clamp(0, 1).mul(20).round().div(20)
    continuous = torch.randn(size, generator=generator) + labels.float()
    for scores in (levels, rounded, rounded.float(), continuous, -continuous, torch.zeros(size)):
        assert abs(roc_auc(scores, labels) - old_roc_auc(scores, labels)) < 1e-12
        assert best_threshold(scores, labels) == old_best_threshold(scores, labels)
        for threshold in (-1.0, 0.0, 0.05, 0.3, 0.5, 0.95, 2.0):  # all, some and none predicted anomalous
            assert abs(macro_f1(scores > threshold, labels) - old_macro_f1(scores > threshold, labels)) < 1e-12
    # one class only in labels, predictions or both (a class neither predicted nor present scores 0, as before)
    for predictions, truth in [((1, 1, 1), (1, 1, 1)), ((0, 0), (0, 0)), ((0, 0, 1), (1, 1, 1)), ((1, 0), (0, 0))]:
        predictions, truth = torch.tensor(predictions), torch.tensor(truth)
        assert abs(macro_f1(predictions, truth) - old_macro_f1(predictions, truth)) < 1e-12


def test_the_metrics_hand_worked():
    from _shared.graph_metrics import macro_f1, roc_auc

    # 2 positives (0.8, 0.4), 3 negatives (0.4, 0.2, 0.1): of the 6 pairs 5 are ordered and one is a tie -> 5.5 / 6
    scores, labels = torch.tensor([0.8, 0.4, 0.4, 0.2, 0.1]), torch.tensor([1, 1, 0, 0, 0])
    assert abs(roc_auc(scores, labels) - 5.5 / 6) < 1e-12
    assert abs(roc_auc(scores.flip(0), labels.flip(0).bool()) - 5.5 / 6) < 1e-12  # order and label dtype do not matter
    # all predicted normal: class 1 F1 = 0, class 0 F1 = 2 * 3 / (5 + 3) = 0.75 -> 0.375
    assert abs(macro_f1(torch.zeros(5, dtype=torch.bool), labels) - 0.375) < 1e-12
    assert macro_f1(labels, labels) == 1.0 and macro_f1(1 - labels, labels) == 0.0
    with pytest.raises(ValueError, match="needs both classes; got 5 positive and 0 negative"):
        roc_auc(scores, torch.ones(5))
    with pytest.raises(ValueError, match="the same length.*got 5 scores and 4 labels"):
        roc_auc(scores, labels[:4].flip(0))
    with pytest.raises(ValueError, match="the same length.*got 1 predictions and 5 labels"):
        macro_f1(scores[:1] > 0.5, labels)  # (the hand-written one broadcast a single prediction)
