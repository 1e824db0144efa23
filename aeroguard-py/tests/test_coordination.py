"""Coordination on the memory backend and on the real ZooKeeper ensemble and Redis (through Sentinel) started by
`scripts/services start` (the test command starts them)."""

import threading
import time

import pytest

import aeroguard
from conftest import MEMBERS, REDIS_AUTH, election_authority, REDIS_CA, SENTINEL_AUTH, SENTINELS, ZK_AUTH, ZK_HOSTS, ZK_SASL, zk_identity


def options(backend, node):
    """`Client`'s arguments for `node`, with its own login when the services gave it one (round answers count
    only then)."""
    own = f"{node}:{MEMBERS[node]}" if node in MEMBERS else None
    if backend == "memory":
        return dict(node=node, session_timeout=2.0)
    if backend == "zookeeper":
        # The ensemble admits SASL logins only: a member logs in as itself, anyone else with the shared login.
        logins = dict(zk_node_sasl=own, zk_members={n: zk_identity(n) for n in MEMBERS}) if own else dict(zk_sasl=ZK_SASL)
        return dict(node=node, hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=ZK_AUTH, **logins)
    return dict(
        node=node,
        sentinels=SENTINELS,
        master="aeroguard",
        session_timeout=2.0,
        redis_auth=own or REDIS_AUTH,
        sentinel_auth=SENTINEL_AUTH,
        redis_ca=REDIS_CA,
        # A member's own login may not write elections: the authority the tests run does it.
        election_authority=own is not None and election_authority() is not None,
    )


def connect(backend, node):
    return aeroguard.Client(backend, **options(backend, node))


BACKENDS = ["memory", "zookeeper", "redis"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_election_with_fencing_tokens(backend, unique):
    name = unique("pump")
    with connect(backend, "a") as a, connect(backend, "b") as b:
        assert a.backend == backend and a.node == "a"
        lead = a.election(name).campaign(timeout=5)
        assert lead.is_trusted() and lead.ensure() == lead.token
        assert b.election(name).grant() == ("a", lead.token)
        assert b.election(name).leader() == "a"
        with pytest.raises(TimeoutError):
            b.election(name).campaign(timeout=0.3)
        first = lead.token
        lead.resign()
        with pytest.raises(aeroguard.LeadershipLostError):
            lead.ensure()
        second = b.election(name).campaign(timeout=5)
        assert second.token > first
        second.resign()
        # Kazoo's run: campaign, call, resign.
        assert a.election(name).run(lambda x, y: x + y, 2, 3) == 5
        assert a.election(name).contenders() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_queue_at_least_once(backend, unique):
    name = unique("q")
    with connect(backend, "producer") as p, connect(backend, "consumer") as c:
        q, cq = p.queue(name), c.queue(name)
        for i in range(3):
            q.put(f"item-{i}".encode())
        assert len(q) == 3
        d = cq.get(timeout=5)
        assert d.payload == b"item-0"
        del d  # not acked: it comes back
        d = cq.get(timeout=5)
        assert d.payload == b"item-0"
        d.ack()
        with pytest.raises(ValueError):
            d.ack()
        for i in (1, 2):
            d = cq.get(timeout=5)
            assert d.payload == f"item-{i}".encode()
            d.ack()
        with pytest.raises(TimeoutError):
            cq.get(timeout=0.2)
        assert len(q) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_poison_item_goes_to_the_dead_letter_queue(backend, unique):
    name = unique("poison")
    with connect(backend, "consumer") as c:
        q = c.queue(name, max_deliveries=2)
        q.put(b"poison")
        for _ in range(2):
            d = q.get(timeout=5)
            assert d.payload == b"poison"
            del d  # never acked
        with pytest.raises(TimeoutError):
            q.get(timeout=0.3)
        dead = c.queue(name + ".dead").get(timeout=5)
        assert dead.payload == b"poison"
        dead.ack()
        with pytest.raises(ValueError, match="max_deliveries"):
            c.queue(name, max_deliveries=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_config_and_registry_watches(backend, unique):
    key, service = unique("cfg"), unique("svc")
    with connect(backend, "writer") as w, connect(backend, "reader") as r:
        assert r.get_config(key) is None
        v1 = w.set_config(key, b'{"period_ms": 500}', version=0)
        with pytest.raises(aeroguard.ConflictError):
            w.set_config(key, b"x", version=0)
        seen = []
        done = threading.Event()

        def on_change(version, value):
            seen.append((version, value))
            if value == b'{"period_ms": 100}':
                done.set()

        watch = r.watch_config(key, on_change)
        v2 = w.set_config(key, b'{"period_ms": 100}', version=v1)
        assert done.wait(5), seen
        assert seen[-1] == (v2, b'{"period_ms": 100}')
        watch.stop()
        assert r.get_config(key) == (v2, b'{"period_ms": 100}')

        members = []
        joined = threading.Event()

        def on_members(nodes):
            members.append(nodes)
            if nodes == ["writer"]:
                joined.set()

        mw = r.watch_members(service, on_members)
        reg = w.register(service, '{"port": 1}')
        assert joined.wait(5), members
        assert r.instances(service) == [("writer", '{"port":1}')]
        with pytest.raises(aeroguard.ConflictError):
            w.register(service)
        reg.close()
        deadline = time.time() + 5
        while r.instances(service) and time.time() < deadline:
            time.sleep(0.05)
        assert r.instances(service) == []
        mw.stop()


def test_errors_and_hierarchy():
    with pytest.raises(ValueError, match="backend"):
        aeroguard.Client("etcd", node="n")
    with pytest.raises(ValueError):
        aeroguard.Client("memory", node="bad node!")
    for bad in (-1, float("nan"), 1e300, 0):
        with pytest.raises(ValueError, match="session_timeout"):
            aeroguard.Client("memory", node="n", session_timeout=bad)
    with pytest.raises(aeroguard.ConnectionLossError):
        aeroguard.Client("redis", node="n", url="redis://127.0.0.1:1")
    with aeroguard.Client("memory", node="n") as c:
        with pytest.raises(ValueError):
            c.election("bad name!")
        with pytest.raises(ValueError):
            c.register("svc", "{not json")
        for bad in (-1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="timeout"):
                c.queue("q").get(timeout=bad)
            with pytest.raises(ValueError, match="timeout"):
                c.election("e").campaign(timeout=bad)
            with pytest.raises(ValueError, match="deadline"):
                c.round_leader("r", "s", deadline=bad)
    for e in (aeroguard.ConnectionLossError, aeroguard.SessionExpiredError, aeroguard.ConflictError,
              aeroguard.NotFoundError, aeroguard.FencedError, aeroguard.LeadershipLostError):
        assert issubclass(e, aeroguard.CoordinationError)
    assert issubclass(aeroguard.CoordinationError, aeroguard.AeroGuardError)
    assert issubclass(aeroguard.NotFittedError, aeroguard.AeroGuardError)


def test_blocking_calls_release_the_gil():
    # A campaign blocks in Rust; another Python thread keeps running meanwhile.
    with aeroguard.Client("memory", node="holder") as a, aeroguard.Client("memory", node="waiter") as b:
        lead = a.election("gil").campaign()
        ticks = []
        t = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(20)])
        t.start()
        with pytest.raises(TimeoutError):
            b.election("gil").campaign(timeout=0.5)
        t.join()
        assert len(ticks) == 20
        lead.resign()


def test_ctrl_c_interrupts_a_blocking_call():
    import _thread
    import signal

    # A process started in the background by a non-interactive shell inherits SIGINT ignored, and then
    # `interrupt_main` does nothing: install Python's own handler for the test, as an interactive run has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with aeroguard.Client("memory", node="holder2") as a, aeroguard.Client("memory", node="waiter2") as b:
            lead = a.election("ctrl-c").campaign()
            timer = threading.Timer(0.3, _thread.interrupt_main)
            timer.start()
            started = time.time()
            with pytest.raises(KeyboardInterrupt):
                b.election("ctrl-c").campaign(timeout=10)  # would wait the whole 10 s
            assert time.time() - started < 3
            lead.resign()
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_recipe(backend, unique):
    import json

    name, service = unique("round"), unique("round-svc")
    with connect(backend, "lead") as lead_client, connect(backend, "f1") as f1, connect(backend, "f2") as f2:
        regs = [f.register(service) for f in (f1, f2)]
        followers = [(i, f.round_follower(name, service)) for i, f in enumerate((f1, f2))]
        stop = threading.Event()

        def answer(i, follower):
            while not stop.is_set():
                try:
                    r, _token, _leader = follower.next_round(timeout=0.5)
                    follower.submit(json.dumps({"reading": 10 + i + r}))
                except TimeoutError:
                    continue
                except aeroguard.AeroGuardError:
                    return

        threads = [threading.Thread(target=answer, args=f, daemon=True) for f in followers]
        for t in threads:
            t.start()
        lead = lead_client.election(name).campaign(timeout=5)
        leader = lead_client.round_leader(name, service, deadline=2.0, quorum="all")
        for expected in (1, 2):
            rnd, token, answers, missing, reached = leader.run(lead)
            assert (rnd, token, reached, missing) == (expected, lead.token, True, [])
            got = {node: json.loads(value) for node, value in answers}
            assert got == {"f1": {"reading": 10 + expected}, "f2": {"reading": 11 + expected}}
            assert leader.unattested == [], "each follower answers under its own login"
        lead.resign()
        with pytest.raises(aeroguard.LeadershipLostError):
            leader.run(lead)
        stop.set()
        for t in threads:
            t.join()
        for r in regs:
            r.close()
        with pytest.raises(ValueError, match="quorum"):
            lead_client.round_leader(name, service, quorum="most")


@pytest.mark.parametrize("backend", BACKENDS)
def test_client_calls_inside_callbacks(backend, unique):
    """Kazoo code calls the client from its watch callbacks: that works, and a slow callback does not hold up
    the session (its heartbeat runs on the runtime, the callbacks on threads of their own)."""
    key, election = unique("cfg"), unique("el")
    with connect(backend, "cb-writer") as w, connect(backend, "cb-reader") as r:
        lead = r.election(election).campaign(timeout=5)
        got, errors, done = [], [], threading.Event()

        def on_change(version, value):
            try:
                got.append(r.get_config(key))  # a blocking client call inside the callback
                time.sleep(2.5)  # longer than the session timeout
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)
            finally:
                done.set()

        watches = [r.watch_config(key, on_change), r.watch_members(unique("svc"), lambda nodes: time.sleep(2.5))]
        v = w.set_config(key, b"x", version=0)
        assert done.wait(10) and not errors, errors
        assert got[0] == (v, b"x")
        assert lead.is_trusted() and lead.ensure() == lead.token, "the session outlived the slow callbacks"
        for watch in watches:
            watch.stop()


def test_zookeeper_refuses_missing_and_wrong_credentials(unique):
    # The test ensemble enforces authentication: no credential is refused at connect ...
    with pytest.raises(aeroguard.AccessDeniedError, match="requires authentication"):
        aeroguard.Client("zookeeper", node="intruder", hosts=ZK_HOSTS, session_timeout=2.0)
    # ... so is a digest credential without a SASL login (the ensemble admits SASL logins only) ...
    user = ZK_AUTH.split(":", 1)[0]
    with pytest.raises(aeroguard.AccessDeniedError, match="authentication failed"):
        aeroguard.Client("zookeeper", node="intruder", hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=f"{user}:wrong")
    # ... and with one, a wrong password is another identity, which the cluster's ACLs grant nothing.
    with pytest.raises(aeroguard.AccessDeniedError, match="forbids"):
        aeroguard.Client(
            "zookeeper", node="intruder", hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=f"{user}:wrong", zk_sasl=ZK_SASL
        )
    with pytest.raises(ValueError, match="zk_node_sasl"):
        aeroguard.Client("zookeeper", node="n1", hosts=ZK_HOSTS, zk_auth=ZK_AUTH, zk_sasl=ZK_SASL, zk_node_sasl="n1:pw")
    with pytest.raises(ValueError, match="user:password"):
        aeroguard.Client("zookeeper", node="n", hosts=ZK_HOSTS, zk_auth="no-colon")
    # A SASL login the ensemble does not list is refused at connect; a listed one opens the session.
    with pytest.raises(aeroguard.AccessDeniedError):
        aeroguard.Client("zookeeper", node="intruder", hosts=ZK_HOSTS, session_timeout=2.0, zk_sasl="stranger:made-up")
    with aeroguard.Client(
        "zookeeper", node="n1", hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=ZK_AUTH, zk_sasl=ZK_SASL
    ) as c:
        assert c.election(unique("sasl")).leader() is None


def test_redis_refuses_missing_and_wrong_credentials():
    with pytest.raises(aeroguard.AccessDeniedError):
        aeroguard.Client("redis", node="intruder", sentinels=SENTINELS, session_timeout=2.0, redis_ca=REDIS_CA)
    user = REDIS_AUTH.split(":", 1)[0]
    with pytest.raises(aeroguard.AccessDeniedError, match="WRONGPASS|authentication"):
        aeroguard.Client(
            "redis",
            node="intruder",
            sentinels=SENTINELS,
            session_timeout=2.0,
            redis_auth=f"{user}:wrong",
            sentinel_auth=SENTINEL_AUTH,
            redis_ca=REDIS_CA,
        )
    with pytest.raises(ValueError, match="no such file"):
        aeroguard.Client("redis", node="n", sentinels=SENTINELS, redis_ca="/no/such/ca.pem")


def test_zookeeper_round_ignores_a_node_answering_under_another_login(unique):
    """A member holding the cluster credential that answers as f2 under f1's own login is not counted."""
    import json

    name, service = unique("round"), unique("round-svc")
    roster = {n: zk_identity(n) for n in MEMBERS}

    def client(node, login):
        return aeroguard.Client(
            "zookeeper", node=node, hosts=ZK_HOSTS, session_timeout=2.0, zk_auth=ZK_AUTH,
            zk_node_sasl=f"{login}:{MEMBERS[login]}", zk_members=roster,
        )

    with client("lead", "lead") as lead_client, client("f1", "f1") as f1, client("f2", "f1") as forger:
        regs = [c.register(service) for c in (f1, forger)]
        followers = [c.round_follower(name, service) for c in (f1, forger)]
        stop = threading.Event()

        def answer(follower):
            while not stop.is_set():
                try:
                    follower.next_round(timeout=0.5)
                    follower.submit(json.dumps({"reading": 1}))
                except TimeoutError:
                    continue
                except aeroguard.AeroGuardError:
                    return

        threads = [threading.Thread(target=answer, args=(f,), daemon=True) for f in followers]
        for t in threads:
            t.start()
        lead = lead_client.election(name).campaign(timeout=5)
        leader = lead_client.round_leader(name, service, deadline=1.0, quorum="all")
        _rnd, _token, answers, missing, reached = leader.run(lead)
        assert [node for node, _ in answers] == ["f1"]
        assert (missing, reached) == (["f2"], False)
        assert [node for node, _ in leader.unattested] == ["f2"]
        assert "sasl:f1" in leader.unattested[0][1]
        stop.set()
        for t in threads:
            t.join()
        for r in regs:
            r.close()


def test_a_members_own_redis_login_elects_only_through_the_authority(unique):
    """A member's own login may not write elections: alone it cannot even connect (it would raise the failover
    epoch); asking the election authority, it campaigns, and the authority counts what it ran."""
    authority = election_authority()
    assert authority is not None, "the services give members their own logins"
    own = f"r1:{MEMBERS['r1']}"
    common = dict(sentinels=SENTINELS, session_timeout=2.0, sentinel_auth=SENTINEL_AUTH, redis_ca=REDIS_CA)
    with pytest.raises(aeroguard.AccessDeniedError):
        aeroguard.Client("redis", node="r1", redis_auth=own, **common)
    served = authority.served
    with aeroguard.Client("redis", node="r1", redis_auth=own, election_authority=True, **common) as r1:
        lead = r1.election(unique("authority")).campaign(timeout=5)
        assert lead.is_trusted()
        lead.resign()
    assert authority.served >= served + 3, "join, campaign and departure ran through the authority"
    with pytest.raises(ValueError):
        aeroguard.ElectionAuthority(members=["bad id"], sentinels=SENTINELS)
