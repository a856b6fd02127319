"""The fuzz target: the real server (App) on a real Redis, every RPC it serves found by reflection.

The server runs in a thread of its own on a `ManualClock`, with its periodic work (the dispatch tick,
the order center following dispatch) taken out of its own timers and run by the fuzzer between calls,
on the state the calls left. So between two calls nothing writes to Redis, and a digest of the whole
keyspace (`DEBUG DIGEST`) before and after a refused call shows exactly whether it changed anything; and
a tick that fails on what the calls stored is a finding like a failed call.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import redis
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from core.clock import ManualClock
from core.validation import quote, timestamp_ms_violation
from dispatch.lease import LeaseConfig
from serving.app import App, ServerConfig
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis

# Status codes that mean the server failed rather than refused.
FAILURE_CODES = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
MAX_STATUS_MESSAGE_BYTES = 1024
# A unary call gets this deadline; the server must answer within it. A server stream (WatchAssignments)
# never ends by itself: it is read until this shorter deadline, which is then no failure.
UNARY_DEADLINE_S = 5.0
STREAM_DEADLINE_S = 0.1
_PRINTABLE_ID = re.compile(r"[!-~]*", re.ASCII)
# Only the product's own services are fuzzed; health and reflection are grpc's.
FUZZED_PREFIX = "tongcheng."


@dataclass(frozen=True)
class Caller:
    """Who makes a call: a role and, for riders and merchants, their id; role None sends no token."""

    role: Role | None
    subject_id: str = ""

    def __str__(self) -> str:
        if self.role is None:
            return "no token"
        return f"{self.role.value}:{self.subject_id}" if self.subject_id else self.role.value


@dataclass(frozen=True)
class Outcome:
    method: str
    code: grpc.StatusCode
    message: str
    reply: Message | None
    latency_s: float


@dataclass
class Finding:
    """A defect: the call (or the background step after it) and what went wrong."""

    method: str
    caller: str
    request: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method} as {self.caller}: {self.problem}\n    request: {self.request}"


def describe(msg: Message, max_chars: int = 600) -> str:
    """A request as compact JSON text, its long strings cut (a finding must stay readable)."""
    try:
        data = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    except Exception:  # e.g. a Timestamp out of range cannot be rendered as JSON: fall back to text format
        text = str(msg).replace("\n", " ")
        return text if len(text) <= max_chars else text[:max_chars] + "…"

    def cut(v: Any) -> Any:
        if isinstance(v, str) and len(v) > 60:
            return v[:40] + f"…({len(v)} chars)"
        if isinstance(v, list):
            return [cut(x) for x in v[:5]] + ([f"…({len(v)} entries)"] if len(v) > 5 else [])
        if isinstance(v, dict):
            return {k: cut(x) for k, x in v.items()}
        return v

    text = json.dumps(cut(data), ensure_ascii=False)
    return text if len(text) <= max_chars else text[:max_chars] + "…"


def reply_problems(msg: Message, path: str = "", depth: int = 0) -> list[str]:
    """What a reply must never carry, whatever was asked: a Timestamp no client can read (outside years
    1-9999, nanos outside [0, 1e9)), or an id (`*_id`, the caller's or one the server made) holding anything
    but printable ASCII: such an id was let in unchecked."""
    out: list[str] = []
    if depth > 6:
        return out
    for fd, value in msg.ListFields():
        name = f"{path}{fd.name}"
        values = list(value) if fd.is_repeated else [value]
        for v in values[:100]:
            if fd.type == fd.TYPE_MESSAGE and not fd.message_type.GetOptions().map_entry:
                if fd.message_type.full_name == "google.protobuf.Timestamp":
                    if timestamp_ms_violation(name, v.seconds, v.nanos) is not None:
                        out.append(f"the reply's {name} is not a valid Timestamp ({v.seconds} s, {v.nanos} ns)")
                else:
                    out += reply_problems(v, f"{name}.", depth + 1)
            elif fd.type == fd.TYPE_STRING and fd.name.endswith("_id") and not _PRINTABLE_ID.fullmatch(v):
                out.append(f"the reply's {name} is {quote(v)}: an id with blanks, control or non-ASCII characters")
    return out


class _ServerThread:
    """An App on its own event loop in a thread, so that a synchronous fuzzer can call it."""

    def __init__(self, config: ServerConfig, clock: ManualClock) -> None:
        self.app = App(config, clock)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.run(self.app.start())
        # The fuzzer runs the order center's following of dispatch itself, between calls.
        if self.app.orders is not None:
            self.run(self.app.orders.stop())
        # ... and the surge refresh (it writes every few seconds).
        if self.app.pricing is not None:
            self.run(self.app.pricing.stop())

    def run(self, coro: Any, timeout_s: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.run(_call(fn))

    def stop(self) -> None:
        try:
            self.run(self.app.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


async def _call(fn: Callable[[], None]) -> None:
    fn()


@dataclass
class Method:
    """One RPC of a served service, with its reflected message classes."""

    service: str
    descriptor: MethodDescriptor
    request_cls: type[Message]
    reply_cls: type[Message]

    @property
    def name(self) -> str:
        return f"{self.service}/{self.descriptor.name}"

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.descriptor.name}"

    @property
    def client_streaming(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)


@dataclass
class FuzzTarget:
    """The server under fuzz and everything needed to call it and judge the outcome."""

    work_dir: Path
    city: str = "helsinki"
    redis_server: EmbeddedRedis | None = None
    server: _ServerThread | None = None
    clock: ManualClock | None = None
    channel: grpc.Channel | None = None
    methods: list[Method] = field(default_factory=list)
    tokens: dict[Caller, str] = field(default_factory=dict)
    _pool: descriptor_pool.DescriptorPool | None = None
    _classes: dict[str, type[Message]] = field(default_factory=dict)
    _redis: redis.Redis | None = None
    digest: str = ""
    calls: int = 0

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> FuzzTarget:
        self.redis_server = EmbeddedRedis(self.work_dir / "redis", appendfsync="no").start()
        self._redis = redis.Redis(port=self.redis_server.port, decode_responses=True)
        self._start_server()
        return self

    def _start_server(self) -> None:
        assert self.redis_server is not None
        self.clock = ManualClock(time.time_ns() // 1_000_000)
        config = ServerConfig(
            port=0, redis_url=self.redis_server.url, data_dir=self.work_dir / "data", city=self.city,
            # The fuzzer runs the tick itself (`background`): the server's own timer never fires, and an
            # AssignRiders call does not wait for a decision.
            tick_s=86_400.0, grace_s=1.0,
            # The zone's lease is held for a day: its renewals (PEXPIRE, every third of the TTL) would change
            # the keyspace's digest between calls by themselves.
            dispatch_overrides={"assign_wait_s": 0.01, "offer_timeout_s": 60.0, "lease": LeaseConfig(ttl_s=86_400)},
            booking_sweep_s=0,  # the bookings sweeper too runs in `background`
        )  # fmt: skip
        self.server = _ServerThread(config, self.clock)
        self.server.start()
        app = self.server.app
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{app.port}", options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        )
        assert app.private_key_file is not None
        self._issuer = TokenIssuer(app.private_key_file.read_bytes())
        self.tokens.clear()
        self._discover()
        self.digest = self.state_digest()

    def restart(self) -> None:
        """A fresh server over an emptied Redis (keeps the keyspace, and so the digests, small)."""
        self._stop_server()
        assert self._redis is not None
        self._redis.flushall()
        self._start_server()

    def _stop_server(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def stop(self) -> None:
        self._stop_server()
        if self._redis is not None:
            self._redis.close()
        if self.redis_server is not None:
            self.redis_server.stop()

    def __enter__(self) -> FuzzTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Discovery -------------------------------------------------------------------------------

    def _discover(self) -> None:
        """Every method of every product service the server lists through reflection."""
        assert self.channel is not None
        database = ProtoReflectionDescriptorDatabase(self.channel)
        self._pool = descriptor_pool.DescriptorPool(database)
        self._classes.clear()
        self.methods = []
        for service_name in sorted(database.get_services()):
            if not service_name.startswith(FUZZED_PREFIX):
                continue
            service = self._pool.FindServiceByName(service_name)
            for m in service.methods:
                self.methods.append(
                    Method(service_name, m, self.message_class(m.input_type), self.message_class(m.output_type))
                )

    def message_class(self, desc: Descriptor) -> type[Message]:
        cls = self._classes.get(desc.full_name)
        if cls is None:
            cls = message_factory.GetMessageClass(desc)
            self._classes[desc.full_name] = cls
        return cls

    # Calls -----------------------------------------------------------------------------------

    def token(self, caller: Caller) -> str | None:
        if caller.role is None:
            return None
        if caller not in self.tokens:
            self.tokens[caller] = self._issuer.mint(caller.role, caller.subject_id)
        return self.tokens[caller]

    def call(self, method: Method, requests: list[Message], caller: Caller) -> Outcome:
        """One call as `caller` (a client stream sends every request; the others send the first)."""
        assert self.channel is not None
        token = self.token(caller)
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        ser = method.request_cls.SerializeToString
        de = method.reply_cls.FromString
        started = time.monotonic()
        reply: Message | None = None
        self.calls += 1
        try:
            if method.client_streaming and not method.server_streaming:
                rpc = self.channel.stream_unary(method.path, request_serializer=ser, response_deserializer=de)
                reply = rpc(iter(requests), metadata=metadata, timeout=UNARY_DEADLINE_S)
            elif method.server_streaming:
                reply = self._read_stream(method, requests, metadata)
            else:
                rpc = self.channel.unary_unary(method.path, request_serializer=ser, response_deserializer=de)
                reply = rpc(requests[0], metadata=metadata, timeout=UNARY_DEADLINE_S)
            code, message = grpc.StatusCode.OK, ""
        except grpc.RpcError as err:
            code, message = err.code(), err.details() or ""  # type: ignore[attr-defined]
        return Outcome(method.name, code, message, reply, time.monotonic() - started)

    def _read_stream(self, method: Method, requests: list[Message], metadata: Any) -> Message | None:
        """Reads a server stream until its short deadline; running into that deadline is how it ends."""
        assert self.channel is not None
        ser = method.request_cls.SerializeToString
        de = method.reply_cls.FromString
        if method.client_streaming:
            rpc_bidi = self.channel.stream_stream(method.path, request_serializer=ser, response_deserializer=de)
            stream = rpc_bidi(iter(requests), metadata=metadata, timeout=STREAM_DEADLINE_S)
        else:
            rpc = self.channel.unary_stream(method.path, request_serializer=ser, response_deserializer=de)
            stream = rpc(requests[0], metadata=metadata, timeout=STREAM_DEADLINE_S)
        last = None
        try:
            for last in stream:  # noqa: B007 - the last message is the reply that is harvested
                pass
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # type: ignore[attr-defined]
                raise
        return last

    # Judging ---------------------------------------------------------------------------------

    def state_digest(self) -> str:
        assert self._redis is not None
        return str(self._redis.execute_command("DEBUG", "DIGEST"))

    def health_serving(self) -> bool:
        assert self.channel is not None
        reply = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def judge(self, outcome: Outcome) -> list[str]:
        """What is wrong with an outcome (nothing, mostly); updates the digest the next call is judged by."""
        problems = []
        if outcome.code in FAILURE_CODES:
            problems.append(f"{outcome.code.name}: {outcome.message[:300]}")
        size = len(outcome.message.encode())
        if size > MAX_STATUS_MESSAGE_BYTES:
            problems.append(f"status message of {size} bytes: {outcome.message[:120]}…")
        if outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "metadata" in outcome.message:
            problems.append(f"the status overflowed the client's metadata limit: {outcome.message[:200]}")
        if outcome.code == grpc.StatusCode.DEADLINE_EXCEEDED:  # a server stream's own deadline is not reported
            problems.append(f"not answered within its {UNARY_DEADLINE_S:g}-s deadline")
        if outcome.reply is not None:
            problems += reply_problems(outcome.reply)
        before, after = self.digest, self.state_digest()
        self.digest = after
        refused = outcome.code not in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED)
        if refused and after != before:
            problems.append(f"{outcome.code.name} ({outcome.message[:200]}) but Redis changed")
        return problems

    def background(self) -> list[str]:
        """The server's periodic work, once, after the clock moves on: what failed in it."""
        assert self.server is not None and self.clock is not None
        app = self.server.app
        clock = self.clock
        problems = []
        self.server.call_soon(lambda: clock.advance(3.0))
        if app.dispatcher is not None:
            try:
                self.server.run(app.dispatcher.tick())
            except Exception as exc:
                problems.append(f"the dispatch tick failed: {type(exc).__name__}: {str(exc)[:300]}")
        if app.orders is not None and app.orders.delivery is not None:
            try:
                self.server.run(app.orders.follow_dispatch_once())
            except Exception as exc:
                problems.append(f"following dispatch failed: {type(exc).__name__}: {str(exc)[:300]}")
        if app.pricing is not None and app.pricing.supply_demand is not None:
            try:
                self.server.run(app.pricing.refresh_surge())
            except Exception as exc:
                problems.append(f"the surge refresh failed: {type(exc).__name__}: {str(exc)[:300]}")
        if app.retention is not None:
            try:
                self.server.run(app.retention.run_once())
            except Exception as exc:
                problems.append(f"the retention pass failed: {type(exc).__name__}: {str(exc)[:300]}")
        if app.bookings is not None:
            try:
                self.server.run(app.bookings.sweep_due_once())
            except Exception as exc:
                problems.append(f"sweeping due booking slots failed: {type(exc).__name__}: {str(exc)[:300]}")
        self.digest = self.state_digest()
        return problems

    def served(self, names: Iterator[str] | list[str]) -> list[Method]:
        wanted = set(names)
        return [m for m in self.methods if m.name in wanted or m.descriptor.name in wanted]
