# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""`python -m hyperset_hf ...` runs the `hyperset-hf` command line (see `hyperset_hf.cli`)."""

import sys

from .cli import main


if __name__ == "__main__":
    sys.exit(main())
