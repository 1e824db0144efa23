"""Fusion of redundant readings (every strategy of aeroguard-core)."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Optional, Sequence, Union

import numpy as np

from aeroguard import _aeroguard

STRATEGIES = (
    "mean",
    "weighted_mean",
    "median",
    "trimmed_mean",
    "mid_value_select",
    "marzullo",
    "brooks_iyengar",
)


Times = Union[None, Sequence[Union[float, _dt.datetime]], np.ndarray]
Qualities = Optional[Sequence[Union[str, int, Any]]]


def _ms(t: Union[float, _dt.datetime, np.datetime64], what: str) -> int:
    """A time as ms since the epoch: a datetime (naive ones are UTC), a numpy datetime64, or seconds."""
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return int(round(t.timestamp() * 1000))
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[ms]").astype(np.int64))
    x = float(t)
    if not np.isfinite(x):
        raise ValueError(f"{what}: {t!r} is not a finite time")
    return int(round(x * 1000))


def _times_ms(times: Times) -> Optional[np.ndarray]:
    if times is None:
        return None
    if isinstance(times, np.ndarray) and np.issubdtype(times.dtype, np.datetime64):
        if np.isnat(times).any():
            raise ValueError(f"times[{int(np.argmax(np.isnat(times)))}] is NaT")
        return np.ascontiguousarray(times.astype("datetime64[ms]").astype(np.int64))
    return np.array([_ms(t, f"times[{i}]") for i, t in enumerate(times)], dtype=np.int64)


def _quality(q: Union[str, int, Any], i: int) -> str:
    """good, uncertain or bad, from a name (OPC UA's status names too: ``BadSensorFailure``), an OPC UA status
    code (its two top bits: 0 good, 1 uncertain, 2 or 3 bad), or an object with one of those as ``value``
    (asyncua's ``StatusCode``)."""
    if isinstance(q, str):
        name = q.strip().lower()
        for level in ("good", "uncertain", "bad"):
            if name.startswith(level):
                return level
        raise ValueError(f"qualities[{i}]: {q!r} is not good, uncertain or bad (nor an OPC UA status name)")
    code = getattr(q, "value", q)
    if isinstance(code, (int, np.integer)) and not isinstance(code, bool) and 0 <= int(code) < 2**32:
        return ("good", "uncertain", "bad", "bad")[(int(code) >> 30) & 0b11]
    raise ValueError(f"qualities[{i}]: {q!r} is neither a quality name nor an OPC UA status code")


def fuse(
    values: Union[Sequence[float], np.ndarray],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Union[None, float, Sequence[float], np.ndarray] = None,
    sensors: Optional[Sequence[str]] = None,
    times: Times = None,
    qualities: Qualities = None,
    max_age: Union[None, float, _dt.timedelta] = None,
    now: Union[None, float, _dt.datetime] = None,
    when_too_few: str = "raise",
) -> _aeroguard.Estimate:
    """Fuses one reading per sensor into one value, tolerating ``f`` faulty readings.

    ``half_width`` is each reading's uncertainty (one for all, or one per reading); interval strategies
    (Marzullo, Brooks-Iyengar) need it. The estimate says which readings were used and why the others were
    excluded (NaN and infinite readings are excluded, not errors).

    Tags from SCADA or OPC UA carry their own source time and quality: ``times`` (datetimes, numpy datetime64,
    or seconds since the epoch), ``qualities`` (``good``, ``uncertain``, ``bad``, OPC UA status names or codes),
    and ``max_age`` (seconds or a timedelta) as of ``now`` (default: this moment). Bad and stale readings are
    excluded with their reason. When fewer readings are usable than ``f`` needs, ``when_too_few="raise"`` (the
    default) raises; ``"median"`` or ``"mean"`` answers with that instead and says why in ``degraded``.

    >>> import aeroguard
    >>> est = aeroguard.fuse([4.02, 3.98, 9.0], f=1, half_width=0.1, qualities=["good", "Good", "BadSensorFailure"],
    ...                      when_too_few="median")
    >>> est.value, est.strategy, est.excluded
    (4.0, 'median', [('s2', 'quality flagged bad')])
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {v.shape}")
    hw = None
    if half_width is not None:
        hw = np.atleast_1d(np.ascontiguousarray(half_width, dtype=np.float64))
    age_ms = None
    if max_age is not None:
        seconds = max_age.total_seconds() if isinstance(max_age, _dt.timedelta) else float(max_age)
        if not (np.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"max_age must be a finite, non-negative number of seconds, got {max_age!r}")
        age_ms = int(round(seconds * 1000))
    return _aeroguard.fuse(
        v,
        strategy=strategy,
        f=f,
        half_width=hw,
        sensors=None if sensors is None else list(sensors),
        times_ms=_times_ms(times),
        qualities=None if qualities is None else [_quality(q, i) for i, q in enumerate(qualities)],
        max_age_ms=age_ms,
        now_ms=None if now is None else _ms(now, "now"),
        when_too_few=when_too_few,
    )
