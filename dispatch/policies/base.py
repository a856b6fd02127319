"""The policy interface: a batch of pending orders with their candidate riders in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from dispatch.models import LatLng, OrderRecord


@dataclass(frozen=True)
class Candidate:
    """A rider who could take an order, with its travel time to the pickup."""

    rider_id: str
    position: LatLng
    to_pickup_s: float


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


class DispatchPolicy(Protocol):
    """Decides which pending orders go to which riders this tick; the rest stay in the pool."""

    name: ClassVar[str]

    def decide(self, batch: DispatchBatch) -> list[Decision]: ...
