"""The fenced history from Python, in memory and on the real Redis: vote records stored with their points, the
newest points, compaction into buckets, the awaitable twins."""

import asyncio

import numpy as np
import pytest

import aeroguard
from aeroguard import aio
from conftest import REDIS_AUTH, REDIS_CA, SENTINEL_AUTH, SENTINELS

T0 = 1_699_999_980_000  # on a minute, so buckets line up with it


def store(kind):
    if kind == "memory":
        return aeroguard.History.memory(), None
    client = aeroguard.Client(
        "redis",
        node="historian",
        sentinels=SENTINELS,
        session_timeout=2.0,
        redis_auth=REDIS_AUTH,
        sentinel_auth=SENTINEL_AUTH,
        redis_ca=REDIS_CA,
    )
    return client.history(), client


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_vote_records_travel_with_their_points(kind, unique):
    h, client = store(kind)
    series = unique("pump-vote")
    X = np.random.default_rng(0).normal(size=(300, 2))
    ens = aeroguard.Ensemble.of([aeroguard.ClusterProfile().fit(X), aeroguard.IsolationForest(random_state=0).fit(X)], m=2)
    v = ens.update(np.array([9.0, -9.0]))
    assert v.alarm
    h.append(series, 7, [(T0, 4.2, v.alarm, v.record()), (T0 + 1000, 4.3)], owner="n1")
    (at, value, alarm, detail), (_, _, _, none) = h.range(series, detail=True)
    assert (at, value, alarm, none) == (T0, 4.2, True, None)
    assert detail["alarm"] and [m["name"] for m in detail["members"]] == ["kmeans", "isolation_forest"]
    assert [m["vote"] for m in detail["members"]] == ["yes", "yes"]
    assert detail["members"][0]["score"] == pytest.approx(v.members[0].score)
    assert h.range(series) == [(T0, 4.2, True), (T0 + 1000, 4.3, None)]
    with pytest.raises(ValueError, match=r"points\[0\]\.detail: .*at most 65536"):
        h.append(series, 7, [(T0 + 2000, 1.0, None, {"x": "a" * 70_000})], owner="n1")
    with pytest.raises(ValueError, match=r"points\[0\]\.detail"):
        h.append(series, 7, [(T0 + 2000, 1.0, None, {"x": object()})], owner="n1")
    big = {"x": "a" * 60_000}  # under the per-point limit; 300 of them pass the per-call one
    with pytest.raises(ValueError, match=r"points\[279\]\.detail: the details of one call pass"):
        h.append(series, 7, [(T0 + 3000 + i, 1.0, None, big) for i in range(300)], owner="n1")
    assert len(h.range(series)) == 2, "nothing of the refused call was stored"
    if client:
        client.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_latest_buckets_and_a_fenced_compaction(kind, unique):
    h, client = store(kind)
    series = unique("pump-compact")
    points = [(T0 + i * 1000, float(i)) for i in range(600)]  # ten minutes, one a second
    h.append(series, 3, points, owner="n1")
    assert h.latest(series, 3) == [(T0 + 597_000, 597.0, None), (T0 + 598_000, 598.0, None), (T0 + 599_000, 599.0, None)]
    with pytest.raises(ValueError, match="at most 10,000"):
        h.latest(series, 10_001)
    now = T0 + 600_000
    with pytest.raises(aeroguard.FencedError):
        h.compact(series, 2, owner="n1", keep=3600, raw=300, bucket=60, now_ms=now)
    with pytest.raises(ValueError, match="raw"):
        h.compact(series, 3, owner="n1", keep=60, raw=300, now_ms=now)
    done = h.compact(series, 3, owner="n1", keep=3600, raw=300, bucket=60, now_ms=now)
    assert done["dropped"] == 0 and done["folded"] == 300 and done["steps"] >= 1
    raw = h.range(series)
    assert len(raw) == 300 and raw[0][0] == T0 + 300_000, "the last five minutes stay raw"
    buckets = h.buckets(series)
    assert [b[0] for b in buckets] == [T0 + k * 60_000 for k in range(5)]
    assert [b[5] for b in buckets] == [60] * 5
    first = buckets[0]
    assert first[1] == 60_000 and first[2] == 0.0 and first[3] == 59.0 and first[4] == pytest.approx(29.5)
    dropped = h.compact(series, 3, owner="n1", keep=100, now_ms=now)
    assert dropped["dropped"] == 200 and len(h.range(series)) == 100
    if client:
        client.close()


def test_the_awaitable_history_reads_as_the_blocking_one():
    async def main():
        h = aio.History.memory()
        await h.append("pump-a", 1, [(T0 + i, float(i), None, {"i": i}) for i in range(20)], owner="n1")
        assert [p[3]["i"] for p in await h.latest("pump-a", 2, detail=True)] == [18, 19]
        done = await h.compact("pump-a", 1, owner="n1", keep=3600, raw=0.010, bucket=0.005, now_ms=T0 + 20)
        assert done["folded"] == 10
        assert [b[5] for b in await h.buckets("pump-a")] == [5, 5]
        assert len(await h.range("pump-a")) == 10

    asyncio.run(main())
