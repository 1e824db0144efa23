#!/usr/bin/env python3
"""Times scikit-learn's IsolationForest on the data `benches/detect.rs` uses, so both are measured in one run.

    python3 benches/iforest_sklearn.py     # prints a table; says so and exits 0 if scikit-learn is missing
"""
import math
import sys
import time


def data(rows, offset):
    return [
        [math.sin((i + offset) * 0.37 + j * 1.3) + (((i + offset) * 7919 + j * 104729) % 1000) / 1000.0 for j in range(8)]
        for i in range(rows)
    ]


def main():
    try:
        import numpy as np
        from sklearn.ensemble import IsolationForest
    except ImportError as e:
        print(f"scikit-learn is not installed here ({e}); nothing to compare")
        return 0
    train, test = np.array(data(1000, 0)), np.array(data(10_000, 1000))
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(train)
    reps = 5
    start = time.perf_counter()
    for _ in range(reps):
        model.score_samples(test)
    batch = (time.perf_counter() - start) / reps / len(test)
    n = 200
    start = time.perf_counter()
    for i in range(n):
        model.score_samples(test[i : i + 1])
    single = (time.perf_counter() - start) / n
    print("scikit-learn IsolationForest, 100 trees, 8 features")
    print(f"{'batch 10k rows, per sample':<30} {batch * 1e6:10.2f} µs")
    print(f"{'single row per call':<30} {single * 1e6:10.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
