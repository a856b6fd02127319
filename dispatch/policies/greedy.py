"""Greedy: oldest order first, each to the free rider who can pick it up earliest.

The MDRP baseline "greedy" (Reyes et al. 2018 compare against it): an order is assigned as soon as it
may be, never waiting for a better match; a rider gets one order per round. Ties in pickup time (the
food is not ready yet for several riders) go to the rider with the shorter ride to the merchant.
"""

from __future__ import annotations

from typing import ClassVar

from dispatch.policies.base import Decision, DispatchBatch, estimate


class GreedyPolicy:
    name: ClassVar[str] = "greedy"

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        taken: set[str] = set()
        decisions: list[Decision] = []
        for order in sorted(batch.orders, key=lambda o: (o.record.request.placed_at_ms, o.record.order_id)):
            best: tuple[int, float, str, Decision] | None = None
            for c in order.candidates:
                if c.rider_id in taken:
                    continue
                d = estimate(batch, order, c)
                if d is not None and (best is None or (d.estimated_pickup_ms, c.to_pickup_s, c.rider_id) < best[:3]):
                    best = (d.estimated_pickup_ms, c.to_pickup_s, c.rider_id, d)
            if best is not None:
                taken.add(best[2])
                decisions.append(best[3])
        return decisions
