# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Helpers of the example scripts, not part of the installed package: `configs` (`--config_overrides`), `images` (the
image scripts' data, processor, model, masks and Trainer steps) and `graph_metrics` (the graph protocol's AUC and
macro-F1). A script run as `python examples/<dir>/<script>.py` puts `examples/` on `sys.path` and imports
`_shared.<module>`; the benchmarks and tests that reproduce an example do the same.
"""
