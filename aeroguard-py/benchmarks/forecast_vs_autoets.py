"""AeroGuard's forecaster beside statsforecast's AutoETS, on the same series, in one run.

Series: NAB's realKnownCause (hourly means, a daily season of 24) and SKAB's anomaly-free channels (10-second
means, no season). For each series, five forecast origins at its end, 24 steps apart: each model fits on up to
1000 values before the origin and forecasts the next 24. Accuracy is MASE (the mean absolute error over the
mean absolute error of the seasonal naive forecast in the fitting values); time is the fit and the forecast,
per origin, after a warm-up (AutoETS compiles with numba on first use).

    pip install statsforecast aeroguard
    python benchmarks/forecast_vs_autoets.py [--data DIR]

DIR holds nab/ and skab/ (default: $AEROGUARD_DATA).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

HORIZON = 24
ORIGINS = 5
MAX_FIT = 1000


def hourly(path: Path) -> np.ndarray:
    """A NAB series as hourly means."""
    buckets: "OrderedDict[str, List[float]]" = OrderedDict()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = row["timestamp"][:13]
            buckets.setdefault(key, []).append(float(row["value"]))
    return np.array([sum(v) / len(v) for v in buckets.values()])


def skab_channels(path: Path, seconds: int = 10) -> Dict[str, np.ndarray]:
    """SKAB's channels as means over `seconds`."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = rows[0], rows[1:]
    start = datetime.fromisoformat(body[0][0])
    out: Dict[str, np.ndarray] = {}
    for c, name in enumerate(header[1:], start=1):
        buckets: "OrderedDict[int, List[float]]" = OrderedDict()
        for r in body:
            k = int((datetime.fromisoformat(r[0]) - start).total_seconds()) // seconds
            buckets.setdefault(k, []).append(float(r[c]))
        out[f"skab {name}"] = np.array([sum(v) / len(v) for v in buckets.values()])
    return out


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, m: int) -> float:
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return float(np.mean(np.abs(actual - forecast)) / scale) if scale > 0 else float("nan")


def evaluate(y: np.ndarray, m: int, fit_predict: Callable[[np.ndarray, int], np.ndarray]) -> Tuple[float, float]:
    """Mean MASE over the origins, and mean seconds per origin."""
    scores, seconds = [], []
    for k in range(ORIGINS, 0, -1):
        origin = len(y) - k * HORIZON
        train = y[max(0, origin - MAX_FIT) : origin]
        t0 = time.perf_counter()
        f = fit_predict(train, m)
        seconds.append(time.perf_counter() - t0)
        scores.append(mase(y[origin : origin + HORIZON], f, train, m))
    return float(np.mean(scores)), float(np.mean(seconds))


def ours(train: np.ndarray, m: int) -> np.ndarray:
    from aeroguard import Forecaster

    return np.asarray(Forecaster(period=m).fit(train).predict(HORIZON))


def autoets(train: np.ndarray, m: int) -> np.ndarray:
    from statsforecast.models import AutoETS

    return np.asarray(AutoETS(season_length=m).fit(train).predict(HORIZON)["mean"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("AEROGUARD_DATA", "data")))
    args = parser.parse_args()
    series: Dict[str, Tuple[np.ndarray, int]] = {}
    for p in sorted((args.data / "nab" / "data" / "realKnownCause").glob("*.csv")):
        series[f"nab {p.stem}"] = (hourly(p), 24)
    for name, y in skab_channels(args.data / "skab" / "anomaly-free" / "anomaly-free.csv").items():
        series[name] = (y, 1)
    warm = np.sin(np.arange(200) / 3.0) + np.arange(200) / 50.0
    autoets(warm, 24), ours(warm, 24), autoets(warm, 1)
    print(f"{'series':44} {'n':>6} {'m':>3} | {'MASE ours':>9} {'AutoETS':>8} | {'ms ours':>8} {'AutoETS':>8} {'faster':>7}")
    wins, ratios = 0, []
    for name, (y, m) in series.items():
        a, ta = evaluate(y, m, ours)
        b, tb = evaluate(y, m, autoets)
        wins += a <= b
        ratios.append(tb / ta)
        print(f"{name[:44]:44} {len(y):>6} {m:>3} | {a:>9.3f} {b:>8.3f} | {1e3 * ta:>8.2f} {1e3 * tb:>8.2f} {tb / ta:>6.1f}x")
    print(
        f"ours at or better than AutoETS on {wins} of {len(series)} series; "
        f"per series {np.median(ratios):.1f}x faster (median; least {min(ratios):.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
