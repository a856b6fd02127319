"""The policy interface: a batch of pending orders with their candidate riders in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from core.geo import LatLng
from dispatch.models import OrderRecord


@dataclass(frozen=True)
class Candidate:
    """A rider who could take an order, with its travel time to the pickup and its shift's end."""

    rider_id: str
    position: LatLng
    to_pickup_s: float
    shift_ends_at_ms: int | None = None
    # A busy rider expected free at this time, at `position` (its last drop-off); None: free now.
    available_at_ms: int | None = None

    def departs_ms(self, now_ms: int) -> int:
        return now_ms if self.available_at_ms is None else max(now_ms, self.available_at_ms)


@dataclass(frozen=True)
class PendingOrder:
    """An undecided order, its candidates, and its own pickup-to-dropoff travel time."""

    record: OrderRecord
    candidates: tuple[Candidate, ...]
    pickup_to_dropoff_s: float


@dataclass(frozen=True)
class Stop:
    """A place a rider's route stops at: a merchant counter (`pickup`: every order listed is picked up
    there, at once) or a customer's door (one order)."""

    pickup: bool
    orders: tuple[int, ...]  # indices into DispatchBatch.orders


@dataclass(frozen=True)
class BundleOption:
    """Orders one rider could carry together, with their best stop sequence.

    `legs_s[k]` is the ride from stop k-1 to stop k (`legs_s[0]` is 0: the ride to the first stop
    depends on the rider). A lone order is the bundle (pickup, drop-off).
    """

    orders: tuple[int, ...]  # in delivery sequence
    stops: tuple[Stop, ...]
    legs_s: tuple[float, ...]

    @property
    def first(self) -> int:
        """The order whose merchant is the first stop."""
        return self.stops[0].orders[0]


@dataclass(frozen=True)
class JoinOption:
    """An assignment update at the counter: pending order `order` joins, as the last drop-off, the bundle
    `bundle_id` that rider `rider_id` holds at the order's merchant and has not picked up yet."""

    order: int  # index into DispatchBatch.orders
    rider_id: str
    bundle_id: str
    pickup_ms: int  # the bundle's pickup with the order in it (it waits for the order's food)
    dropoff_ms: int  # the order's drop-off, after the bundle's own
    delay_ms: int  # how much later than planned the bundle's orders are picked up and delivered
    carried: int  # orders already in the bundle
    extra_ride_s: float  # riding it adds: from the bundle's last door to the order's
    shift_ends_at_ms: int | None = None


@dataclass(frozen=True)
class DispatchBatch:
    """One tick's decision problem for one zone."""

    now_ms: int
    orders: tuple[PendingOrder, ...]
    pickup_service_s: float
    dropoff_service_s: float
    # Seconds to the next tick: what may wait for it need not be committed now.
    tick_s: float = 60.0
    # Candidate bundles (lone orders included), for policies that bundle; empty otherwise.
    bundles: tuple[BundleOption, ...] = ()
    # Bundles held by riders on their way to (or at) a counter that a pending order there could join,
    # for policies that plan ahead; empty otherwise.
    joins: tuple[JoinOption, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Offer `order_id` to `rider_id`, with the estimates the customer and rider are told.

    Orders offered together as a bundle share `bundle` (the index of the bundle's first decision in
    the returned list) and are listed in delivery sequence.
    """

    order_id: str
    rider_id: str
    estimated_pickup_ms: int
    estimated_dropoff_ms: int
    bundle: int | None = None
    # The id of the bundle the rider holds that the order joins (an assignment update), or "".
    joins: str = ""


def ready_ms(order: PendingOrder) -> int:
    """When the order's food is expected ready (ready at placement when nothing is known)."""
    expected = order.record.expected_ready_ms
    return expected if expected is not None else order.record.request.placed_at_ms


@dataclass(frozen=True)
class RoutePlan:
    """A rider's pass over a bundle: per order (in bundle.orders sequence) its pickup and drop-off."""

    pickup_ms: tuple[int, ...]
    dropoff_ms: tuple[int, ...]
    last_pickup_ms: int
    rider_wait_ms: int  # at merchants, for food that is not ready
    ride_s: float  # riding, from the rider's position to the last door
    finish_ms: int  # when the rider's hands are free again


def plan_route(
    batch: DispatchBatch, bundle: BundleOption, to_first_s: float, departs_ms: int | None = None
) -> RoutePlan:
    """Times of a bundle for a rider `to_first_s` away from its first stop, leaving at `departs_ms` (now
    by default). MDRP rules: half of a service before the handover, half after; a pickup waits for the
    latest food."""
    half_pickup_ms = round(batch.pickup_service_s * 500)
    half_dropoff_ms = round(batch.dropoff_service_s * 500)
    t = (batch.now_ms if departs_ms is None else departs_ms) + round(to_first_s * 1000)
    pickup: dict[int, int] = {}
    dropoff: dict[int, int] = {}
    wait = 0
    last_pickup = t
    for k, stop in enumerate(bundle.stops):
        t += round(bundle.legs_s[k] * 1000)
        if stop.pickup:
            food = max(ready_ms(batch.orders[i]) for i in stop.orders)
            counter = t + half_pickup_ms
            wait += max(0, food - counter)
            last_pickup = max(counter, food)
            for i in stop.orders:
                pickup[i] = last_pickup
            t = last_pickup + half_pickup_ms
        else:
            dropoff[stop.orders[0]] = t + half_dropoff_ms
            t += 2 * half_dropoff_ms
    return RoutePlan(
        pickup_ms=tuple(pickup[i] for i in bundle.orders),
        dropoff_ms=tuple(dropoff[i] for i in bundle.orders),
        last_pickup_ms=last_pickup,
        rider_wait_ms=wait,
        ride_s=to_first_s + sum(bundle.legs_s),
        finish_ms=t,
    )


def single(i: int, order: PendingOrder) -> BundleOption:
    """The bundle of one order."""
    return BundleOption((i,), (Stop(True, (i,)), Stop(False, (i,))), (0.0, order.pickup_to_dropoff_s))


def alone_dropoff_ms(batch: DispatchBatch, i: int) -> int:
    """Order i's drop-off by a rider already at its counter now: the yardstick of the delay a bundle (or a
    join) adds, and of whether the order can still make a deadline."""
    return plan_route(batch, single(i, batch.orders[i]), 0.0).dropoff_ms[0]


def estimate(batch: DispatchBatch, order: PendingOrder, candidate: Candidate) -> Decision | None:
    """When `candidate` would pick up and drop off `order` if sent now, or None if it cannot pick up
    before its shift ends.

    The rider arrives, spends half the pickup service reaching the counter; the pickup happens then or
    when the food is ready, whichever is later; it leaves after the other half, rides, and the drop-off
    happens half a drop-off service after arrival (the MDRP's definitions, Reyes et al. 2018).
    """
    half_pickup_ms = round(batch.pickup_service_s * 500)
    arrive_ms = batch.now_ms + round(candidate.to_pickup_s * 1000)
    pickup_ms = max(arrive_ms + half_pickup_ms, ready_ms(order))
    if candidate.shift_ends_at_ms is not None and pickup_ms > candidate.shift_ends_at_ms:
        return None
    dropoff_ms = pickup_ms + half_pickup_ms + round((order.pickup_to_dropoff_s + batch.dropoff_service_s / 2) * 1000)
    return Decision(order.record.order_id, candidate.rider_id, pickup_ms, dropoff_ms)


class DispatchPolicy(Protocol):
    """Decides which pending orders go to which riders this tick; the rest stay in the pool."""

    name: ClassVar[str]

    def decide(self, batch: DispatchBatch) -> list[Decision]: ...
