"""Hungarian: each round, a minimum-cost one-to-one matching of pending orders to free riders.

The MDRP baseline "hungarian" (no bundling): the cost of giving an order to a rider is the drop-off
time it would reach the customer at, so the matching minimises the batch's total click-to-door. Pairs
a rider cannot serve before its shift ends are left out. Solved exactly as a sparse minimum-weight
full bipartite matching (SciPy's LAPJVsp, `min_weight_full_bipartite_matching`): only candidate pairs
are edges, so memory follows the candidate count rather than orders x riders. Each order also gets a
private "stay pending" edge costing more than any set of real pairs, so the matching always exists
and serves as many orders as possible before it minimises time.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from dispatch.policies.base import Decision, DispatchBatch, estimate

# Cost of leaving an order pending this round: above any sum of real costs (ms offsets, < 1e9 each).
_STAY_PENDING = 1e13


class HungarianPolicy:
    name: ClassVar[str] = "hungarian"

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        riders = sorted({c.rider_id for o in batch.orders for c in o.candidates})
        if not riders:
            return []
        column = {r: j for j, r in enumerate(riders)}
        rows: list[int] = []
        cols: list[int] = []
        costs: list[float] = []
        options: dict[tuple[int, int], Decision] = {}
        for i, order in enumerate(batch.orders):
            for c in order.candidates:
                d = estimate(batch, order, c)
                if d is not None:
                    j = column[c.rider_id]
                    rows.append(i)
                    cols.append(j)
                    # +1: a zero would read as "no edge" in a sparse matrix.
                    costs.append(float(d.estimated_dropoff_ms - batch.now_ms) + 1.0)
                    options[(i, j)] = d
        n, m = len(batch.orders), len(riders)
        rows += list(range(n))
        cols += [m + i for i in range(n)]
        costs += [_STAY_PENDING] * n
        graph = csr_matrix((np.array(costs), (np.array(rows), np.array(cols))), shape=(n, m + n))
        matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
        return [options[(int(i), int(j))] for i, j in zip(matched_rows, matched_cols, strict=True) if j < m]
