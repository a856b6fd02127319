"""Maps the domain's exceptions (and Redis outages) to gRPC status codes, in one place."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc
import redis.exceptions
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    TongchengError,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("tongcheng.rpc")

_CODES: dict[type[TongchengError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    Unavailable: code_pb2.UNAVAILABLE,
}

# Redis being down or unreachable is the dependency failure the services must report as UNAVAILABLE.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError)


# A status travels in response metadata (grpc-message, grpc-status-details-bin), which clients cap
# (grpc's default hard limit is 16 KiB for all of it): whatever a handler wrote, a status stays within
# these, so a caller always reads the status itself rather than its own client's RESOURCE_EXHAUSTED.
MAX_MESSAGE_BYTES = 1024
MAX_VIOLATIONS = 20
MAX_FIELD_CHARS = 120
MAX_DESCRIPTION_CHARS = 240


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _clip_bytes(text: str, max_bytes: int) -> str:
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode(errors="ignore") + "…"


def error_to_status(exc: BaseException) -> grpc.Status:
    """The rich gRPC status for a domain error (google.rpc.BadRequest details for bad input), bounded in size."""
    if isinstance(exc, REDIS_DOWN):
        exc = Unavailable(f"state store unavailable: {type(exc).__name__}")
    code = next((c for t, c in _CODES.items() if isinstance(exc, t)), code_pb2.INTERNAL)
    if isinstance(exc, InvalidArgument):
        shown = exc.violations[:MAX_VIOLATIONS]
        violations = [
            error_details_pb2.BadRequest.FieldViolation(
                field=_clip(v.field, MAX_FIELD_CHARS), description=_clip(v.description, MAX_DESCRIPTION_CHARS)
            )
            for v in shown
        ]
        more = f"; and {len(exc.violations) - len(shown)} more" if len(exc.violations) > len(shown) else ""
        message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        message = _clip_bytes(message, MAX_MESSAGE_BYTES - len(more)) + more
        status = status_pb2.Status(code=code, message=message)
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=violations))
        status.details.append(detail)
    else:
        message = str(exc) if code != code_pb2.INTERNAL else "internal error (logged)"
        status = status_pb2.Status(code=code, message=_clip_bytes(message or type(exc).__name__, MAX_MESSAGE_BYTES))
    return rpc_status.to_status(status)


def _is_expected(exc: BaseException) -> bool:
    return isinstance(exc, (TongchengError, *REDIS_DOWN))


async def _abort(context: grpc.aio.ServicerContext, method: str, exc: BaseException) -> None:
    status = error_to_status(exc)
    if _is_expected(exc):
        log.info("rpc=%s code=%s detail=%s", method, status.code.name, status.details)
    else:
        log.exception("rpc=%s failed unexpectedly", method, exc_info=exc)
    await context.abort_with_status(status)


F = TypeVar("F", bound=Callable[..., Any])


def rpc(fn: F) -> F:
    """Wraps a servicer method (unary or streaming) so domain errors become gRPC statuses."""
    name = fn.__name__
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def stream_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async for item in fn(self, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # every failure leaves as a status; unexpected ones as INTERNAL, logged
                await _abort(context, name, exc)

        return stream_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    async def unary_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, name, exc)

    return unary_wrapper  # type: ignore[return-value]
