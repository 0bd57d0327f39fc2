# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The metrics of the graph anomaly-detection protocol (`graph/run_graph_anomaly.py`): scikit-learn's AUC and macro-F1
on torch tensors, and the validation threshold of BWGNN and the Energy Transformer paper (`pip install -e '.[graph]'`).

Until hyperset-hf 0.1 these were part of `hyperset_hf.data.graphs`; the package keeps only the graphs
(`hyperset_hf.data.graphs`).
"""

from __future__ import annotations

import torch


__all__ = ["best_threshold", "macro_f1", "roc_auc"]


def _binary_numpy(values: torch.Tensor):
    """`values` flattened to a numpy array of 0/1 (`int64`); any non-zero value counts as 1."""
    return torch.as_tensor(values).detach().flatten().bool().long().cpu().numpy()


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve of `scores` (`(num_nodes,)`, higher = more anomalous) for binary `labels` (any non-zero
    label is the anomalous class): `sklearn.metrics.roc_auc_score`, tied scores counting half (the Mann-Whitney U
    statistic). Raises `ValueError` unless both classes occur."""
    from sklearn.metrics import roc_auc_score

    labels = _binary_numpy(labels)
    num_positive = int(labels.sum())
    num_negative = labels.size - num_positive
    if num_positive == 0 or num_negative == 0:
        raise ValueError(f"the AUC needs both classes; got {num_positive} positive and {num_negative} negative labels")
    scores = torch.as_tensor(scores).detach().flatten().double().cpu().numpy()
    return float(roc_auc_score(labels, scores))


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean over both classes of the F1 score of binary `predictions` against `labels` (any non-zero value is
    class 1): `sklearn.metrics.f1_score(average="macro")` over the classes 0 and 1, a class that is neither predicted
    nor present scoring 0."""
    from sklearn.metrics import f1_score

    return float(
        f1_score(_binary_numpy(labels), _binary_numpy(predictions), labels=[0, 1], average="macro", zero_division=0.0)
    )


def best_threshold(scores: torch.Tensor, labels: torch.Tensor, thresholds: torch.Tensor | None = None) -> float:
    """The threshold on `scores` (anomaly probabilities) that maximises the macro-F1 on these (validation) nodes,
    from `thresholds` (default 0.05, 0.10, ..., 0.95, the protocol of BWGNN and the Energy Transformer paper)."""
    thresholds = torch.arange(1, 20, dtype=torch.float64) / 20 if thresholds is None else thresholds
    return float(max(thresholds, key=lambda threshold: macro_f1(scores > threshold, labels)))
