"""The `Example:` blocks in the model and config docstrings run and print what they claim."""

import doctest

import pytest

from hyperset_hf import configuration_hyperset, modeling_hyperset


@pytest.mark.parametrize("module", [configuration_hyperset, modeling_hyperset])
def test_docstring_examples(module):
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0
    assert results.failed == 0
