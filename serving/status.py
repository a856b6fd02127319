"""Maps the domain's exceptions (and Redis outages) to gRPC status codes, in one place."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import redis.exceptions
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    TongchengError,
    Unauthenticated,
    Unavailable,
)
from serving.metrics import REDIS_ERRORS, RPC_CODES, RPC_SECONDS

log = logging.getLogger("tongcheng.rpc")

_CODES: dict[type[TongchengError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    Unavailable: code_pb2.UNAVAILABLE,
    ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
}

# Redis being down or unreachable is the dependency failure the services must report as UNAVAILABLE. On a
# Redis Cluster it also shows as a node answering CLUSTERDOWN (some slots unserved: a master died and no
# replica took over) or TRYAGAIN (a slot moving), or the client finding no node for a slot or none at all.
REDIS_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.RedisClusterUnreachableError,
)


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
    if isinstance(exc, ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(max(1, round(exc.retry_after_s * 1000)))
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        status.details.append(detail)
    return rpc_status.to_status(status)


def _is_expected(exc: BaseException) -> bool:
    return isinstance(exc, (TongchengError, *REDIS_DOWN))


async def _abort(context: grpc.aio.ServicerContext, method: str, exc: BaseException) -> None:
    status = error_to_status(exc)
    RPC_CODES.labels(method, status.code.name).inc()
    if isinstance(exc, (*REDIS_DOWN, Unavailable)):
        REDIS_ERRORS.labels(method).inc()
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

    latency = RPC_SECONDS.labels(name)
    answered = RPC_CODES.labels(name, "OK")

    @functools.wraps(fn)
    async def unary_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            reply = await fn(self, request, context)
            answered.inc()
            return reply
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, name, exc)
        finally:
            latency.observe(time.perf_counter() - started)

    return unary_wrapper  # type: ignore[return-value]


# How long before a unary call's deadline the guard gives up on its handler and answers UNAVAILABLE,
# leaving the answer time to reach the caller. AssignRiders waits for the tick on purpose, but only
# until a tenth of its time and 200 ms before its deadline (dispatch/api/servicer.py): at least 0.2 s
# before this bound, so the guard never cuts that wait short and stays on it, firing only when Redis
# keeps it waiting (storing the orders, reading the reply back), as for any call.
BOUND_MARGIN_S = 0.1


class StoreGuard(grpc.aio.ServerInterceptor):
    """Answers UNAVAILABLE for the state store before callers' deadlines do it worse.

    While the health monitor knows Redis is down (`store_down`), every call of the services fails at
    once instead of waiting on a dead or stalled Redis. A unary call still running a margin before its
    deadline is cancelled (redis-py drops a connection cut mid-command) and answers UNAVAILABLE: the
    caller learns it may retry, where DEADLINE_EXCEEDED would leave it guessing. Streams are not bounded
    (they are long by design). Health checking and reflection (the `grpc.*` services) pass untouched:
    they must answer whatever state Redis is in.
    """

    def __init__(self, margin_s: float = BOUND_MARGIN_S) -> None:
        self.margin_s = margin_s
        self.store_down = False
        # method -> (handler as registered, guarded handler): built once per method, not per call.
        self._guarded: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        known = self._guarded.get(method)
        if known is None or known[0] is not handler:
            known = self._guarded[method] = (handler, self._guard(handler, method.rsplit("/", 1)[-1]))
        return known[1]

    async def _refuse_if_down(self, context: grpc.aio.ServicerContext, method: str) -> None:
        if self.store_down:
            # One line per outage comes from the health monitor; one per refused call would flood the log.
            log.debug("rpc=%s refused: Redis is down", method)
            RPC_CODES.labels(method, "UNAVAILABLE").inc()
            REDIS_ERRORS.labels(method).inc()
            await context.abort_with_status(error_to_status(Unavailable("state store unavailable: Redis is down")))

    def _bound_s(self, context: grpc.aio.ServicerContext) -> float | None:
        remaining = context.time_remaining()
        if remaining is None:
            return None
        # A tenth of a short deadline, so that calls with deadlines under the margin can still succeed.
        return max(0.0, remaining - min(self.margin_s, remaining / 10))

    def _guard(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            unary = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await self._refuse_if_down(context, method)
                bound_s = self._bound_s(context)
                if bound_s is None:
                    return await unary(request, context)
                try:
                    async with asyncio.timeout(bound_s):
                        return await unary(request, context)
                except TimeoutError:
                    await _abort(context, method, Unavailable("state store did not answer in time"))

            return grpc.unary_unary_rpc_method_handler(unary_unary, **codec)
        if handler.stream_unary is not None:
            client_stream = handler.stream_unary

            async def stream_unary(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
                await self._refuse_if_down(context, method)
                return await client_stream(requests, context)

            return grpc.stream_unary_rpc_method_handler(stream_unary, **codec)
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            server_stream = handler.unary_stream

            async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                await self._refuse_if_down(context, method)
                async for reply in server_stream(request, context):
                    yield reply

            return grpc.unary_stream_rpc_method_handler(unary_stream, **codec)
        return handler  # no bidirectional streams here
