# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The metrics of the graph anomaly-detection protocol (`graph/run_graph_anomaly.py`): scikit-learn's AUC and macro-F1
on torch tensors, and the validation threshold of BWGNN and the Energy Transformer paper (`pip install -e '.[graph]'`).

Accepted inputs, the same for the three functions (checked once, at the call):

- `scores`: one finite real score per node (higher = more anomalous), `(num_nodes,)`, of any real dtype;
- `predictions`: one 0/1 prediction per node (bools, or integers / floats 0 and 1), `(num_nodes,)`;
- `labels`: one label per node, `(num_nodes,)`: 0 (normal), 1 (anomalous) or -100 (ignored: the model's convention
  for nodes left out of the loss). Nodes labelled -100 are left out of every metric, their scores and predictions
  unread, so `roc_auc(scores, labels)` equals `roc_auc(scores[labels != -100], labels[labels != -100])`; at least one
  node must be labelled 0 or 1;
- each as a torch tensor, a NumPy array or a list (lists are read as NumPy reads them: Python floats as float64),
  1-D and of the same length as the others.

Anything else is refused, never broadcast, flattened or read as "non-zero = anomalous": a `TypeError` for what is not
an array of real numbers (strings, complex numbers, None), a `ValueError` for a wrong shape, mismatched lengths, an
empty input, a nan or inf score, a label other than 0 / 1 / -100 (such as 2, -1, 0.5 or nan) or a prediction other
than 0 / 1, each naming the argument, the value (and its node) and what is accepted.

Until hyperset-hf 0.1 these were part of `hyperset_hf.data.graphs`; the package keeps only the graphs
(`hyperset_hf.data.graphs`).
"""

from __future__ import annotations

import numpy as np
import torch


__all__ = ["IGNORED_LABEL", "best_threshold", "macro_f1", "roc_auc"]

IGNORED_LABEL = -100  # the label of nodes left out of the metrics (and of the model's loss)


def _node_values(name: str, values, entries: str = "nodes") -> torch.Tensor:
    """`values` (a tensor, NumPy array or list of real numbers, shape `(num_<entries>,)`) as a 1-D CPU tensor of its
    own dtype (a float32 score stays float32: the thresholds compare in it, as they always did)."""
    shape = f"shape (num_{entries},)"
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"`{name}` must be a tensor, NumPy array or list of numbers, {shape}; got {values!r}")
    if not isinstance(values, torch.Tensor):
        try:
            array = np.asarray(values)
            if array.dtype.kind not in "biuf":  # bool, signed, unsigned, float
                raise TypeError(f"dtype {array.dtype}")
            if array.dtype.kind == "u":  # torch has no uint32 / uint64 arithmetic
                array = array.astype(np.int64)
            values = torch.from_numpy(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")))
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"`{name}` must be a tensor, NumPy array or list of real numbers, {shape}; got "
                            f"{type(values).__name__} ({error})") from None  # fmt: skip
    if values.is_complex():
        raise TypeError(f"`{name}` must hold real numbers, got dtype {values.dtype}")
    if values.dim() != 1:
        hint = ": pass one value per node (e.g. the anomalous class's column of the probabilities)"
        raise ValueError(f"`{name}` must be 1-D, {shape}, got shape {tuple(values.shape)}"
                         f"{hint if entries == 'nodes' else ''}")  # fmt: skip
    if values.numel() == 0:
        raise ValueError(f"`{name}` is empty (shape (0,)); accepted: at least one of the {entries}")
    return values.detach().cpu()


def _first_bad(name: str, values: torch.Tensor, bad: torch.Tensor, accepted: str, position: str = "node") -> None:
    if bad.any():
        index = int(bad.nonzero()[0])
        raise ValueError(f"`{name}` must be {accepted}; {position} {index} has {values[index].item()!r}")


def _check_scores(scores) -> torch.Tensor:
    scores = _node_values("scores", scores)
    if scores.is_floating_point():
        _first_bad("scores", scores, ~torch.isfinite(scores), "finite real numbers (nan and inf are refused)")
    return scores


def _check_predictions(predictions) -> torch.Tensor:
    predictions = _node_values("predictions", predictions)
    if not predictions.is_floating_point():
        predictions = predictions.long()  # bools and every integer dtype compare alike
    _first_bad("predictions", predictions, (predictions != 0) & (predictions != 1), "0 or 1 (or bools)")
    return predictions.bool()


def _check_labels(labels) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (the 0/1 labels of the labelled nodes as bools, the mask of labelled nodes)."""
    labels = _node_values("labels", labels)
    if not labels.is_floating_point():
        labels = labels.long()  # bools and every integer dtype (uint8 cannot hold -100) compare alike
    labelled = labels != IGNORED_LABEL
    _first_bad("labels", labels, labelled & (labels != 0) & (labels != 1),
               "0 (normal), 1 (anomalous) or -100 (ignored)")  # fmt: skip
    if not labelled.any():
        raise ValueError(f"`labels` are all -100 (ignored) for the {labels.numel()} nodes: there is no node to score; "
                         "accepted: at least one label 0 or 1")  # fmt: skip
    return labels[labelled].bool(), labelled


def _same_length(name: str, values: torch.Tensor, labels_name: str, num_labels: int) -> None:
    if values.numel() != num_labels:
        raise ValueError(f"`{name}` and `{labels_name}` must have one entry per node each (the same length), got "
                         f"{values.numel()} {name} and {num_labels} {labels_name}")  # fmt: skip


def _checked(name: str, values, labels, check) -> tuple[torch.Tensor, torch.Tensor]:
    """`values` (checked by `check`) and `labels` of the labelled nodes."""
    values = check(values)
    binary_labels, labelled = _check_labels(labels)
    _same_length(name, values, "labels", labelled.numel())
    return values[labelled], binary_labels


def _numpy_macro_f1(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    from sklearn.metrics import f1_score

    return float(
        f1_score(labels.long().numpy(), predictions.long().numpy(), labels=[0, 1], average="macro", zero_division=0.0)
    )


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve of `scores` (`(num_nodes,)`, higher = more anomalous) for the labels 0 (normal) / 1
    (anomalous), nodes labelled -100 left out: `sklearn.metrics.roc_auc_score`, tied scores counting half (the
    Mann-Whitney U statistic).

    Accepts `scores`: `(num_nodes,)` finite reals; `labels`: `(num_nodes,)` of 0, 1 or -100 (ignored); each a tensor,
    NumPy array or list (details in the module docstring). Raises `TypeError` / `ValueError` for anything else, and
    `ValueError` unless both classes occur among the labelled nodes."""
    from sklearn.metrics import roc_auc_score

    scores, labels = _checked("scores", scores, labels, _check_scores)
    num_positive = int(labels.sum())
    num_negative = labels.numel() - num_positive
    if num_positive == 0 or num_negative == 0:
        raise ValueError(
            f"the AUC needs both classes; got {num_positive} positive and {num_negative} negative labels (accepted: "
            "labels with at least one 0 and one 1 among the nodes not labelled -100)"
        )
    return float(roc_auc_score(labels.long().numpy(), scores.double().numpy()))


def macro_f1(predictions, labels) -> float:
    """The mean over both classes of the F1 score of the 0/1 `predictions` against the 0/1 `labels`, nodes labelled
    -100 left out: `sklearn.metrics.f1_score(average="macro")` over the classes 0 and 1, a class that is neither
    predicted nor present scoring 0.

    Accepts `predictions`: `(num_nodes,)` of 0 / 1 (bools, integers or floats); `labels`: `(num_nodes,)` of 0, 1 or
    -100 (ignored), one class only included; each a tensor, NumPy array or list (details in the module docstring).
    Raises `TypeError` / `ValueError` for anything else."""
    predictions, labels = _checked("predictions", predictions, labels, _check_predictions)
    return _numpy_macro_f1(predictions, labels)


def best_threshold(scores, labels, thresholds=None) -> float:
    """The threshold on `scores` (anomaly probabilities) that maximises the macro-F1 on these (validation) nodes,
    nodes labelled -100 left out, from `thresholds` (default 0.05, 0.10, ..., 0.95, the protocol of BWGNN and the
    Energy Transformer paper; else a non-empty 1-D tensor, NumPy array or list of finite numbers, the first best one
    returned). A node is predicted anomalous when its score is above the threshold (compared in the scores' dtype).

    Accepts `scores`: `(num_nodes,)` finite reals; `labels`: `(num_nodes,)` of 0, 1 or -100 (ignored); each a tensor,
    NumPy array or list (details in the module docstring). Raises `TypeError` / `ValueError` for anything else."""
    scores, labels = _checked("scores", scores, labels, _check_scores)
    if thresholds is None:
        thresholds = torch.arange(1, 20, dtype=torch.float64) / 20
    else:
        thresholds = _node_values("thresholds", thresholds, "thresholds")
        if thresholds.is_floating_point():
            _first_bad("thresholds", thresholds, ~torch.isfinite(thresholds), "finite numbers", "entry")
    return float(max(thresholds, key=lambda threshold: _numpy_macro_f1(scores > threshold, labels)))
