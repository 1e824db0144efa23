import json

import numpy as np
import pytest

import aeroguard
import aeroguard._sklearn


def normal(rows=500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(rows) / 8.0
    return np.column_stack([np.sin(t), 2 * np.sin(t) + 0.5, np.cos(t)]) + 0.05 * rng.normal(size=(rows, 3))


def quick(cls):
    if cls is aeroguard.IsolationForest:
        return cls(random_state=0)
    return cls(epochs=15, random_state=0)


DETECTORS = [aeroguard.IsolationForest, aeroguard.Autoencoder, aeroguard.ConvAutoencoder, aeroguard.LSTM]


@pytest.mark.parametrize("cls", DETECTORS)
def test_sklearn_conventions(cls):
    X = normal()
    det = quick(cls)
    assert "random_state" in det.get_params()
    assert det.fit(X) is det
    s, d, p = det.score_samples(X), det.decision_function(X), det.predict(X)
    assert s.shape == d.shape == p.shape == (500,)
    assert set(np.unique(p)) <= {-1, 1}
    assert np.array_equal(p == -1, det.is_anomaly(X)), "predict -1 exactly where is_anomaly"
    assert np.array_equal(d < 0, p == -1)
    np.testing.assert_allclose(d, s - det.offset_)
    with pytest.raises(TypeError):
        cls(0)  # keyword-only


@pytest.mark.parametrize("cls", DETECTORS)
def test_streaming_save_load(cls):
    X = normal()
    det = quick(cls).fit(X)
    batch = det.anomaly_score(X[:50])
    det.reset()
    stream = np.array([det.update(r) for r in X[:50]])
    np.testing.assert_allclose(stream, batch, rtol=1e-9, atol=1e-12)
    again = type(det).load(det.save())
    np.testing.assert_array_equal(again.anomaly_score(X), det.anomaly_score(X))
    assert again.get_params() == det.get_params()


def test_a_fault_scores_above_threshold():
    X = normal(600)
    det = aeroguard.IsolationForest(random_state=0, contamination=0.01).fit(X)
    broken = X[:20] + 9.0
    assert det.predict(broken).tolist() == [-1] * 20


@pytest.mark.parametrize("sklearn_checks", [True, False])
def test_bad_input(sklearn_checks, monkeypatch):
    """Bad input is a ValueError naming what was wrong, with scikit-learn's checks and with the package's own
    (what a user without scikit-learn gets)."""
    if not sklearn_checks:
        monkeypatch.setattr(aeroguard._sklearn, "_SKLEARN", False)
        monkeypatch.setattr(aeroguard._sklearn, "_validate_data", None)
    X = normal()
    det = aeroguard.IsolationForest(random_state=0)
    with pytest.raises(aeroguard.NotFittedError):
        det.predict(X)
    det.fit(X)
    with pytest.raises(ValueError, match="features"):
        det.predict(np.zeros((3, 5)))
    bad = X[:10].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        det.predict(bad)
    with pytest.raises(ValueError, match="values"):
        det.update([1.0, 2.0])
    with pytest.raises(ValueError):
        aeroguard.IsolationForest(n_estimators=0).fit(X)
    with pytest.raises(ValueError):
        aeroguard.LSTM(epochs=1).fit(X[:10])
    with pytest.raises(ValueError, match="2D array|dim"):
        det.predict(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="2D array"):
        det.predict(np.zeros(3))
    with pytest.raises(aeroguard.ModelError):
        aeroguard.IsolationForest.load("{not json")
    with pytest.raises(aeroguard.ModelError):
        aeroguard.IsolationForest.load('{"params": {}, "model": "{}"}')


def test_ensemble_vote_record():
    X = normal(400)
    ens = aeroguard.Ensemble.fit(X)
    assert ens.members == ["rules", "kmeans", "isolation_forest"]
    verdicts = ens.decide(X)
    assert len(verdicts) == 400
    assert sum(v.alarm for v in verdicts) < 40
    broken = X[:30] + 50.0
    out = [ens.update(r) for r in broken]
    assert out[-1].alarm
    rec = out[-1].members
    assert [m.name for m in rec] == ens.members
    assert {m.vote for m in rec} <= {"yes", "no", "abstained", "failed"}
    assert sum(m.vote == "yes" for m in rec) >= 2
    # Every column moved by 50: each yes vote that can tell names columns, shares summing to at most 1.
    for m in rec:
        if m.vote == "yes":
            assert all(0 <= c < 3 and 0 < s <= 1 for c, s in m.drivers)
            assert sum(s for _, s in m.drivers) <= 1 + 1e-9
    assert any(m.drivers for m in rec if m.vote == "yes")
    assert all(not m.drivers for v in verdicts for m in v.members), "batches name no drivers"
    again = aeroguard.Ensemble.load(ens.save())
    assert [v.alarm for v in again.decide(X[:50])] == [v.alarm for v in verdicts[:50]]
    with pytest.raises(ValueError, match="columns"):
        ens.update(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        ens.decide(np.full((3, 3), np.nan))


def test_without_scikit_learn():
    """Where scikit-learn is not installed, the detectors keep the same API (its protocol stands in)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # every `import sklearn...` now fails as if it were not installed
        import numpy as np
        import aeroguard
        X = np.random.default_rng(0).normal(size=(300, 2))
        f = aeroguard.IsolationForest(contamination=0.01, random_state=0)
        assert f.get_params()["contamination"] == 0.01 and "IsolationForest(" in repr(f)
        assert f.set_params(n_estimators=20) is f and f.n_estimators == 20
        assert f.fit_predict(X).tolist().count(-1) >= 1
        assert f.predict(np.array([[9.0, 9.0]])).tolist() == [-1]
        try:
            aeroguard.ClusterProfile().predict(X)
        except aeroguard.NotFittedError as e:
            assert isinstance(e, ValueError) and isinstance(e, AttributeError)
        else:
            raise AssertionError("unfitted predict must raise")
        try:
            f.set_params(nope=1)
        except ValueError:
            pass
        else:
            raise AssertionError("unknown parameter must raise")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_level_shift_learns_slow_sensors_and_holds_its_alarm():
    rng = np.random.default_rng(3)
    rows = 400
    # Column 0 is noise around 5; column 1 drifts upward (a temperature), which the model must leave out.
    X = np.column_stack([5 + rng.normal(size=rows), 20 + 0.05 * np.arange(rows)])
    det = aeroguard.LevelShift(window=10, z=8.0, release=0.5)
    assert det.get_params() == {
        "window": 10, "z": 8.0, "release": 0.5, "slow_below": 0.3, "slow_weight": 0.0, "settle": None,
    }
    det.fit(X)
    assert json.loads(json.loads(det.save())["model"])["roles"] == ["level", "slow"]
    later = np.column_stack([5 + rng.normal(size=60), 60 + 0.05 * np.arange(60)])
    later[20:40, 0] += 4.0  # a step of four scatters of the raw noise, far more of its 10-row mean
    flags = det.is_anomaly(later)
    assert not flags[:20].any(), "the drift alone raises nothing"
    assert flags[30:40].all(), "the step does"
    # Streaming gives the batch's scores, and a saved model the same.
    batch = det.score_samples(later)
    again = aeroguard.LevelShift.load(det.save())
    np.testing.assert_allclose([-again.update(r) for r in later], batch)
    # Far past its training range, the drift alarms when every sensor is scored, and not when it is left out.
    far = later[:20] + np.array([0.0, 140.0])
    every = aeroguard.LevelShift(window=10, z=8.0, slow_below=None).fit(X)
    assert every.is_anomaly(far).all()
    assert not det.is_anomaly(far).any()
    # Damped to a tenth, a jump of about 140 scatters of the drifting sensor alarms (14 > 8) where the far drift
    # (about 23 scatters, so 2.3) does not; left out, neither does.
    damped = aeroguard.LevelShift(window=10, z=8.0, slow_weight=0.1).fit(X)
    jump = later[:20] + np.array([0.0, 1000.0])
    assert damped.is_anomaly(jump).all()
    assert not damped.is_anomaly(far).any()
    assert not det.is_anomaly(jump).any()
    for bad in [dict(window=0), dict(z=float("nan")), dict(release=1.5), dict(slow_below=2.0), dict(slow_weight=-1.0)]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            aeroguard.LevelShift(**bad).fit(X)
    with pytest.raises(ValueError, match="NaN|finite"):
        det.update(np.array([np.nan, 1.0]))


def test_relations_flags_a_broken_relation_that_no_range_shows():
    rng = np.random.default_rng(5)
    rows = 400
    # The pump's current and the flow both follow an erratic load; pressure is on its own.
    load = rng.uniform(-0.5, 0.5, rows + 60)
    X = np.column_stack(
        [10 + 0.5 * load, 20 + load, 3 + 0.2 * rng.uniform(-0.5, 0.5, rows + 60)]
    ) + 0.02 * rng.normal(size=(rows + 60, 3))
    det = aeroguard.Relations(window=5, z=8.0)
    assert det.get_params() == {
        "window": 5, "z": 8.0, "release": 0.6, "slow_below": 0.3, "ridge": 0.001, "settle": None,
    }
    det.fit(X[:rows])
    later = X[rows:].copy()
    assert not det.is_anomaly(later).any(), "the relation holds: quiet"
    later[30:, 1] -= 0.2  # flow falls a fifth of its swing, the current holds: each stays in its range
    flags = det.is_anomaly(later)
    assert not flags[:30].any() and flags[36:].all()
    # A level shift on the same rows sees nothing: the fall is inside the flow's own scatter.
    shift = aeroguard.LevelShift(window=5, z=8.0).fit(X[:rows])
    assert not shift.is_anomaly(later).any()
    batch = det.score_samples(later)
    again = aeroguard.Relations.load(det.save())
    np.testing.assert_allclose([-again.update(r) for r in later], batch)
    for bad in [dict(window=0), dict(z=-1.0), dict(release=0.0), dict(ridge=float("nan"))]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            aeroguard.Relations(**bad).fit(X)
    with pytest.raises(ValueError, match="NaN|finite"):
        det.update(np.array([1.0, np.inf, 2.0]))


@pytest.mark.parametrize("cls", [aeroguard.LevelShift, aeroguard.Relations])
def test_settle_ends_the_alarm_when_the_fault_ends_off_the_training_level(cls):
    rng = np.random.default_rng(7)
    # Two sensors that move together; a fault lifts both far, and after it they stay a little off where
    # they were trained (the relation between them breaks the same way, for the relations model).
    base = rng.normal(size=(400 + 260, 1))
    X = np.column_stack([10 + base[:, 0], 20 + 2 * base[:, 0]]) + 0.05 * rng.normal(size=(660, 2))
    later = X[400:].copy()
    later[20:80, 0] += 30.0  # the fault
    later[80:, 0] += 3.0  # the after-effect
    kw = dict(window=5, z=8.0, slow_below=None)
    plain = cls(**kw).fit(X[:400])
    settled = cls(**kw, settle=(0.3, 1.0, 400)).fit(X[:400])
    assert settled.get_params()["settle"] == (0.3, 1.0, 400)
    p, s = plain.is_anomaly(later), settled.is_anomaly(later)
    assert not p[:20].any() and not s[:20].any()
    assert p[25:80].all() and s[25:80].all(), "both flag the fault"
    assert p[100:].all(), "without settle, the after-effect holds the alarm"
    assert not s[100:].any(), "with it, the alarm ends with the fault"
    # Saved and loaded (the parameters come back from JSON as a list), streaming gives the batch's scores.
    again = cls.load(settled.save())
    np.testing.assert_allclose([-again.update(r) for r in later], settled.score_samples(later))
    for bad, name in [((1.0, 1.0, 10), "peak_release"), ((0.3, -1.0, 10), "rearm"), ((0.3, 1.0, 0), "rows"),
                      ((0.3, 1.0), "settle"), ("abc", "settle"), ((0.3, 1.0, 10**30), "out of range")]:
        with pytest.raises(ValueError, match=name):
            cls(**kw, settle=bad).fit(X[:400])


def test_full_ensemble_weighs_the_level_members_three_and_no_member_decides_alone():
    X = normal()
    ens = aeroguard.Ensemble.fit(X, neural=True)
    assert ens.members == [
        "rules", "kmeans", "isolation_forest", "conv_autoencoder", "lstm", "level_shift", "relations", "subspace",
    ]
    v = ens.update(X[0])
    assert [r.weight for r in v.members] == [1.0] * 5 + [3.0] * 3
    i = ens.integrity
    assert i.holds and i.forcing == [] and i.suppressing == [] and i.warnings == []
    assert (i.m, i.total) == (5.0, 14.0)


def test_integrity_names_the_member_that_decides_alone():
    X = normal()
    a = aeroguard.IsolationForest(random_state=0).fit(X)
    b = aeroguard.ClusterProfile().fit(X)
    i = aeroguard.Ensemble.of([a, b], m=2).integrity
    assert not i.holds
    assert i.suppressing == ["isolation_forest", "kmeans"]
    assert "member `isolation_forest` suppresses every alarm" in i.warnings[0]
    assert aeroguard.Ensemble.of([a, b], m=1).integrity.forcing == ["isolation_forest", "kmeans"]


def test_a_member_stuck_alarming_is_diagnosed_and_left_out():
    X = normal()
    shift = aeroguard.LevelShift().fit(X)
    profile = aeroguard.ClusterProfile().fit(X)
    # Its band excludes every normal value: it votes yes on every row, alone.
    stuck = aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": 100.0, "max": 200.0}]).fit(X)
    ens = aeroguard.Ensemble.of([shift, profile, stuck], m=2)
    out = [ens.update(r) for r in X[:200]]
    first = next(k for k, v in enumerate(out) if v.members[2].fault is not None)
    assert first == 149, "flagged once it alarmed alone on half of the 300-row window"
    assert out[-1].members[2].vote == "yes"
    assert "voted yes alone" in out[-1].members[2].fault
    assert out[-1].degraded and out[-1].available == 2.0 and out[-1].required == 2.0
    i = ens.integrity
    assert i.left_out == ["rules"] and i.degraded_rows == 200 - first
    assert not any(v.alarm for v in out)


def test_a_fault_on_one_column_is_named_in_the_vote_record():
    # Column 2 (columns 0 and 1 move together exactly, so a fault on one of them is harder to tell apart).
    X = normal(600)
    ens = aeroguard.Ensemble.fit(X)
    later = normal(300, seed=5)
    for r in later[:200]:
        ens.update(r)
    named = []
    for r in later[200:]:
        r = r.copy()
        r[2] += 3.0
        v = ens.update(r)
        named += [m.drivers[0][0] for m in v.members if m.vote == "yes" and m.drivers]
    assert len(named) > 20
    assert named.count(2) >= 0.9 * len(named), named


def test_surprise_flags_a_spike_in_a_single_metric_and_keeps_learning():
    rng = np.random.default_rng(11)
    t = np.arange(2000)
    metric = (100 + 10 * np.sin(t / 50) + rng.normal(scale=0.3, size=t.size)).reshape(-1, 1)
    det = aeroguard.Surprise(history=1000)
    assert det.get_params() == {
        "window": 6400, "warmup": 30, "average": 10, "history": 1000, "reestimate": 100, "filter": True, "spatial": 0.05,
        "tail": 1e-5,
    }
    det.fit(metric[:500])
    assert det.threshold_ == pytest.approx(0.5, abs=1e-6)
    later = metric[500:].copy()
    assert not det.is_anomaly(later).any(), "the wave and its noise are normal"
    later[700, 0] += 6.0  # inside the range the metric has shown, twenty times its noise
    flags = det.is_anomaly(later)
    assert flags[700] and not flags[:700].any() and flags.sum() <= 3
    # Streaming gives the batch's scores, and a saved model the same.
    batch = det.score_samples(later)
    again = aeroguard.Surprise.load(det.save())
    np.testing.assert_allclose([-again.update(r) for r in later], batch)
    for bad in [dict(window=1), dict(history=1), dict(reestimate=1), dict(tail=0.0), dict(spatial=-1.0)]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            aeroguard.Surprise(**bad).fit(metric)
    with pytest.raises(ValueError, match="rows"):
        aeroguard.Surprise().fit(metric[:50])
    with pytest.raises(ValueError, match="NaN|finite"):
        det.update(np.array([np.nan]))
