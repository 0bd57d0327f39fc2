"""The `Example:` blocks in the model, config and metric docstrings run and print what they claim."""

import doctest

import pytest

from hyperset_hf import configuration_hyperset, metrics, modeling_hyperset


@pytest.mark.parametrize("module", [configuration_hyperset, modeling_hyperset, metrics])
def test_docstring_examples(module):
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0
    assert results.failed == 0
