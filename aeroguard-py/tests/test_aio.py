"""`aeroguard.aio`: every blocking call has an awaitable twin (found in the bindings' source, so a new blocking
call without one fails here), the twins work on every backend, watches are async iterators, and a call cancelled
mid-wait leaves the session working."""

import asyncio
import re
from pathlib import Path

import pytest

import aeroguard
from aeroguard import aio
from test_coordination import BACKENDS, options

SRC = Path(__file__).resolve().parents[1] / "src"

# A blocking call's twin when its name differs: `len()` is `length()`, watches iterate.
RENAMED = {
    ("Queue", "__len__"): ("Queue", "length"),
    ("Client", "watch_members"): ("Client", "members"),
    ("Client", "watch_config"): ("Client", "config"),
    ("Leadership", "wait_lost"): ("Leadership", "lost"),
}


def blocking_calls():
    """(class, method) of every Python method whose Rust body blocks on the runtime."""
    found = set()
    for path in SRC.rglob("*.rs"):
        if "aio" in path.parts:
            continue
        cls = fn = None
        for line in path.read_text().splitlines():
            m = re.match(r"impl (\w+) \{", line)
            if m:
                cls = m.group(1)
            m = re.match(r"    (?:pub(?:\(crate\))? )?fn (\w+)", line)
            if m:
                fn = m.group(1)
            if "block(py" in line and cls and fn:
                found.add((cls, fn))
    return found


def test_every_blocking_call_has_an_awaitable_twin():
    calls = blocking_calls()
    assert len(calls) >= 23, calls
    for cls, fn in sorted(calls):
        twin_cls, twin = RENAMED.get((cls, fn), (cls, fn))
        target = getattr(getattr(aio, twin_cls), twin, None)
        assert target is not None, f"{cls}.{fn} has no aio.{twin_cls}.{twin}"
        iterates = (cls, fn) in {("Client", "watch_members"), ("Client", "watch_config")}
        assert iterates or asyncio.iscoroutinefunction(target), f"aio.{twin_cls}.{twin} is not awaitable"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_twins_on_each_backend(backend, unique):
    async def main():
        a = aio.Client(backend, **options(backend, unique("aio-a")))
        b = aio.Client(backend, **options(backend, unique("aio-b")))
        async with a, b:
            election = unique("aio-election")
            lead = await a.election(election).campaign(timeout=5)
            assert await a.election(election).leader() == a.node
            first = lead.token
            assert (await b.election(election).grant()) == (a.node, first)
            await lead.resign()
            second = await b.election(election).campaign(timeout=5)
            assert second.token > first
            await second.resign()

            q = a.queue(unique("aio-queue"))
            await q.put(b"one")
            assert await q.length() == 1
            d = await q.get(timeout=2)
            assert d.payload == b"one"
            await d.ack()

            key = unique("aio-config")
            assert await a.get_config(key) is None
            version = await a.set_config(key, b"v1", version=0)
            watched = a.config(key)
            assert await watched.__anext__() == (version, b"v1")
            await b.set_config(key, b"v2")
            v2 = await asyncio.wait_for(watched.__anext__(), 5)
            assert v2[1] == b"v2" and v2[0] > version
            watched.stop()

            service = unique("aio-service")
            members = a.members(service)
            assert await asyncio.wait_for(members.__anext__(), 5) == []
            registration = await b.register(service, '{"port": 1}')
            assert await asyncio.wait_for(members.__anext__(), 5) == [b.node]
            assert await a.instances(service) == [(b.node, '{"port":1}')]
            registration.close()
            members.stop()

    asyncio.run(main())


def test_cancelling_a_wait_leaves_the_session_working(unique):
    async def main():
        async with aio.Client("memory", **options("memory", unique("aio-c"))) as c:
            q = c.queue(unique("aio-empty"))
            # Cancelled mid-wait, twice over: the queue still works, and nothing was taken.
            for _ in range(2):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(q.get(), 0.2)
            await q.put(b"after")
            d = await q.get(timeout=1)
            assert d.payload == b"after"
            await d.ack()
            # A campaign cancelled while another node leads: once that one resigns, this one is elected.
            other = await aio.Client("memory", **options("memory", unique("aio-o"))).start()
            name = unique("aio-held")
            held = await other.election(name).campaign()
            task = asyncio.ensure_future(c.election(name).campaign())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            before = held.token
            await held.resign()
            mine = await c.election(name).campaign(timeout=2)
            assert mine.token > before and mine.is_trusted()
            await mine.resign()
            await other.close()

    asyncio.run(main())


def test_a_client_not_started_says_so(unique):
    client = aio.Client("memory", **options("memory", unique("aio-n")))
    # The memory backend opens at once; a ZooKeeper client waits for start().
    assert client.node
    node = unique("aio-z")
    zk = aio.Client("zookeeper", node=node, hosts="127.0.0.1:1")
    assert (zk.node, zk.backend) == (node, "zookeeper")
    with pytest.raises(aeroguard.CoordinationError, match="not started"):
        zk.election("x")


def test_a_round_from_asyncio(unique):
    async def main():
        service, name = unique("aio-round-svc"), unique("aio-round")
        leader = await aio.Client("memory", **options("memory", unique("aio-rl"))).start()
        follower = await aio.Client("memory", **options("memory", unique("aio-rf"))).start()
        registration = await follower.register(service)  # kept: dropping it deregisters
        f = await follower.round_follower(name, service)
        lead = await leader.election(name).campaign()

        async def answer():
            round_, token, by = await f.next_round(timeout=5)
            await f.submit('{"p": 4.2}')
            return round_, by

        answering = asyncio.ensure_future(answer())
        result = await leader.round_leader(name, service, deadline=2.0, quorum="all").run(lead)
        assert (await answering) == (result[0], leader.node)
        assert result[2] == [(follower.node, '{"p":4.2}')] and result[4]
        history = aio.History.memory()
        await history.append(name, lead.token, [(1_700_000_000_000, 4.2)], owner=leader.node)
        assert await history.range(name) == [(1_700_000_000_000, 4.2, None)]
        assert await history.fence(name) == lead.token
        registration.close()
        await lead.resign()
        await leader.close()
        await follower.close()

    asyncio.run(main())
