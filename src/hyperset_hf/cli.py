# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""`hyperset_hf.cli` is the `hyperset-hf` command line, `hyperset_hf_cli` (which lives beside the package so that
`hyperset-hf --help` starts without importing torch): this module is that same module object."""

import sys

import hyperset_hf_cli


sys.modules[__name__] = hyperset_hf_cli
