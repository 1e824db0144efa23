"""Fusion of redundant readings (every strategy of aeroguard-core)."""

from __future__ import annotations

from typing import Optional, Sequence, Union

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


def fuse(
    values: Union[Sequence[float], np.ndarray],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Union[None, float, Sequence[float], np.ndarray] = None,
    sensors: Optional[Sequence[str]] = None,
) -> _aeroguard.Estimate:
    """Fuses one reading per sensor into one value, tolerating ``f`` faulty readings.

    ``half_width`` is each reading's uncertainty (one for all, or one per reading); interval strategies
    (Marzullo, Brooks-Iyengar) need it. The estimate says which readings were used and why the others were
    excluded (NaN and infinite readings are excluded, not errors).
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {v.shape}")
    hw = None
    if half_width is not None:
        hw = np.atleast_1d(np.ascontiguousarray(half_width, dtype=np.float64))
    return _aeroguard.fuse(v, strategy=strategy, f=f, half_width=hw, sensors=None if sensors is None else list(sensors))
