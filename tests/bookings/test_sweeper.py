"""Waiting-list offers on a timer, through the real server on real time: with no call touching the slot, a place
freed by an expired hold is offered to the first in line within about a sweep of the expiry, and an offer that
runs out moves on to the next in line. The test reads Redis directly (a GetBooking would sweep the slot itself)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest_asyncio
import redis

from bookings.keys import BookingKeys, due_shard_key
from core.clock import Clock, SystemClock
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from serving.timestamps import ms_to_ts
from tests.conftest import server_config
from tests.merchants.conftest import SUPPLY_SERVICES
from tests.merchants.helpers import Supply, create_merchant
from tongcheng.bookings.v1 import bookings_pb2 as pb
from tongcheng.merchants.v1 import merchants_pb2 as mpb

SWEEP_S = 0.1


async def _app(tmp_path: Path, redis_server: EmbeddedRedis, **kw: object) -> App:
    application = App(
        server_config(tmp_path, redis_server.url, services=SUPPLY_SERVICES, booking_sweep_s=SWEEP_S, **kw)
    )
    await application.start()
    return application


@pytest_asyncio.fixture
async def live(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The supply server on the real clock with the sweeper every 0.1 s."""
    application = await _app(tmp_path, redis_server)
    yield application
    await application.stop()


@pytest_asyncio.fixture
async def fast(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The same on a clock running 60 times real time (a minute's offer lasts a second), sweeping every 0.1 s."""
    application = await _app(tmp_path, redis_server, clock_speed=60.0, tick_s=2.0)
    yield application
    await application.stop()


def _client(app: App, channel: grpc.aio.Channel) -> Supply:
    assert app.private_key_file is not None
    return Supply(channel, TokenIssuer(app.private_key_file.read_bytes()).mint(Role.OPS, ""))


async def _clinic_slot(s: Supply, clock: Clock) -> int:
    """A one-place resource bookable all day in 10-minute slots, offers lasting a minute; the next slot's start."""
    await create_merchant(s, "clinic", category=mpb.MERCHANT_CATEGORY_CLINIC)
    resource = pb.Resource(
        merchant_id="clinic", resource_id="dr-li", name="Dr Li", kind=pb.RESOURCE_KIND_DOCTOR, slot_minutes=10,
        capacity=1, offer_minutes=1,
        weekly_schedule=[pb.WeeklyPeriod(day=d, start_minute=0, end_minute=1_440) for d in range(1, 8)],  # type: ignore[arg-type]
    )  # fmt: skip
    await s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=resource), metadata=s.md)
    return (clock.now_ms() // 600_000 + 2) * 600_000  # a slot start at least 10 minutes ahead


async def _take(s: Supply, booking_id: str, start_ms: int, hold_s: int = 0, wait: bool = False) -> pb.Booking:
    common = {"merchant_id": "clinic", "resource_id": "dr-li", "start_at": ms_to_ts(start_ms),
              "booking_id": booking_id, "customer_id": f"u-{booking_id}"}  # fmt: skip
    if wait:
        return (await s.bookings.JoinWaitlist(pb.JoinWaitlistRequest(**common), metadata=s.md)).booking  # type: ignore[arg-type]
    reply = await s.bookings.HoldSlot(pb.HoldSlotRequest(**common, hold_s=hold_s), metadata=s.md)  # type: ignore[arg-type]
    return reply.booking


def _stored(client: redis.Redis, booking_id: str) -> dict[str, object]:
    return json.loads(client.hget(BookingKeys("clinic").bookings, booking_id))  # type: ignore[arg-type]


async def _until(client: redis.Redis, booking_id: str, state: str, within_s: float) -> dict[str, object]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        stored = _stored(client, booking_id)
        if stored["st"] == state:
            return stored
        await asyncio.sleep(0.02)
    raise AssertionError(f"{booking_id} is {_stored(client, booking_id)['st']}, not {state}, after {within_s} s")


async def test_an_expired_hold_is_offered_to_the_line_within_a_sweep(live: App, redis_sync: redis.Redis) -> None:
    """A 30-s hold runs out with nobody calling: the first in line is offered the place within a second of it."""
    assert isinstance(live.clock, SystemClock)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{live.port}") as ch:
        s = _client(live, ch)
        start = await _clinic_slot(s, live.clock)
        held = await _take(s, "a", start, hold_s=30)
        await _take(s, "w1", start, wait=True)
        expires_ms = held.hold_expires_at.ToMilliseconds()
        assert redis_sync.zscore(BookingKeys("clinic").due, f"dr-li|{start}") == expires_ms
        offered = await _until(redis_sync, "w1", "offered", within_s=45)
    lag_ms = int(offered["t"]) - expires_ms  # type: ignore[call-overload]
    assert 0 <= lag_ms <= 1_500, lag_ms
    assert _stored(redis_sync, "a")["st"] == "expired"
    assert int(offered["x"]) == int(offered["t"]) + 60_000  # type: ignore[call-overload]


async def test_offers_run_out_and_move_down_the_line_then_the_index_empties(fast: App, redis_sync: redis.Redis) -> None:
    """On a 60x clock: the hold runs out → w1 offered; w1 lets its minute pass → w2 offered; w2 confirms and the
    slot leaves the sweeper's index; the line kept its order throughout."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{fast.port}") as ch:
        s = _client(fast, ch)
        start = await _clinic_slot(s, fast.clock)
        await _take(s, "a", start, hold_s=30)
        for booking_id in ("w1", "w2", "w3"):
            await _take(s, booking_id, start, wait=True)
        w1 = await _until(redis_sync, "w1", "offered", within_s=5)
        assert _stored(redis_sync, "w2")["st"] == "waiting"
        w2 = await _until(redis_sync, "w2", "offered", within_s=5)
        assert int(w2["t"]) - int(w1["x"]) <= 30_000  # type: ignore[call-overload]  # a sweep is 6 s of this clock
        assert _stored(redis_sync, "w1")["st"] == "expired" and _stored(redis_sync, "w3")["st"] == "waiting"
        confirmed = await s.bookings.ConfirmBooking(
            pb.ConfirmBookingRequest(merchant_id="clinic", booking_id="w2"), metadata=s.md
        )
        assert confirmed.booking.state == pb.BOOKING_STATE_CONFIRMED
        # w3 still waits, but nothing will expire: its slot leaves the index at the next sweep, as does the merchant.
        for _ in range(100):
            if not redis_sync.zcard(due_shard_key("clinic")):
                break
            await asyncio.sleep(0.05)
        assert redis_sync.zcard(BookingKeys("clinic").due) == 0
        assert redis_sync.zcard(due_shard_key("clinic")) == 0
        assert _stored(redis_sync, "w3")["st"] == "waiting"
