"""scikit-learn compatibility on SKAB (the shared data): the same isolation-forest recipe (raw features,
contamination 0.0005, causal rolling median of 3) gives comparable F1, and `predict` signs agree.
The test command installs scikit-learn in the test environment, so this always runs there."""

import glob
import os

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest as SkIsolationForest

import aeroguard

TRAIN = 400


def skab_files():
    root = os.environ.get("AEROGUARD_SKAB_DIR") or (
        os.environ.get("AEROGUARD_DATA") and os.path.join(os.environ["AEROGUARD_DATA"], "skab")
    )
    assert root, "SKAB data not found: run `scripts/data fetch` (or set AEROGUARD_DATA)"
    files = sorted(glob.glob(os.path.join(root, "valve1", "*.csv")) + glob.glob(os.path.join(root, "valve2", "*.csv"))
                   + glob.glob(os.path.join(root, "other", "*.csv")))
    assert len(files) == 26
    for path in files:
        data = np.genfromtxt(path, delimiter=";", skip_header=1, usecols=range(1, 11))
        yield data[:, :8], data[:, 8] > 0.5


def rolling_median(p, width=3):
    out = np.zeros_like(p)
    for i in range(width - 1, len(p)):
        out[i] = p[i + 1 - width:i + 1].sum() * 2 > width
    return out


def f1(tp, fp, fn):
    return tp / (tp + (fp + fn) / 2)


def test_isolation_forest_matches_scikit_learn_on_skab():
    counts = {"ours": [0, 0, 0], "sklearn": [0, 0, 0]}
    agree = total = 0
    for x, y in skab_files():
        train, test, labels = x[:TRAIN], x[TRAIN:], y[TRAIN:]
        ours = aeroguard.IsolationForest(contamination=0.0005, random_state=0).fit(train)
        theirs = SkIsolationForest(contamination=0.0005, random_state=0).fit(train)
        p_ours, p_sk = ours.predict(test), theirs.predict(test)
        agree += int((p_ours == p_sk).sum())
        total += len(test)
        for name, p in (("ours", p_ours), ("sklearn", p_sk)):
            alarm = rolling_median((p == -1).astype(np.int64)).astype(bool)
            c = counts[name]
            c[0] += int((alarm & labels).sum())
            c[1] += int((alarm & ~labels).sum())
            c[2] += int((~alarm & labels).sum())
    f_ours, f_sk = f1(*counts["ours"]), f1(*counts["sklearn"])
    print(f"F1 aeroguard {f_ours:.3f} scikit-learn {f_sk:.3f}; predict signs agree on {agree / total:.1%} of rows")
    assert abs(f_ours - f_sk) < 0.06, (f_ours, f_sk)
    assert agree / total > 0.9


def test_predict_signs_agree_on_clear_cases():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 4))
    ours = aeroguard.IsolationForest(contamination=0.05, random_state=0).fit(X)
    theirs = SkIsolationForest(contamination=0.05, random_state=0).fit(X)
    probe = np.vstack([rng.normal(size=(200, 4)) * 0.5, rng.normal(size=(50, 4)) + 8.0])
    assert (ours.predict(probe) == theirs.predict(probe)).mean() > 0.95
    assert (ours.predict(probe[200:]) == -1).all() and (theirs.predict(probe[200:]) == -1).all()
    # Same orientation of the continuous scores: higher score_samples is more normal in both.
    corr = np.corrcoef(ours.score_samples(probe), theirs.score_samples(probe))[0, 1]
    assert corr > 0.9, corr


@pytest.mark.parametrize("contamination", [0.01, 0.1])
def test_contamination_flags_that_fraction_of_training_rows(contamination):
    X = np.random.default_rng(4).normal(size=(2000, 3))
    ours = aeroguard.IsolationForest(contamination=contamination, random_state=0).fit(X)
    assert abs((ours.predict(X) == -1).mean() - contamination) < 0.01
