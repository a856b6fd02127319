"""The optimiser: each tick, one set-packing model over (rider, bundle) pairs, solved with OR-Tools
CP-SAT under a time limit, and a rolling horizon that commits only what cannot wait.

Columns. Every candidate bundle (a lone order is a bundle of one; `dispatch.bundles` builds them)
paired with each rider who is a candidate of every order in it, timed by `plan_route`. Pairs that
would pick up after the rider's shift ends are left out. At most `riders_per_bundle` cheapest free
riders and `busy_riders_per_bundle` riders still busy are kept per bundle, so the model grows with the
orders, not with orders x riders.

Cost of a column (seconds, weights in `OptimiserWeights`, documented there):

    sum over its orders of  click_to_door * (drop-off - earliest)
                          + lateness      * (max(0, drop-off - promised) - max(0, earliest - promised))
                          - serve          (the value of serving an order this tick, so the model
                                            prefers serving more orders over serving them faster)
                          - age           * (now - placement)   (older orders first: without it the
                                            model would starve them, fresh orders being cheaper)
    + rider_wait * waiting at merchants + ride * riding time  (scarce_ride while riders are scarce;
                                    waiting for predicted food: predicted_wait unless riders are scarce)

where `earliest` is the order's earliest possible drop-off (a rider already at the counter, leaving
when the food is ready as planned). Only the delay a rider adds is costed: what no rider can avoid (a
long ride, food not ready yet, a promise already out of reach) is the same for every choice, and
counting it made an order whose customer lives an hour's ride away cost more than `serve`, so it was
never served (orders expired beside idle riders in the Liechtenstein replay). Where a ready time is
only predicted, the pickup (and so the waiting and the drop-offs) is its expectation over the
prediction's normal spread (`expected_pickup`): a rider arriving early still gains the chance that the
food is ready early. A bundle's food is the last of its foods, whose time is the expected maximum of the
orders' ready times (`last_ready`), later than the latest prediction when they are uncertain.

Assignment updates. A pending order may also join, as its last drop-off, the bundle a rider holds at
the order's counter and has not picked up (`DispatchBatch.joins`, found by the dispatcher within the
bundles' limits). Such a column costs the order's own delay as above, plus `click_to_door` for every
order already in the bundle and `rider_wait` for every second the bundle's pickup waits for the new
food, plus the riding it adds. It is committed only when the bundle's pickup is due before the next tick
(or the order is urgent): until then a better rider may still appear.

Model. One boolean per column; each order in at most one chosen column; each rider in at most one.
Minimise the total cost. The model is solved in pieces of whole connected components (columns linked
through shared orders or riders; no decision in one affects another), the oldest orders' first, for
at most `time_limit_s` over all pieces; per piece, the answer is compared with the greedy answer
(cheapest column per order first) and the better is kept, so the optimiser is never worse than its
fallback on the same columns, and where no answer comes in time the greedy answer stands.

Pieces of up to `LP_PIECE_COLUMNS` columns go to CP-SAT alone, larger ones (one component each) through
their LP relaxation first (`_solve_by_lp`): GLOP's optimum is a lower bound; the columns the LP sets to
1, plus CP-SAT's answer on the few columns they leave free, are an answer; reduced-cost fixing against
that answer (exact) leaves small components, and CP-SAT runs only on those whose answer is not already
within GAP_UNITS_PER_ORDER per order of their bound. The answer is the optimum up to that gap, as
CP-SAT's own would be. CP-SAT runs without presolve, probing or symmetry detection, with the fuller LP
relaxation of linearization level 2 and, after the LP, the answer in hand as its hint (without it,
0.41 s instead of 0.09 s on a captured 8,300-column component).

Why the LP first. Where riders are busy, the soon-free ones (each a candidate of many orders) join all
components into one: on five captured 1,000-order ticks with half of the 3,000 riders busy, one
component of 21,000-23,500 columns, on which CP-SAT alone had no answer within 0.5 s (the greedy answer
stood, 3.1-6.3M cost units above the optimum: the `serve` value of 43-88 orders) and took 2.8 s to the
optimum when let run. Its LP is nearly integral (15-47 fractional values of 23,000); GLOP solves it in
0.10-0.13 s and the piece is OPTIMAL in 0.10-0.22 s. On smaller pieces it is as fast as CP-SAT alone
or faster, but picks other optima of equal cost (`LP_PIECE_COLUMNS`).

Rolling horizon. Of the chosen columns only those that cannot wait for the next tick are committed:
the rider must leave within `commit_within_s` (plus one tick) to be at the counter when the food is
ready, or an order is urgent (pending for longer than `urgent_after_s`, or at risk of its promised
time). The rest stay in the pool and are solved again next tick, when better bundles or riders may
have appeared.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import chain, compress, pairwise
from operator import attrgetter
from typing import ClassVar, NamedTuple

import numpy as np
from ortools.linear_solver.python import model_builder_helper
from ortools.sat.python import cp_model, cp_model_helper
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import ndtr

from dispatch.policies.base import BundleOption, Candidate, Decision, DispatchBatch, plan_route, ready_ms, single


@dataclass(frozen=True)
class OptimiserWeights:
    """Weights of the column cost, per second of the named quantity (see the module docstring)."""

    click_to_door: float = 1.0
    # Extra weight on every second past the promised time.
    lateness: float = 2.0
    # Value of serving an order now rather than leaving it pending: above any time cost of one order.
    serve: float = 7_200.0
    # Priority of older orders (per second waited so far). Late orders already come first through
    # `lateness` (each further second of theirs costs 1 + lateness); this small term orders the rest.
    # Measured on the MDRP dev instances: 1.0 served hopeless orders at the expense of many others
    # (1o50t100s1p125: gap 34.9% at 7.8% undelivered, against 18.8% at the same 7.8% with 0.1).
    age: float = 0.1
    # Waiting at the counter for food (rider time lost) and riding (rider time used), per second.
    rider_wait: float = 0.5
    ride: float = 0.05
    # Riding, per second, while riders are scarce (fewer free riders than `OptimiserConfig.
    # scarce_below_riders_per_order` per pending order): a minute a rider spends riding is then a minute
    # some other order waits for one, so a nearer rider, or a bundle that saves a ride, is worth more.
    # Measured with bench.mdrp (gap to the lower bound, ride 0.05 -> 0.3 while scarce), on the four dev
    # instances: 5.10 / 17.11 / 7.84 / 4.70% -> 4.77 / 16.66 / 7.54 / 4.21%, and better on six of eight
    # unseen variants (`--variant`, mean 10.95 -> 10.30%). With 1% of the orders dropped (three seeds
    # each, `--variant drop1`) it helps where couriers are busiest, 7o100t75s1p125 4.79 -> 4.02% and
    # 4o100t100s2p100 7.44 -> 7.05% (every seed), costs the calm 0o100t100s1p100 4.81 -> 5.04%, and is lost
    # in the noise of the overloaded 1o50t100s1p125 (16.77 -> 17.83%, seeds spread over 4 points).
    # 0.5 while scarce: dev mean 9.16% (8.29% at 0.3). 0.3 at all times made the calm instance worse
    # (0o100t100s1p100 5.10 -> 6.10%, dev mean 9.41%): with riders to spare, an order's time matters more
    # than riding.
    scarce_ride: float = 0.3
    # Waiting at the counter for food whose ready time is only predicted, per second, while riders are not
    # scarce (while they are: `rider_wait`). A rider to spare waiting at the counter costs little; food
    # waiting for a rider costs the customer, and a predicted time is minutes off either way, so riders are
    # timed to be there early (with `OptimiserConfig.ready_sd_margin`): the quantile that weighs the food's
    # waiting against the rider's. Measured with predictions conditioned on a reporting merchant's silence
    # (bench.mdrp.suite --prep estimated, drop1; this, margin 1.5 instead of 0.5): seeds 1-3 18.00 -> 17.44%,
    # seeds 4-6 17.72 -> 16.49%, better on every dev instance in both. Known ready times are not affected: there, waiting costs `rider_wait` even
    # while riders are plentiful (0 cost 1 point: the near rider a long wait would hold is kept for others).
    predicted_wait: float = 0.0
    # Cost of sending a rider out at all (seconds): a bundle saving a rider may add this much delay.
    rider_use: float = 0.0


@dataclass(frozen=True)
class OptimiserConfig:
    weights: OptimiserWeights = field(default_factory=OptimiserWeights)
    # CP-SAT's search time per tick (its answer, if better, replaces the greedy one), and its threads.
    time_limit_s: float = 0.5
    workers: int = 1
    riders_per_bundle: int = 4
    # Riders still busy (finishing soon) kept per bundle, besides its `riders_per_bundle` free ones.
    # Measured (gap, MDRP): 2 instead of 4 made 4o100t100s2p100 9.6-10.2% instead of 7.3-7.6% and
    # 7o100t75s1p125 7.8% instead of 3.9%, for a third fewer columns.
    busy_riders_per_bundle: int = 4
    # Commit a pair when its rider must leave within one tick plus this margin to meet the food.
    commit_within_s: float = 0.0
    # Orders pending this long are committed at once to the best rider the model found.
    urgent_after_s: float = 600.0
    # Orders whose promised time the planned drop-off comes within this of are committed at once.
    promise_margin_s: float = 300.0
    # With a predicted (not known) ready time, riders are timed to arrive this many standard
    # deviations of the prediction early (0.5 until measured with `OptimiserWeights.predicted_wait`).
    ready_sd_margin: float = 1.5
    # Hold orders (rolling horizon) only while free riders number fewer than this many per pending
    # order: with riders to spare, a rider sent at once waits at the counter at no one's expense, and
    # the food (whose ready time is never certain) waits for no one.
    hold_below_riders_per_order: float = 2.0
    # Riders count as scarce (riding is costed at `OptimiserWeights.scarce_ride`) while free riders number
    # fewer than this many per pending order. Measured (mean gap of the four dev instances, scarce_ride
    # 0.3): 8.29% at 1.0, 9.69% at 2.0 (the hold's threshold).
    scarce_below_riders_per_order: float = 1.0
    # False: commit every chosen pair at once (no rolling horizon).
    rolling_horizon: bool = True

    def __post_init__(self) -> None:
        if self.busy_riders_per_bundle < 0 or self.scarce_below_riders_per_order < 0:
            raise ValueError("busy_riders_per_bundle and scarce_below_riders_per_order must not be negative")
        if self.time_limit_s <= 0 or self.workers < 1 or self.riders_per_bundle < 1:
            raise ValueError("time_limit_s must be positive, workers and riders_per_bundle at least 1")


class Column(NamedTuple):
    """One (bundle, rider) pair of the model. A named tuple, not a frozen dataclass: a busy tick builds
    tens of thousands, and a frozen dataclass's __init__ (a setattr per field) was a third of columns()."""

    bundle: BundleOption
    rider: Candidate
    cost: int  # integer cost for CP-SAT (scaled seconds, serve value subtracted)
    pickup_ms: tuple[int, ...]
    dropoff_ms: tuple[int, ...]
    leave_by_ms: int  # latest departure that still meets the first food
    joins: str = ""  # the bundle the rider holds that this column's order joins (an assignment update)


@dataclass
class SolveStats:
    columns: int = 0
    status: str = ""
    solve_s: float = 0.0
    used_fallback: bool = False
    objective: float = 0.0
    greedy_objective: float = 0.0
    models: int = 0  # CP-SAT models solved (pieces of the packing)


class OptimiserPolicy:
    """Policy `ortools`: bundles, CP-SAT set packing, rolling horizon."""

    name: ClassVar[str] = "ortools"
    uses_bundles: ClassVar[bool] = True
    plans_ahead: ClassVar[bool] = True

    def __init__(self, config: OptimiserConfig | None = None) -> None:
        self.config = config or OptimiserConfig()
        self.last = SolveStats()

    # The pieces, public for tests --------------------------------------------------------------

    def weights_for(self, batch: DispatchBatch, free_riders: int | None = None) -> OptimiserWeights:
        """The weights of this tick's costs: riding at `scarce_ride` while riders are scarce. `free_riders`:
        the batch's count of free candidate riders, if the caller has it already."""
        weights = self.config.weights
        free = _free_riders(batch) if free_riders is None else free_riders
        if free < self.config.scarce_below_riders_per_order * len(batch.orders):
            return replace(weights, ride=weights.scarce_ride, predicted_wait=weights.rider_wait)
        return weights

    def columns(self, batch: DispatchBatch, free_riders: int | None = None) -> list[Column]:
        """Every feasible (bundle, rider) pair, costed (with `weights_for(batch)`); per bundle the
        `riders_per_bundle` cheapest free riders and the `busy_riders_per_bundle` cheapest riders still busy.

        Bundles with one counter (all of them unless cross-merchant bundling is on) are costed for all
        their riders at once with numpy: their drop-offs are the pickup plus offsets that do not depend
        on the rider. Others go through `plan_route` pair by pair."""
        w = self.weights_for(batch, free_riders)
        bundles = batch.bundles or tuple(single(i, o) for i, o in enumerate(batch.orders))
        # Every order's candidates in one flat table (order by order), read once: a bundle's pairs are
        # positions in it, so the pairs' attributes (tens of thousands in a busy tick) are numpy takes.
        flat = list(chain.from_iterable(o.candidates for o in batch.orders))
        start = np.cumsum([0] + [len(o.candidates) for o in batch.orders]).tolist()
        position_of = [
            {c.rider_id: start[i] + k for k, c in enumerate(o.candidates)} for i, o in enumerate(batch.orders)
        ]
        half_pickup_ms = round(batch.pickup_service_s * 500)
        now = batch.now_ms
        width = max(len(b.orders) for b in bundles) if bundles else 1
        n = len(bundles)
        fixed = np.zeros(n)
        food = np.zeros(n, dtype=np.int64)  # when the counter's last food is ready
        food_plan = np.zeros(n, dtype=np.int64)  # the same, less the margin for predicted ready times
        food_sd = np.zeros(n)  # the spread of a predicted ready time (ms), 0 when it is known
        offsets = np.full((n, width), np.nan)  # drop-off minus pickup, per order in delivery sequence
        promised = np.full((n, width), np.inf)
        pair_bundle: list[np.ndarray] = []
        pair_flat: list[np.ndarray] = []  # positions in `flat`
        slow: list[tuple[int, Candidate]] = []
        # Per order, what does not depend on the rider (its cost at drop-off time 0, see the docstring).
        ready = [ready_ms(o) for o in batch.orders]
        sd = [self._ready_sd_ms(batch, i) for i in range(len(batch.orders))]
        ready_plan = [ready[i] - round(self.config.ready_sd_margin * sd[i]) for i in range(len(batch.orders))]
        half_dropoff_ms = round(batch.dropoff_service_s * 500)
        order_fixed = []
        # Each order's earliest pickup: a rider already at the counter (all orders at once).
        at_counter = expected_pickup(
            np.full(len(ready), now + half_pickup_ms), np.array(ready, dtype=np.int64), np.array(sd, dtype=float)
        ).tolist()
        for i, o in enumerate(batch.orders):
            r = o.record.request
            alone = round(at_counter[i]) + half_pickup_ms + round(o.pickup_to_dropoff_s * 1000) + half_dropoff_ms
            c = -w.click_to_door * alone / 1000 - w.serve - w.age * (now - r.placed_at_ms) / 1000
            if r.promised_at_ms is not None:
                c -= w.lateness * max(0, alone - r.promised_at_ms) / 1000  # lateness no rider can avoid
            order_fixed.append(c)
        for bi, b in enumerate(bundles):
            first = b.first
            if len(b.orders) == 1:
                at = np.arange(start[first], start[first + 1])
            else:
                common = position_of[b.orders[0]].keys() & position_of[b.orders[1]].keys()
                for i in b.orders[2:]:
                    common &= position_of[i].keys()
                at = np.array(sorted(position_of[first][r] for r in common), dtype=np.int64)
            if not len(at):
                continue
            fixed[bi] = w.rider_use + w.ride * sum(b.legs_s) + sum(order_fixed[i] for i in b.orders)
            for k, i in enumerate(b.orders):
                promise = batch.orders[i].record.request.promised_at_ms
                if promise is not None:
                    promised[bi, k] = promise
            counter = b.stops[0].orders
            food_plan[bi] = max(ready_plan[i] for i in counter)
            if any(stop.pickup for stop in b.stops[1:]):
                slow += [(bi, flat[k]) for k in at.tolist()]
                continue
            # One counter, then the doors: each drop-off is the pickup plus a fixed offset (plan_route's rule).
            if len(counter) == 1:
                food[bi], food_sd[bi] = ready[counter[0]], sd[counter[0]]
            else:  # the pickup waits for the last of the foods: its expectation, not the latest expectation
                food[bi], food_sd[bi] = last_ready([ready[i] for i in counter], [sd[i] for i in counter])
            t = half_pickup_ms
            for k in range(len(b.orders)):
                t += round(b.legs_s[k + 1] * 1000)
                offsets[bi, k] = t + half_dropoff_ms
                t += 2 * half_dropoff_ms
            pair_bundle.append(np.full(len(at), bi))
            pair_flat.append(at)
        cols: list[Column] = []
        if pair_flat:
            bi_arr = np.concatenate(pair_bundle)
            pairs = np.concatenate(pair_flat)
            flat_to = np.fromiter(map(_TO_PICKUP_S, flat), dtype=float, count=len(flat))
            flat_free = np.array([now if a is None else a for a in map(_AVAILABLE_AT, flat)], dtype=np.int64)
            flat_end = np.array([np.inf if e is None else e for e in map(_SHIFT_ENDS, flat)], dtype=float)
            to_first = flat_to[pairs]
            departs = np.maximum(flat_free[pairs], now)
            shift_end = flat_end[pairs]
            arrive = departs + np.rint(to_first * 1000).astype(np.int64) + half_pickup_ms
            pickup = np.maximum(arrive, food[bi_arr])
            drops = pickup[:, None] + offsets[bi_arr]  # NaN past the bundle's size
            # Costed at the expected pickup: with a predicted ready time (normal, its spread), a rider
            # arriving earlier still gains the chance that the food is ready earlier than predicted.
            pickup_plan = expected_pickup(arrive, food[bi_arr], food_sd[bi_arr])
            drops_plan = pickup_plan[:, None] + offsets[bi_arr]
            late = np.where(np.isfinite(promised[bi_arr]), np.maximum(0, drops_plan - promised[bi_arr]), 0)
            wait_weight = np.where(food_sd[bi_arr] > 0, w.predicted_wait, w.rider_wait)
            cost = (
                fixed[bi_arr] + wait_weight * (pickup_plan - arrive) / 1000 + w.ride * to_first
                + np.nansum(w.click_to_door * drops_plan / 1000 + w.lateness * np.nan_to_num(late) / 1000, axis=1)
            )  # fmt: skip
            leave_by = np.maximum(
                food_plan[bi_arr] - half_pickup_ms - np.rint(to_first * 1000).astype(np.int64), departs
            )
            ok = np.flatnonzero(pickup <= shift_end)
            # Ranked per bundle among free riders and, apart, among riders still busy: the cheapest are
            # often busy riders timed to arrive just as the food is ready, and had they filled the
            # bundle's places its free riders would never be offered it (in a busy city, orders expired
            # unserved beside idle riders).
            group = bi_arr * 2 + (departs > now)
            ranked = ok[np.lexsort((cost[ok], group[ok]))]
            group_start = np.r_[0, np.flatnonzero(np.diff(group[ranked])) + 1]
            rank = np.arange(len(ranked)) - np.repeat(group_start, np.diff(np.r_[group_start, len(ranked)]))
            limit = np.where(group[ranked] % 2, self.config.busy_riders_per_bundle, self.config.riders_per_bundle)
            kept = ranked[rank < limit]
            kept_cost = np.rint(cost[kept] * 10).astype(np.int64).tolist()
            kept_pickup = pickup[kept].tolist()
            kept_drops = np.nan_to_num(drops[kept]).astype(np.int64).tolist()
            kept_leave = leave_by[kept].tolist()
            kept_bundle = bi_arr[kept].tolist()
            kept_rider = pairs[kept].tolist()
            for n_, bi in enumerate(kept_bundle):
                b = bundles[bi]
                size = len(b.orders)
                cols.append(Column(b, flat[kept_rider[n_]], kept_cost[n_], (kept_pickup[n_],) * size,
                                   tuple(kept_drops[n_][:size]), kept_leave[n_]))  # fmt: skip
        cols += self._slow_columns(batch, w, bundles, slow, fixed, food_plan, half_pickup_ms)
        cols += self._join_columns(batch, w, order_fixed)
        return cols

    def _join_columns(self, batch: DispatchBatch, w: OptimiserWeights, order_fixed: list[float]) -> list[Column]:
        """An order joining a bundle a rider holds at its counter: its own delay over its earliest drop-off,
        plus the delay it brings the bundle's orders (and their rider's wait) and the riding it adds."""
        out = []
        for j in batch.joins:
            order = batch.orders[j.order]
            # With a predicted ready time, the wait is costed at its expectation (as for any pickup): food
            # late against its prediction holds up the whole bundle.
            planned = j.pickup_ms - j.delay_ms
            sd = self._ready_sd_ms(batch, j.order)
            pickup = float(expected_pickup(np.array([planned]), np.array([ready_ms(order)]), np.array([sd]))[0])
            delay, dropoff = pickup - planned, j.dropoff_ms + pickup - j.pickup_ms
            promise = order.record.request.promised_at_ms
            late = 0 if promise is None else max(0, dropoff - promise)
            cost = (
                order_fixed[j.order] + w.click_to_door * dropoff / 1000 + w.lateness * late / 1000
                + (w.click_to_door * j.carried + w.rider_wait) * delay / 1000 + w.ride * j.extra_ride_s
            )  # fmt: skip
            rider = Candidate(j.rider_id, order.record.request.pickup, 0.0, j.shift_ends_at_ms, j.pickup_ms)
            out.append(Column(single(j.order, order), rider, round(cost * 10), (j.pickup_ms,), (j.dropoff_ms,),
                              batch.now_ms, j.bundle_id))  # fmt: skip
        return out

    def _slow_columns(
        self,
        batch: DispatchBatch,
        w: OptimiserWeights,
        bundles: tuple[BundleOption, ...],
        pairs: list[tuple[int, Candidate]],
        fixed: np.ndarray,
        food_plan: np.ndarray,
        half_pickup_ms: int,
    ) -> list[Column]:
        """Bundles with more than one counter, pair by pair."""
        options: dict[int, list[Column]] = defaultdict(list)
        for bi, rider in pairs:
            b = bundles[bi]
            departs = rider.departs_ms(batch.now_ms)
            plan = plan_route(batch, b, rider.to_pickup_s, departs)
            if rider.shift_ends_at_ms is not None and plan.last_pickup_ms > rider.shift_ends_at_ms:
                continue
            cost = float(fixed[bi]) + w.rider_wait * plan.rider_wait_ms / 1000 + w.ride * rider.to_pickup_s
            for i, drop in zip(b.orders, plan.dropoff_ms, strict=True):
                cost += w.click_to_door * drop / 1000
                promised = batch.orders[i].record.request.promised_at_ms
                if promised is not None and drop > promised:
                    cost += w.lateness * (drop - promised) / 1000
            leave_by = max(int(food_plan[bi]) - half_pickup_ms - round(rider.to_pickup_s * 1000), departs)
            options[bi].append(Column(b, rider, round(cost * 10), plan.pickup_ms, plan.dropoff_ms, leave_by))
        cols: list[Column] = []
        for bi in sorted(options):
            for busy in (False, True):
                kept = [c for c in options[bi] if (c.rider.departs_ms(batch.now_ms) > batch.now_ms) == busy]
                limit = self.config.busy_riders_per_bundle if busy else self.config.riders_per_bundle
                cols += sorted(kept, key=lambda c: (c.cost, c.rider.rider_id))[:limit]
        return cols

    def _ready_sd_ms(self, batch: DispatchBatch, i: int) -> float:
        """The spread of an order's predicted ready time (ms); 0 when the ready time is known."""
        record = batch.orders[i].record
        return (record.predicted_ready_sd_s or 0.0) * 1000 if record.ready_is_predicted else 0.0

    @staticmethod
    def greedy(columns: list[Column]) -> list[int]:
        """Cheapest column per order first (cost per order served), skipping taken orders and riders."""
        return _Packing.of(columns).greedy()

    def solve(self, columns: list[Column], committable: list[bool] | None = None) -> list[int]:
        """The chosen columns: per piece of the model, CP-SAT's answer or the greedy one, whichever costs
        less (so never more than the greedy answer in all).

        With `committable` (per column: would it be committed if chosen), connected components without
        any committable column are left out: nothing chosen there could be acted on this tick, and the
        components are independent, so the answer in the others is the same without them."""
        stats = SolveStats(columns=len(columns))
        started = time.perf_counter()
        packing = _Packing.of(columns, committable)
        fallback = packing.greedy()
        stats.greedy_objective = sum(columns[k].cost for k in fallback)
        chosen, stats.objective = fallback, stats.greedy_objective
        if len(packing.useful) > 1:
            greedy_piece = packing.piece_of(fallback)
            # The budget is CP-SAT's own search time over all pieces; building each piece's model adds a
            # few milliseconds, and the greedy answer is already in hand for every piece left unsolved.
            deadline = time.perf_counter() + self.config.time_limit_s
            found: list[int] = []
            statuses = []
            for piece in packing.pieces():
                left_s = deadline - time.perf_counter()
                answer = self._solve_piece(piece, left_s) if left_s > 0 else None
                statuses.append("UNKNOWN" if answer is None else answer[0])
                greedy_part = [k for k, p in zip(fallback, greedy_piece, strict=True) if p == piece.index]
                if answer is not None and _cost(columns, answer[1]) <= _cost(columns, greedy_part):
                    found += answer[1]
                else:
                    found += greedy_part
            stats.models = len(statuses)
            stats.status = min(statuses, key=("UNKNOWN", "FEASIBLE", "OPTIMAL").index)
            if any(status != "UNKNOWN" for status in statuses):
                # Piece by piece no worse than greedy, so no worse in all.
                chosen, stats.objective = sorted(found), _cost(columns, found)
        stats.used_fallback = chosen is fallback
        stats.solve_s = time.perf_counter() - started
        self.last = stats
        return chosen

    def _solve_piece(self, piece: _Piece, time_limit_s: float) -> tuple[str, list[int]] | None:
        """The answer for one piece of the packing (its status and chosen columns), or None: CP-SAT's, or
        for a piece of more than LP_PIECE_COLUMNS columns, that of `_solve_by_lp`."""
        if len(piece.columns) > LP_PIECE_COLUMNS:
            return self._solve_by_lp(piece, time_limit_s)
        answer = self._cp_sat(piece.model(), time_limit_s, GAP_UNITS_PER_ORDER * piece.orders)
        return None if answer is None else (answer[0], piece.columns[answer[1]].tolist())

    def _cp_sat(self, model: cp_model.CpModel, time_limit_s: float, gap_units: float) -> tuple[str, np.ndarray] | None:
        """CP-SAT's answer for a model (its status and the variables set), or None."""
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = time_limit_s
        solver.parameters.num_workers = self.config.workers
        # Measured on a 1,000-order, 3,000-rider tick (11,704 columns, bench.tick_latency): with
        # presolve CP-SAT had only a feasible answer after 2 s; without it, the optimum in 0.26 s.
        # The model is a plain set packing that presolve has little to remove from.
        solver.parameters.cp_model_presolve = False
        # Measured on nine captured bench.tick_latency ticks (500, 1,000, 2,000 orders; 5,800 to
        # 23,500 columns): the LP relaxation is what proves this model optimal, and linearization
        # level 2 (more of the model and more cuts in the LP) closes its gap quickly: at 1,000 orders
        # OPTIMAL in 0.15-0.33 s where the defaults were still FEASIBLE, or had no answer, at the
        # 0.5 s limit. Probing (0.06-0.15 s at the root) and symmetry detection cost more than they
        # saved on every one of the nine.
        solver.parameters.linearization_level = 2
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        # All of the model in the LP from the start, not added as it gets violated: on the ten captured
        # 1,000-order ticks, solved in pieces, 0.18-0.30 s (median 0.25 s) against 0.25-0.38 s (median
        # 0.30 s); at 2,000 orders two of three ticks finished inside the limit instead of none.
        solver.parameters.add_lp_constraints_lazily = False
        # Stop once the answer is provably within half a cost unit (0.05 s) per order of the optimum:
        # each column's cost is rounded to the unit, so the model's optimum is only known to lie that
        # close to the true one anyway. On a captured 1,000-order tick, proving the last unit took
        # CP-SAT 0.2 s of its 0.37 s (the answer it stops at now is 1 unit, 0.1 s, above the optimum).
        solver.parameters.absolute_gap_limit = gap_units
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return solver.status_name(status), np.flatnonzero(np.asarray(solver.response_proto.solution, dtype=np.int64))

    def _solve_by_lp(self, piece: _Piece, time_limit_s: float) -> tuple[str, list[int]] | None:
        """A large piece through its LP relaxation (GLOP), exact up to the same gap CP-SAT may stop at.

        1. The LP relaxation: its optimum is a lower bound LB, and on these models nearly integral.
        2. An answer: the variables the LP sets to 1 (a packing), and CP-SAT's on the small rest (the
           columns none of whose orders and rider those take). Its cost is UB.
        3. Reduced-cost fixing, which is exact: with the LP's duals y <= 0 (one per order or rider) and
           reduced costs d = cost - A'y, every packing x costs at least LB + d.x, so a column whose d is
           above UB - LB is in no packing cheaper than the answer and is dropped. What is left falls apart
           into components; per component the bound is the same sum over its own orders, riders and
           columns, and a component whose answer is within GAP_UNITS_PER_ORDER per order of its bound
           is done; the others (few, small) go to CP-SAT with what is left of the time.
        None if the LP is not solved in time (the piece then keeps the greedy answer)."""
        started = time.perf_counter()
        rows, cost = piece.rows, piece.cost
        n = len(cost)
        # An order or rider of one column only is no constraint beyond x <= 1: left out of the LP (on
        # the captured ticks 8-17% of the rows, 8-17% faster), its dual is 0.
        shared = np.diff(rows.indptr) > 1
        m = int(shared.sum())
        lp = model_builder_helper.ModelBuilderHelper()
        lp.fill_model_from_sparse_data(
            np.zeros(n), np.ones(n), cost.astype(float), np.full(m, -np.inf), np.ones(m), rows[shared]
        )
        glop = model_builder_helper.ModelSolverHelper("glop")
        # Measured on five captured 1,000-order ticks with half of the riders busy (22,500-23,900
        # columns in one component): 0.10 s against 0.12 s with GLOP's presolve.
        glop.set_solver_specific_parameters("use_preprocessing: false")
        glop.set_time_limit_in_seconds(time_limit_s)
        glop.solve(lp)
        if glop.status() != model_builder_helper.SolveStatus.OPTIMAL:
            return None
        x = np.asarray(glop.variable_values())
        y = np.zeros(rows.shape[0])
        y[shared] = np.minimum(np.asarray(glop.dual_values()), 0.0)  # any y <= 0 gives a valid bound
        d = cost - rows.T @ y
        # 2. The LP's ones (a packing: no two share an order or a rider), and the rest by CP-SAT.
        answer = x > 1 - LP_ONE
        load = rows @ answer.astype(np.int64)
        if load.max(initial=0) > 1:
            return None  # not a packing: GLOP's tolerances, never seen
        rest = np.flatnonzero(~answer & (rows.T @ (load > 0).astype(np.int64) == 0))
        if len(rest):
            left_s = time_limit_s - (time.perf_counter() - started)
            found = self._cp_sat(piece.model(rest), left_s, 0.0) if left_s > 0 else None
            if found is not None:
                answer[rest[found[1]]] = True
        # 3. Reduced-cost fixing, then per component of what is left.
        ub, lb = float(cost[answer].sum()), float(y.sum() + np.minimum(d, 0).sum())
        kept = np.flatnonzero(d <= ub - lb + LP_SLACK_UNITS)
        status = "OPTIMAL"
        for variables, bound, order_count in _components(rows, piece.orders, kept, y, d):
            part = variables[answer[variables]]
            gap = float(cost[part].sum()) - bound
            if gap <= GAP_UNITS_PER_ORDER * order_count:
                continue
            variables = variables[d[variables] <= gap + LP_SLACK_UNITS]
            left_s = time_limit_s - (time.perf_counter() - started)
            found = (
                self._cp_sat(piece.model(variables, hint=answer[variables]), left_s, GAP_UNITS_PER_ORDER * order_count)
                if left_s > 0
                else None
            )
            if found is None or found[0] != "OPTIMAL":
                status = "FEASIBLE"
            if found is not None and cost[variables[found[1]]].sum() < cost[part].sum():
                answer[part] = False
                answer[variables[found[1]]] = True
        return status, piece.columns[answer].tolist()

    def must_commit(self, batch: DispatchBatch, column: Column, hold: bool = True) -> bool:
        """Whether the column, if chosen, is committed this tick (the rolling horizon's rule; see
        `commit_flags`)."""
        return bool(self.commit_flags(batch, [column], hold)[0])

    def commit_flags(self, batch: DispatchBatch, columns: list[Column], hold: bool = True) -> np.ndarray:
        """Per column, whether it is committed this tick if chosen: a join once its pickup is due before the
        next tick; a new pair once its rider must leave before the next tick to meet the food (or at once
        with the rolling horizon off, or `hold` False); either when an order of it is urgent. Never a pair
        whose rider is still busy: it holds the order for next tick's solve, which sees the rider free.
        Vectorised over the columns (a busy tick has tens of thousands)."""
        cfg = self.config
        if not columns:
            return np.zeros(0, dtype=bool)
        now = batch.now_ms
        due = now + round(batch.tick_s * 1000) + round(cfg.commit_within_s * 1000)
        next_tick_ms = now + round(batch.tick_s * 1000)
        # Urgent: an order pending for `urgent_after_s`, or a planned drop-off within `promise_margin_s`
        # of its promise.
        requests = [o.record.request for o in batch.orders]
        old = np.array([now - r.placed_at_ms >= cfg.urgent_after_s * 1000 for r in requests])
        promise = np.array([np.inf if r.promised_at_ms is None else r.promised_at_ms for r in requests])
        sizes = np.fromiter((len(c.bundle.orders) for c in columns), dtype=np.int64, count=len(columns))
        members = np.fromiter(chain.from_iterable(c.bundle.orders for c in columns), dtype=np.int64)
        drops = np.fromiter(chain.from_iterable(c.dropoff_ms for c in columns), dtype=float)
        late = old[members] | (drops >= promise[members] - cfg.promise_margin_s * 1000)
        urgent = np.logical_or.reduceat(late, np.r_[0, np.cumsum(sizes)[:-1]])
        joins = np.fromiter((bool(c.joins) for c in columns), dtype=bool, count=len(columns))
        first_pickup = np.fromiter((c.pickup_ms[0] for c in columns), dtype=float, count=len(columns))
        leave_by = np.fromiter(map(_LEAVE_BY, columns), dtype=float, count=len(columns))
        available = [a for a in map(_AVAILABLE_AT, map(_RIDER, columns))]
        busy = np.array([a is not None and a >= next_tick_ms for a in available])
        at_once = not cfg.rolling_horizon or not hold
        # The rider is at (or on its way to) the counter. A join waits until the pickup is due before the
        # next tick (or the order is urgent), even with riders to spare: until then another rider may still
        # prove better, and a join taken early, only because the model values serving now over waiting,
        # delayed orders by 20 minutes and more (4o100t100s2p100: gap 10.7% against 7.6%).
        join_now = (not cfg.rolling_horizon) | (first_pickup <= due) | urgent
        pair_now = ~busy & (at_once | (leave_by <= due) | urgent)
        return np.where(joins, join_now, pair_now)

    # The policy ---------------------------------------------------------------------------------

    def decide(self, batch: DispatchBatch) -> list[Decision]:
        free = _free_riders(batch)  # counted once: it sets both the weights and the hold
        columns = self.columns(batch, free)
        decisions: list[Decision] = []
        hold = free < self.config.hold_below_riders_per_order * len(batch.orders)
        committable = self.commit_flags(batch, columns, hold).tolist()
        for k in self.solve(columns, committable):
            col = columns[k]
            if not committable[k]:
                continue
            head = len(decisions)
            for i, pickup, drop in zip(col.bundle.orders, col.pickup_ms, col.dropoff_ms, strict=True):
                decisions.append(
                    Decision(batch.orders[i].record.order_id, col.rider.rider_id, pickup, drop, head, col.joins)
                )
        return decisions


def _free_riders(batch: DispatchBatch) -> int:
    """How many free riders (not finishing other work) are candidates of the batch's orders."""
    return len({c.rider_id for o in batch.orders for c in o.candidates if c.available_at_ms is None})


def last_ready(ready: list[int], sd: list[float]) -> tuple[int, float]:
    """When the last of several foods is ready: mean (ms) and spread (ms) of the maximum of independent
    normal ready times, by Clark's moment matching (1961), one food at a time. With known times, the
    latest of them. Two foods predicted for the same minute with a 7-minute spread are ready, the later
    of them, 4 minutes after it on average: costing a bundle at the latest prediction made it look that
    much better than it is."""
    # Centred on the first ready time: squares of epoch milliseconds (~1e24) would swamp the variance.
    origin = ready[0]
    mean, var = 0.0, float(sd[0]) ** 2
    for m2_abs, s2 in zip(ready[1:], sd[1:], strict=True):
        m2, v2 = float(m2_abs - origin), float(s2) ** 2
        a = math.sqrt(var + v2)
        if a == 0:
            mean, var = max(mean, float(m2)), 0.0
            continue
        alpha = (mean - m2) / a
        cdf, pdf = float(ndtr(alpha)), math.exp(-0.5 * alpha * alpha) / math.sqrt(2 * math.pi)
        first = mean * cdf + m2 * (1 - cdf) + a * pdf
        second = (mean**2 + var) * cdf + (m2**2 + v2) * (1 - cdf) + (mean + m2) * a * pdf
        mean, var = first, max(second - first * first, 0.0)
    return origin + round(mean), math.sqrt(var)


def expected_pickup(arrive: np.ndarray, ready: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[max(arrive, R)] with R normal (mean `ready`, spread `sd`, ms); max(arrive, ready) where sd is 0.

    E[max(a, R)] = a + E[(R - a)+] = a + sd * (z * Phi(z) + phi(z)), z = (ready - a) / sd."""
    sd = np.asarray(sd, dtype=float)
    certain = np.maximum(arrive, ready).astype(float)
    if not sd.any():
        return certain
    safe = np.where(sd > 0, sd, 1.0)
    z = (ready - arrive) / safe
    spread = arrive + safe * (z * ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))
    return np.where(sd > 0, spread, certain)


def _cost(columns: list[Column], chosen: list[int]) -> int:
    return sum(columns[k].cost for k in chosen)


# A packing is cut into CP-SAT models of whole connected components, each of about this many columns
# (a larger component alone). On ten captured 1,000-order bench.tick_latency ticks (11,600-11,800
# columns, ~140 components) one model of all of them was OPTIMAL in 0.19-0.29 s on six, but FEASIBLE
# or without any answer at the 0.5 s limit on four: its search must complete every component at once.
# In pieces of 1,500 columns all ten were OPTIMAL (within the gap limit) in 0.21-0.33 s (medians of
# 3); pieces of 3,000: 0.19-0.42 s, of 6,000: 0.22-0.49 s; smaller ones pay more per-model overhead.
PIECE_COLUMNS = 1_500

# CP-SAT may stop this many cost units (tenths of a second) per order above the proven bound.
GAP_UNITS_PER_ORDER = 0.5

# Pieces of more columns than this (one component: smaller ones are grouped up to PIECE_COLUMNS) are
# solved through their LP relaxation (`_solve_by_lp`), the others by CP-SAT alone. Measured, solve() on
# captured bench.tick_latency ticks (medians of 3), CP-SAT alone for pieces up to 3,000 columns / every
# piece by the LP: all riders free, 1,000 orders (pieces of up to 1,500 columns): 0.13 / 0.10, 0.13 /
# 0.10, 0.18 / 0.17 s; half of the riders busy, 500 orders (170-5,400 columns): 0.14 / 0.07, 0.13 /
# 0.08 s; the same costs (within one unit). But not the same answers: the model has many optima of
# equal cost (two riders swapped between two orders, each arriving before the food: 299 of 874 solves
# in the MDRP replay of 4o100t100s2p100), and the LP picks other ones than CP-SAT. Their trajectories
# differ: gap 8.00-8.37% (6 CP-SAT seeds) with every piece by the LP, 7.24-8.17% by CP-SAT alone. Small
# pieces therefore keep CP-SAT's answers, the same as before the LP path; large ones had none in time.
LP_PIECE_COLUMNS = 3_000
# An LP value above 1 - LP_ONE counts as 1 (GLOP's tolerances).
LP_ONE = 1e-6
# Reduced-cost fixing keeps columns this many cost units past its threshold (floating-point slack).
LP_SLACK_UNITS = 1.0

_COST, _RIDER_ID, _ORDERS = attrgetter("cost"), attrgetter("rider.rider_id"), attrgetter("bundle.orders")
_TO_PICKUP_S, _AVAILABLE_AT = attrgetter("to_pickup_s"), attrgetter("available_at_ms")
_RIDER, _LEAVE_BY = attrgetter("rider"), attrgetter("leave_by_ms")
_SHIFT_ENDS = attrgetter("shift_ends_at_ms")

# One boolean of domain [0, 1]: the template every variable of the model is copied from.
_BOOL = cp_model_helper.IntegerVariableProto()
_BOOL.domain.extend((0, 1))


@dataclass(frozen=True)
class _Piece:
    """Whole connected components of a packing: variable v is column columns[v], of cost cost[v]. `rows`
    has a row per order of the piece (the first `orders` rows), then one per rider, with a 1 for each
    variable taking it."""

    index: int
    columns: np.ndarray
    cost: np.ndarray
    rows: csr_matrix
    orders: int
    template: cp_model.CpModel  # the packing's one CP-SAT model, refilled for each model solved

    def model(self, variables: np.ndarray | None = None, hint: np.ndarray | None = None) -> cp_model.CpModel:
        """The set packing over these variables (all by default) as a CP-SAT model whose variable v is
        variables[v], with an optional hint (per variable: set or not). It is the packing's one model,
        refilled: solve it before asking for another."""
        rows, cost = (self.rows, self.cost) if variables is None else (self.rows[:, variables], self.cost[variables])
        indptr, indices = rows.indptr.tolist(), rows.indices.tolist()
        proto = self.template.proto
        proto.variables.clear()
        proto.constraints.clear()
        proto.clear_objective()
        proto.clear_solution_hint()
        proto.variables.extend([_BOOL] * len(cost))
        for start, end in pairwise(indptr):
            if end - start > 1:
                proto.constraints.add().at_most_one.literals.extend(indices[start:end])
        proto.objective.vars.extend(range(len(cost)))
        proto.objective.coeffs.extend(cost.tolist())
        proto.objective.scaling_factor = 1.0  # as `minimize` sets it
        if hint is not None:
            proto.solution_hint.vars.extend(range(len(cost)))
            proto.solution_hint.values.extend(np.asarray(hint, dtype=np.int64).tolist())
        return self.template


def _components(
    rows: csr_matrix, orders: int, variables: np.ndarray, y: np.ndarray, d: np.ndarray
) -> Iterator[tuple[np.ndarray, float, int]]:
    """The connected components of a packing's `rows` restricted to these variables, each as its
    variables (ascending), the LP bound over them (the duals `y` of its rows plus its negative reduced
    costs `d`) and its number of orders."""
    sub = rows[:, variables].tocoo()
    m = rows.shape[0]
    graph = coo_matrix((np.ones(sub.nnz), (sub.row, m + sub.col)), shape=(m + len(variables), m + len(variables)))
    count, label = connected_components(graph, directed=False)
    touched = np.zeros(m, dtype=bool)
    touched[sub.row] = True
    row_label, var_label = label[:m][touched], label[m:]
    bound = np.bincount(row_label, weights=y[touched], minlength=count)
    bound += np.bincount(var_label, weights=np.minimum(d[variables], 0.0), minlength=count)
    order_count = np.bincount(label[:orders][touched[:orders]], minlength=count)
    by_label = np.argsort(var_label, kind="stable")
    for group in np.split(by_label, np.flatnonzero(np.diff(var_label[by_label])) + 1):
        if len(group):
            c = var_label[group[0]]
            yield variables[group], float(bound[c]), int(order_count[c])


@dataclass(frozen=True)
class _Packing:
    """The set packing over the useful columns (cost < 0: worth more than leaving their orders pending),
    as arrays: variable v is column useful[v]; its cost, its orders, its rider (numbered from 0)."""

    useful: list[int]
    cost: np.ndarray
    sizes: np.ndarray  # orders per column
    orders: np.ndarray  # every column's orders, one column after the other
    riders: np.ndarray
    orders_of: list[tuple[int, ...]]

    @classmethod
    def of(cls, columns: list[Column], committable: list[bool] | None = None) -> _Packing:
        # Attribute reads by attrgetter and C-level maps: on 23,000 columns (a 1,000-order tick with
        # half of the riders busy) 8 ms instead of 28 ms a Python loop over them took.
        every_cost = np.fromiter(map(_COST, columns), dtype=np.int64, count=len(columns))
        kept = np.flatnonzero(every_cost < 0)
        useful = kept.tolist()
        picked = [columns[k] for k in useful]
        rider_ids = list(map(_RIDER_ID, picked))
        rider_of = {r: n for n, r in enumerate(dict.fromkeys(rider_ids))}  # numbered as first met
        orders_of = list(map(_ORDERS, picked))
        sizes = np.fromiter(map(len, orders_of), dtype=np.int64, count=len(useful))
        packing = cls(
            useful=useful,
            cost=every_cost[kept],
            sizes=sizes,
            orders=np.fromiter(chain.from_iterable(orders_of), dtype=np.int64, count=int(sizes.sum())),
            riders=np.fromiter(map(rider_of.__getitem__, rider_ids), dtype=np.int64, count=len(useful)),
            orders_of=orders_of,
        )
        return packing if committable is None else packing.with_any(committable)

    def with_any(self, committable: list[bool]) -> _Packing:
        """Only the connected components holding at least one committable column (per column of the
        `columns` the packing was made of)."""
        if not self.useful:
            return self
        component = self._component
        useful = np.asarray(self.useful, dtype=np.int64)
        wanted = np.zeros(int(component.max()) + 1, dtype=bool)
        wanted[component[np.asarray(committable, dtype=bool)[useful]]] = True
        keep = wanted[component]
        return _Packing(
            useful=useful[keep].tolist(),
            cost=self.cost[keep],
            sizes=self.sizes[keep],
            orders=self.orders[np.repeat(keep, self.sizes)],
            riders=self.riders[keep],
            orders_of=list(compress(self.orders_of, keep.tolist())),
        )

    def greedy(self) -> list[int]:
        """The greedy answer (cheapest per order served first, ties to the lower column), as columns."""
        rank = np.lexsort((np.arange(len(self.useful)), self.cost / np.maximum(self.sizes, 1)))
        riders = self.riders.tolist()
        taken_rider = bytearray(max(riders, default=-1) + 1)  # riders keep their numbers when components are dropped
        taken_order: set[int] = set()
        chosen = []
        for v in rank.tolist():
            r = riders[v]
            orders = self.orders_of[v]
            if taken_rider[r] or not taken_order.isdisjoint(orders):
                continue
            chosen.append(self.useful[v])
            taken_rider[r] = 1
            taken_order.update(orders)
        return chosen

    def pieces(self) -> Iterator[_Piece]:
        """The packing cut into pieces of whole connected components (columns linked through shared
        orders or riders), about PIECE_COLUMNS columns each, in the order of their first orders (the
        pool's oldest first): with the time running out, the longest waiting get CP-SAT's answers. Each
        piece is made when asked for, so none is made for a piece the time limit leaves to greedy."""
        piece_of = self._piece_of
        n = len(self.useful)
        useful = np.asarray(self.useful, dtype=np.int64)
        entry_piece = piece_of[self._variable_of_order]
        # One model, refilled for each piece: a CpModel() makes some hundred bound methods (its pre-PEP8
        # aliases), and on a tick's large heap the garbage collections they set off cost 5-10 ms a model.
        template = cp_model.CpModel()
        local = np.empty(n, dtype=np.int64)
        for index in range(int(piece_of.max()) + 1 if n else 0):
            variables = np.flatnonzero(piece_of == index)
            local[variables] = np.arange(len(variables))
            entries = np.flatnonzero(entry_piece == index)
            _, order_row = np.unique(self.orders[entries], return_inverse=True)
            _, rider_row = np.unique(self.riders[variables], return_inverse=True)
            orders = int(order_row.max()) + 1
            rows = csr_matrix(
                (
                    np.ones(len(entries) + len(variables)),
                    (
                        np.r_[order_row, orders + rider_row],
                        np.r_[local[self._variable_of_order[entries]], local[variables]],
                    ),
                ),
                shape=(orders + int(rider_row.max()) + 1, len(variables)),
            )
            yield _Piece(index, useful[variables], self.cost[variables], rows, orders, template)

    def piece_of(self, chosen: list[int]) -> list[int]:
        """The piece of each of these (useful) columns."""
        return self._piece_of[np.searchsorted(self.useful, chosen)].tolist()

    @cached_property
    def _variable_of_order(self) -> np.ndarray:
        """Per entry of `orders`, its variable."""
        return np.repeat(np.arange(len(self.useful)), self.sizes)

    @cached_property
    def _component(self) -> np.ndarray:
        """Per variable, its connected component (columns linked through shared orders or riders),
        numbered in the order of their lowest node, i.e. their first order."""
        if not self.useful:
            return np.zeros(0, dtype=np.int64)
        n_orders, n_riders = int(self.orders.max()) + 1, int(self.riders.max()) + 1
        # Orders are nodes 0.., riders after them; a column links each of its orders to its rider.
        links = coo_matrix(
            (np.ones(len(self.orders)), (self.orders, n_orders + self.riders[self._variable_of_order])),
            shape=(n_orders + n_riders, n_orders + n_riders),
        )
        _, label = connected_components(links, directed=False)
        return label[n_orders + self.riders]

    @cached_property
    def _piece_of(self) -> np.ndarray:
        """Per variable, its piece."""
        if not self.useful:
            return np.zeros(0, dtype=np.int64)
        component = self._component
        sizes = np.bincount(component)
        # Components are numbered in the order of their lowest node, i.e. their first order.
        piece_of_component = np.zeros(len(sizes), dtype=np.int64)
        piece, filled = 0, 0
        for c in np.flatnonzero(sizes).tolist():
            if filled and filled + sizes[c] > PIECE_COLUMNS:
                piece, filled = piece + 1, 0
            piece_of_component[c] = piece
            filled += int(sizes[c])
        return piece_of_component[component]
