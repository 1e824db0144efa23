"""The scikit-learn side of the detectors: its estimator protocol where scikit-learn is installed (and a
stand-in where it is not), input checks with its messages, its ``NotFittedError``, and unpickling helpers."""

from __future__ import annotations

import inspect
from typing import Any, Dict, List

import numpy as np
import numpy.typing as npt

from aeroguard import _aeroguard

try:  # scikit-learn is optional: with it, the detectors are real scikit-learn estimators.
    from sklearn.base import BaseEstimator, OutlierMixin  # type: ignore[import-untyped]

    try:
        from sklearn.utils.validation import validate_data as _validate_data  # type: ignore[import-untyped]
    except ImportError:  # scikit-learn < 1.6
        _validate_data = None
    _SKLEARN = True
except ImportError:  # pragma: no cover - exercised where scikit-learn is absent
    _SKLEARN = False
    _validate_data = None

    class BaseEstimator:  # type: ignore[no-redef]
        """The parameter protocol of scikit-learn's ``BaseEstimator``."""

        @classmethod
        def _get_param_names(cls) -> List[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self")

        def get_params(self, deep: bool = True) -> Dict[str, Any]:
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params: Any) -> "BaseEstimator":
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"unknown parameter {k!r} for {type(self).__name__}")
                setattr(self, k, v)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class OutlierMixin:  # type: ignore[no-redef]
        """scikit-learn's ``fit_predict`` for outlier detectors."""

        def fit_predict(self, X: Any, y: Any = None) -> npt.NDArray[Any]:
            return self.fit(X).predict(X)  # type: ignore[attr-defined,no-any-return]


if _SKLEARN:
    from sklearn.exceptions import NotFittedError as _Unfitted  # type: ignore[import-untyped]
else:  # pragma: no cover - exercised where scikit-learn is absent

    class _Unfitted(ValueError, AttributeError):  # type: ignore[no-redef]
        """scikit-learn's ``NotFittedError``, where scikit-learn is absent."""


class NotFittedError(_aeroguard.NotFittedError, _Unfitted):  # type: ignore[misc]
    """The detector has not been fitted: an ``aeroguard.AeroGuardError`` and scikit-learn's ``NotFittedError``
    (a ``ValueError`` and an ``AttributeError``)."""


def _restore_model(text: str) -> _aeroguard.FittedModel:
    """Unpickles a fitted model (pickle calls this with the model's JSON)."""
    return _aeroguard.FittedModel.load(text)


def _restore_ensemble(text: str) -> _aeroguard.Ensemble:
    """Unpickles an ensemble (pickle calls this with the ensemble's JSON)."""
    return _aeroguard.Ensemble.load(text)


def _checked(est: Any, x: npt.NDArray[Any], reset: bool) -> npt.NDArray[Any]:
    """Checks a float64 matrix as scikit-learn does, with its messages, in about a microsecond."""
    name = type(est).__name__
    n, d = x.shape
    if n == 0 or d == 0:
        what = "sample" if n == 0 else "feature"
        raise ValueError(f"Found array with 0 {what}(s) (shape={x.shape}) while a minimum of 1 is required by {name}.")
    if not np.isfinite(x).all():
        if np.isnan(x).any():
            raise ValueError("Input X contains NaN.")
        raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    if reset:
        est.n_features_in_ = d
    elif d != est.n_features_in_:
        raise ValueError(f"X has {d} features, but {name} is expecting {est.n_features_in_} features as input.")
    return x


def _rows(est: Any, X: Any, reset: bool) -> npt.NDArray[Any]:
    """``X`` as a float64 matrix, checked as scikit-learn checks it (shape, finiteness, feature count).

    A float64 matrix (the common case, and every streaming call) is checked here directly; anything else (lists,
    other dtypes, sparse matrices, data frames) goes through scikit-learn's ``validate_data`` where it is
    installed, which costs tens of microseconds a call."""
    if type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and not hasattr(est, "feature_names_in_"):
        return _checked(est, X, reset)
    if _validate_data is not None:
        return np.asarray(_validate_data(est, X, reset=reset, dtype=np.float64))
    if _SKLEARN:  # scikit-learn < 1.6
        return np.asarray(est._validate_data(X, reset=reset, dtype=np.float64))
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array (rows x features), got shape {x.shape}")
    return _checked(est, x, reset)


__all__ = ["BaseEstimator", "NotFittedError", "OutlierMixin", "_restore_ensemble", "_restore_model", "_rows"]
