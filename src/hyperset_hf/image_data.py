# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Deprecated since 0.2.0, removed in 0.3.0: moved to `hyperset_hf.data.images`, whose objects this module forwards.
The helpers of the image example scripts left the package: they are in the repository's `examples/_shared/images.py`
(and `config_overrides` in `examples/_shared/configs.py`)."""

from ._deprecation import forward_module


__getattr__, __dir__ = forward_module(
    __name__, moved_out="the image example scripts' helpers are in the repository's examples/_shared/images.py"
)
