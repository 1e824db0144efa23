"""scikit-learn compatibility: `check_estimator` on every detector (the checks that cannot apply to an outlier
detector are listed with the reason), a `Pipeline` with a scaler in front, pickling of fitted detectors and
ensembles, and the detectors new to Python (rules, clustering profiles, ensembles of chosen members)."""

import pickle

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import aeroguard

ORDER = "scores depend on the rows before (a time-series model), so a subset or a reordering scores differently"
SHORT = "needs more rows (about 20) than the check gives it (10 to 15) for its windows and validation split"
QUIET = "its threshold (robust z of its own training scores) flags no row of the check's training blobs"
RULES_QUIET = "rules learned with a margin around the training band flag no row of their own training data"

LEVEL_QUIET = (
    "it scores a rolling mean against the training level in training scatters: the check's training blobs "
    "hold no lasting shift, so it flags none of them"
)
# Rolling means and running statistics carry each row into the next: a row scores differently after others.
ROLLING = {
    "check_methods_subset_invariance": ORDER,
    "check_methods_sample_order_invariance": ORDER,
}

# What each detector cannot pass, and why: every other check must pass.
NEURAL = {
    "check_methods_subset_invariance": ORDER,
    "check_methods_sample_order_invariance": ORDER,
    "check_n_features_in_after_fitting": SHORT,
    "check_estimators_nan_inf": SHORT,
    "check_classifier_data_not_an_array": SHORT,
    "check_fit2d_1feature": SHORT,
    "check_outliers_train": QUIET,
    "check_outliers_fit_predict": QUIET,
}
EXPECTED = {
    "IsolationForest": {},
    "ClusterProfile": {},
    "RuleSet": {
        "check_methods_subset_invariance": "persistence " + ORDER,
        "check_methods_sample_order_invariance": "persistence " + ORDER,
        "check_outliers_train": RULES_QUIET,
        "check_outliers_fit_predict": RULES_QUIET,
    },
    "Autoencoder": NEURAL,
    "ConvAutoencoder": NEURAL,
    "LSTM": NEURAL,
    "LevelShift": {**ROLLING, "check_outliers_train": LEVEL_QUIET, "check_outliers_fit_predict": LEVEL_QUIET},
    "Relations": {**ROLLING, "check_outliers_train": LEVEL_QUIET, "check_outliers_fit_predict": LEVEL_QUIET},
    "Surprise": ROLLING,
}

DETECTORS = [
    aeroguard.IsolationForest(n_estimators=50, random_state=0),
    aeroguard.ClusterProfile(n_clusters=3, random_state=0),
    aeroguard.RuleSet(),
    aeroguard.Autoencoder(epochs=5, random_state=0),
    aeroguard.ConvAutoencoder(window=8, channels=4, epochs=3, random_state=0),
    aeroguard.LSTM(hidden=8, sequence=9, epochs=3, random_state=0),
    # Windows short enough for the check's 10 to 30 rows.
    aeroguard.LevelShift(window=2),
    aeroguard.Relations(window=2),
    aeroguard.Surprise(warmup=2, reestimate=2, history=10, average=1),
]


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: type(d).__name__)
def test_check_estimator(det):
    expected = EXPECTED[type(det).__name__]
    results = check_estimator(det, expected_failed_checks=expected, on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, [(r["check_name"], str(r["exception"])[:300]) for r in failed]
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed <= set(expected), xfailed - set(expected)


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(loc=(0, 10, -5), scale=(1, 3, 0.5), size=(n, 3))])


def test_pipeline_with_a_scaler():
    X = blobs()
    outliers = np.array([[8.0, 40.0, 5.0], [-8.0, -20.0, -15.0]])
    pipe = make_pipeline(StandardScaler(), aeroguard.IsolationForest(contamination=0.01, random_state=0))
    pipe.fit(X)
    assert pipe.predict(outliers).tolist() == [-1, -1]
    assert (pipe.predict(X) == 1).mean() > 0.95
    alone = aeroguard.IsolationForest(contamination=0.01, random_state=0).fit(StandardScaler().fit_transform(X))
    scaled = StandardScaler().fit(X).transform(outliers)
    np.testing.assert_allclose(pipe.decision_function(outliers), alone.decision_function(scaled))


@pytest.mark.parametrize(
    "det",
    [
        aeroguard.IsolationForest(random_state=1),
        aeroguard.ClusterProfile(n_clusters=2),
        aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": -4.0, "max": 4.0}]),
        aeroguard.LSTM(hidden=8, sequence=12, epochs=3),
    ],
    ids=lambda d: type(d).__name__,
)
def test_pickle_round_trip(det):
    X = blobs()
    det.fit(X)
    copy = pickle.loads(pickle.dumps(det))
    assert type(copy) is type(det) and copy.get_params() == det.get_params()
    np.testing.assert_array_equal(copy.score_samples(X), det.score_samples(X))
    np.testing.assert_array_equal(copy.predict(X), det.predict(X))
    model = pickle.loads(pickle.dumps(det.model_))
    np.testing.assert_array_equal(model.score(X), det.model_.score(X))


def test_ensembles_pickle_and_take_chosen_members():
    X = blobs(400)
    recommended = aeroguard.Ensemble.fit(X)
    copy = pickle.loads(pickle.dumps(recommended))
    assert copy.members == recommended.members
    probe = np.array([[0.0, 10.0, -5.0], [8.0, 30.0, 5.0]] * 5)
    assert [v.alarm for v in copy.decide(probe)] == [v.alarm for v in recommended.decide(probe)]

    members = [
        aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": -4.0, "max": 4.0}]).fit(X),
        aeroguard.ClusterProfile(n_clusters=2, whiten=True).fit(X),
        aeroguard.IsolationForest(contamination=0.01, random_state=0).fit(X),
    ]
    both = aeroguard.Ensemble.of(members, m=2)
    assert both.members == ["rules", "kmeans", "isolation_forest"]
    v = both.decide(np.array([[0.0, 10.0, -5.0], [9.0, 40.0, 5.0]]))
    assert [x.alarm for x in v] == [False, True]
    assert [m.vote for m in v[1].members] == ["yes", "yes", "yes"]
    one_of = aeroguard.Ensemble.of([m.model_ for m in members], m=1, k_of=2, window=3)
    streamed = [one_of.update(np.array([9.0, 40.0, 5.0])).alarm for _ in range(3)]
    assert streamed == [False, True, True], "two alarms within three rows"
    assert pickle.loads(pickle.dumps(both)).members == both.members
    with pytest.raises(ValueError, match="members\\[0\\]"):
        aeroguard.Ensemble.of([aeroguard.IsolationForest()])
    with pytest.raises(ValueError, match="together"):
        aeroguard.Ensemble.of(members, k_of=2)
    # Persistence in time: out of range for 30 s of the last minute, from the rows' times.
    timed = aeroguard.Ensemble.of([members[0]], m=1, k_of_seconds=30, window_seconds=60)
    slow = [timed.update(np.array([9.0, 40.0, 5.0]), at_ms=i * 10_000).alarm for i in range(5)]
    assert slow == [False, False, False, True, True], slow
    fast = aeroguard.Ensemble.of([members[0]], m=1, k_of_seconds=30, window_seconds=60)
    assert not any(fast.update(np.array([9.0, 40.0, 5.0]), at_ms=i * 1_000).alarm for i in range(5))
    with pytest.raises(ValueError, match="together"):
        aeroguard.Ensemble.of(members, k_of_seconds=2)
    with pytest.raises(ValueError, match="k_of_seconds"):
        aeroguard.Ensemble.of(members, k_of_seconds=float("nan"), window_seconds=3)
    with pytest.raises(ValueError):
        aeroguard.Ensemble.of(members, k_of_seconds=5, window_seconds=3)
    with pytest.raises(ValueError):
        aeroguard.Ensemble.of(members, m=4)


def test_rules_and_profiles():
    X = blobs()
    learned = aeroguard.RuleSet(rows=2).fit(X)
    spike = np.array([[0.0, 10.0, -5.0], [50.0, 10.0, -5.0], [50.0, 10.0, -5.0], [0.0, 10.0, -5.0]])
    assert learned.is_anomaly(spike).tolist() == [False, False, True, False], "two rows beyond the band"
    with pytest.raises(ValueError, match="sensor"):
        aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 7, "min": 0.0, "max": 1.0}]).fit(X)
    with pytest.raises(ValueError, match="rules\\[0\\]"):
        aeroguard.RuleSet(rules=[{"rule": "nonsense", "sensor": 0}]).fit(X)
    with pytest.raises(ValueError, match="rules\\[1\\].min: a number"):
        aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": 0.0, "max": 1.0},
                                 {"rule": "range", "sensor": 0, "min": "low", "max": 1.0}]).fit(X)
    with pytest.raises(ValueError, match="missing \"level\""):
        aeroguard.RuleSet(rules=[{"rule": "persistence", "sensor": 1, "side": "above"}]).fit(X)
    hot = aeroguard.RuleSet(rules=[{"rule": "persistence", "sensor": 1, "side": "above", "level": 20.0,
                                    "clear": 15.0, "rows": 2}]).fit(X)
    assert hot.is_anomaly(np.array([[0.0, 25.0, -5.0]] * 3 + [[0.0, 17.0, -5.0], [0.0, 10.0, -5.0]])).tolist() == [
        False, True, True, True, False], "alarms after two rows above 20, clears below 15"
    profile = aeroguard.ClusterProfile(n_clusters=1, whiten=True, contamination=0.01).fit(X)
    assert profile.predict(np.array([[0.0, 10.0, -5.0], [0.0, 10.0, 5.0]])).tolist() == [1, -1]
    dbscan = aeroguard.ClusterProfile(algorithm="dbscan", eps=0.8, min_samples=4).fit(X)
    assert dbscan.predict(np.array([[20.0, 10.0, -5.0]])).tolist() == [-1]
    with pytest.raises(ValueError, match="algorithm"):
        aeroguard.ClusterProfile(algorithm="hdbscan").fit(X)


def test_defaults_come_from_the_rust_builders():
    assert aeroguard.IsolationForest().n_estimators == aeroguard._aeroguard.IsolationForestParams.defaults()["n_estimators"]
    assert aeroguard.LSTM().epochs == aeroguard._aeroguard.LstmParams.defaults()["epochs"]
    assert aeroguard.ClusterProfile().n_clusters == aeroguard._aeroguard.ClusterProfileParams.defaults()["n_clusters"]


def test_history_store():
    h = aeroguard.History.memory()
    h.append("pump-1", 3, [(1000, 4.0), (2000, 4.1, True)], owner="n1")
    assert h.range("pump-1") == [(1000, 4.0, None), (2000, 4.1, True)]
    assert h.range("pump-1", 1500, 3000) == [(2000, 4.1, True)]
    assert h.fence("pump-1") == 3
    with pytest.raises(aeroguard.FencedError):
        h.append("pump-1", 2, [(3000, 9.9)], owner="n1")
    with pytest.raises(aeroguard.FencedError, match="belongs to n1"):
        h.append("pump-1", 3, [(3000, 9.9)], owner="n2")
    assert len(h.range("pump-1")) == 2, "a stale or foreign write changes nothing"
    h.append("pump-1", 3, [(3000, 4.2)], owner="n1")
    with pytest.raises(ValueError, match="points\\[0\\]"):
        h.append("pump-1", 3, ["nonsense"], owner="n1")
    with pytest.raises(ValueError):
        h.append("pump-1", 3, [(4000, float("nan"))], owner="n1")
    with pytest.raises(ValueError, match="owner"):
        h.append("pump-1", 4, [(4000, 1.0)], owner="not a node id")
    with aeroguard.Client("memory", node="hist") as c, pytest.raises(ValueError, match="Redis"):
        c.history()


def test_sizes_past_the_limits_are_value_errors_not_aborts():
    # Each of these once aborted the interpreter (an allocation of 10**12 units).
    x = np.random.default_rng(0).normal(size=(60, 3))
    for make in (
        lambda: aeroguard.LSTM(hidden=10**12).fit(x),
        lambda: aeroguard.Autoencoder(window=10**12).fit(x),
        lambda: aeroguard.IsolationForest(n_estimators=10**12).fit(x),
    ):
        with pytest.raises(ValueError, match="limit"):
            make()
    # Each size within its limit, their product past what training may take: refused before any allocation.
    wide = np.random.default_rng(0).normal(size=(1_200, 16))
    for make in (
        lambda: aeroguard.Autoencoder(window=1000, hidden=4096).fit(wide),
        lambda: aeroguard.LSTM(hidden=4096, sequence=10_000).fit(wide),
    ):
        with pytest.raises(ValueError, match="network size.*GiB"):
            make()
    tall = np.random.default_rng(0).normal(size=(100_000, 1))
    with pytest.raises(ValueError, match="forest size.*GiB"):
        aeroguard.IsolationForest(n_estimators=10_000, max_samples=100_000).fit(tall)
    # Past what a machine word holds: still a ValueError (PyO3 alone raises OverflowError), as is a negative count.
    for bad in (10**30, -1):
        with pytest.raises(ValueError, match="out of range"):
            aeroguard.LSTM(hidden=bad).fit(x)
        with pytest.raises(ValueError, match="out of range"):
            aeroguard.IsolationForest(n_estimators=bad).fit(x)
