"""The optimiser: each tick, one set-packing model over (rider, bundle) pairs, solved with OR-Tools
CP-SAT under a time limit, and a rolling horizon that commits only what cannot wait.

Columns. Every candidate bundle (a lone order is a bundle of one; `dispatch.bundles` builds them)
paired with each rider who is a candidate of every order in it, timed by `plan_route`. Pairs that
would pick up after the rider's shift ends, or make an order miss a promise the order would meet alone
with that rider, are left out. At most `riders_per_bundle` cheapest riders are kept per bundle, so the
model grows with the orders, not with orders x riders.

Cost of a column (seconds, weights in `OptimiserWeights`, documented there):

    sum over its orders of  click_to_door * (drop-off - now)
                          + lateness      * max(0, drop-off - promised)
                          - serve          (the value of serving an order this tick, so the model
                                            prefers serving more orders over serving them faster)
                          - age           * (now - placement)   (older orders first: without it the
                                            model would starve them, fresh orders being cheaper)
    + rider_wait * waiting at merchants + ride * riding time
    + idle_rider * (rider idle when it could ride: charged per second the rider sits unused before
                    its first pickup, which makes the model save near riders for orders that need them)

Model. One boolean per column; each order in at most one chosen column; each rider in at most one.
Minimise the total cost. CP-SAT gets the greedy solution (cheapest column per order first) as a hint
and `time_limit_s`; whatever it returns is compared with the greedy answer and the better is kept, so
the optimiser is never worse than its fallback on the same columns, and when CP-SAT cannot answer in
time (or at all) the greedy answer stands.

Rolling horizon. Of the chosen columns only those that cannot wait for the next tick are committed:
the rider must leave within `commit_within_s` (plus one tick) to be at the counter when the food is
ready, or an order is urgent (pending for longer than `urgent_after_s`, or at risk of its promised
time). The rest stay in the pool and are solved again next tick, when better bundles or riders may
have appeared.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

from ortools.sat.python import cp_model

from dispatch.policies.base import BundleOption, Candidate, Decision, DispatchBatch, plan_route, ready_ms, single


@dataclass(frozen=True)
class OptimiserWeights:
    """Weights of the column cost, per second of the named quantity (see the module docstring)."""

    click_to_door: float = 1.0
    # Extra weight on every second past the promised time.
    lateness: float = 2.0
    # Value of serving an order now rather than leaving it pending: above any time cost of one order.
    serve: float = 7_200.0
    age: float = 1.0
    rider_wait: float = 0.5
    ride: float = 0.05
    idle_rider: float = 0.0
    # Cost of sending a rider out at all (seconds): a bundle saving a rider may add this much delay.
    rider_use: float = 0.0


@dataclass(frozen=True)
class OptimiserConfig:
    weights: OptimiserWeights = field(default_factory=OptimiserWeights)
    # CP-SAT's wall-clock budget per tick, and its worker threads.
    time_limit_s: float = 0.5
    workers: int = 1
    riders_per_bundle: int = 6
    # Commit a pair when its rider must leave within one tick plus this margin to meet the food.
    commit_within_s: float = 0.0
    # Orders pending this long are committed at once to the best rider the model found.
    urgent_after_s: float = 600.0
    # Orders whose promised time the planned drop-off comes within this of are committed at once.
    promise_margin_s: float = 300.0
    # With a predicted (not known) ready time, riders are timed to arrive this many standard
    # deviations of the prediction early.
    ready_sd_margin: float = 0.5
    # False: commit every chosen pair at once (no rolling horizon).
    rolling_horizon: bool = True

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0 or self.workers < 1 or self.riders_per_bundle < 1:
            raise ValueError("time_limit_s must be positive, workers and riders_per_bundle at least 1")


@dataclass(frozen=True)
class Column:
    bundle: BundleOption
    rider: Candidate
    cost: int  # integer cost for CP-SAT (scaled seconds, serve value subtracted)
    pickup_ms: tuple[int, ...]
    dropoff_ms: tuple[int, ...]
    leave_by_ms: int  # latest departure that still meets the first food


@dataclass
class SolveStats:
    columns: int = 0
    status: str = ""
    solve_s: float = 0.0
    used_fallback: bool = False
    objective: float = 0.0
    greedy_objective: float = 0.0


class OptimiserPolicy:
    """Policy `ortools`: bundles, CP-SAT set packing, rolling horizon."""

    name: ClassVar[str] = "ortools"
    uses_bundles: ClassVar[bool] = True
    plans_ahead: ClassVar[bool] = True

    def __init__(self, config: OptimiserConfig | None = None) -> None:
        self.config = config or OptimiserConfig()
        self.last = SolveStats()

    # The pieces, public for tests --------------------------------------------------------------

    def columns(self, batch: DispatchBatch) -> list[Column]:
        w = self.config.weights
        bundles = batch.bundles or tuple(single(i, o) for i, o in enumerate(batch.orders))
        by_order_rider = [{c.rider_id: c for c in o.candidates} for o in batch.orders]
        # A lone order's best drop-off with each rider: a bundle must not break a promise it would keep.
        cols: list[Column] = []
        for b in bundles:
            first = b.first
            riders = [
                c for c in batch.orders[first].candidates if all(c.rider_id in by_order_rider[i] for i in b.orders)
            ]
            options: list[Column] = []
            for rider in riders:
                to_first = by_order_rider[first][rider.rider_id].to_pickup_s
                departs = rider.departs_ms(batch.now_ms)
                plan = plan_route(batch, b, to_first, departs)
                if rider.shift_ends_at_ms is not None and plan.last_pickup_ms > rider.shift_ends_at_ms:
                    continue
                cost = w.rider_use + w.rider_wait * plan.rider_wait_ms / 1000 + w.ride * plan.ride_s
                for i, drop in zip(b.orders, plan.dropoff_ms, strict=True):
                    request = batch.orders[i].record.request
                    cost += w.click_to_door * (drop - batch.now_ms) / 1000 - w.serve
                    cost -= w.age * (batch.now_ms - request.placed_at_ms) / 1000
                    if request.promised_at_ms is not None:
                        cost += w.lateness * max(0, drop - request.promised_at_ms) / 1000
                food = max(ready_ms(batch.orders[i]) - self._ready_margin_ms(batch, i) for i in b.stops[0].orders)
                half_pickup_ms = round(batch.pickup_service_s * 500)
                # Latest departure that meets the food; a busy rider cannot leave before it is free.
                leave_by = max(food - half_pickup_ms - round(to_first * 1000), departs)
                if w.idle_rider:
                    cost += w.idle_rider * max(0, leave_by - departs) / 1000
                options.append(Column(b, rider, round(cost * 10), plan.pickup_ms, plan.dropoff_ms, leave_by))
            options.sort(key=lambda c: (c.cost, c.rider.rider_id))
            cols += options[: self.config.riders_per_bundle]
        return cols

    def _ready_margin_ms(self, batch: DispatchBatch, i: int) -> int:
        """How much earlier than its predicted ready time an order is planned to be met (a rider
        waiting a little costs less than food waiting); 0 when the ready time is known."""
        record = batch.orders[i].record
        if record.ready_at_ms is not None or record.request.ready_at_hint_ms is not None:
            return 0
        return round(self.config.ready_sd_margin * (record.predicted_ready_sd_s or 0.0) * 1000)

    @staticmethod
    def greedy(columns: list[Column]) -> list[int]:
        """Cheapest column per order first (cost per order served), skipping taken orders and riders."""
        order = sorted(range(len(columns)), key=lambda k: (columns[k].cost / len(columns[k].bundle.orders), k))
        taken_orders: set[int] = set()
        taken_riders: set[str] = set()
        chosen = []
        for k in order:
            col = columns[k]
            if col.rider.rider_id in taken_riders or any(i in taken_orders for i in col.bundle.orders):
                continue
            chosen.append(k)
            taken_riders.add(col.rider.rider_id)
            taken_orders.update(col.bundle.orders)
        return chosen

    def solve(self, columns: list[Column]) -> list[int]:
        """The chosen columns: CP-SAT's answer or the greedy one, whichever costs less."""
        stats = SolveStats(columns=len(columns))
        started = time.perf_counter()
        fallback = self.greedy(columns)
        stats.greedy_objective = sum(columns[k].cost for k in fallback)
        chosen, stats.objective = fallback, stats.greedy_objective
        useful = [k for k, c in enumerate(columns) if c.cost < 0]
        if len(useful) > 1:
            model = cp_model.CpModel()
            x = {k: model.new_bool_var(f"x{k}") for k in useful}
            by_order: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            by_rider: dict[str, list[cp_model.IntVar]] = defaultdict(list)
            for k in useful:
                for i in columns[k].bundle.orders:
                    by_order[i].append(x[k])
                by_rider[columns[k].rider.rider_id].append(x[k])
            for group in (*by_order.values(), *by_rider.values()):
                if len(group) > 1:
                    model.add_at_most_one(group)
            model.minimize(cp_model.LinearExpr.weighted_sum([x[k] for k in useful], [columns[k].cost for k in useful]))
            hinted = set(fallback)
            for k in useful:
                model.add_hint(x[k], k in hinted)
            solver = cp_model.CpSolver()
            remaining = self.config.time_limit_s - (time.perf_counter() - started)
            solver.parameters.max_time_in_seconds = max(0.01, remaining)
            solver.parameters.num_workers = self.config.workers
            status = solver.solve(model)
            stats.status = solver.status_name(status)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                found = [k for k in useful if solver.boolean_value(x[k])]
                objective = sum(columns[k].cost for k in found)
                if objective <= stats.greedy_objective:
                    chosen, stats.objective = found, objective
        stats.used_fallback = chosen is fallback
        stats.solve_s = time.perf_counter() - started
        self.last = stats
        return chosen

    def must_commit(self, batch: DispatchBatch, column: Column) -> bool:
        cfg = self.config
        next_tick_ms = batch.now_ms + round(batch.tick_s * 1000)
        if column.rider.departs_ms(batch.now_ms) >= next_tick_ms:
            return False  # a busy rider: it holds the order for next tick's solve, which sees it free
        if not cfg.rolling_horizon:
            return True
        if column.leave_by_ms <= next_tick_ms + round(cfg.commit_within_s * 1000):
            return True
        for i, drop in zip(column.bundle.orders, column.dropoff_ms, strict=True):
            request = batch.orders[i].record.request
            if batch.now_ms - request.placed_at_ms >= cfg.urgent_after_s * 1000:
                return True
            if request.promised_at_ms is not None and drop >= request.promised_at_ms - cfg.promise_margin_s * 1000:
                return True
        return False

    # The policy ---------------------------------------------------------------------------------

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        columns = self.columns(batch)
        decisions: list[Decision] = []
        for k in self.solve(columns):
            col = columns[k]
            if not self.must_commit(batch, col):
                continue
            head = len(decisions)
            for i, pickup, drop in zip(col.bundle.orders, col.pickup_ms, col.dropoff_ms, strict=True):
                decisions.append(Decision(batch.orders[i].record.order_id, col.rider.rider_id, pickup, drop, head))
        return decisions
