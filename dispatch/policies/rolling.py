"""Rolling: the hungarian matching every round, committing only the pairs that cannot wait.

The plain rolling-horizon matching the optimiser is measured against (the MDRP target of issue 6 quotes
one: a `linear_sum_assignment` every minute with delayed commitment): each round the same minimum-cost
matching as `hungarian` (drop-off times, as many orders as possible first) over the free riders, but a
matched pair is offered only when its rider must leave before the next round to be at the counter when
the food is ready; the others go back to the pool and are matched afresh next round, when a nearer rider
may be free. No bundles, no riders finishing other work, no assignment updates: what the `ortools`
policy adds over this is what its gap to this one measures, on one harness.
"""

from __future__ import annotations

from typing import ClassVar

from dispatch.policies.base import Decision, DispatchBatch, ready_ms
from dispatch.policies.hungarian import HungarianPolicy


class RollingPolicy:
    name: ClassVar[str] = "rolling"

    def __init__(self) -> None:
        self._matching = HungarianPolicy()

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        order_of = {o.record.order_id: o for o in batch.orders}
        next_round_ms = batch.now_ms + round(batch.tick_s * 1000)
        half_pickup_ms = round(batch.pickup_service_s * 500)
        out = []
        for d in self._matching.decide(batch):
            order = order_of[d.order_id]
            to_pickup_s = next(c.to_pickup_s for c in order.candidates if c.rider_id == d.rider_id)
            # Leaving at the next round, would the rider still be at the counter by the time the food is ready?
            if next_round_ms + round(to_pickup_s * 1000) + half_pickup_ms <= ready_ms(order):
                continue
            out.append(d)
        return out
