"""What every Tongcheng service shares: the error hierarchy and the injected clock."""

from core.clock import Clock, ManualClock, ScaledClock, SystemClock
from core.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TongchengError,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "Clock",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "ManualClock",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "ScaledClock",
    "SystemClock",
    "TongchengError",
    "Unauthenticated",
    "Unavailable",
]
