"""The policy interface: a batch of pending orders with their candidate riders in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from dispatch.models import LatLng, OrderRecord


@dataclass(frozen=True)
class Candidate:
    """A rider who could take an order, with its travel time to the pickup and its shift's end."""

    rider_id: str
    position: LatLng
    to_pickup_s: float
    shift_ends_at_ms: int | None = None


@dataclass(frozen=True)
class PendingOrder:
    """An undecided order, its candidates, and its own pickup-to-dropoff travel time."""

    record: OrderRecord
    candidates: tuple[Candidate, ...]
    pickup_to_dropoff_s: float


@dataclass(frozen=True)
class DispatchBatch:
    """One tick's decision problem for one zone."""

    now_ms: int
    orders: tuple[PendingOrder, ...]
    pickup_service_s: float
    dropoff_service_s: float


@dataclass(frozen=True)
class Decision:
    """Offer `order_id` to `rider_id`, with the estimates the customer and rider are told."""

    order_id: str
    rider_id: str
    estimated_pickup_ms: int
    estimated_dropoff_ms: int


def estimate(batch: DispatchBatch, order: PendingOrder, candidate: Candidate) -> Decision | None:
    """When `candidate` would pick up and drop off `order` if sent now, or None if it cannot pick up
    before its shift ends.

    The rider arrives, spends half the pickup service reaching the counter; the pickup happens then or
    when the food is ready, whichever is later; it leaves after the other half, rides, and the drop-off
    happens half a drop-off service after arrival (the MDRP's definitions, Reyes et al. 2018).
    """
    half_pickup_ms = round(batch.pickup_service_s * 500)
    arrive_ms = batch.now_ms + round(candidate.to_pickup_s * 1000)
    pickup_ms = max(arrive_ms + half_pickup_ms, order.record.request.ready_at_hint_ms or 0)
    if candidate.shift_ends_at_ms is not None and pickup_ms > candidate.shift_ends_at_ms:
        return None
    dropoff_ms = pickup_ms + half_pickup_ms + round((order.pickup_to_dropoff_s + batch.dropoff_service_s / 2) * 1000)
    return Decision(order.record.order_id, candidate.rider_id, pickup_ms, dropoff_ms)


class DispatchPolicy(Protocol):
    """Decides which pending orders go to which riders this tick; the rest stay in the pool."""

    name: ClassVar[str]

    def decide(self, batch: DispatchBatch) -> list[Decision]: ...
