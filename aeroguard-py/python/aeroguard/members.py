"""Members of an ``Ensemble`` that are not AeroGuard's detectors: a plant's scikit-learn or PyOD model, or a plain
Python rule, voting beside AeroGuard's members with the same record.

``Ensemble.of`` wraps such an object in ``Member`` itself; wrap it yourself to name it, set its threshold or its
width. Every convention is put on AeroGuard's scale (a score per row, higher is more anomalous, anomalous
strictly above ``threshold``):

- a PyOD model (``decision_function`` higher for outliers, and ``threshold_``): its scores and threshold as they
  are;
- a scikit-learn outlier detector (``decision_function`` negative for outliers): the negated decision
  function, threshold 0 (a ``threshold`` given is on the model's own scale: rows scoring below it are
  anomalous);
- a model with ``score_samples`` only (higher is more normal): the negated score, with ``threshold`` given on
  the model's own scale (rows scoring below it are anomalous);
- a plain callable ``f(X)``: one score per row (or one boolean per row, ``True`` for anomalous), anomalous
  above ``threshold`` (default 0.5, so booleans vote as they read).

A member that raises, or returns the wrong number of scores, fails its vote (the ensemble's fail-safe mode counts
it as a yes and marks the verdict degraded); it never stops the ensemble.

>>> import numpy as np
>>> import aeroguard
>>> too_hot = aeroguard.Member(lambda X: X[:, 0] > 80.0, name="too_hot", n_features=2)
>>> too_hot.scores(np.array([[20.0, 1.0], [95.0, 1.0]])).tolist()
[0.0, 1.0]
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

class Member:
    """A Python object voting in an ``Ensemble`` (see the module's documentation for the conventions)."""

    def __init__(
        self,
        model: Any,
        *,
        threshold: Optional[float] = None,
        name: Optional[str] = None,
        n_features: Optional[int] = None,
    ) -> None:
        self.model = model
        self.kind = _kind_of(model)
        self.name = name if name is not None else _name_of(model)
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"name: a non-empty string, got {self.name!r}")
        self.threshold = _threshold_of(model, self.kind, threshold)
        width = n_features if n_features is not None else getattr(model, "n_features_in_", None)
        if width is not None and (not isinstance(width, (int, np.integer)) or width < 1):
            raise ValueError(f"n_features: a positive integer, got {width!r}")
        self.n_features: Optional[int] = None if width is None else int(width)

    def scores(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """One score per row of ``x``, on AeroGuard's scale."""
        m: Any = self.model
        if self.kind == "pyod":
            raw = m.decision_function(x)
        elif self.kind == "sklearn":
            raw = -np.asarray(m.decision_function(x), dtype=np.float64)
        elif self.kind == "score_samples":
            raw = -np.asarray(m.score_samples(x), dtype=np.float64)
        else:
            raw = m(x)
        out = np.asarray(raw, dtype=np.float64).reshape(-1)
        return np.ascontiguousarray(out)

    def __repr__(self) -> str:
        return f"Member({self.name!r}, {self.kind}, threshold={self.threshold})"


def _kind_of(model: Any) -> str:
    if hasattr(model, "decision_function"):
        return "pyod" if hasattr(model, "threshold_") else "sklearn"
    if hasattr(model, "score_samples"):
        return "score_samples"
    if callable(model):
        return "callable"
    raise ValueError(
        f"{type(model).__name__} cannot vote: give a model with decision_function or score_samples, "
        "or a callable returning one score per row"
    )


def _name_of(model: Any) -> str:
    name = getattr(model, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    return type(model).__name__.lower() if not callable(model) or hasattr(model, "fit") else "rule"


def _threshold_of(model: Any, kind: str, given: Optional[float]) -> float:
    if kind == "pyod":
        value = float(given) if given is not None else float(model.threshold_)
    elif kind == "sklearn":
        value = -float(given) if given is not None else 0.0
    elif kind == "score_samples":
        if given is None:
            raise ValueError(
                f"{type(model).__name__} has score_samples only: give threshold= on its own scale "
                "(rows scoring below it are anomalous)"
            )
        value = -float(given)
    else:
        value = float(given) if given is not None else 0.5
    if not np.isfinite(value):
        raise ValueError(f"threshold: a finite number, got {given!r}")
    return value


def as_member(obj: Any) -> Member:
    """``obj`` as a ``Member`` (itself if it is one)."""
    return obj if isinstance(obj, Member) else Member(obj)


__all__ = ["Member", "as_member"]
