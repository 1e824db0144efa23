"""Anomaly detectors with scikit-learn's conventions.

Parameters are keyword-only and stored as attributes; ``fit(X)`` returns ``self``; ``score_samples`` is higher
for more normal rows and ``decision_function`` is negative for outliers, as in scikit-learn's
``IsolationForest``; ``predict`` gives +1 (inlier) or -1 (outlier); ``is_anomaly`` gives booleans. ``update``
scores one row of a stream, carrying the streaming state. Fitted detectors pickle, and save to / load from JSON.

With scikit-learn installed, the detectors are scikit-learn estimators (``OutlierMixin``, ``BaseEstimator``):
they validate input as scikit-learn does, clone, and go in a ``Pipeline``. Without it they keep the same API.

Every default comes from the Rust builders (``_aeroguard.*Params.defaults()``): the signatures below read them.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

from aeroguard import _aeroguard
from aeroguard._sklearn import (
    BaseEstimator,
    NotFittedError,
    OutlierMixin,
    _restore_ensemble,
    _restore_model,
    _rows,
)

class _Detector(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    _spec: Any = None

    def _fitted(self) -> _aeroguard.FittedModel:
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")
        return model  # type: ignore[no-any-return]

    def fit(self, X: Any, y: Any = None) -> "_Detector":
        """Learns normal operation from the rows of ``X``; returns ``self``."""
        x = _rows(self, X, reset=True)
        if x.shape[0] < 2:
            raise ValueError(f"n_samples = {x.shape[0]}: fitting needs at least 2 rows")
        self.model_ = self._spec(**self.get_params()).fit(x)
        self.n_features_in_ = x.shape[1]
        self.offset_ = -self.model_.threshold
        return self

    def anomaly_score(self, X: Any, times_ms: Any = None) -> npt.NDArray[Any]:
        """AeroGuard's own score: higher is more anomalous; above ``threshold_`` is an anomaly. With ``times_ms``
        (one per row, ms since the epoch) rules that persist in seconds count the rows' own times."""
        m = self._fitted()
        times = None if times_ms is None else np.ascontiguousarray(times_ms, dtype=np.int64)
        return np.asarray(m.score(_rows(self, X, reset=False), times))

    @property
    def threshold_(self) -> float:
        return self._fitted().threshold

    def score_samples(self, X: Any) -> npt.NDArray[Any]:
        """scikit-learn's sign: higher is more normal."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> npt.NDArray[Any]:
        """Negative for outliers, as scikit-learn's ``score_samples(X) - offset_``."""
        return np.asarray(self.score_samples(X) - self.offset_)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """+1 for inliers, -1 for outliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def is_anomaly(self, X: Any, times_ms: Any = None) -> npt.NDArray[Any]:
        """True where the row's score is above the threshold (``times_ms`` as for ``anomaly_score``)."""
        return self.anomaly_score(X, times_ms) > self.threshold_

    def update(self, row: Any, at_ms: Optional[int] = None) -> float:
        """Scores the next row of a stream (AeroGuard's sign: higher is more anomalous), measured at ``at_ms``
        (ms since the epoch) when given: rules that persist in seconds need it."""
        m = self._fitted()
        r = np.asarray(row, dtype=np.float64)
        if r.ndim != 1 or r.shape[0] != m.n_features:
            raise ValueError(f"row must have {m.n_features} values, got shape {r.shape}")
        return m.update(r, at_ms)

    def reset(self) -> None:
        """Forgets the streaming state."""
        self._fitted().reset()

    def save(self) -> str:
        """The fitted model as JSON (parameters included)."""
        return json.dumps({"class": type(self).__name__, "params": self.get_params(), "model": self._fitted().save()})

    @classmethod
    def load(cls, text: str) -> "_Detector":
        """A detector from ``save()``'s JSON (the model is checked, a damaged file raises ``ModelError``)."""
        try:
            data = json.loads(text)
            params, model = data["params"], data["model"]
        except (ValueError, KeyError, TypeError) as e:
            raise _aeroguard.ModelError(f"not a saved detector: {e}") from None
        det = cls(**params)
        det.model_ = _aeroguard.FittedModel.load(model)
        det.n_features_in_ = det.model_.n_features
        det.offset_ = -det.model_.threshold
        return det


_IF = _aeroguard.IsolationForestParams.defaults()
_AE = _aeroguard.AutoencoderParams.defaults()
_CAE = _aeroguard.ConvAutoencoderParams.defaults()
_LSTM = _aeroguard.LstmParams.defaults()
_CP = _aeroguard.ClusterProfileParams.defaults()
_RS = _aeroguard.RuleSetParams.defaults()
_LS = _aeroguard.LevelShiftParams.defaults()
_RL = _aeroguard.RelationsParams.defaults()
_SU = _aeroguard.SurpriseParams.defaults()


class IsolationForest(_Detector):
    """Isolation forest with scikit-learn's semantics (``contamination="auto"`` puts the threshold at 0.5)."""

    _spec = _aeroguard.IsolationForestParams

    def __init__(
        self,
        *,
        n_estimators: int = _IF["n_estimators"],
        max_samples: Union[str, int, float] = _IF["max_samples"],
        contamination: Union[str, float] = _IF["contamination"],
        random_state: Optional[int] = _IF["random_state"],
        n_jobs: Optional[int] = _IF["n_jobs"],
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state
        self.n_jobs = n_jobs


class ClusterProfile(_Detector):
    """Normal operating points as clusters (k-means, or DBSCAN); score = distance to the nearest, in
    standardised units (``whiten=True``: Mahalanobis). ``adapt`` follows slow drift while streaming."""

    _spec = _aeroguard.ClusterProfileParams

    def __init__(
        self,
        *,
        algorithm: str = _CP["algorithm"],
        n_clusters: int = _CP["n_clusters"],
        eps: float = _CP["eps"],
        min_samples: int = _CP["min_samples"],
        whiten: bool = _CP["whiten"],
        adapt: Optional[float] = _CP["adapt"],
        contamination: Optional[float] = _CP["contamination"],
        random_state: Optional[int] = _CP["random_state"],
    ) -> None:
        self.algorithm = algorithm
        self.n_clusters = n_clusters
        self.eps = eps
        self.min_samples = min_samples
        self.whiten = whiten
        self.adapt = adapt
        self.contamination = contamination
        self.random_state = random_state


class RuleSet(_Detector):
    """Physical rules. ``rules`` is a list of dicts, e.g. ``{"rule": "range", "sensor": 0, "min": 0.0,
    "max": 6.0}``, ``{"rule": "rate_of_change", "sensor": 1, "max_step": 0.5}`` or ``{"rule": "persistence",
    "sensor": 2, "side": "above", "level": 90.0, "clear": 88.0, "rows": 1, "seconds": 120.0}`` (held for 2
    minutes by the rows' own times: pass ``at_ms`` to ``update``, ``times_ms`` to ``anomaly_score``); without rules, ``fit`` learns
    persistence rules on each sensor's normal band (between ``quantiles``, widened by ``margin``)."""

    _spec = _aeroguard.RuleSetParams

    def __init__(
        self,
        *,
        rules: Optional[Sequence[Dict[str, Any]]] = _RS["rules"],
        quantiles: Tuple[float, float] = _RS["quantiles"],
        margin: float = _RS["margin"],
        rows: int = _RS["rows"],
    ) -> None:
        self.rules = rules
        self.quantiles = quantiles
        self.margin = margin
        self.rows = rows

    def fit(self, X: Any, y: Any = None) -> "RuleSet":
        x = _rows(self, X, reset=True)
        if x.shape[0] < 2:
            raise ValueError(f"n_samples = {x.shape[0]}: fitting needs at least 2 rows")
        params = self.get_params()
        params["rules"] = None if self.rules is None else [dict(r) for r in self.rules]
        self.model_ = self._spec(**params).fit(x)
        self.n_features_in_ = x.shape[1]
        self.offset_ = -self.model_.threshold
        return self


class Autoencoder(_Detector):
    """Dense autoencoder over causal windows of ``window`` rows; score = reconstruction error."""

    _spec = _aeroguard.AutoencoderParams

    def __init__(
        self,
        *,
        window: int = _AE["window"],
        hidden: int = _AE["hidden"],
        bottleneck: int = _AE["bottleneck"],
        epochs: int = _AE["epochs"],
        batch_size: int = _AE["batch_size"],
        learning_rate: float = _AE["learning_rate"],
        patience: int = _AE["patience"],
        validation_fraction: float = _AE["validation_fraction"],
        contamination: Optional[float] = _AE["contamination"],
        threshold_z: Optional[float] = _AE["threshold_z"],
        random_state: Optional[int] = _AE["random_state"],
    ) -> None:
        self.window = window
        self.hidden = hidden
        self.bottleneck = bottleneck
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.contamination = contamination
        self.threshold_z = threshold_z
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> "Autoencoder":
        return _fit_calibrated(self, X)


class ConvAutoencoder(_Detector):
    """1-D convolutional autoencoder over causal windows; score = the window's reconstruction error."""

    _spec = _aeroguard.ConvAutoencoderParams

    def __init__(
        self,
        *,
        window: int = _CAE["window"],
        channels: int = _CAE["channels"],
        bottleneck: int = _CAE["bottleneck"],
        epochs: int = _CAE["epochs"],
        batch_size: int = _CAE["batch_size"],
        learning_rate: float = _CAE["learning_rate"],
        patience: int = _CAE["patience"],
        validation_fraction: float = _CAE["validation_fraction"],
        contamination: Optional[float] = _CAE["contamination"],
        threshold_z: Optional[float] = _CAE["threshold_z"],
        random_state: Optional[int] = _CAE["random_state"],
    ) -> None:
        self.window = window
        self.channels = channels
        self.bottleneck = bottleneck
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.contamination = contamination
        self.threshold_z = threshold_z
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> "ConvAutoencoder":
        return _fit_calibrated(self, X)


class LSTM(_Detector):
    """LSTM predictor: score = error predicting the next row; streaming carries the hidden state."""

    _spec = _aeroguard.LstmParams

    def __init__(
        self,
        *,
        hidden: int = _LSTM["hidden"],
        sequence: int = _LSTM["sequence"],
        epochs: int = _LSTM["epochs"],
        batch_size: int = _LSTM["batch_size"],
        learning_rate: float = _LSTM["learning_rate"],
        patience: int = _LSTM["patience"],
        validation_fraction: float = _LSTM["validation_fraction"],
        contamination: Optional[float] = _LSTM["contamination"],
        threshold_z: Optional[float] = _LSTM["threshold_z"],
        random_state: Optional[int] = _LSTM["random_state"],
    ) -> None:
        self.hidden = hidden
        self.sequence = sequence
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.contamination = contamination
        self.threshold_z = threshold_z
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> "LSTM":
        return _fit_calibrated(self, X)


class LevelShift(_Detector):
    """Each sensor's rolling mean over ``window`` rows against its training level, in training scatters (robust
    z); an alarm starts above ``z`` and holds down to ``z * release``. Sensors that drift slowly through the
    training rows (``var(diff) / (2 var)`` under ``slow_below``) count at ``slow_weight`` of their shift (0, the
    default: left out); ``slow_below=None`` scores all alike. ``settle=(peak_release, rearm, rows)`` ends an
    alarm once the score falls under ``peak_release`` of its peak, and right after, a new one must pass ``rearm``
    of that peak, falling back to ``z`` over ``rows`` rows: a plant that stays off its training level after a
    fault raises no alarm through the after-effect."""

    _spec = _aeroguard.LevelShiftParams

    def __init__(
        self,
        *,
        window: int = _LS["window"],
        z: float = _LS["z"],
        release: float = _LS["release"],
        slow_below: Optional[float] = _LS["slow_below"],
        slow_weight: float = _LS["slow_weight"],
        settle: Optional[Tuple[float, float, int]] = _LS["settle"],
    ) -> None:
        self.window = window
        self.z = z
        self.release = release
        self.slow_below = slow_below
        self.slow_weight = slow_weight
        self.settle = settle


class Relations(_Detector):
    """Each sensor's rolling mean over ``window`` rows predicted from the other sensors' (a ridge regression on
    the training rows), scored on the miss in training scatters of the miss; an alarm starts above ``z`` and
    holds down to ``z * release``. It flags a fault that breaks how sensors move together (flow falling while
    the pump's current holds) before any one sensor leaves its range. Sensors slow through the training rows
    (``var(diff) / (2 var)`` under ``slow_below``) are left out; ``slow_below=None`` relates all.
    ``settle=(peak_release, rearm, rows)`` ends alarms after a fault as in :class:`LevelShift`."""

    _spec = _aeroguard.RelationsParams

    def __init__(
        self,
        *,
        window: int = _RL["window"],
        z: float = _RL["z"],
        release: float = _RL["release"],
        slow_below: Optional[float] = _RL["slow_below"],
        ridge: float = _RL["ridge"],
        settle: Optional[Tuple[float, float, int]] = _RL["settle"],
    ) -> None:
        self.window = window
        self.z = z
        self.release = release
        self.slow_below = slow_below
        self.ridge = ridge
        self.settle = settle


_D = TypeVar("_D", bound=_Detector)


def _fit_calibrated(est: _D, X: Any) -> _D:
    """Fits a neural detector: a ``contamination`` replaces the robust-z threshold (one or the other)."""
    x = _rows(est, X, reset=True)
    if x.shape[0] < 2:
        raise ValueError(f"n_samples = {x.shape[0]}: fitting needs at least 2 rows")
    params = est.get_params()
    if params.get("contamination") is not None:
        params["threshold_z"] = None
    est.model_ = est._spec(**params).fit(x)
    est.n_features_in_ = x.shape[1]
    est.offset_ = -est.model_.threshold
    return est


class Surprise(_Detector):
    """How surprising each value and each change are, for single streams of any kind (a web metric, a machine
    temperature, one sensor): each value's distance from its running mean (over about ``window`` rows, scored
    once ``warmup`` rows have settled it) and each
    change against the training rows' mean change feed Numenta's anomaly likelihood (the mean of the last
    ``average`` raw scores against its own distribution over ``history`` rows, refitted every ``reestimate``;
    with ``filter``, a lasting change alarms once at its start). With ``spatial``, a value beyond the range seen
    by more than that fraction of it scores 1. An alarm is a tail probability under ``tail``. The model keeps
    learning as it streams (``update``); batch scoring starts from the fitted state. Needs at least
    ``warmup + reestimate + 1`` training rows."""

    _spec = _aeroguard.SurpriseParams

    def __init__(
        self,
        *,
        window: int = _SU["window"],
        warmup: int = _SU["warmup"],
        average: int = _SU["average"],
        history: int = _SU["history"],
        reestimate: int = _SU["reestimate"],
        filter: bool = _SU["filter"],
        spatial: Optional[float] = _SU["spatial"],
        tail: float = _SU["tail"],
    ) -> None:
        self.window = window
        self.warmup = warmup
        self.average = average
        self.history = history
        self.reestimate = reestimate
        self.filter = filter
        self.spatial = spatial
        self.tail = tail


__all__ = [
    "LSTM",
    "Autoencoder",
    "ClusterProfile",
    "ConvAutoencoder",
    "IsolationForest",
    "LevelShift",
    "NotFittedError",
    "Relations",
    "RuleSet",
    "Surprise",
]
