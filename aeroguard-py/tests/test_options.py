"""Naming, durability and client certificates on the real servers: a Redis key prefix that a least-privilege
login is limited to, a ZooKeeper root, writes that must reach a replica, TLS with a client certificate."""

import os
import uuid

import pytest

import aeroguard
from conftest import REDIS_AUTH, REDIS_CA, SENTINEL_AUTH, SENTINELS, ZK_AUTH, ZK_HOSTS, ZK_SASL, services_credential


def redis(node, **extra):
    args = dict(sentinels=SENTINELS, session_timeout=2.0, sentinel_auth=SENTINEL_AUTH, redis_ca=REDIS_CA)
    args.update(extra)
    args.setdefault("redis_auth", REDIS_AUTH)
    return aeroguard.Client("redis", node=node, **args)


def test_a_login_limited_to_its_prefix_works_under_it_and_nowhere_else():
    outsider = services_credential("AEROGUARD_REDIS_OUTSIDER")
    key = f"cfg-{uuid.uuid4().hex[:8]}"
    with redis("outsider-1", redis_auth=outsider, redis_prefix="other") as c:
        version = c.set_config(key, b"v1")
        assert c.get_config(key) == (version, b"v1")
    with pytest.raises(aeroguard.AccessDeniedError):
        with redis("outsider-2", redis_auth=outsider) as c:
            c.set_config(key, b"v1")
    with redis("insider-1") as c:
        assert c.get_config(key) is None, "another prefix, another namespace"
    with pytest.raises(ValueError, match="prefix"):
        redis("bad-prefix", redis_prefix="no spaces allowed")


def test_zookeeper_roots_are_separate_namespaces():
    root = f"/aeroguard-{uuid.uuid4().hex[:8]}"
    common = dict(hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=ZK_AUTH, zk_sasl=ZK_SASL)
    with aeroguard.Client("zookeeper", node="rooted-1", zk_root=root, **common) as a, aeroguard.Client(
        "zookeeper", node="rooted-2", **common
    ) as b:
        a.set_config("threshold", b"7")
        assert a.get_config("threshold")[1] == b"7"
        assert b.get_config("threshold") is None or b.get_config("threshold")[1] != b"7"
    with pytest.raises(ValueError, match="root"):
        aeroguard.Client("zookeeper", node="rooted-3", zk_root="relative", **common)


def test_writes_wait_for_the_replicas_asked_for():
    key = f"durable-{uuid.uuid4().hex[:8]}"
    with redis("durable-1", min_replicas=2, replica_timeout=2.0) as c:
        assert c.set_config(key, b"kept") >= 1
    with redis("durable-2", min_replicas=3, replica_timeout=0.2) as c:  # the services run two replicas
        with pytest.raises(aeroguard.NotReplicatedError, match="reached 2 of 3 replicas"):
            c.set_config(key + "-b", b"lost?")


def test_a_client_certificate_is_presented_over_tls(tmp_path):
    assert REDIS_CA, "the test services run Redis with TLS"
    tls = os.path.dirname(REDIS_CA)
    cert, key = os.path.join(tls, "redis.crt"), os.path.join(tls, "redis.key")
    with redis("cert-1", redis_cert=cert, redis_key=key) as c:
        assert c.get_config("absent-" + uuid.uuid4().hex[:8]) is None
    with pytest.raises(ValueError, match="give redis_cert and redis_key together"):
        redis("cert-2", redis_cert=cert)
    with pytest.raises(ValueError, match="need redis_ca"):
        redis("cert-3", redis_ca=None, redis_cert=cert, redis_key=key)
    with pytest.raises(ValueError, match='redis_cert "/no/such.crt"'):
        redis("cert-4", redis_cert="/no/such.crt", redis_key=key)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ValueError, match="not PEM"):
        redis("cert-5", redis_cert=str(junk), redis_key=key)
