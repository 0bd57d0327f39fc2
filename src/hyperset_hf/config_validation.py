# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Validation shared by the Hyper-SET and Energy Transformer configurations, run wherever a config is built or
loaded: misspelt field names are refused with a suggestion (and only warned about in a saved `config.json`, whose
extra keys must load), the label count is checked, no float field may be nan or inf, and the `@strict` class validator
`validate_architecture` runs on construction and again after `from_pretrained` / `AutoConfig` keyword overrides (which
transformers sets after construction). Imported relatively by both configuration files, so it travels with them as Hub
remote code."""

import contextvars
import dataclasses
import difflib
import math
import operator
import os
import warnings

from huggingface_hub.errors import StrictDataclassError
from transformers.configuration_utils import PreTrainedConfig

from .input_checks import MAX_NUM_RECURRENCES, _short_repr, check_model_type, read_json_object, read_saved_config


# Set while `from_dict` builds a config from a saved dict: extra keys written by other code (any attribute set on a
# config is saved) must load, so the misspelling check only warns there.
_LOADING = contextvars.ContextVar("hyperset_hf_loading_config", default=False)
# Keys transformers writes into or accepts in a saved config.json besides the dataclass fields.
_TRANSFORMERS_KEYS = {
    "model_type", "transformers_version", "torch_dtype", "num_labels", "_name_or_path", "output_attentions",
    "attn_implementation", "experts_implementation", "name_or_path", "custom_pipelines", "_commit_hash",
}  # fmt: skip
SPELLING_CUTOFF = 0.85  # difflib similarity above which an unknown name is taken for a misspelt field


class ValidatedConfig(PreTrainedConfig):
    """Base of the package's configs: subclasses define `validate_architecture` (raising `ValueError` that names the
    bad value) and `default_auto_map` (written into every saved `config.json`)."""

    default_auto_map = {}  # a class attribute, not a config field

    def __post_init__(self, **kwargs):
        names = [field.name for field in dataclasses.fields(self)]
        for name in () if _LOADING.get() else kwargs:  # a misspelt field would become an unused extra attribute
            if close := difflib.get_close_matches(name, names, 1, SPELLING_CUTOFF):
                raise ValueError(f"Unknown {type(self).__name__} field {name!r}; did you mean {close[0]!r}?")
        if "num_labels" in kwargs:
            _check_num_labels(kwargs["num_labels"])
        _check_id2label(self.id2label)
        self.validate_architecture()
        self.validate_common_values()
        if self.auto_map is None:
            self.auto_map = dict(self.default_auto_map)
        super().__post_init__(**kwargs)
        _check_num_labels(self.num_labels)

    def validate_common_values(self) -> None:
        """The checks both families share, run after `validate_architecture` (whose own messages say more for the
        fields it checks): no float field (nor a float in a list field) is nan or inf, `num_recurrences` is at most
        `MAX_NUM_RECURRENCES` (the forward pass refuses more), and `architectures` is a list of class names. Raises
        `ValueError` (`TypeError` for `architectures` of another type) naming the field and the value."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name, None)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"`{field.name}` must be a finite number, got {value!r}.")
        if getattr(self, "num_recurrences", 0) > MAX_NUM_RECURRENCES:
            raise ValueError(
                f"`num_recurrences` must be at most {MAX_NUM_RECURRENCES:,} (a guard against endless runs), got "
                f"{self.num_recurrences!r}."
            )
        architectures = self.architectures
        if architectures is not None and (
            not isinstance(architectures, list) or not all(isinstance(name, str) for name in architectures)
        ):
            given = _short_repr(architectures, 60)
            raise TypeError(f"`architectures` must be a list of model class names, got {given}.")

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        """As `PreTrainedConfig.from_dict` (used by `from_pretrained` and `AutoConfig`), for a saved config.

        Accepted: a dict of the config's fields as `to_dict` / `config.json` holds them (a whole number such as `1` is
        a number for every float field). A key that looks like a misspelt field (`num_recurrence`) gives one
        `UserWarning` naming the field meant (the key is kept as an unused attribute). A value of the wrong JSON type
        (a string, list or null for a number) raises `TypeError` naming the field, the value and the expected type.
        The config is validated again after the keyword overrides (`from_pretrained(path, num_recurrences=0)`),
        which transformers sets after construction."""
        if isinstance(config_dict, dict):
            cls._warn_about_misspelt_keys(config_dict)
        token = _LOADING.set(True)
        try:
            loaded = super().from_dict(config_dict, **kwargs)
        except StrictDataclassError as error:  # huggingface_hub's type check: several lines, not a ValueError
            cause = error.__cause__ or error
            message = " ".join(str(cause).split())
            raise (TypeError if isinstance(cause, TypeError) else ValueError)(
                f"{cls.__name__}: {message}; fix it in config.json or in the keyword arguments."
            ) from None
        finally:
            _LOADING.reset(token)
        config = loaded[0] if isinstance(loaded, tuple) else loaded
        config.validate_architecture()
        config.validate_common_values()
        _check_num_labels(config.num_labels)
        return loaded

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """As `PreTrainedConfig.from_pretrained`. Accepted: a Hub id, a local folder written by `save_pretrained` or
        the path of its `config.json`; a local one is read first with clear errors (`FileNotFoundError`,
        `ValueError` naming the file: empty, not UTF-8, not JSON, not a JSON object, or another `model_type` than
        this class's)."""
        path = pretrained_model_name_or_path
        if isinstance(path, (str, os.PathLike)) and os.path.isfile(path):
            check_model_type(read_json_object(path, "a model configuration"), path, (cls.model_type,))
        elif isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
            read_saved_config(os.path.join(path, kwargs.get("subfolder") or ""), (cls.model_type,))
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    @classmethod
    def _warn_about_misspelt_keys(cls, config_dict: dict) -> None:
        fields = sorted(field.name for field in dataclasses.fields(cls))
        known = set(fields) | set(cls.attribute_map) | _TRANSFORMERS_KEYS
        hints = [
            f"{key!r} (did you mean {close[0]!r}?)"
            for key in config_dict
            if isinstance(key, str) and key not in known
            and (close := difflib.get_close_matches(key, fields, 1, SPELLING_CUTOFF))
        ]  # fmt: skip
        if hints:
            warnings.warn(
                f"The saved {cls.__name__} has unknown keys that look like misspelt fields: {', '.join(hints)}; they "
                "are kept as unused attributes and the fields keep their defaults.",
                UserWarning,
                stacklevel=4,
            )


def _check_num_labels(value) -> None:
    """`num_labels` (the number of classes) is a positive integer."""
    if value is None:
        return
    try:
        count = None if isinstance(value, (bool, float)) else operator.index(value)
    except TypeError:
        count = None
    if count is None or count < 1:
        raise ValueError(f"`num_labels` must be a positive integer (the number of classes), got {value!r}.")


def _check_id2label(id2label) -> None:
    """`id2label`, if set, maps class indices (ints, or their decimal strings as JSON writes them) to names."""
    if id2label is None:
        return
    if not isinstance(id2label, dict) or not id2label:
        raise ValueError(
            "`id2label` must map at least one class index to a name (num_labels >= 1), got "
            f"{_short_repr(id2label, 60)}."
        )
    for key in id2label:
        index_like = isinstance(key, int) or isinstance(key, str) and key.strip().lstrip("-").isdigit()
        if isinstance(key, bool) or not index_like:
            raise ValueError(f"`id2label` keys must be class indices such as 0 or \"0\", got {key!r}.")


