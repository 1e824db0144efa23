"""Prognostics: when will it fail, and when will a value cross its limit.

``RemainingLife`` estimates a unit's remaining useful life after each of its cycles (gradient-boosted trees on
causal features, a conformal interval); ``Forecaster`` forecasts one series by exponential smoothing (AutoETS's
additive candidates, combined by Akaike weights) and says when it crosses a limit; ``HealthTracker`` follows
each redundant sensor's gap to the others and says when a drifting one will leave its tolerance. Both follow scikit-learn's habits:
``fit`` returns the estimator, ``predict`` and ``predict_interval`` give numpy arrays.

>>> import numpy as np
>>> from aeroguard.prognostics import Forecaster
>>> y = 20.0 + 0.5 * np.arange(200) + 0.1 * (np.arange(200) * 37 % 7)
>>> f = Forecaster().fit(y)
>>> steps, earliest, latest = f.time_to_limit(140.0)
>>> abs(steps - 40) <= 1 and earliest <= steps
True
"""

from aeroguard._aeroguard import Forecaster, HealthTracker, LifeStream, RemainingLife, SensorHealth

__all__ = ["Forecaster", "HealthTracker", "LifeStream", "RemainingLife", "SensorHealth"]
