"""Benchmarks of the Python bindings, printed as a table:
per-call overhead of single-row scoring, batch scoring throughput against scikit-learn's IsolationForest in the
same run (when scikit-learn is installed), and fusion of 16 readings.

    python aeroguard-py/bench.py
"""

import time

import numpy as np

import aeroguard


def per_call(fn, n):
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def data(rows, offset=0):
    i = np.arange(offset, offset + rows)[:, None]
    j = np.arange(8)[None, :]
    return np.sin(i * 0.37 + j * 1.3) + ((i * 7919 + j * 104729) % 1000) / 1000.0


def main():
    train, test = data(1000), data(10_000, 1000)
    rows = []
    forest = aeroguard.IsolationForest(random_state=0).fit(train)
    row = test[0]
    rows.append(("IsolationForest.update (one row, Python API)", per_call(lambda: forest.update(row), 20_000) * 1e6, "µs/call"))
    raw = forest.model_
    rows.append(("FittedModel.update (one row, extension)", per_call(lambda: raw.update(row), 20_000) * 1e6, "µs/call"))
    one = test[:1]
    rows.append(("IsolationForest.score_samples (1-row batch)", per_call(lambda: forest.score_samples(one), 5_000) * 1e6, "µs/call"))
    # Batch scoring on one core and on two, each beside scikit-learn with as many jobs, in this run.
    try:
        from sklearn.ensemble import IsolationForest as Sk
    except ImportError:
        Sk = None
    for jobs in (1, 2):
        ours = aeroguard.IsolationForest(random_state=0, n_jobs=jobs).fit(train)
        t = per_call(lambda: ours.score_samples(test), 20)
        rows.append((f"IsolationForest.score_samples, 10k rows, {jobs} core(s)", t / len(test) * 1e6, "µs/sample"))
        if Sk is None:
            rows.append(("scikit-learn", float("nan"), "not installed"))
            continue
        sk = Sk(random_state=0, n_jobs=jobs).fit(train)
        t_sk = per_call(lambda: sk.score_samples(test), 5)
        rows.append((f"scikit-learn score_samples, 10k rows, {jobs} job(s)", t_sk / len(test) * 1e6, "µs/sample"))
        rows.append((f"  ratio, {jobs} core(s): scikit-learn / aeroguard", t_sk / t, "x"))
    if Sk is not None:
        sk = Sk(random_state=0).fit(train)
        rows.append(("scikit-learn score_samples, one row", per_call(lambda: sk.score_samples(one), 200) * 1e6, "µs/call"))
    readings = np.array([4.0 + 0.01 * k for k in range(15)] + [9.0])
    rows.append(("fuse 16 readings, Brooks-Iyengar f=1", per_call(lambda: aeroguard.fuse(readings, f=1, half_width=0.2), 20_000) * 1e6, "µs/call"))
    rows.append(("fuse 16 readings, median f=5", per_call(lambda: aeroguard.fuse(readings, strategy="median", f=5), 20_000) * 1e6, "µs/call"))
    width = max(len(r[0]) for r in rows)
    print(f"| {'what':<{width}} | {'time':>10} | unit |")
    print(f"|{'-' * (width + 2)}|{'-' * 12}|------|")
    for name, value, unit in rows:
        print(f"| {name:<{width}} | {value:>10.2f} | {unit} |")


if __name__ == "__main__":
    main()
