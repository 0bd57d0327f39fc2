# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The data of the tasks: generated and loaded datasets, model inputs, and the on-disk cache they share.

- `hyperset_hf.data.sudoku`: the seeded Sudoku generator and solver, the `search_effort` rating, symmetries and
  augmentation, the Palm CSV / SATNet tensor formats, the named benchmark sets (`load_sudoku_benchmark`) and
  `to_model_inputs`;
- `hyperset_hf.data.images`: the IDX reader and the offline Fashion-MNIST loader (`load_fashion_mnist`);
- `hyperset_hf.data.graphs`: YelpChi from the UGFraud wheel and generated graphs with injected outliers, with their
  stratified splits (needs the `graph` extra).

Nothing here is needed to load or run a model: the models take tensors, and these modules only build them.
"""

import os
from pathlib import Path


def data_cache_dir(name: str) -> Path:
    """Where the package caches generated data `name` (`"sudoku"`, `"graphs"`): `$HYPERSET_HF_CACHE/<name>`, by
    default `~/.cache/hyperset_hf/<name>`."""
    configured = os.environ.get("HYPERSET_HF_CACHE")
    return (Path(configured).expanduser() if configured else Path.home() / ".cache" / "hyperset_hf") / name


__all__ = ["data_cache_dir"]
