# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Deprecated since 0.2.0, removed in 0.3.0: moved to `hyperset_hf.data.graphs`, whose objects this module forwards.
The metrics of the graph example left the package: they are in the repository's `examples/_shared/graph_metrics.py`."""

from ._deprecation import forward_module


__getattr__, __dir__ = forward_module(
    __name__, moved_out="the graph example's roc_auc, macro_f1, best_threshold are in examples/_shared/graph_metrics.py"
)
