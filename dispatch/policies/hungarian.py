"""Hungarian: each round, a minimum-cost one-to-one matching of pending orders to free riders.

The MDRP baseline "hungarian" (no bundling): the cost of giving an order to a rider is the drop-off
time it would reach the customer at, so the matching minimises the batch's total click-to-door. Pairs
a rider cannot serve before its shift ends are left out. Solved exactly with SciPy's
`linear_sum_assignment` (Jonker-Volgenant), which also takes rectangular problems.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.policies.base import Decision, DispatchBatch, estimate

# Cost of a pair that may not be chosen: larger than any real drop-off time offset.
_FORBIDDEN = 1e15


class HungarianPolicy:
    name: ClassVar[str] = "hungarian"

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        riders = sorted({c.rider_id for o in batch.orders for c in o.candidates})
        if not riders:
            return []
        column = {r: j for j, r in enumerate(riders)}
        cost = np.full((len(batch.orders), len(riders)), _FORBIDDEN)
        options: dict[tuple[int, int], Decision] = {}
        for i, order in enumerate(batch.orders):
            for c in order.candidates:
                d = estimate(batch, order, c)
                if d is not None:
                    j = column[c.rider_id]
                    cost[i, j] = d.estimated_dropoff_ms - batch.now_ms
                    options[(i, j)] = d
        rows, cols = linear_sum_assignment(cost)
        return [options[(i, j)] for i, j in zip(rows, cols, strict=True) if (i, j) in options]
