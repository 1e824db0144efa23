"""Type stubs of the Rust extension module (checked against it by mypy's stubtest)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
from typing_extensions import final

__all__ = [
    "__version__",
    "AeroGuardError",
    "FusionError",
    "NotFittedError",
    "ModelError",
    "CoordinationError",
    "ConnectionLossError",
    "SessionExpiredError",
    "ConflictError",
    "NotFoundError",
    "FencedError",
    "LeadershipLostError",
    "AccessDeniedError",
    "fuse",
    "fuse_rows",
    "Estimate",
    "FusedRows",
    "IsolationForestParams",
    "AutoencoderParams",
    "ConvAutoencoderParams",
    "LstmParams",
    "ClusterProfileParams",
    "RuleSetParams",
    "LevelShiftParams",
    "RelationsParams",
    "SurpriseParams",
    "FittedModel",
    "Ensemble",
    "Verdict",
    "MemberRecord",
    "Integrity",
    "History",
    "Client",
    "ElectionAuthority",
    "Election",
    "Leadership",
    "Queue",
    "Delivery",
    "Registration",
    "Watch",
    "RoundLeader",
    "RoundFollower",
    "Forecaster",
    "RemainingLife",
    "LifeStream",
    "HealthTracker",
    "SensorHealth",
]

__version__: str

class AeroGuardError(Exception): ...
class FusionError(AeroGuardError): ...
class NotFittedError(AeroGuardError): ...
class ModelError(AeroGuardError): ...
class CoordinationError(AeroGuardError): ...
class ConnectionLossError(CoordinationError): ...
class SessionExpiredError(CoordinationError): ...
class ConflictError(CoordinationError): ...
class NotFoundError(CoordinationError): ...
class FencedError(CoordinationError): ...
class LeadershipLostError(CoordinationError): ...
class AccessDeniedError(CoordinationError): ...

@final
class Estimate:
    @property
    def value(self) -> float: ...
    @property
    def interval(self) -> Optional[Tuple[float, float]]: ...
    @property
    def strategy(self) -> str: ...
    @property
    def fault_tolerance(self) -> int: ...
    @property
    def used(self) -> List[str]: ...
    @property
    def excluded(self) -> List[Tuple[str, str]]: ...
    @property
    def degraded(self) -> Optional[str]: ...

def fuse(
    values: npt.NDArray[np.float64],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Optional[npt.NDArray[np.float64]] = None,
    sensors: Optional[List[str]] = None,
    times_ms: Optional[npt.NDArray[np.int64]] = None,
    qualities: Optional[List[str]] = None,
    max_age_ms: Optional[int] = None,
    now_ms: Optional[int] = None,
    when_too_few: str = "raise",
) -> Estimate: ...

@final
class FusedRows:
    @property
    def values(self) -> npt.NDArray[np.float64]: ...
    @property
    def low(self) -> npt.NDArray[np.float64]: ...
    @property
    def high(self) -> npt.NDArray[np.float64]: ...
    @property
    def degraded(self) -> List[Optional[str]]: ...
    @property
    def excluded(self) -> List[List[Tuple[str, str]]]: ...
    def __getitem__(self, key: int, /) -> Estimate: ...
    def __len__(self) -> int: ...

def fuse_rows(
    values: npt.NDArray[np.float64],
    *,
    strategy: str = "brooks_iyengar",
    f: Optional[int] = None,
    half_width: Optional[npt.NDArray[np.float64]] = None,
    sensors: Optional[List[str]] = None,
    times_ms: Optional[npt.NDArray[np.int64]] = None,
    qualities: Optional[npt.NDArray[np.uint8]] = None,
    max_age_ms: Optional[int] = None,
    now_ms: Optional[npt.NDArray[np.int64]] = None,
    when_too_few: str = "raise",
) -> FusedRows: ...

@final
class IsolationForestParams:
    def __new__(
        cls,
        *,
        n_estimators: Optional[int] = None,
        max_samples: Union[str, int, float, None] = None,
        contamination: Union[str, float, None] = None,
        random_state: Optional[int] = None,
        n_jobs: Optional[int] = None,
    ) -> IsolationForestParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class AutoencoderParams:
    def __new__(
        cls,
        *,
        window: Optional[int] = None,
        hidden: Optional[int] = None,
        bottleneck: Optional[int] = None,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        patience: Optional[int] = None,
        validation_fraction: Optional[float] = None,
        contamination: Optional[float] = None,
        threshold_z: Optional[float] = None,
        random_state: Optional[int] = None,
    ) -> AutoencoderParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class ConvAutoencoderParams:
    def __new__(
        cls,
        *,
        window: Optional[int] = None,
        channels: Optional[int] = None,
        bottleneck: Optional[int] = None,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        patience: Optional[int] = None,
        validation_fraction: Optional[float] = None,
        contamination: Optional[float] = None,
        threshold_z: Optional[float] = None,
        random_state: Optional[int] = None,
    ) -> ConvAutoencoderParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class LstmParams:
    def __new__(
        cls,
        *,
        hidden: Optional[int] = None,
        sequence: Optional[int] = None,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        patience: Optional[int] = None,
        validation_fraction: Optional[float] = None,
        contamination: Optional[float] = None,
        threshold_z: Optional[float] = None,
        random_state: Optional[int] = None,
    ) -> LstmParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class ClusterProfileParams:
    def __new__(
        cls,
        *,
        algorithm: Optional[str] = None,
        n_clusters: Optional[int] = None,
        eps: Optional[float] = None,
        min_samples: Optional[int] = None,
        whiten: Optional[bool] = None,
        adapt: Optional[float] = None,
        contamination: Optional[float] = None,
        random_state: Optional[int] = None,
    ) -> ClusterProfileParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class RuleSetParams:
    def __new__(
        cls,
        *,
        rules: Optional[List[Dict[str, Any]]] = None,
        quantiles: Optional[Tuple[float, float]] = None,
        margin: Optional[float] = None,
        rows: Optional[int] = None,
    ) -> RuleSetParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class LevelShiftParams:
    def __new__(
        cls,
        *,
        window: Optional[int] = None,
        z: Optional[float] = None,
        release: Optional[float] = None,
        slow_below: Optional[float] = ...,
        slow_weight: Optional[float] = None,
        settle: Optional[Sequence[float]] = None,
    ) -> LevelShiftParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class RelationsParams:
    def __new__(
        cls,
        *,
        window: Optional[int] = None,
        z: Optional[float] = None,
        release: Optional[float] = None,
        slow_below: Optional[float] = ...,
        ridge: Optional[float] = None,
        settle: Optional[Sequence[float]] = None,
    ) -> RelationsParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class SurpriseParams:
    def __new__(
        cls,
        *,
        window: Optional[int] = None,
        average: Optional[int] = None,
        history: Optional[int] = None,
        reestimate: Optional[int] = None,
        filter: Optional[bool] = None,
        spatial: Optional[float] = ...,
        tail: Optional[float] = None,
    ) -> SurpriseParams: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    def fit(self, x: npt.NDArray[np.float64]) -> FittedModel: ...

@final
class FittedModel:
    @property
    def name(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def n_features(self) -> int: ...
    def score(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def update(self, row: npt.NDArray[np.float64]) -> float: ...
    def reset(self) -> None: ...
    def save(self) -> str: ...
    @staticmethod
    def load(json: str) -> FittedModel: ...
    def __reduce__(self) -> Tuple[Callable[[str], FittedModel], Tuple[str]]: ...

@final
class MemberRecord:
    @property
    def name(self) -> str: ...
    @property
    def score(self) -> Optional[float]: ...
    @property
    def threshold(self) -> float: ...
    @property
    def weight(self) -> float: ...
    @property
    def vote(self) -> str: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def fault(self) -> Optional[str]: ...
    @property
    def drivers(self) -> List[Tuple[int, float]]: ...

@final
class Verdict:
    @property
    def alarm(self) -> bool: ...
    @property
    def passed(self) -> bool: ...
    @property
    def yes(self) -> float: ...
    @property
    def required(self) -> float: ...
    @property
    def available(self) -> float: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def members(self) -> List[MemberRecord]: ...

@final
class Integrity:
    @property
    def m(self) -> float: ...
    @property
    def total(self) -> float: ...
    @property
    def forcing(self) -> List[str]: ...
    @property
    def suppressing(self) -> List[str]: ...
    @property
    def effective_m(self) -> float: ...
    @property
    def available(self) -> float: ...
    @property
    def left_out(self) -> List[str]: ...
    @property
    def degraded_rows(self) -> int: ...
    @property
    def degraded_ms(self) -> int: ...
    @property
    def holds(self) -> bool: ...
    @property
    def warnings(self) -> List[str]: ...

@final
class Ensemble:
    @staticmethod
    def fit(
        x: npt.NDArray[np.float64], *, neural: bool = False, m: Optional[float] = None, random_state: int = 0
    ) -> Ensemble: ...
    @staticmethod
    def of(
        members: Sequence[Any],
        *,
        m: Optional[float] = None,
        weights: Optional[List[float]] = None,
        k_of: Optional[int] = None,
        window: Optional[int] = None,
        k_of_seconds: Optional[float] = None,
        window_seconds: Optional[float] = None,
    ) -> Ensemble: ...
    @property
    def members(self) -> List[str]: ...
    @property
    def integrity(self) -> Integrity: ...
    def decide(self, x: npt.NDArray[np.float64]) -> List[Verdict]: ...
    def update(self, row: npt.NDArray[np.float64], at_ms: Optional[int] = None) -> Verdict: ...
    def save(self) -> str: ...
    @staticmethod
    def load(json: str) -> Ensemble: ...
    def __reduce__(self) -> Tuple[Callable[[str], Ensemble], Tuple[str]]: ...

@final
class History:
    @staticmethod
    def memory() -> History: ...
    def append(self, series: str, token: int, points: Sequence[Any], *, owner: str) -> None: ...
    def range(self, series: str, from_ms: int = 0, to_ms: int = ...) -> List[Tuple[int, float, Optional[bool]]]: ...
    def fence(self, series: str) -> Optional[int]: ...

@final
class Leadership:
    @property
    def token(self) -> int: ...
    def is_trusted(self) -> bool: ...
    def ensure(self) -> int: ...
    def resign(self) -> None: ...

@final
class Election:
    def campaign(self, timeout: Optional[float] = None) -> Leadership: ...
    def run(self, func: Callable[..., Any], *args: Any) -> Any: ...
    def contenders(self) -> List[str]: ...
    def leader(self) -> Optional[str]: ...
    def grant(self) -> Optional[Tuple[str, int]]: ...

@final
class Delivery:
    @property
    def payload(self) -> bytes: ...
    def ack(self) -> None: ...

@final
class Queue:
    def put(self, item: bytes) -> None: ...
    def get(self, timeout: Optional[float] = None) -> Delivery: ...
    def __len__(self) -> int: ...

@final
class Registration:
    def close(self) -> None: ...

@final
class Watch:
    def stop(self) -> None: ...

@final
class RoundLeader:
    def run(self, leadership: Leadership) -> Tuple[int, int, List[Tuple[str, str]], List[str], bool]: ...
    @property
    def unattested(self) -> List[Tuple[str, str]]: ...

@final
class RoundFollower:
    def next_round(self, timeout: Optional[float] = None) -> Tuple[int, int, str]: ...
    def submit(self, value: str) -> None: ...

@final
class ElectionAuthority:
    def __new__(
        cls,
        *,
        members: List[str],
        instance: str = "authority-1",
        url: Optional[str] = None,
        sentinels: Optional[List[str]] = None,
        master: str = "aeroguard",
        session_timeout: float = 4.0,
        redis_auth: Optional[str] = None,
        sentinel_auth: Optional[str] = None,
        redis_ca: Optional[str] = None,
    ) -> ElectionAuthority: ...
    @property
    def served(self) -> int: ...
    @property
    def refused(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> ElectionAuthority: ...
    def __exit__(self, _t: Any, _v: Any, _tb: Any) -> bool: ...

@final
class Client:
    def __new__(
        cls,
        backend: str = "memory",
        *,
        node: str,
        hosts: Optional[str] = None,
        url: Optional[str] = None,
        sentinels: Optional[List[str]] = None,
        master: str = "aeroguard",
        session_timeout: float = 4.0,
        zk_auth: Optional[str] = None,
        zk_node_auth: Optional[str] = None,
        zk_members: Optional[Dict[str, str]] = None,
        zk_sasl: Optional[str] = None,
        zk_node_sasl: Optional[str] = None,
        redis_auth: Optional[str] = None,
        sentinel_auth: Optional[str] = None,
        redis_ca: Optional[str] = None,
        election_authority: bool = False,
    ) -> Client: ...
    @property
    def node(self) -> str: ...
    @property
    def backend(self) -> str: ...
    def election(self, name: str) -> Election: ...
    def queue(self, name: str, max_deliveries: Optional[int] = 16) -> Queue: ...
    def register(self, service: str, payload: Optional[str] = None) -> Registration: ...
    def instances(self, service: str) -> List[Tuple[str, str]]: ...
    def watch_members(self, service: str, callback: Callable[[List[str]], Any]) -> Watch: ...
    def get_config(self, key: str) -> Optional[Tuple[int, bytes]]: ...
    def set_config(self, key: str, value: bytes, version: Optional[int] = None) -> int: ...
    def watch_config(self, key: str, callback: Callable[[int, bytes], Any]) -> Watch: ...
    def round_leader(self, name: str, service: str, *, deadline: float = 1.0, quorum: str = "majority") -> RoundLeader: ...
    def round_follower(self, name: str, service: str) -> RoundFollower: ...
    def history(self) -> History: ...
    def close(self) -> None: ...
    def __enter__(self) -> Client: ...
    def __exit__(self, _t: Any, _v: Any, _tb: Any) -> bool: ...

@final
class Forecaster:
    def __new__(cls, period: int = 1, coverage: float = 0.9) -> Forecaster: ...
    def fit(self, y: npt.NDArray[np.float64]) -> Forecaster: ...
    def update(self, y: float) -> None: ...
    def predict(self, horizon: int) -> npt.NDArray[np.float64]: ...
    def predict_interval(
        self, horizon: int, *, spread: float = 0.0
    ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def time_to_limit(
        self, limit: float, *, rising: bool = True, horizon: int = 1000, spread: float = 0.0
    ) -> Optional[Tuple[int, int, Optional[int]]]: ...
    @property
    def trend_(self) -> str: ...
    @property
    def period_(self) -> int: ...
    @property
    def smoothing_(self) -> Tuple[float, float, float, float]: ...
    @property
    def sigma_(self) -> float: ...

@final
class RemainingLife:
    def __new__(
        cls, *, cap: float = 125.0, coverage: float = 0.9, folds: int = 5, bins: int = 4, seed: int = 7
    ) -> RemainingLife: ...
    def fit(self, units: Sequence[npt.NDArray[np.float64]]) -> RemainingLife: ...
    def predict(self, unit: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def predict_interval(
        self, unit: npt.NDArray[np.float64]
    ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def stream(self) -> LifeStream: ...
    @property
    def columns_(self) -> List[int]: ...

@final
class LifeStream:
    def push(self, row: npt.NDArray[np.float64]) -> Tuple[float, float, float]: ...
    @property
    def cycles(self) -> int: ...

@final
class SensorHealth:
    @property
    def sensor(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def bias(self) -> float: ...
    @property
    def drift(self) -> float: ...
    @property
    def exclusion_rate(self) -> float: ...
    @property
    def rounds(self) -> int: ...
    @property
    def time_to_tolerance(self) -> Optional[Tuple[int, int, Optional[int]]]: ...

@final
class HealthTracker:
    def __new__(
        cls,
        tolerance: float,
        *,
        window: int = 20,
        warn_within: int = 50,
        min_t: float = 6.0,
        min_rounds: int = 8,
        coverage: float = 0.9,
    ) -> HealthTracker: ...
    def observe(
        self, fused: float, readings: Dict[str, float], excluded: Sequence[str] = ...
    ) -> List[SensorHealth]: ...
