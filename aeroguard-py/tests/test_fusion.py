import numpy as np
import pytest

import aeroguard


def test_every_strategy_on_lists_and_arrays():
    values = [10.0, 10.2, 9.9, 10.1, 10.05]
    for strategy in aeroguard.STRATEGIES:
        kwargs = {"half_width": 0.5}
        if strategy == "mid_value_select":
            v = values[:3]
        else:
            v = values
        if strategy in ("median", "trimmed_mean", "marzullo", "brooks_iyengar"):
            kwargs["f"] = 1
        est = aeroguard.fuse(np.array(v), strategy=strategy, **kwargs)
        assert 9.9 <= est.value <= 10.2, (strategy, est)
        assert est.strategy == strategy
        assert len(est.used) + len(est.excluded) == len(v)


def test_exclusions_say_why():
    est = aeroguard.fuse([10.0, 10.2, 9.9, 55.0, float("nan")], f=1, half_width=0.5, sensors=["a", "b", "c", "d", "e"])
    reasons = dict(est.excluded)
    assert set(reasons) == {"d", "e"}
    assert "agreement" in reasons["d"] and "non-finite" in reasons["e"]
    lo, hi = est.interval
    assert lo <= est.value <= hi


def test_bad_requests_are_typed_errors():
    with pytest.raises(ValueError, match="unknown strategy"):
        aeroguard.fuse([1.0, 2.0], strategy="magic")
    with pytest.raises(ValueError, match="half_width"):
        aeroguard.fuse([1.0, 2.0, 3.0], half_width=[0.1, 0.2])
    with pytest.raises(ValueError, match="one-dimensional"):
        aeroguard.fuse([[1.0, 2.0]])
    with pytest.raises(ValueError):
        aeroguard.fuse([1.0, 2.0], strategy="mean", f=1)
    with pytest.raises(aeroguard.FusionError):
        aeroguard.fuse([1.0, 50.0, 100.0], f=1, half_width=0.1)
    with pytest.raises(aeroguard.FusionError):
        aeroguard.fuse([], f=0, half_width=0.1)
    assert issubclass(aeroguard.FusionError, aeroguard.AeroGuardError)


def test_large_input_fuses():
    v = np.random.default_rng(1).normal(5.0, 0.01, size=10_000)
    est = aeroguard.fuse(v, strategy="median", f=100)
    assert abs(est.value - 5.0) < 0.01


def test_tags_with_times_and_qualities_exclude_the_bad_and_the_stale():
    import datetime as dt

    now = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.timezone.utc)
    times = [now - dt.timedelta(seconds=1), now - dt.timedelta(seconds=2), now, now - dt.timedelta(minutes=1)]
    est = aeroguard.fuse(
        [11.6, 11.8, 30.0, 11.7],
        f=0,
        strategy="median",
        sensors=["ft-1", "ft-2", "ft-3", "ft-4"],
        times=times,
        qualities=["Good", "UncertainLastUsableValue", "BadSensorFailure", 0],
        max_age=dt.timedelta(seconds=5),
        now=now,
    )
    assert est.used == ["ft-1", "ft-2"]
    assert dict(est.excluded) == {"ft-3": "quality flagged bad", "ft-4": "stale: 60000 ms old, max 5000 ms"}
    assert est.degraded is None
    # The same times as numpy datetime64 and as epoch seconds; OPC UA status codes as integers.
    as_np = np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[ms]")
    as_seconds = [t.timestamp() for t in times]
    for t in (as_np, as_seconds):
        again = aeroguard.fuse(
            [11.6, 11.8, 30.0, 11.7],
            strategy="median",
            times=t,
            qualities=[0, 0x40000000, 0x80000000, 0],
            max_age=5.0,
            now=now.timestamp(),
        )
        assert again.value == est.value and len(again.excluded) == 2


def test_too_few_usable_tags_raise_or_degrade_as_asked():
    tags = dict(f=1, half_width=0.1, qualities=["good", "good", "bad"])
    with pytest.raises(aeroguard.FusionError, match="needs at least 3 usable readings"):
        aeroguard.fuse([4.02, 3.98, 9.0], **tags)
    est = aeroguard.fuse([4.02, 3.98, 9.0], when_too_few="median", **tags)
    assert est.strategy == "median" and abs(est.value - 4.0) < 1e-9
    assert "needs at least 3 usable readings" in est.degraded
    mean = aeroguard.fuse([4.02, 3.98, 9.0], when_too_few="mean", **tags)
    assert mean.strategy == "mean" and mean.degraded
    # Nothing usable: still an error, degraded or not.
    with pytest.raises(aeroguard.FusionError):
        aeroguard.fuse([1.0], when_too_few="median", f=1, half_width=0.1, qualities=["bad"])


def test_malformed_tags_are_value_errors_naming_what_was_wrong():
    with pytest.raises(ValueError, match=r"qualities\[1\]"):
        aeroguard.fuse([1.0, 2.0], strategy="mean", qualities=["good", "so-so"])
    with pytest.raises(ValueError, match=r"times\[0\]"):
        aeroguard.fuse([1.0], strategy="mean", times=[float("nan")])
    with pytest.raises(ValueError, match="times for 2 readings"):
        aeroguard.fuse([1.0, 2.0], strategy="mean", times=[0.0])
    with pytest.raises(ValueError, match="max_age"):
        aeroguard.fuse([1.0], strategy="mean", max_age=-1.0)
    with pytest.raises(ValueError, match="when_too_few"):
        aeroguard.fuse([1.0], strategy="mean", when_too_few="guess")
    with pytest.raises(ValueError, match="fallback"):
        aeroguard.fuse([1.0], strategy="mean", when_too_few="brooks_iyengar")


def test_a_batch_of_rows_fuses_each_row_with_its_tags_own_times_and_qualities():
    values = np.array([[11.6, 11.8, 30.0, 11.7], [11.5, 11.9, 11.7, 11.6], [11.4, 9.0, 11.6, 11.5]])
    t0 = np.datetime64("2026-12-07T12:00:00", "ms")
    times = np.array([[t0, t0, t0, t0 - np.timedelta64(60, "s")]] * 3) + np.arange(3)[:, None] * np.timedelta64(1, "s")
    qualities = np.array([["good", "good", "BadSensorFailure", "good"]] * 2 + [["good", "bad", "good", "good"]])
    rows = aeroguard.fuse_rows(values, strategy="median", f=0, times=times, qualities=qualities, max_age=5.0,
                               sensors=["a", "b", "c", "d"])
    assert len(rows) == 3
    assert np.allclose(rows.values, [11.7, 11.7, 11.5])
    assert rows.excluded[0] == [("c", "quality flagged bad"), ("d", "stale: 60000 ms old, max 5000 ms")]
    assert rows.excluded[2][0] == ("b", "quality flagged bad")
    assert rows[-1].used == ["a", "c"] and rows.degraded == [None, None, None]
    assert np.isnan(rows.low).all()
    # Each row's result is what fuse gives for that row alone.
    for i in range(3):
        one = aeroguard.fuse(values[i], strategy="median", f=0, times=times[i], qualities=list(qualities[i]),
                             max_age=5.0, now=times[i].max(), sensors=["a", "b", "c", "d"])
        assert one.value == rows.values[i] and one.excluded == rows.excluded[i]


def test_a_batch_row_that_cannot_be_fused_is_named_or_degraded():
    values = np.array([[4.02, 3.98, 4.0], [4.02, 3.98, 9.0]])
    codes = np.array([[0, 0, 0], [0, 0, 0x80000000]], dtype=np.uint32)
    with pytest.raises(aeroguard.FusionError, match="row 1"):
        aeroguard.fuse_rows(values, f=1, half_width=0.1, qualities=codes)
    rows = aeroguard.fuse_rows(values, f=1, half_width=0.1, qualities=codes, when_too_few="median")
    assert rows.degraded[0] is None and "needs at least 3" in rows.degraded[1]
    assert rows[1].strategy == "median" and rows[0].strategy == "brooks_iyengar"
    assert not np.isnan(rows.low[0]) and np.isnan(rows.low[1])
    with pytest.raises(ValueError, match="rows × tags"):
        aeroguard.fuse_rows([1.0, 2.0])
    with pytest.raises(ValueError, match="qualities has shape"):
        aeroguard.fuse_rows(values, qualities=[["good"]])
    with pytest.raises(ValueError, match="times has shape"):
        aeroguard.fuse_rows(values, strategy="mean", times=np.zeros((3, 3)))
    with pytest.raises(IndexError):
        rows[2]
