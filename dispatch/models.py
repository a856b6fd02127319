"""The dispatch domain's value types: orders, position fixes, riders near a point, task events."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property

from core.geo import LatLng


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    AT_MERCHANT = "at_merchant"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFFLINE = "offline"


class TaskAction(enum.StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    ARRIVED_AT_MERCHANT = "arrived_at_merchant"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"


class TaskEventType(enum.StrEnum):
    OFFERED = "offered"
    OFFER_EXPIRED = "offer_expired"
    CANCELLED = "cancelled"
    UPDATED = "updated"
    GUIDED = "guided"  # no task: wait at `TaskEvent.wait_at` (idle-rider guidance)


@dataclass(frozen=True)
class OrderRequest:
    """An order as submitted for delivery; its fingerprint makes resubmission idempotent."""

    order_id: str
    merchant_id: str
    pickup: LatLng
    dropoff: LatLng
    placed_at_ms: int
    item_count: int = 1
    promised_at_ms: int | None = None
    ready_at_hint_ms: int | None = None
    merchant_category: str = ""
    # The spread (standard deviation, seconds) of the merchant's hint: 0 when the hint is exact, more
    # when it is the merchant's own forecast ("ready in 12 +- 4 minutes"); dispatch then plans for the
    # food being ready at any time around it, as it does for its own predictions.
    ready_hint_sd_s: float = 0.0

    @property
    def exact_hint(self) -> bool:
        """Whether the merchant's hint is its ready time, not a forecast of it."""
        return self.ready_at_hint_ms is not None and not self.ready_hint_sd_s

    @cached_property
    def fingerprint_value(self) -> str:
        body = {
            "dropoff": {"lat": self.dropoff.lat, "lng": self.dropoff.lng},
            "item_count": self.item_count,
            "merchant_id": self.merchant_id,
            "order_id": self.order_id,
            "pickup": {"lat": self.pickup.lat, "lng": self.pickup.lng},
            "placed_at_ms": self.placed_at_ms,
            "promised_at_ms": self.promised_at_ms,
            "ready_at_hint_ms": self.ready_at_hint_ms,
        }
        if self.merchant_category:
            body["merchant_category"] = self.merchant_category
        if self.ready_hint_sd_s:
            body["ready_hint_sd_s"] = float(self.ready_hint_sd_s)  # 240 and 240.0 are one body
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def fingerprint(self) -> str:
        """A digest of the body: the same order_id with another body is a client error. (The JSON is
        the one `dataclasses.asdict` gives, built by hand: asdict's deep copies were slow under load.)"""
        return self.fingerprint_value


@dataclass(frozen=True)
class OrderRecord:
    """An order as dispatch keeps it in Redis."""

    request: OrderRequest
    status: OrderStatus = OrderStatus.PENDING
    rider_id: str = ""
    estimated_pickup_ms: int | None = None
    estimated_dropoff_ms: int | None = None
    offer_expires_ms: int | None = None
    reason: str = ""
    updated_ms: int = 0
    version: int = 0
    # Orders offered together to one rider share a bundle id; bundle_seq is the order's place in the
    # delivery sequence (1, 2, ...). A lone order is a bundle of one.
    bundle_id: str = ""
    bundle_seq: int = 0
    # The prediction at placement (epoch ms, and its standard deviation in seconds): the prep-time
    # model's, or the merchant's forecast (a hint with a spread); and the true ready time once the
    # merchant reports it.
    predicted_ready_ms: int | None = None
    predicted_ready_sd_s: float | None = None
    ready_at_ms: int | None = None

    @property
    def order_id(self) -> str:
        return self.request.order_id

    @property
    def ready_is_predicted(self) -> bool:
        """Whether the food's ready time is only predicted: neither reported nor hinted exactly by the
        merchant. The prediction is the prep-time model's, or the merchant's forecast (a hint with a
        spread), which dispatch stores as the prediction."""
        return self.ready_at_ms is None and not self.request.exact_hint and self.predicted_ready_ms is not None

    @property
    def expected_ready_ms(self) -> int | None:
        """The best knowledge of when the food is ready: reported, else the merchant's exact hint, else
        predicted (the merchant's forecast, or the prep-time model's)."""
        if self.ready_at_ms is not None:
            return self.ready_at_ms
        if self.request.exact_hint:
            return self.request.ready_at_hint_ms
        return self.predicted_ready_ms if self.predicted_ready_ms is not None else self.request.ready_at_hint_ms

    def to_redis(self) -> dict[str, str]:
        r = self.request
        fields = {
            "order_id": r.order_id,
            "merchant_id": r.merchant_id,
            "pickup_lat": repr(r.pickup.lat),
            "pickup_lng": repr(r.pickup.lng),
            "dropoff_lat": repr(r.dropoff.lat),
            "dropoff_lng": repr(r.dropoff.lng),
            "placed_at_ms": str(r.placed_at_ms),
            "item_count": str(r.item_count),
            "promised_at_ms": _opt(r.promised_at_ms),
            "ready_at_hint_ms": _opt(r.ready_at_hint_ms),
            "merchant_category": r.merchant_category,
            "ready_hint_sd_s": repr(float(r.ready_hint_sd_s)) if r.ready_hint_sd_s else "",
            "fingerprint": r.fingerprint(),
            "status": self.status.value,
            "rider_id": self.rider_id,
            "estimated_pickup_ms": _opt(self.estimated_pickup_ms),
            "estimated_dropoff_ms": _opt(self.estimated_dropoff_ms),
            "offer_expires_ms": _opt(self.offer_expires_ms),
            "reason": self.reason,
            "updated_ms": str(self.updated_ms),
            "version": str(self.version),
            "bundle_id": self.bundle_id,
            "bundle_seq": str(self.bundle_seq),
            "predicted_ready_ms": _opt(self.predicted_ready_ms),
            "predicted_ready_sd_s": "" if self.predicted_ready_sd_s is None else repr(self.predicted_ready_sd_s),
            "ready_at_ms": _opt(self.ready_at_ms),
        }
        return fields

    @classmethod
    def from_redis(cls, h: dict[str, str]) -> OrderRecord:
        request = OrderRequest(
            order_id=h["order_id"],
            merchant_id=h["merchant_id"],
            pickup=LatLng(float(h["pickup_lat"]), float(h["pickup_lng"])),
            dropoff=LatLng(float(h["dropoff_lat"]), float(h["dropoff_lng"])),
            placed_at_ms=int(h["placed_at_ms"]),
            item_count=int(h["item_count"]),
            promised_at_ms=_int_or_none(h.get("promised_at_ms", "")),
            ready_at_hint_ms=_int_or_none(h.get("ready_at_hint_ms", "")),
            merchant_category=h.get("merchant_category", ""),
            ready_hint_sd_s=float(h.get("ready_hint_sd_s") or 0.0),
        )
        return cls(
            request=request,
            status=OrderStatus(h["status"]),
            rider_id=h.get("rider_id", ""),
            estimated_pickup_ms=_int_or_none(h.get("estimated_pickup_ms", "")),
            estimated_dropoff_ms=_int_or_none(h.get("estimated_dropoff_ms", "")),
            offer_expires_ms=_int_or_none(h.get("offer_expires_ms", "")),
            reason=h.get("reason", ""),
            updated_ms=int(h.get("updated_ms", "0")),
            version=int(h.get("version", "0")),
            bundle_id=h.get("bundle_id", ""),
            bundle_seq=int(h.get("bundle_seq") or 0),
            predicted_ready_ms=_int_or_none(h.get("predicted_ready_ms", "")),
            predicted_ready_sd_s=float(h["predicted_ready_sd_s"]) if h.get("predicted_ready_sd_s") else None,
            ready_at_ms=_int_or_none(h.get("ready_at_ms", "")),
        )

    def evolve(self, **changes: object) -> OrderRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OrderEvent:
    """One step of an order's history."""

    occurred_ms: int
    status: OrderStatus
    rider_id: str = ""
    note: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"t": self.occurred_ms, "s": self.status.value, "r": self.rider_id, "n": self.note},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> OrderEvent:
        d = json.loads(raw)
        return cls(occurred_ms=d["t"], status=OrderStatus(d["s"]), rider_id=d["r"], note=d["n"])


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One entry of the zone's order-events stream: an order's status after a change."""

    event_id: str
    order_id: str
    status: OrderStatus
    rider_id: str
    reason: str
    estimated_pickup_ms: int | None
    estimated_dropoff_ms: int | None
    occurred_ms: int
    feed_rider_id: str = ""  # the rider whose task feed got an event with this change (its watchers wake)


@dataclass(frozen=True, slots=True)
class PositionFix:
    """One GPS fix of one rider, already validated."""

    rider_id: str
    lat: float
    lng: float
    recorded_at_ms: int
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    availability: Availability = Availability.AVAILABLE
    # When the rider's shift ends: no pickup is planned after it (deliveries may finish later).
    shift_ends_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class NearbyRider:
    """A rider found near a point, with the exact great-circle distance to it."""

    rider_id: str
    position: LatLng
    distance_m: float
    availability: Availability
    recorded_at_ms: int
    active_tasks: int
    shift_ends_at_ms: int | None = None
    # A rider still busy: when it is expected free, at `position` (its last drop-off). None: free now.
    available_at_ms: int | None = None


@dataclass(frozen=True)
class TaskEvent:
    """One entry of a rider's task feed: what happened and the task as it then stood."""

    event_id: str
    type: TaskEventType
    order: OrderRecord | None  # None for GUIDED
    occurred_ms: int
    wait_at: LatLng | None = None  # GUIDED: where the idle rider is asked to wait


@dataclass(frozen=True)
class IngestResult:
    """What became of a batch of fixes."""

    accepted: int = 0
    stale: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str, str]] = field(default_factory=list)


def _opt(v: int | None) -> str:
    return "" if v is None else str(v)


def _int_or_none(s: str) -> int | None:
    return int(s) if s else None
