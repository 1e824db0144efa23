"""Session listeners and the wait for a lost leadership, in memory and on the real ZooKeeper ensemble (one of
its servers paused by the services script)."""

import asyncio
import subprocess
import threading
import time
from pathlib import Path

import aeroguard
from aeroguard import aio
from conftest import ZK_AUTH, ZK_SASL

SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "services"


def test_a_leader_learns_why_its_term_ended(unique):
    client = aeroguard.Client("memory", node="lost-1", session_timeout=2.0)
    lead = client.election(unique("lost")).campaign(timeout=5)
    assert lead.wait_lost(timeout=0.2) is None, "still leader: the wait times out"
    seen = []
    watch = client.add_listener(lambda state, epoch: seen.append((state, epoch)))
    assert client.session_state == ("connected", 1)
    waiter = threading.Thread(target=lambda: seen.append(lead.wait_lost()))
    waiter.start()
    time.sleep(0.2)
    client.close()
    waiter.join(5)
    assert "coordinator closed" in seen
    deadline = time.monotonic() + 5
    while ("closed", 1) not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ("closed", 1) in seen
    watch.stop()


def test_a_resigned_term_says_so_and_a_cancelled_wait_leaves_the_term_alone(unique):
    async def main():
        client = aio.Client("memory", node="lost-2", session_timeout=2.0)
        lead = await client.election(unique("lost-aio")).campaign(timeout=5)
        try:
            await asyncio.wait_for(lead.lost(), 0.2)
            raise AssertionError("the term did not end")
        except asyncio.TimeoutError:
            pass
        assert lead.is_trusted() and lead.ensure() == lead.token
        await lead.resign()
        assert await lead.lost() == "resigned"
        await client.close()

    asyncio.run(main())


def test_zookeeper_listener_sees_suspension_expiry_and_a_new_session(unique):
    client = aeroguard.Client(
        "zookeeper", node="listener-1", hosts="127.0.0.1:2181", session_timeout=2.0, zk_auth=ZK_AUTH, zk_sasl=ZK_SASL
    )
    seen = []
    client.add_listener(lambda state, epoch: seen.append((state, epoch)))
    lead = client.election(unique("zk-lost")).campaign(timeout=10)
    subprocess.run(["bash", str(SERVICES), "pause", "zk1"], check=True, capture_output=True)
    try:
        reason = lead.wait_lost(timeout=10)
        time.sleep(3)  # past the session timeout: the other servers expire the session meanwhile
    finally:
        subprocess.run(["bash", str(SERVICES), "resume", "zk1"], check=True, capture_output=True)
    assert reason is not None and "suspended longer than" in reason, reason
    assert ("suspended", 1) in seen
    deadline = time.monotonic() + 30
    while not any(s == "connected" and e >= 2 for s, e in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(s == "connected" and e >= 2 for s, e in seen), seen
    assert client.session_state[0] == "connected" and client.session_state[1] >= 2
    assert not lead.is_trusted()
    client.close()
