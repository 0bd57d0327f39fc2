# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Validation shared by the Hyper-SET and Energy Transformer configurations, run wherever a config is built or
loaded: misspelt field names are refused with a suggestion, and the `@strict` class validator `validate_architecture`
runs on construction and again after `from_pretrained` / `AutoConfig` keyword overrides (which transformers sets after
construction). Imported relatively by both configuration files, so it travels with them as Hub remote code."""

import contextvars
import dataclasses
import difflib

from transformers.configuration_utils import PreTrainedConfig


# Set while `from_dict` builds a config from a saved dict: extra keys written by other code (any attribute set on a
# config is saved) must load, so the misspelling check only runs on direct construction.
_LOADING = contextvars.ContextVar("hyperset_hf_loading_config", default=False)


class ValidatedConfig(PreTrainedConfig):
    """Base of the package's configs: subclasses define `validate_architecture` (raising `ValueError` that names the
    bad value) and `default_auto_map` (written into every saved `config.json`)."""

    default_auto_map = {}  # a class attribute, not a config field

    def __post_init__(self, **kwargs):
        names = [field.name for field in dataclasses.fields(self)]
        for name in () if _LOADING.get() else kwargs:  # a misspelt field would become an unused extra attribute
            if close := difflib.get_close_matches(name, names, 1, 0.85):
                raise ValueError(f"Unknown {type(self).__name__} field {name!r}; did you mean {close[0]!r}?")
        self.validate_architecture()
        if self.auto_map is None:
            self.auto_map = dict(self.default_auto_map)
        super().__post_init__(**kwargs)

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        """As `PreTrainedConfig.from_dict` (used by `from_pretrained` and `AutoConfig`), then validates the config
        again: transformers sets keyword overrides such as `from_pretrained(path, num_recurrences=0)` afterwards."""
        token = _LOADING.set(True)
        try:
            loaded = super().from_dict(config_dict, **kwargs)
        finally:
            _LOADING.reset(token)
        (loaded[0] if isinstance(loaded, tuple) else loaded).validate_architecture()
        return loaded
