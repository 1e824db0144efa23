"""Anomaly detectors with scikit-learn's conventions.

Parameters are keyword-only and stored as attributes; ``fit(X)`` returns ``self``; ``score_samples`` is higher
for more normal rows and ``decision_function`` is negative for outliers, as in scikit-learn's
``IsolationForest``; ``predict`` gives +1 (inlier) or -1 (outlier); ``is_anomaly`` gives booleans. ``update``
scores one row of a stream, carrying the streaming state. Models save to and load from JSON.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Union

import numpy as np

from aeroguard import _aeroguard


def _as2d(X: Any, n_features: Optional[int] = None) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"X must be two-dimensional (rows x features), got shape {x.shape}")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"X has {x.shape[1]} features, the model was fitted on {n_features}")
    return x


class _Detector:
    _kind = ""
    _params: "tuple[str, ...]" = ()

    def __init__(self) -> None:
        self.model_: Optional[_aeroguard.FittedModel] = None

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self._params}

    def set_params(self, **params: Any) -> "_Detector":
        for k, v in params.items():
            if k not in self._params:
                raise ValueError(f"unknown parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._params)
        return f"{type(self).__name__}({args})"

    def _fitted(self) -> _aeroguard.FittedModel:
        if self.model_ is None:
            raise _aeroguard.NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")
        return self.model_

    def fit(self, X: Any, y: Any = None) -> "_Detector":
        """Learns normal operation from the rows of ``X``; returns ``self``."""
        x = _as2d(X)
        self.model_ = _aeroguard.fit_model(self._kind, json.dumps(self.get_params()), x)
        self.n_features_in_ = x.shape[1]
        self.offset_ = -self.model_.threshold
        return self

    def anomaly_score(self, X: Any) -> np.ndarray:
        """AeroGuard's own score: higher is more anomalous; above ``threshold_`` is an anomaly."""
        m = self._fitted()
        return m.score(_as2d(X, m.n_features))

    @property
    def threshold_(self) -> float:
        return self._fitted().threshold

    def score_samples(self, X: Any) -> np.ndarray:
        """scikit-learn's sign: higher is more normal."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """Negative for outliers, as scikit-learn's ``score_samples(X) - offset_``."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers, -1 for outliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).predict(X)

    def is_anomaly(self, X: Any) -> np.ndarray:
        """True where the row's score is above the threshold."""
        return self.anomaly_score(X) > self.threshold_

    def update(self, row: Any) -> float:
        """Scores the next row of a stream (AeroGuard's sign: higher is more anomalous)."""
        m = self._fitted()
        r = np.asarray(row, dtype=np.float64)
        if r.ndim != 1 or r.shape[0] != m.n_features:
            raise ValueError(f"row must have {m.n_features} values, got shape {r.shape}")
        return m.update(r)

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


class IsolationForest(_Detector):
    """Isolation forest with scikit-learn's semantics (``contamination="auto"`` puts the threshold at 0.5)."""

    _kind = "isolation_forest"
    _params = ("n_estimators", "max_samples", "contamination", "random_state", "n_jobs")

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        max_samples: Union[str, int, float] = "auto",
        contamination: Union[str, float] = "auto",
        random_state: Optional[int] = None,
        n_jobs: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state
        self.n_jobs = n_jobs

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        p = super().get_params(deep)
        if p["contamination"] == "auto":
            p["contamination"] = None
        return p


class _Neural(_Detector):
    _training = ("epochs", "batch_size", "learning_rate", "patience", "validation_fraction", "threshold_z", "random_state")

    def _set_training(self, epochs: int, batch_size: int, learning_rate: float, patience: int,
                      validation_fraction: float, threshold_z: float, random_state: Optional[int]) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.threshold_z = threshold_z
        self.random_state = random_state


class Autoencoder(_Neural):
    """Dense autoencoder over causal windows of ``window`` rows; score = reconstruction error."""

    _kind = "autoencoder"
    _params = ("window", "hidden", "bottleneck") + _Neural._training

    def __init__(self, *, window: int = 4, hidden: int = 32, bottleneck: int = 4, epochs: int = 60,
                 batch_size: int = 32, learning_rate: float = 3e-3, patience: int = 8,
                 validation_fraction: float = 0.2, threshold_z: float = 5.0, random_state: Optional[int] = None) -> None:
        super().__init__()
        self.window = window
        self.hidden = hidden
        self.bottleneck = bottleneck
        self._set_training(epochs, batch_size, learning_rate, patience, validation_fraction, threshold_z, random_state)


class ConvAutoencoder(_Neural):
    """1-D convolutional autoencoder over causal windows; score = the window's reconstruction error."""

    _kind = "conv_autoencoder"
    _params = ("window", "channels", "bottleneck") + _Neural._training

    def __init__(self, *, window: int = 16, channels: int = 16, bottleneck: int = 4, epochs: int = 60,
                 batch_size: int = 32, learning_rate: float = 3e-3, patience: int = 8,
                 validation_fraction: float = 0.2, threshold_z: float = 5.0, random_state: Optional[int] = None) -> None:
        super().__init__()
        self.window = window
        self.channels = channels
        self.bottleneck = bottleneck
        self._set_training(epochs, batch_size, learning_rate, patience, validation_fraction, threshold_z, random_state)


class LSTM(_Neural):
    """LSTM predictor: score = error predicting the next row; streaming carries the hidden state."""

    _kind = "lstm"
    _params = ("hidden", "sequence") + _Neural._training

    def __init__(self, *, hidden: int = 32, sequence: int = 32, epochs: int = 60, batch_size: int = 32,
                 learning_rate: float = 3e-3, patience: int = 8, validation_fraction: float = 0.2,
                 threshold_z: float = 5.0, random_state: Optional[int] = None) -> None:
        super().__init__()
        self.hidden = hidden
        self.sequence = sequence
        self._set_training(epochs, batch_size, learning_rate, patience, validation_fraction, threshold_z, random_state)
