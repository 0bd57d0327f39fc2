# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Deprecated since 0.2.0, removed in 0.3.0: moved to `hyperset_hf.release.convert`, whose objects this module
forwards; `python -m hyperset_hf.convert_original_checkpoint` still runs the converter."""

import sys
import warnings

from ._deprecation import forward_module


if __name__ == "__main__" and not sys.warnoptions:  # `python -m` of the old path: show the warning on the terminal
    warnings.simplefilter("default", DeprecationWarning)

__getattr__, __dir__ = forward_module("hyperset_hf.convert_original_checkpoint")

if __name__ == "__main__":
    from .release.convert import command_line

    sys.exit(command_line())
