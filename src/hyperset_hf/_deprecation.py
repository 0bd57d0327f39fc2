# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The module paths of hyperset-hf 0.1, kept as deprecated aliases of their 0.2 homes until 0.3.0.

Each old module (`hyperset_hf.sudoku_data`, ...) is a few lines that call `forward_module`: importing it warns once
with a `DeprecationWarning` naming the new path, and its attributes (public and private) are the new module's own
objects. A name the new module lacks raises an `AttributeError` that, where the old module had helpers of the example
scripts, says where they went.
"""

import importlib
import warnings
from collections.abc import Callable


DEPRECATED_SINCE = "0.2.0"
REMOVED_IN = "0.3.0"

# old module -> new module (the CHANGELOG's table)
MOVED_MODULES = {
    "hyperset_hf.sudoku_data": "hyperset_hf.data.sudoku",
    "hyperset_hf.image_data": "hyperset_hf.data.images",
    "hyperset_hf.graph_data": "hyperset_hf.data.graphs",
    "hyperset_hf.convert_original_checkpoint": "hyperset_hf.release.convert",
    "hyperset_hf.hub": "hyperset_hf.release.hub",
    "hyperset_hf.model_card": "hyperset_hf.release.model_card",
}


def forward_module(
    old_name: str, moved_out: str | None = None
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Warns that `old_name` is deprecated and returns the `__getattr__` and `__dir__` (PEP 562) of the old module,
    which forward to its new module. `moved_out` says where the names that left the package went."""
    new_name = MOVED_MODULES[old_name]
    warnings.warn(
        f"{old_name} is deprecated since hyperset-hf {DEPRECATED_SINCE} and will be removed in {REMOVED_IN}; "
        f"import {new_name} instead.",
        DeprecationWarning,
        stacklevel=3,  # the importing line (the import machinery's own frames are skipped)
    )
    new_module = importlib.import_module(new_name)
    hint = f" ({moved_out}, since hyperset-hf {DEPRECATED_SINCE})" if moved_out else ""

    def __getattr__(name: str):
        try:
            return getattr(new_module, name)
        except AttributeError:
            raise AttributeError(f"module {old_name!r} has no attribute {name!r}{hint}") from None

    def __dir__() -> list[str]:
        return dir(new_module)

    return __getattr__, __dir__
