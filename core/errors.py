"""The one exception hierarchy of Tongcheng's domain code.

    TongchengError
     ├── InvalidArgument      bad input; carries one FieldViolation per offending field
     ├── NotFound             an id that names nothing
     ├── FailedPrecondition   a legal request in the wrong state (e.g. delivering an unpicked order)
     ├── PermissionDenied     a valid caller asking for what its role may not do
     ├── Unauthenticated      no caller, or one whose token does not verify
     ├── ResourceExhausted    load shed: the work is over its budget now; retry after `retry_after_s`
     └── Unavailable          a dependency (Redis) is down; retrying later may succeed

Domain code raises these and never imports grpc; `serving.status` maps them to gRPC status codes
in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One offending field, named by its path in the request (`orders[2].pickup.lat`)."""

    field: str
    description: str


class TongchengError(Exception):
    """Base of every error the domain code raises on purpose."""


class InvalidArgument(TongchengError):
    """The request is malformed; nothing was changed."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        self.violations = [violations] if isinstance(violations, FieldViolation) else list(violations)
        if not self.violations:
            raise ValueError("InvalidArgument needs at least one violation")
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in self.violations))

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls(FieldViolation(field, description))


class NotFound(TongchengError):
    """The named entity does not exist."""


class FailedPrecondition(TongchengError):
    """The entity exists but is not in a state that allows the request."""


class PermissionDenied(TongchengError):
    """The caller is known but its role does not allow the request."""


class Unauthenticated(TongchengError):
    """The caller could not be identified."""


class ResourceExhausted(TongchengError):
    """Shed load: nothing was accepted; the caller may retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(TongchengError):
    """A dependency is unreachable; the request did not take effect and may be retried."""
