"""Shared fixtures: unique names (real servers keep state between runs) and the test services' addresses."""

import os
import uuid

import pytest

ZK_HOSTS = os.environ.get("AEROGUARD_ZK", "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")
SENTINELS = os.environ.get("AEROGUARD_SENTINELS", "127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381").split(",")


@pytest.fixture
def unique():
    def make(base: str) -> str:
        return f"{base}-{uuid.uuid4().hex[:12]}"

    return make
