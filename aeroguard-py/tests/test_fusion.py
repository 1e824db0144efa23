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
