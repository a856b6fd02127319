"""BookingService's engine: resources, availability, holds, confirms, cancels, reschedules, waiting lists.

Requests are checked here (every bad field named, nothing written before); a slot named by a request must
be one the resource's schedule gives (`bookings.slots`), not in the past. The scripts of `bookings.store`
make every capacity decision atomically; a script answering that the resource or booking moved since it
was read makes the call read again (bounded), as the order center does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis

from bookings.keys import DUE_SHARDS
from bookings.models import (
    DEFAULT_HOLD_S,
    MAX_AVAILABILITY_DAYS,
    MAX_CAPACITY,
    MAX_FREE_CANCEL_MINUTES,
    MAX_HOLD_S,
    MAX_OFFER_MINUTES,
    MAX_PRICE_FEN,
    MAX_SLOT_MINUTES,
    MIN_HOLD_S,
    MIN_SLOT_MINUTES,
    Booking,
    BookingState,
    PaymentKind,
    Resource,
    ResourceKind,
    Slot,
    SlotView,
)
from bookings.payments import OrderDesk, booking_order_id
from bookings.slots import slot_at, slots_between
from bookings.store import BookingStore
from commerce.orders.flow import OrderStatus, Step
from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from core.schedule import Period, schedule_violations
from core.validation import EARLIEST_MS, id_violation, instant_violation, local_date_violation, text_violation
from merchants import Directory
from merchants.models import fingerprint

log = logging.getLogger("tongcheng.bookings")

MAX_ATTEMPTS = 20
# The sweeper (waiting-list offers on a timer): a pass every SWEEP_S reads up to SWEEP_MERCHANTS due merchants
# per shard and up to SWEEP_SLOTS due slots per merchant; what is left waits for the next pass.
SWEEP_S = 0.5
SWEEP_MERCHANTS = 100
SWEEP_SLOTS = 200
MAX_NAME_CHARS = 200
# A slot further ahead than this is a typo (a clinic opens registration weeks ahead, not years).
BOOKING_HORIZON_MS = 366 * 24 * 3600 * 1000


def _raise_if(violations: Sequence[FieldViolation | None]) -> None:
    bad = [v for v in violations if v is not None]
    if bad:
        raise InvalidArgument(bad)


class Bookings:
    """Bookable resources of every merchant, over one Redis."""

    def __init__(self, client: aioredis.Redis, clock: Clock) -> None:
        self.clock = clock
        self.store = BookingStore(client)
        self.directory = Directory(client, clock)
        # The order center, for bookings that carry a payment (wired by serving.supply where orders run).
        self.orders: OrderDesk | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # The sweeper -----------------------------------------------------------------------------

    def start(self, sweep_s: float = SWEEP_S) -> None:
        """Runs the sweeper: a place freed by an expired hold or offer is offered to the next in line within
        about sweep_s of the expiry, with no call touching the slot."""
        if self._sweeper is None and sweep_s > 0:
            self._stopping.clear()
            self._sweeper = asyncio.create_task(self._sweep_loop(sweep_s), name="bookings-sweeper")

    async def stop(self) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            await self._sweeper
            self._sweeper = None

    async def _sweep_loop(self, sweep_s: float) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep_due_once()
            except Exception as exc:  # the loop must outlive a Redis outage
                log.warning("sweeping due booking slots failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=sweep_s)

    async def sweep_due_once(self) -> int:
        """One pass over every shard of the due index; returns the slots swept. Several processes may run it:
        each slot's sweep is one script that rechecks the slot is still due."""
        swept = 0
        now_ms = self.clock.now_ms()
        for shard in range(DUE_SHARDS):
            for merchant_id, score in await self.store.due_merchants(shard, now_ms, SWEEP_MERCHANTS):
                swept += await self.store.sweep_merchant(merchant_id, score, now_ms, SWEEP_SLOTS)
        return swept

    # Resources -------------------------------------------------------------------------------

    async def upsert_resource(self, r: Resource, raw_exceptions: Sequence[tuple[str, Sequence[Period]]]) -> Resource:
        """Creates (version 0) or replaces a resource at its version; an empty zone takes the merchant's."""
        p = "resource."
        bad: list[FieldViolation | None] = [
            id_violation(p + "merchant_id", r.merchant_id),
            id_violation(p + "resource_id", r.resource_id),
            FieldViolation(p + "name", "required") if not r.name.strip() else text_violation(p + "name", r.name, MAX_NAME_CHARS),
            None if MIN_SLOT_MINUTES <= r.slot_minutes <= MAX_SLOT_MINUTES
            else FieldViolation(p + "slot_minutes", f"must be within [{MIN_SLOT_MINUTES}, {MAX_SLOT_MINUTES}]"),
            None if 1 <= r.capacity <= MAX_CAPACITY
            else FieldViolation(p + "capacity", f"must be within [1, {MAX_CAPACITY}]"),
            None if 1 <= r.offer_minutes <= MAX_OFFER_MINUTES
            else FieldViolation(p + "offer_minutes", f"must be within [1, {MAX_OFFER_MINUTES}] (0: the default)"),
            None if r.version >= 0 else FieldViolation(p + "version", "must not be negative"),
            None if 0 <= r.price_fen <= MAX_PRICE_FEN
            else FieldViolation(p + "price_fen", f"must be within [0, {MAX_PRICE_FEN}]"),
            None if 0 <= r.deposit_fen <= max(0, r.price_fen) and (r.deposit_fen < r.price_fen or not r.deposit_fen)
            else FieldViolation(p + "deposit_fen", "must be 0 or less than price_fen (a deposit is part of the price)"),
            None if 0 <= r.free_cancel_minutes <= MAX_FREE_CANCEL_MINUTES
            else FieldViolation(p + "free_cancel_minutes", f"must be within [0, {MAX_FREE_CANCEL_MINUTES}]"),
        ]  # fmt: skip
        _raise_if(bad)
        merchant = await self.directory.known(r.merchant_id, p + "merchant_id")
        zone = r.time_zone or merchant.time_zone
        more, exceptions = schedule_violations(
            p + "time_zone", zone, p + "weekly_schedule", r.weekly, p + "exceptions", raw_exceptions, min_weekly=1
        )
        _raise_if(more)
        stored = Resource(**{**r.__dict__, "time_zone": zone, "exceptions": exceptions})
        for _ in range(MAX_ATTEMPTS):
            reply = await self.store.upsert_resource(stored, self.clock.now_ms())
            if reply[0] == "ok":
                await self.store.mark_due(r.merchant_id, self.clock.now_ms())  # more places: the line may move
                return Resource(**{**stored.__dict__, "version": int(reply[1])})
            if reply[0] == "stale":
                raise FailedPrecondition(
                    f"resource {r.resource_id} is at version {reply[1]}, not {r.version}: read it again"
                )
            if reply[0] == "capacity":
                at = dt.datetime.fromtimestamp(int(reply[1]) / 1000, dt.UTC).isoformat()
                raise InvalidArgument.field(
                    p + "capacity", f"the slot at {at} already holds {reply[2]} bookings, more than {r.capacity}"
                )
        raise Unavailable(f"resource {r.resource_id} changed too often to store")

    async def resource(self, merchant_id: str, resource_id: str, field: str = "resource_id") -> Resource:
        _raise_if([id_violation("merchant_id", merchant_id), id_violation(field, resource_id)])
        found = await self.store.find_resource(merchant_id, resource_id)
        if found is None:
            raise NotFound(f"resource {resource_id} of merchant {merchant_id} not found")
        return found

    # Availability ----------------------------------------------------------------------------

    async def availability(
        self,
        merchant_id: str,
        resource_id: str,
        kind: ResourceKind | None,
        from_text: str,
        to_text: str,
        only_free: bool = False,
    ) -> list[SlotView]:
        _raise_if(
            [
                id_violation("merchant_id", merchant_id),
                id_violation("resource_id", resource_id, required=False),
                local_date_violation("from_date", from_text),
                local_date_violation("to_date", to_text),
            ]
        )
        first, last = dt.date.fromisoformat(from_text), dt.date.fromisoformat(to_text)
        if last < first:
            raise InvalidArgument.field("to_date", "must not be before from_date")
        if (last - first).days >= MAX_AVAILABILITY_DAYS:
            raise InvalidArgument.field("to_date", f"at most {MAX_AVAILABILITY_DAYS} days from from_date")
        if resource_id:
            resources = [await self.resource(merchant_id, resource_id)]
        else:
            found = [await self.store.find_resource(merchant_id, r) for r in await self.store.resource_ids(merchant_id)]
            resources = [r for r in found if r is not None and (kind is None or r.kind is kind)]
        now_ms = self.clock.now_ms()
        out: list[SlotView] = []
        for r in resources:
            slots = [s for s in slots_between(r, first, last) if s.start_ms > now_ms]
            counts = await self.store.slot_counts(merchant_id, r.resource_id, [s.start_ms for s in slots], now_ms)
            for s in slots:
                taken, waiting = counts.get(s.start_ms, (0, 0))
                free = max(0, r.capacity - taken - waiting)
                if free or not only_free:
                    out.append(SlotView(s, r.capacity, free, waiting))
        return out

    # Holds and the waiting list --------------------------------------------------------------

    async def _slot(
        self, merchant_id: str, resource_id: str, start_ms: int, field: str = "start_at"
    ) -> tuple[Resource, Slot]:
        now_ms = self.clock.now_ms()
        _raise_if([instant_violation(field, start_ms, EARLIEST_MS, now_ms + BOOKING_HORIZON_MS, "a year from now")])
        _raise_if([id_violation("merchant_id", merchant_id), id_violation("resource_id", resource_id)])
        r = await self.store.find_resource(merchant_id, resource_id)
        if r is None:  # a booking names a resource: an unknown one is bad input
            raise InvalidArgument.field("resource_id", f"no resource {resource_id} of merchant {merchant_id}")
        if start_ms <= now_ms:
            raise InvalidArgument.field(field, "is in the past: book a slot that has not started")
        slot = slot_at(r, start_ms)
        if slot is None:
            raise InvalidArgument.field(field, f"is not the start of a slot of resource {resource_id}")
        return r, slot

    async def take(
        self, merchant_id: str, resource_id: str, start_ms: int, booking_id: str, customer_id: str, hold_s: int,
        waitlist: bool,
    ) -> Booking:  # fmt: skip
        """A hold of hold_s (0: the default), or (waitlist) a place in the slot's line. Idempotent on the id."""
        _raise_if(
            [
                id_violation("merchant_id", merchant_id),
                id_violation("resource_id", resource_id),
                id_violation("booking_id", booking_id),
                id_violation("customer_id", customer_id),
                None if hold_s == 0 or MIN_HOLD_S <= hold_s <= MAX_HOLD_S
                else FieldViolation("hold_s", f"must be within [{MIN_HOLD_S}, {MAX_HOLD_S}] (0: the default)"),
            ]
        )  # fmt: skip
        mode = "wait" if waitlist else "hold"
        fp = fingerprint([mode, resource_id, start_ms, customer_id, hold_s])
        for _ in range(MAX_ATTEMPTS):
            r, slot = await self._slot(merchant_id, resource_id, start_ms)
            now_ms = self.clock.now_ms()
            expires_ms = now_ms + (hold_s or DEFAULT_HOLD_S) * 1000
            state = BookingState.WAITING if waitlist else BookingState.HELD
            b = Booking(
                booking_id, merchant_id, resource_id, customer_id, slot.start_ms, slot.end_ms, state,
                0 if waitlist else expires_ms, now_ms, fp,
            )  # fmt: skip
            reply = await self.store.take(b, slot, r.version, mode)
            if reply[0] == "ok":
                if waitlist:
                    await self.store.mark_due(merchant_id, now_ms)
                return await self._with_position(b)
            if reply[0] == "exists":
                stored = Booking.from_json(merchant_id, booking_id, reply[1], now_ms)
                if stored.fingerprint != fp:
                    raise InvalidArgument.field("booking_id", f"{booking_id} is another booking")
                return await self._with_position(stored)
            if reply[0] == "full":
                raise FailedPrecondition(f"the slot at start_at is full: join its waiting list (booking {booking_id})")
            if reply[0] == "free":
                raise FailedPrecondition("the slot at start_at has a free place: hold it instead of waiting")
            # stale: the resource changed since it was read
        raise Unavailable(f"resource {resource_id} changed too often")

    # Steps of a booking ----------------------------------------------------------------------

    async def get(self, merchant_id: str, booking_id: str) -> Booking:
        """The booking; first its slot is swept, so a place freed by an expired hold reaches the waiting list."""
        b = await self._read(merchant_id, booking_id)
        if b.state in (BookingState.WAITING, BookingState.HELD, BookingState.OFFERED, BookingState.EXPIRED):
            reply = await self.store.step(b, "sweep", self.clock.now_ms())
            if reply[0] == "ok":
                await self.store.mark_due(merchant_id, self.clock.now_ms())
                b = Booking.from_json(merchant_id, booking_id, reply[1], self.clock.now_ms())
        return await self._with_position(b)

    async def confirm(
        self, merchant_id: str, booking_id: str, kind: PaymentKind | None, amount_fen: int = 0, payment_id: str = ""
    ) -> Booking:
        """Confirms a held or offered booking; with a payment (kind), first creates and pays its order through the
        order center. Every refusal is decided before anything is written; idempotent on the booking."""
        if kind is None:
            if amount_fen or payment_id:
                raise InvalidArgument.field("payment.kind", "required with an amount or a payment id: DEPOSIT or FULL")
            return await self.step(merchant_id, booking_id, "confirm")
        _raise_if([id_violation("payment.payment_id", payment_id)])
        b = await self._read(merchant_id, booking_id)
        r = await self.resource(merchant_id, b.resource_id)
        if not r.price_fen:
            raise InvalidArgument.field("payment.kind", f"resource {r.resource_id} takes no payment: confirm without")
        if kind is PaymentKind.DEPOSIT and not r.deposit_fen:
            raise InvalidArgument.field("payment.kind", f"resource {r.resource_id} takes no deposit: pay FULL")
        expected = r.deposit_fen if kind is PaymentKind.DEPOSIT else r.price_fen
        if amount_fen != expected:
            raise InvalidArgument.field(
                "payment.amount_fen", f"must be the resource's {kind.value} price of {expected} fen, got {amount_fen}"
            )
        if self.orders is None:
            raise FailedPrecondition("booking payments need OrderService in this process")
        order_id = booking_order_id(merchant_id, booking_id)
        now_ms = self.clock.now_ms()
        if b.state is BookingState.CONFIRMED and b.order_id != order_id:
            raise FailedPrecondition(f"booking {booking_id} was confirmed without a payment")
        if b.state is BookingState.EXPIRED:
            await self._refund_stranded(b, order_id)
        if b.state not in (BookingState.HELD, BookingState.OFFERED, BookingState.CONFIRMED):
            raise FailedPrecondition(_refusal(booking_id, "confirm", b.state.value))
        if b.state is not BookingState.CONFIRMED and b.start_ms <= now_ms:
            raise FailedPrecondition(_refusal(booking_id, "confirm", "started"))
        await self.orders.pay_booking(merchant_id, booking_id, order_id, amount_fen, payment_id)
        for _ in range(MAX_ATTEMPTS):
            b = await self._read(merchant_id, booking_id)
            now_ms = self.clock.now_ms()
            reply = await self.store.step(b, "confirm", now_ms, order_id)
            if reply[0] in ("ok", "as_is"):
                return Booking.from_json(merchant_id, booking_id, reply[1], now_ms)
            if reply[0] == "refused":  # the hold ran out between the check and the confirm: give the money back
                await self._refund_stranded(b, order_id)
                raise FailedPrecondition(_refusal(booking_id, "confirm", reply[1]))
            if reply[0] == "missing":
                raise NotFound(f"booking {booking_id} of merchant {merchant_id} not found")
        raise Unavailable(f"booking {booking_id} changed too often")

    async def _refund_stranded(self, b: Booking, order_id: str) -> None:
        """An order paid for a booking that never got confirmed (its hold ran out meanwhile) is cancelled and
        refunded in full."""
        assert self.orders is not None
        order = await self.orders.find(order_id)
        if order is not None and order.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            await self.orders.end_booking(order_id, Step.CANCEL, 0, f"booking {b.booking_id} was never confirmed")

    async def step(self, merchant_id: str, booking_id: str, action: str) -> Booking:
        """confirm (without a payment), cancel, no_show or complete; a booking's paid order follows its end."""
        for _ in range(MAX_ATTEMPTS):
            b = await self._read(merchant_id, booking_id)
            now_ms = self.clock.now_ms()
            reply = await self.store.step(b, action, now_ms)
            if reply[0] in ("ok", "as_is"):
                after = Booking.from_json(merchant_id, booking_id, reply[1], now_ms)
                if reply[0] == "ok" and action == "cancel":
                    await self.store.mark_due(merchant_id, now_ms)
                await self._end_order(after, action)
                return await self._with_position(after)
            if reply[0] == "missing":
                raise NotFound(f"booking {booking_id} of merchant {merchant_id} not found")
            if reply[0] == "refused":
                raise FailedPrecondition(_refusal(booking_id, action, reply[1]))
            # moved: rescheduled meanwhile; read again
        raise Unavailable(f"booking {booking_id} changed too often")

    async def _end_order(self, b: Booking, action: str) -> None:
        """The booking's order follows its end, by the resource's policy (`Resource.kept_fen`); a retry of the
        booking's step repeats the order's, which is a no-op once done."""
        steps = {"cancel": Step.CANCEL, "no_show": Step.NO_SHOW, "complete": Step.COMPLETE}
        if not b.order_id or action not in steps or self.orders is None:
            return
        r = await self.store.find_resource(b.merchant_id, b.resource_id)
        cancelled_ms = b.updated_ms if action == "cancel" else None
        keep = r.kept_fen(b.start_ms, cancelled_ms) if r is not None and action != "complete" else 0
        note = {"cancel": "booking cancelled", "no_show": "customer did not come", "complete": "service given"}
        await self.orders.end_booking(b.order_id, steps[action], keep, note[action])

    async def reschedule(self, merchant_id: str, booking_id: str, resource_id: str, start_ms: int) -> Booking:
        _raise_if([id_violation("resource_id", resource_id, required=False)])
        for _ in range(MAX_ATTEMPTS):
            b = await self._read(merchant_id, booking_id)
            r, slot = await self._slot(merchant_id, resource_id or b.resource_id, start_ms)
            if b.order_id and r.resource_id != b.resource_id:
                # The payment follows the booking: only to a resource on the same terms.
                paid_for = await self.store.find_resource(merchant_id, b.resource_id)
                terms = (r.price_fen, r.deposit_fen, r.free_cancel_minutes)
                if paid_for is None or terms != (
                    paid_for.price_fen,
                    paid_for.deposit_fen,
                    paid_for.free_cancel_minutes,
                ):
                    raise FailedPrecondition(
                        f"booking {booking_id} is paid for {b.resource_id}'s terms: move it to a resource with the "
                        "same price, deposit and cancel time, or cancel it and book again"
                    )
            now_ms = self.clock.now_ms()
            reply = await self.store.move(b, slot, r.version, now_ms)
            if reply[0] == "ok":
                await self.store.mark_due(merchant_id, now_ms)
            if reply[0] in ("ok", "as_is"):
                return await self._with_position(Booking.from_json(merchant_id, booking_id, reply[1], now_ms))
            if reply[0] == "missing":
                raise NotFound(f"booking {booking_id} of merchant {merchant_id} not found")
            if reply[0] == "refused":
                raise FailedPrecondition(_refusal(booking_id, "reschedule", reply[1]))
            if reply[0] == "full":
                raise FailedPrecondition("the slot at start_at is full: the booking stays where it was")
        raise Unavailable(f"booking {booking_id} changed too often")

    async def _read(self, merchant_id: str, booking_id: str) -> Booking:
        _raise_if([id_violation("merchant_id", merchant_id), id_violation("booking_id", booking_id)])
        raw = await self.store.find_raw(merchant_id, booking_id)
        if raw is None:
            raise NotFound(f"booking {booking_id} of merchant {merchant_id} not found")
        return Booking.from_json(merchant_id, booking_id, raw, self.clock.now_ms())

    async def _with_position(self, b: Booking) -> Booking:
        if b.state is not BookingState.WAITING:
            return b
        return Booking(**{**b.__dict__, "waitlist_position": await self.store.waitlist_position(b)})


def _refusal(booking_id: str, action: str, why: str) -> str:
    if why == "expired":
        return f"booking {booking_id}: the hold expired before the {action}; hold the slot again"
    if why == "started":
        return f"booking {booking_id}: its slot has started, too late to {action}"
    if why == "not_started":
        return f"booking {booking_id}: its slot has not started, it cannot be a no-show yet"
    return f"booking {booking_id} is {why}: cannot {action.replace('_', ' ')}"
