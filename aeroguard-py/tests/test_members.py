"""A plant's own models and rules voting in an Ensemble beside AeroGuard's members."""

import pickle

import numpy as np
import pytest
from pyod.models.knn import KNN
from sklearn.ensemble import IsolationForest as SkIsolationForest
from sklearn.neighbors import LocalOutlierFactor

import aeroguard


def normal(rows=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(rows) / 8.0
    return np.column_stack([np.sin(t), 2 * np.sin(t) + 0.5, np.cos(t)]) + 0.05 * rng.normal(size=(rows, 3))


def upset(rows=40):
    x = normal(rows, seed=1)
    x[:, 1] += 6.0
    return x


def test_sklearn_pyod_and_a_plain_rule_vote_with_aeroguard_members():
    X = normal()
    ours = aeroguard.IsolationForest(random_state=0).fit(X)
    sk = SkIsolationForest(random_state=0).fit(X)
    pyod = KNN().fit(X)
    rule = aeroguard.Member(lambda x: x[:, 1] > 4.0, name="flow_high")
    ens = aeroguard.Ensemble.of([ours, sk, pyod, rule], m=3)
    assert ens.members == ["isolation_forest", "isolationforest", "knn", "flow_high"]
    calm = ens.decide(X[:50])
    assert sum(v.alarm for v in calm) <= 2
    bad = ens.decide(upset())
    assert all(v.alarm for v in bad)
    rec = {m.name: m for m in bad[0].members}
    assert rec["isolationforest"].threshold == 0.0
    np.testing.assert_allclose(rec["isolationforest"].score, -sk.decision_function(upset()[:1])[0])
    assert rec["knn"].threshold == pytest.approx(pyod.threshold_)
    assert rec["flow_high"].score == 1.0 and rec["flow_high"].vote == "yes"
    v = ens.update(upset()[0], at_ms=1_000)
    assert [m.vote for m in v.members] == ["yes"] * 4


def test_score_samples_only_takes_a_threshold_on_its_own_scale():
    X = normal()
    lof = LocalOutlierFactor(novelty=True).fit(X)

    class ScoreOnly:
        n_features_in_ = 3

        def score_samples(self, x):
            return lof.score_samples(x)

    with pytest.raises(ValueError, match="threshold= on its own scale"):
        aeroguard.Ensemble.of([ScoreOnly()])
    m = aeroguard.Member(ScoreOnly(), threshold=-1.5)
    assert m.threshold == 1.5
    stricter = aeroguard.Member(lof, threshold=-0.2)  # decision_function below -0.2 is anomalous
    assert stricter.kind == "sklearn" and stricter.threshold == 0.2
    ens = aeroguard.Ensemble.of([m])
    assert ens.decide(upset()[:1])[0].alarm
    assert not ens.decide(X[:1])[0].alarm


def test_a_member_that_raises_fails_its_vote_and_the_ensemble_goes_on():
    X = normal()

    def broken(x):
        raise RuntimeError("sensor bus down")

    a = aeroguard.ClusterProfile().fit(X)
    b = aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": -9.0, "max": 9.0}]).fit(X)
    calm = X[np.argmin(a.anomaly_score(X))]
    ens = aeroguard.Ensemble.of([a, b, aeroguard.Member(broken, name="broken")], m=2)
    v = ens.update(calm)
    rec = v.members[2]
    assert rec.vote == "failed" and "sensor bus down" in rec.reason
    assert v.degraded and not v.alarm, "fail-safe: one yes from the broken member, not two"
    wrong = aeroguard.Member(lambda x: np.zeros(len(x) + 1), name="wrong_length")
    v = aeroguard.Ensemble.of([a, b, wrong], m=2).update(calm)
    assert v.members[2].vote == "failed" and "2 scores for 1 rows" in v.members[2].reason


def test_bad_members_are_refused_with_what_was_wrong():
    X = normal()
    a = aeroguard.ClusterProfile().fit(X)
    with pytest.raises(ValueError, match=r"members\[1\]: int cannot vote"):
        aeroguard.Ensemble.of([a, 3])
    with pytest.raises(ValueError, match="no member tells how many columns"):
        aeroguard.Ensemble.of([aeroguard.Member(lambda x: x[:, 0])])
    with pytest.raises(ValueError, match=r"members\[1\] takes 2 columns, members\[0\] takes 3"):
        aeroguard.Ensemble.of([a, aeroguard.Member(lambda x: x[:, 0], n_features=2)])
    with pytest.raises(ValueError, match=r"members\[0\]: not fitted"):
        aeroguard.Ensemble.of([aeroguard.IsolationForest()])
    with pytest.raises(ValueError, match="threshold: a finite number"):
        aeroguard.Member(lambda x: x, threshold=float("nan"))


def test_an_ensemble_with_python_members_says_why_it_does_not_save():
    X = normal()
    a = aeroguard.ClusterProfile().fit(X)
    ens = aeroguard.Ensemble.of([a, aeroguard.Member(lambda x: x[:, 0] > 9, name="hot")], m=1)
    with pytest.raises(aeroguard.ModelError, match="member hot is a Python object"):
        ens.save()
    with pytest.raises(aeroguard.ModelError):
        pickle.dumps(ens)
    native = aeroguard.Ensemble.of([a], m=1)
    again = aeroguard.Ensemble.load(native.save())
    assert [v.alarm for v in again.decide(upset())] == [v.alarm for v in native.decide(upset())]


def test_the_recommended_recipe_is_tuned_from_python_by_name():
    X = normal()
    recipe = aeroguard.Ensemble.recipe()
    assert {"inputs", "classic", "voting"} <= set(recipe) and "forest_z" in recipe["classic"]
    assert "lstm_z" in aeroguard.Ensemble.recipe(neural=True)["neural"]
    base = aeroguard.Ensemble.fit(X)
    strict = aeroguard.Ensemble.fit(X, recipe={"classic": {"forest_z": 2 * recipe["classic"]["forest_z"]}})
    t = lambda e: {m.name: m.threshold for m in e.decide(X[:1])[0].members}
    assert t(strict)["isolation_forest"] > t(base)["isolation_forest"]
    assert t(strict)["kmeans"] == t(base)["kmeans"]
    with pytest.raises(ValueError, match=r"recipe\.classic\.forest: no such parameter \(there: .*forest_z"):
        aeroguard.Ensemble.fit(X, recipe={"classic": {"forest": 3.0}})
    with pytest.raises(ValueError, match=r"recipe: invalid type"):
        aeroguard.Ensemble.fit(X, recipe={"classic": {"forest_z": "high"}})
    with pytest.raises(ValueError, match="recipe: a dict"):
        aeroguard.Ensemble.fit(X, recipe=[1, 2])


def test_rules_that_persist_in_seconds_count_the_rows_own_times():
    X = np.zeros((10, 1))
    rules = [{"rule": "persistence", "sensor": 0, "side": "above", "level": 5.0, "clear": 4.0, "rows": 1,
              "seconds": 2.0}]
    det = aeroguard.RuleSet(rules=rules).fit(X)
    hot = np.full((6, 1), 9.0)
    every_second = np.arange(6, dtype=np.int64) * 1000
    flags = det.is_anomaly(hot, times_ms=every_second)
    assert flags.tolist() == [False, False, True, True, True, True], "2 s above 5 from the first hot row"
    fast = np.arange(6, dtype=np.int64) * 100
    assert not det.is_anomaly(hot, times_ms=fast).any(), "half a second is not two"
    scores = [det.update(r, at_ms=int(t)) for r, t in zip(hot, every_second)]
    assert [s > det.threshold_ for s in scores] == flags.tolist()
    with pytest.raises(ValueError, match=r"times_ms\[2\] = 500 is before times_ms\[1\] = 1000"):
        det.anomaly_score(hot[:3], times_ms=np.array([0, 1000, 500]))
    with pytest.raises(ValueError, match="times_ms has 2 values for 6 rows"):
        det.anomaly_score(hot, times_ms=np.array([0, 1]))
