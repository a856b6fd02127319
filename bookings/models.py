"""Bookings' value types: resources with schedules, slots, bookings."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass

from core.schedule import DateException, Period, Schedule, WeeklyPeriod

# Cal.com holds a selected slot for 5 minutes while the booker fills the form; so does HoldSlot by default.
DEFAULT_HOLD_S = 300
MIN_HOLD_S, MAX_HOLD_S = 30, 3_600
# How long a freed place waits for the next in line (pretix's waiting list offers for hours; a clinic
# slot today cannot wait that long): 10 minutes unless the resource says otherwise.
DEFAULT_OFFER_MINUTES = 10
MAX_OFFER_MINUTES = 1_440
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 480
MAX_CAPACITY = 1_000
# Availability over at most 62 local dates (two months: a clinic opens registration weeks ahead).
MAX_AVAILABILITY_DAYS = 62
# Payment terms of a resource (issue 20): fen as the order center's orders; a free cancel window of up to 30 days.
MAX_PRICE_FEN = 1_000_000_000
MAX_FREE_CANCEL_MINUTES = 30 * 1_440
# A confirmed booking's score in its slot: beyond any expiry (year 9999 is 2.5e14 ms), exact as a double.
CONFIRMED_SCORE = 9_000_000_000_000_000


class ResourceKind(enum.StrEnum):
    DOCTOR = "doctor"
    TABLE = "table"
    CLASS = "class"
    HOME_SERVICE = "home_service"


@dataclass(frozen=True)
class Resource:
    merchant_id: str
    resource_id: str
    name: str
    kind: ResourceKind
    time_zone: str
    slot_minutes: int
    capacity: int
    weekly: tuple[WeeklyPeriod, ...]
    exceptions: tuple[DateException, ...] = ()
    offer_minutes: int = DEFAULT_OFFER_MINUTES
    version: int = 0
    # Paid online through the order center (0: not): the full price, and the deposit a customer may pay
    # instead (0: none). A cancel at least free_cancel_minutes before the start is refunded in full; a later
    # cancel, or a no-show, keeps the deposit and refunds the rest of what was paid.
    price_fen: int = 0
    deposit_fen: int = 0
    free_cancel_minutes: int = 0

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.time_zone, self.weekly, self.exceptions)

    def kept_fen(self, start_ms: int, cancelled_ms: int | None) -> int:
        """What the merchant keeps of a paid booking cancelled at cancelled_ms (None: a no-show)."""
        if cancelled_ms is not None and cancelled_ms <= start_ms - self.free_cancel_minutes * 60_000:
            return 0
        return self.deposit_fen

    def body_json(self) -> str:
        return json.dumps(
            {
                "m": self.merchant_id, "id": self.resource_id, "name": self.name, "kind": self.kind.value,
                "tz": self.time_zone, "slot": self.slot_minutes, "cap": self.capacity, "offer": self.offer_minutes,
                "weekly": [[w.day, w.start_minute, w.end_minute] for w in self.weekly],
                "ex": [[e.date.isoformat(), [[p.start_minute, p.end_minute] for p in e.periods]] for e in self.exceptions],
                **({"pay": [self.price_fen, self.deposit_fen, self.free_cancel_minutes]} if self.price_fen else {}),
            },
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_redis(cls, h: dict[str, str]) -> Resource:
        b = json.loads(h["body"])
        return cls(
            merchant_id=b["m"], resource_id=b["id"], name=b["name"], kind=ResourceKind(b["kind"]), time_zone=b["tz"],
            slot_minutes=b["slot"], capacity=b["cap"], offer_minutes=b["offer"],
            weekly=tuple(WeeklyPeriod(*w) for w in b["weekly"]),
            exceptions=tuple(
                DateException(dt.date.fromisoformat(d), tuple(Period(s, e) for s, e in ps)) for d, ps in b["ex"]
            ),
            version=int(h["version"]),
            **dict(zip(("price_fen", "deposit_fen", "free_cancel_minutes"), b.get("pay", ()), strict=False)),
        )  # fmt: skip


@dataclass(frozen=True)
class Slot:
    resource_id: str
    start_ms: int
    end_ms: int
    local_date: dt.date
    local_start_minute: int


@dataclass(frozen=True)
class SlotView:
    slot: Slot
    capacity: int
    free: int
    waiting: int


class BookingState(enum.StrEnum):
    HELD = "held"
    OFFERED = "offered"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"
    WAITING = "waiting"
    COMPLETED = "completed"  # the merchant gave the service


class PaymentKind(enum.StrEnum):
    DEPOSIT = "deposit"
    FULL = "full"


@dataclass(frozen=True)
class Booking:
    booking_id: str
    merchant_id: str
    resource_id: str
    customer_id: str
    start_ms: int
    end_ms: int
    state: BookingState
    expires_ms: int = 0
    updated_ms: int = 0
    fingerprint: str = ""
    waitlist_position: int = 0
    order_id: str = ""  # the order center's order paying for it (set at a confirm with a payment)

    def to_json(self) -> str:
        return json.dumps(
            {"r": self.resource_id, "c": self.customer_id, "s": self.start_ms, "e": self.end_ms, "st": self.state.value,
             "x": self.expires_ms, "t": self.updated_ms, "f": self.fingerprint,
             **({"o": self.order_id} if self.order_id else {})},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, merchant_id: str, booking_id: str, raw: str, now_ms: int) -> Booking:
        """The booking as of now: a hold or offer past its expiry reads as expired."""
        d = json.loads(raw)
        state = BookingState(d["st"])
        if state in (BookingState.HELD, BookingState.OFFERED) and int(d["x"]) <= now_ms:
            state = BookingState.EXPIRED
        return cls(
            booking_id, merchant_id, d["r"], d["c"], int(d["s"]), int(d["e"]), state, int(d["x"]), int(d["t"]), d["f"],
            order_id=d.get("o", ""),
        )  # fmt: skip
