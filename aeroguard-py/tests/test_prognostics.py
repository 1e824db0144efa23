"""Prognostics from Python: numpy in and out, scikit-learn's habits, errors that name what was wrong."""

import numpy as np
import pytest

import aeroguard
from aeroguard.prognostics import Forecaster, HealthTracker, RemainingLife


def fleet(units: int) -> "list[np.ndarray]":
    """Units whose second column climbs with wear; the first is flat, the third unrelated."""
    out = []
    for u in range(units):
        life = 50 + (u * 37) % 60
        t = np.arange(life, dtype=float)
        wear = (t / life) ** 2 * 10.0 + 0.05 * (((t * 31 + u * 17) % 11) - 5.0)
        out.append(np.column_stack([np.full(life, 7.0), wear, (t * 13 + u) % 7]))
    return out


def test_forecaster_forecasts_a_trend_and_its_crossing() -> None:
    y = 20.0 + 0.5 * np.arange(300) + np.random.default_rng(1).normal(0.0, 0.3, 300)
    f = Forecaster(coverage=0.9).fit(y)
    mean = f.predict(10)
    low, high = f.predict_interval(10)
    assert mean.shape == low.shape == high.shape == (10,)
    assert abs(mean[-1] - (20.0 + 0.5 * 309)) < 2.0
    assert np.all(low < mean) and np.all(mean < high)
    wide_low, wide_high = f.predict_interval(10, spread=5.0)
    assert np.all(wide_high - wide_low > high - low)
    crossing = f.time_to_limit(200.0)  # from about 170 at 0.5 a step
    assert crossing is not None
    steps, earliest, latest = crossing
    assert abs(steps - 61) <= 3 and earliest <= steps
    assert latest is None or latest >= steps
    assert f.time_to_limit(0.0, rising=False, horizon=50) is None
    assert f.trend_ in ("additive", "damped") and f.period_ == 1
    f.update(170.0)
    with pytest.raises(ValueError, match="non-finite"):
        f.update(float("nan"))


def test_forecaster_refuses_bad_input_and_use_before_fit() -> None:
    with pytest.raises(aeroguard.NotFittedError):
        Forecaster().predict(3)
    with pytest.raises(ValueError, match="coverage"):
        Forecaster(coverage=1.0)
    with pytest.raises(ValueError, match="period"):
        Forecaster(period=0)
    with pytest.raises(ValueError, match="at least 4"):
        Forecaster().fit(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="observation 1"):
        Forecaster().fit(np.array([1.0, np.inf, 2.0, 3.0, 4.0]))
    f = Forecaster().fit(np.arange(30, dtype=float))
    with pytest.raises(ValueError, match="horizon"):
        f.predict(0)


def test_remaining_life_fits_predicts_and_streams() -> None:
    units = fleet(9)
    model = RemainingLife(folds=3, bins=2).fit(units)
    assert model.columns_ == [1]
    rul = model.predict(units[4])
    low, high = model.predict_interval(units[4])
    assert rul.shape == (units[4].shape[0],)
    assert np.all(low <= rul) and np.all(rul <= high) and np.all(low >= 0.0) and np.all(high <= 125.0)
    assert rul[0] > rul[-1] + 20.0
    stream = model.stream()
    for i, row in enumerate(units[4]):
        estimate, lo, hi = stream.push(row)
        assert estimate == pytest.approx(rul[i]) and lo == pytest.approx(low[i]) and hi == pytest.approx(high[i])
    assert stream.cycles == units[4].shape[0]
    with pytest.raises(ValueError, match="has 2 columns, expected 3"):
        stream.push(np.array([1.0, 2.0]))
    assert stream.cycles == units[4].shape[0]


def test_remaining_life_refuses_bad_histories() -> None:
    with pytest.raises(aeroguard.NotFittedError):
        RemainingLife().predict(np.zeros((3, 3)))
    units = fleet(6)
    with pytest.raises(ValueError, match="needs at least 5 units, got 2"):
        RemainingLife().fit(units[:2])
    bad = [u.copy() for u in units]
    bad[2][4, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite value in column 1"):
        RemainingLife(folds=3).fit(bad)
    with pytest.raises(ValueError, match="coverage"):
        RemainingLife(folds=3, coverage=2.0).fit(units)


def test_health_flags_a_drifting_sensor_before_it_leaves_its_tolerance() -> None:
    tracker = HealthTracker(0.16)
    rng = np.random.default_rng(3)
    flagged = None
    for r in range(80):
        drift = 0.005 * max(0, r - 19)
        values = 4.0 + rng.normal(0.0, 0.02, 5)
        values[2] += drift
        readings = {f"s{i}": float(v) for i, v in enumerate(values)}
        for h in tracker.observe(float(np.median(values)), readings):
            if h.sensor != "s2":
                assert h.status == "healthy", h
            elif h.status == "drifting" and flagged is None:
                assert h.time_to_tolerance is not None and h.drift > 0.0
                flagged = (r, h.time_to_tolerance[0])
    assert flagged is not None
    round_, steps = flagged
    assert round_ + steps < 19 + 0.16 / 0.005 + 5
    with pytest.raises(ValueError, match="tolerance"):
        HealthTracker(0.0)
    with pytest.raises(ValueError, match="fused value"):
        tracker.observe(float("nan"), {"s0": 1.0})
