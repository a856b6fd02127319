"""Nearest available rider: oldest order first, each to the free candidate who reaches it soonest.

The baseline every smarter policy is measured against; it already runs once per tick on the whole
batch, so a rider is never offered two orders in one round.
"""

from __future__ import annotations

from typing import ClassVar

from dispatch.policies.base import Decision, DispatchBatch


class NearestAvailablePolicy:
    name: ClassVar[str] = "nearest"

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        taken: set[str] = set()
        decisions: list[Decision] = []
        for order in sorted(batch.orders, key=lambda o: (o.record.request.placed_at_ms, o.record.order_id)):
            free = [c for c in order.candidates if c.rider_id not in taken]
            if not free:
                continue
            best = min(free, key=lambda c: (c.to_pickup_s, c.rider_id))
            taken.add(best.rider_id)
            decisions.append(
                estimate(
                    batch,
                    order.record.request.ready_at_hint_ms,
                    best.to_pickup_s,
                    order.pickup_to_dropoff_s,
                    order.record.order_id,
                    best.rider_id,
                )
            )
        return decisions


def estimate(
    batch: DispatchBatch,
    ready_at_ms: int | None,
    to_pickup_s: float,
    pickup_to_dropoff_s: float,
    order_id: str,
    rider_id: str,
) -> Decision:
    """Pickup when the rider has arrived and the food is ready; drop-off after the ride and handovers."""
    arrive_ms = batch.now_ms + round(to_pickup_s * 1000)
    pickup_ms = max(arrive_ms, ready_at_ms or 0) + round(batch.pickup_service_s * 1000)
    dropoff_ms = pickup_ms + round((pickup_to_dropoff_s + batch.dropoff_service_s) * 1000)
    return Decision(order_id, rider_id, pickup_ms, dropoff_ms)
