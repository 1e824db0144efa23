"""Store-and-forward from Python: records survive a closed process and a link that is down, go in order, and
a deposed leader's buffered appends are refused by the history's fence, on memory and on the real Redis."""

import asyncio

import pytest

import aeroguard
from aeroguard import aio
from aeroguard.outbox import Refuse
from test_history import T0, store


def test_records_wait_on_disk_for_the_link_and_go_in_order(tmp_path):
    path = tmp_path / "posts.redb"
    box = aeroguard.Outbox(path)
    for i in range(5):
        box.push({"round": i, "value": 4.0 + i})
    del box  # the process goes away; the file stays
    box = aeroguard.Outbox(path)
    assert len(box) == 5
    calls = []

    def flaky(record):
        calls.append(record["round"])
        if record["round"] == 2:
            raise ConnectionError("link down")

    p = box.forward(flaky)
    assert (p.sent, p.refused, p.stopped) == (2, 0, "link down") and len(box) == 3
    delivered = []

    def picky(record):
        if record["round"] == 3:
            raise Refuse("malformed for the historian")
        delivered.append(record["round"])

    p = box.forward(picky)
    assert (p.sent, p.refused, p.stopped) == (2, 1, None) and delivered == [2, 4]
    assert box.stats()["sent"] == 4 and box.stats()["refused"] == 1 and box.stats()["queued"] == 0


def test_ctrl_c_in_the_callback_stops_the_pass_and_keeps_the_record(tmp_path):
    box = aeroguard.Outbox(tmp_path / "interrupted.redb")
    box.push({"round": 1})
    box.push({"round": 2})

    def interrupted(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        box.forward(interrupted)
    assert len(box) == 2
    kept = []
    assert box.forward(kept.append).sent == 2 and kept == [{"round": 1}, {"round": 2}]


def test_limits_bound_what_a_dead_link_can_pile_up(tmp_path):
    box = aeroguard.Outbox(tmp_path / "small.redb", max_entries=3)
    box.push({"alarm": "firing"}, precious=True)
    for i in range(5):
        box.push({"point": i})
    kept = []
    box.forward(kept.append)
    assert kept == [{"alarm": "firing"}, {"point": 3}, {"point": 4}]
    assert box.stats()["dropped"] == 3
    strict = aeroguard.Outbox(tmp_path / "strict.redb", max_entries=1, when_full="refuse_new")
    strict.push("one")
    with pytest.raises(aeroguard.ConnectionLossError):
        strict.push("two")
    with pytest.raises(ValueError, match="when_full"):
        aeroguard.Outbox(tmp_path / "x.redb", when_full="drop_newest")
    with pytest.raises(ValueError):
        aeroguard.Outbox(tmp_path / "y.redb", max_entries=0)
    with pytest.raises(aeroguard.CoordinationError):
        aeroguard.Outbox(tmp_path / "small.redb")  # held open by `box`


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_deposed_leaders_buffered_appends_are_fenced_out(kind, tmp_path, unique):
    h, client = store(kind)
    series = unique("pump-outbox")
    old = aeroguard.HistoryOutbox(tmp_path / "old-leader.redb")
    old.append(series, 4, [(T0, 1.0), (T0 + 1000, 1.1)], owner="n1")
    h.append(series, 5, [(T0 + 2000, 2.0)], owner="n2")  # a newer term wrote meanwhile
    p = old.forward(h)
    assert (p.sent, p.refused) == (0, 1) and len(old) == 0
    assert [pt[1] for pt in h.range(series)] == [2.0]
    new = aio.HistoryOutbox(str(tmp_path / "new-leader.redb"))
    new.append(series, 5, [(T0 + 3000, 2.1, True, {"votes": 2})], owner="n2")

    async def main():
        return await new.forward(h)

    p = asyncio.run(main())
    assert (p.sent, p.refused, p.stopped) == (1, 0, None)
    assert h.range(series, detail=True)[-1] == (T0 + 3000, 2.1, True, {"votes": 2})
    if client:
        client.close()


def test_an_async_sink_takes_the_records_in_order_and_a_cancelled_pass_keeps_the_rest(tmp_path):
    box = aio.Outbox(str(tmp_path / "async.redb"))
    for i in range(5):
        box.push({"round": i})

    async def main():
        got = []

        async def slow_sink(record):
            await asyncio.sleep(0.05)
            got.append(record["round"])

        async def down(record):
            raise ConnectionError("historian unreachable")

        p = await box.forward(down)
        assert (p.sent, p.stopped) == (0, "historian unreachable") and len(box) == 5
        task = asyncio.ensure_future(box.forward(slow_sink))
        await asyncio.sleep(0.12)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # the pass ends after the record in hand
        taken = len(got)
        assert 1 <= taken < 5 and len(box) == 5 - taken
        p = await box.forward(slow_sink)
        assert p.sent == 5 - taken and got == [0, 1, 2, 3, 4]

    asyncio.run(main())
