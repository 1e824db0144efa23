"""The examples in the Python modules' documentation run as tests."""

import doctest

import pytest

import aeroguard
import aeroguard.config
import aeroguard.members
import aeroguard.outbox


@pytest.mark.parametrize("module", [aeroguard, aeroguard.config, aeroguard.members, aeroguard.outbox])
def test_module_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
