# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Deprecated since 0.2.0, removed in 0.3.0: moved to `hyperset_hf.release.hub`, whose objects this module
forwards."""

from ._deprecation import forward_module


__getattr__, __dir__ = forward_module(__name__)
