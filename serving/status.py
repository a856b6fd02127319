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


def error_to_status(exc: BaseException) -> grpc.Status:
    """The rich gRPC status for a domain error (google.rpc.BadRequest details for bad input)."""
    if isinstance(exc, REDIS_DOWN):
        exc = Unavailable(f"state store unavailable: {exc}")
    code = next((c for t, c in _CODES.items() if isinstance(exc, t)), code_pb2.INTERNAL)
    status = status_pb2.Status(code=code, message=str(exc) or type(exc).__name__)
    if isinstance(exc, InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in exc.violations
                ]
            )
        )
        status.details.append(detail)
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
