"""Shared fixtures: unique names (real servers keep state between runs) and the test services' addresses."""

import os
import uuid

import pytest

ZK_HOSTS = os.environ.get("AEROGUARD_ZK", "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")


def services_credential(name: str, default: "str | None" = None) -> str:
    """A credential of `scripts/services`: the environment (`eval "$(scripts/services env)"`), else its file."""
    if name in os.environ:
        return os.environ[name]
    path = os.path.join(os.environ.get("AEROGUARD_SERVICES_DIR", "/tmp/aeroguard-services"), "credentials")
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == name:
                return value
    if default is not None:
        return default
    raise KeyError(f"{name} is neither set nor in {path}: run scripts/services start")


ZK_AUTH = services_credential("AEROGUARD_ZK_AUTH")
# The SASL login that opens a ZooKeeper session: the ensemble gives sessions to SASL logins only.
ZK_SASL = services_credential("AEROGUARD_ZK_SASL", "") or None
REDIS_AUTH = services_credential("AEROGUARD_REDIS_AUTH")
SENTINEL_AUTH = services_credential("AEROGUARD_SENTINEL_AUTH")
REDIS_CA = services_credential("AEROGUARD_REDIS_CA", "") or None
# Every member node's own login (`node:password ...`): its ZooKeeper digest credential and its Redis ACL user.
MEMBERS = dict(m.split(":", 1) for m in services_credential("AEROGUARD_MEMBERS", "").split())


def zk_identity(node: str) -> str:
    """The roster entry of a member: the identity of its own SASL login."""
    return f"sasl:{node}"


SENTINELS = os.environ.get("AEROGUARD_SENTINELS", "127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381").split(",")

_AUTHORITY = []


def election_authority():
    """The election authority the members' Redis clients ask (their own logins may not write elections), started
    once for the test run as the services' authority user; `None` when the services run without logins."""
    if not _AUTHORITY:
        import aeroguard

        login = services_credential("AEROGUARD_REDIS_AUTHORITY", "")
        _AUTHORITY.append(
            aeroguard.ElectionAuthority(
                members=sorted(MEMBERS),
                instance=f"pytest-{os.getpid()}",
                sentinels=SENTINELS,
                session_timeout=2.0,
                redis_auth=login,
                sentinel_auth=SENTINEL_AUTH,
                redis_ca=REDIS_CA,
            )
            if login and MEMBERS
            else None
        )
    return _AUTHORITY[0]


@pytest.fixture
def unique():
    def make(base: str) -> str:
        return f"{base}-{uuid.uuid4().hex[:12]}"

    return make
