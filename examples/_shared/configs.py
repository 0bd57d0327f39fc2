# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""`--config_overrides` of the example scripts (Sudoku, image classification, masked image and token modeling).

Until hyperset-hf 0.1 this was `hyperset_hf.configuration_hyperset.config_overrides`; it left the configuration
module, which every saved checkpoint carries as remote code, because only the scripts use it.
"""

from __future__ import annotations

import copy

from transformers.configuration_utils import PreTrainedConfig


__all__ = ["config_overrides"]


def config_overrides(update_str: str | None, config: PreTrainedConfig) -> dict:
    """Parses the example scripts' `--config_overrides` (`"hidden_size=128,step_size_initial_value=0.5"`) with
    transformers' `PreTrainedConfig.update_from_string` on a copy of `config` (any config class, e.g. the one being
    built or loaded), so that every value is typed like that field; a field whose value is None takes an int or a
    float, and `none` clears a field. Returns the changed fields, to be passed as keyword arguments to the config or
    `from_pretrained` (which validate them). Unknown keys raise `ValueError`."""
    probe, nullable = copy.deepcopy(config), {}
    typed = []
    for item in filter(None, (part.strip() for part in (update_str or "").split(","))):
        key, separator, value = (piece.strip() for piece in item.partition("="))
        if not separator or not key:
            raise ValueError(f"--config_overrides entries must look like key=value, got {item!r}.")
        if not hasattr(probe, key):
            raise ValueError(f"--config_overrides: {type(config).__name__} has no field {key!r} (in {item!r}).")
        if value.lower() == "none" or getattr(probe, key) is None:
            number = None if value.lower() == "none" else value
            for cast in (int, float):
                try:
                    number = cast(value)
                    break
                except ValueError:
                    pass
            nullable[key] = number
        else:
            typed.append(f"{key}={value}")
    for item in typed:
        try:
            probe.update_from_string(item)
        except (ValueError, TypeError) as error:
            raise ValueError(f"--config_overrides: cannot set {item!r}: {error}") from None
    return {**{key: getattr(probe, key) for key in (item.split("=")[0] for item in typed)}, **nullable}
