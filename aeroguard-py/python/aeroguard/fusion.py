"""Fusion of redundant readings (every strategy of aeroguard-core)."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

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


Times = Union[None, Sequence[Union[float, _dt.datetime]], npt.NDArray[Any]]
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


def _age_ms(max_age: Union[None, float, _dt.timedelta]) -> Optional[int]:
    """A maximum age (seconds or a timedelta) in ms."""
    if max_age is None:
        return None
    seconds = max_age.total_seconds() if isinstance(max_age, _dt.timedelta) else float(max_age)
    if not (np.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"max_age must be a finite, non-negative number of seconds, got {max_age!r}")
    return int(round(seconds * 1000))


def _times_ms(times: Times) -> Optional[npt.NDArray[Any]]:
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
    values: Union[Sequence[float], npt.NDArray[Any]],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Union[None, float, Sequence[float], npt.NDArray[Any]] = None,
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
    age_ms = _age_ms(max_age)
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


_QUALITY_CODES = {"good": 0, "uncertain": 1, "bad": 2}


def _quality_codes(qualities: Any, shape: tuple[int, int]) -> npt.NDArray[Any]:
    """Quality codes (0 good, 1 uncertain, 2 bad) from a rows × tags array of names, status codes or
    ``StatusCode`` objects."""
    q = np.asarray(qualities)
    if q.shape != shape:
        raise ValueError(f"qualities has shape {q.shape}, the values {shape}")
    if np.issubdtype(q.dtype, np.integer):
        if (q < 0).any() or (q >= 2**32).any():
            raise ValueError("qualities: OPC UA status codes lie in [0, 2**32)")
        codes: npt.NDArray[Any] = np.minimum((q.astype(np.int64) >> 30) & 0b11, 2).astype(np.uint8)
        return codes
    out = np.empty(shape, dtype=np.uint8)
    for (r, c), v in np.ndenumerate(q):
        out[r, c] = _QUALITY_CODES[_quality(v, r * shape[1] + c)]
    return out


def _times_2d(times: Any, shape: tuple[int, int]) -> Optional[npt.NDArray[Any]]:
    """ms since the epoch, rows × tags, from a rows × tags array (or one time per row for every tag) of numpy
    datetime64 or epoch seconds."""
    if times is None:
        return None
    t = np.asarray(times)
    if np.issubdtype(t.dtype, np.datetime64):
        if np.isnat(t).any():
            raise ValueError("times holds NaT")
        ms = t.astype("datetime64[ms]").astype(np.int64)
    else:
        seconds = t.astype(np.float64)
        if not np.isfinite(seconds).all():
            raise ValueError("times holds a value that is not a finite time")
        ms = np.round(seconds * 1000).astype(np.int64)
    if ms.ndim == 1 and ms.shape[0] == shape[0]:
        ms = np.repeat(ms[:, None], shape[1], axis=1)
    if ms.shape != shape:
        raise ValueError(f"times has shape {t.shape}, the values {shape} (or one time per row)")
    return np.ascontiguousarray(ms)


def fuse_rows(
    values: Union[Sequence[Sequence[float]], npt.NDArray[Any]],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Union[None, float, Sequence[float], npt.NDArray[Any]] = None,
    sensors: Optional[Sequence[str]] = None,
    times: Any = None,
    qualities: Any = None,
    max_age: Union[None, float, _dt.timedelta] = None,
    now: Any = None,
    when_too_few: str = "raise",
) -> _aeroguard.FusedRows:
    """Fuses each row of ``values`` (rows × tags: a batch of SCADA samples) as :func:`fuse` fuses one.

    ``times`` (rows × tags, or one per row: numpy datetime64 or epoch seconds) and ``qualities`` (rows × tags:
    names, OPC UA status codes) are each tag's own; each row is judged as of its ``now`` (one per row; default:
    the row's newest tag). A row that cannot be fused raises :class:`FusionError` naming it, unless
    ``when_too_few`` lets a fallback answer. The result has numpy arrays ``values``, ``low`` and ``high``, and
    per row ``degraded`` and ``excluded``; ``result[i]`` is row ``i``'s whole estimate.

    >>> import numpy as np, aeroguard
    >>> rows = aeroguard.fuse_rows(np.array([[4.0, 4.1, 3.9], [4.0, 4.2, 9.0]]), strategy="median", f=1)
    >>> rows.values.tolist()
    [4.0, 4.2]
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be rows × tags (two-dimensional), got shape {v.shape}")
    shape = (v.shape[0], v.shape[1])
    hw = None
    if half_width is not None:
        hw = np.atleast_1d(np.ascontiguousarray(half_width, dtype=np.float64))
    age_ms = _age_ms(max_age)
    now_ms = None
    if now is not None:
        n = np.atleast_1d(np.asarray(now))
        if np.issubdtype(n.dtype, np.datetime64):
            now_ms = n.astype("datetime64[ms]").astype(np.int64)
        else:
            now_ms = np.round(n.astype(np.float64) * 1000).astype(np.int64)
        if now_ms.shape == (1,):
            now_ms = np.repeat(now_ms, shape[0])
        now_ms = np.ascontiguousarray(now_ms)
    return _aeroguard.fuse_rows(
        v,
        strategy=strategy,
        f=f,
        half_width=hw,
        sensors=None if sensors is None else list(sensors),
        times_ms=_times_2d(times, shape),
        qualities=None if qualities is None else _quality_codes(qualities, shape),
        max_age_ms=age_ms,
        now_ms=now_ms,
        when_too_few=when_too_few,
    )
