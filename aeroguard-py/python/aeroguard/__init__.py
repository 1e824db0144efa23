"""AeroGuard: fault-tolerant monitoring of redundant sensors.

Fusion of redundant readings, anomaly detectors with scikit-learn's conventions and an M-of-N ensemble with a
vote record, and coordination (leader election with fencing tokens, registry, config, queue) on memory,
ZooKeeper or Redis. Everything runs in Rust; this package is a thin layer.

>>> import aeroguard
>>> est = aeroguard.fuse([10.0, 10.2, 9.9, 55.0], strategy="brooks_iyengar", f=1, half_width=0.5)
>>> [sensor for sensor, reason in est.excluded]
['s3']
"""

from aeroguard._aeroguard import (
    AccessDeniedError,
    AeroGuardError,
    Client,
    ConflictError,
    ConnectionLossError,
    CoordinationError,
    Delivery,
    Election,
    ElectionAuthority,
    Ensemble,
    Estimate,
    FencedError,
    FusedRows,
    FusionError,
    History,
    Integrity,
    Leadership,
    LeadershipLostError,
    MemberRecord,
    ModelError,
    NotFoundError,
    NotReplicatedError,
    Queue,
    Registration,
    RoundFollower,
    RoundLeader,
    SessionExpiredError,
    Verdict,
    Watch,
    __version__,
)
from aeroguard.detect import (
    LSTM,
    Autoencoder,
    ClusterProfile,
    ConvAutoencoder,
    IsolationForest,
    LevelShift,
    NotFittedError,
    Relations,
    RuleSet,
    Surprise,
)
from aeroguard.fusion import STRATEGIES, fuse, fuse_rows
from aeroguard.members import Member
from aeroguard.config import TypedConfig
from aeroguard.outbox import ForwardPass, HistoryOutbox, Outbox
from aeroguard.prognostics import Forecaster, HealthTracker, LifeStream, RemainingLife, SensorHealth
from aeroguard import aio

__all__ = [
    "STRATEGIES",
    "aio",
    "LSTM",
    "AccessDeniedError",
    "AeroGuardError",
    "Autoencoder",
    "Client",
    "ClusterProfile",
    "ConflictError",
    "ConnectionLossError",
    "ConvAutoencoder",
    "CoordinationError",
    "Delivery",
    "Election",
    "ElectionAuthority",
    "Ensemble",
    "Estimate",
    "FencedError",
    "Forecaster",
    "FusedRows",
    "FusionError",
    "HealthTracker",
    "History",
    "HistoryOutbox",
    "ForwardPass",
    "Outbox",
    "Integrity",
    "IsolationForest",
    "Leadership",
    "LifeStream",
    "LeadershipLostError",
    "LevelShift",
    "Member",
    "MemberRecord",
    "ModelError",
    "NotFittedError",
    "NotFoundError",
    "NotReplicatedError",
    "Queue",
    "Relations",
    "RemainingLife",
    "Surprise",
    "TypedConfig",
    "Registration",
    "RoundFollower",
    "RoundLeader",
    "RuleSet",
    "SensorHealth",
    "SessionExpiredError",
    "Verdict",
    "Watch",
    "__version__",
    "fuse",
    "fuse_rows",
]
