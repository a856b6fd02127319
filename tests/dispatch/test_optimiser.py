"""The ortools policy: bundles, the CP-SAT set packing against its greedy fallback, the rolling horizon."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.geo import LatLng
from dispatch.bundles import BundleConfig, candidate_bundles
from dispatch.models import OrderRecord, OrderRequest
from dispatch.policies import (
    Candidate,
    DispatchBatch,
    OptimiserConfig,
    OptimiserPolicy,
    OptimiserWeights,
    PendingOrder,
    make_policy,
    optimiser,
    plan_route,
)
from dispatch.policies.base import BundleOption, JoinOption, single
from dispatch.travel import StraightLineOracle

NOW = 1_800_000_000_000
M1 = LatLng(60.170, 24.940)


def order(
    oid: str,
    candidates: dict[str, float],
    *,
    merchant: str = "m1",
    pickup: LatLng = M1,
    dropoff: LatLng | None = None,
    ready_in_s: float = 0.0,
    placed_ago_s: float = 60.0,
    promised_in_s: float | None = None,
    shifts: dict[str, int] | None = None,
    busy_until: dict[str, int] | None = None,
    ride_s: float = 600.0,
) -> PendingOrder:
    request = OrderRequest(
        oid,
        merchant,
        pickup,
        dropoff or LatLng(pickup.lat + 0.01, pickup.lng),
        NOW - round(placed_ago_s * 1000),
        promised_at_ms=None if promised_in_s is None else NOW + round(promised_in_s * 1000),
        ready_at_hint_ms=NOW + round(ready_in_s * 1000),
    )
    cands = tuple(
        Candidate(r, pickup, t, (shifts or {}).get(r), (busy_until or {}).get(r)) for r, t in candidates.items()
    )
    return PendingOrder(OrderRecord(request), cands, ride_s)


def batch(*orders: PendingOrder, bundles: bool = False, tick_s: float = 10.0) -> DispatchBatch:
    b = DispatchBatch(NOW, tuple(orders), 120.0, 120.0, tick_s=tick_s)
    if bundles:
        b = DispatchBatch(
            NOW,
            tuple(orders),
            120.0,
            120.0,
            tick_s=tick_s,
            bundles=candidate_bundles(b, StraightLineOracle(), BundleConfig()),
        )
    return b


@contextmanager
def pieces_of(columns: int) -> Iterator[None]:
    """The optimiser cuts its model into pieces of about `columns` columns meanwhile."""
    before = optimiser.PIECE_COLUMNS
    optimiser.PIECE_COLUMNS = columns
    try:
        yield
    finally:
        optimiser.PIECE_COLUMNS = before


@contextmanager
def patched(**values: object) -> Iterator[None]:
    """Module constants of the optimiser set to these values meanwhile."""
    before = {name: getattr(optimiser, name) for name in values}
    for name, value in values.items():
        setattr(optimiser, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(optimiser, name, value)


def commit_all(**kw: object) -> OptimiserPolicy:
    return OptimiserPolicy(OptimiserConfig(rolling_horizon=False, **kw))  # type: ignore[arg-type]


def test_it_is_the_default_policy_and_known_by_name() -> None:
    from dispatch.policies import DEFAULT_POLICY

    assert DEFAULT_POLICY == "ortools"
    assert isinstance(make_policy("ortools"), OptimiserPolicy)


def test_known_optimum_beats_the_greedy_fallback() -> None:
    """Rider a is nearest to both orders; greedy gives it the cheaper order and sends b far away to the
    other. The optimum (checked by hand: 60 + 90 s of riding against 30 + 600 s) splits them the other way."""
    o1 = order("o1", {"a": 60, "b": 600})
    o2 = order("o2", {"a": 30, "b": 90})
    policy = commit_all()
    b = batch(o1, o2)
    columns = policy.columns(b)
    greedy = {(columns[k].bundle.orders[0], columns[k].rider.rider_id) for k in policy.greedy(columns)}
    assert greedy == {(1, "a"), (0, "b")}
    decisions = policy.decide(b)
    assert {(d.order_id, d.rider_id) for d in decisions} == {("o1", "a"), ("o2", "b")}
    assert policy.last.objective < policy.last.greedy_objective


def test_one_rider_takes_two_orders_of_one_merchant_as_a_bundle() -> None:
    near = LatLng(60.171, 24.941)
    o1 = order("o1", {"a": 120}, dropoff=near)
    o2 = order("o2", {"a": 120}, dropoff=LatLng(near.lat + 0.001, near.lng))
    decisions = commit_all().decide(batch(o1, o2, bundles=True))
    assert len(decisions) == 2
    assert {d.rider_id for d in decisions} == {"a"}
    assert decisions[0].bundle == decisions[1].bundle == 0
    # Both picked up together; delivered one after the other.
    assert decisions[0].estimated_pickup_ms == decisions[1].estimated_pickup_ms
    assert decisions[0].estimated_dropoff_ms < decisions[1].estimated_dropoff_ms


def test_bundles_keep_promises_and_capacity() -> None:
    """No bundle makes an order miss a promise it would keep alone; no bundle exceeds max_orders."""
    rng = random.Random(7)
    orders = [
        order(
            f"o{i}",
            {"a": 60, "b": 90},
            dropoff=LatLng(60.17 + rng.uniform(-0.02, 0.02), 24.94 + rng.uniform(-0.02, 0.02)),
            promised_in_s=rng.choice([900, 1500, 3000]),
            ride_s=rng.uniform(200, 900),
        )
        for i in range(8)
    ]
    b = batch(*orders, bundles=True)
    assert any(len(x.orders) > 1 for x in b.bundles)
    for bundle in b.bundles:
        assert len(bundle.orders) <= BundleConfig().max_orders
        plan = plan_route(b, bundle, 0.0)
        for i, drop in zip(bundle.orders, plan.dropoff_ms, strict=True):
            alone = plan_route(b, single(i, b.orders[i]), 0.0).dropoff_ms[0]
            promised = b.orders[i].record.request.promised_at_ms
            assert promised is None or drop <= promised or alone > promised


def test_no_pickup_after_the_riders_shift_ends() -> None:
    ends = NOW + 60_000
    o1 = order("o1", {"a": 30, "b": 300}, ready_in_s=600, shifts={"a": ends})
    [d] = commit_all().decide(batch(o1))
    assert d.rider_id == "b"


def test_rolling_horizon_commits_only_what_cannot_wait() -> None:
    policy = OptimiserPolicy()
    later = order("later", {"a": 120}, ready_in_s=1800)  # the rider need not leave for 28 minutes
    assert policy.decide(batch(later)) == []
    due = order("due", {"a": 120}, ready_in_s=125)  # it must leave within this tick
    assert [d.order_id for d in policy.decide(batch(due))] == ["due"]
    old = order("old", {"a": 120}, ready_in_s=1800, placed_ago_s=3600)  # urgent: waiting for an hour
    assert [d.order_id for d in policy.decide(batch(old))] == ["old"]


def test_a_busy_rider_is_held_not_committed() -> None:
    """The best rider is finishing a delivery: the order waits for it rather than take a far rider now."""
    o1 = order("o1", {"busy": 60, "far": 900}, ready_in_s=400, busy_until={"busy": NOW + 120_000})
    policy = OptimiserPolicy()
    assert policy.decide(batch(o1)) == []
    columns = policy.columns(batch(o1))
    [chosen] = policy.solve(columns)
    assert columns[chosen].rider.rider_id == "busy"


@st.composite
def random_batches(draw: st.DrawFn) -> DispatchBatch:
    n_orders = draw(st.integers(1, 12))
    riders = [f"r{k}" for k in range(draw(st.integers(1, 8)))]
    merchants = draw(st.lists(st.sampled_from(["m1", "m2", "m3"]), min_size=n_orders, max_size=n_orders))
    orders = []
    for i in range(n_orders):
        chosen = draw(st.lists(st.sampled_from(riders), min_size=0, max_size=len(riders), unique=True))
        times = draw(st.lists(st.floats(10, 1500), min_size=len(chosen), max_size=len(chosen)))
        pickup = {"m1": M1, "m2": LatLng(60.18, 24.95), "m3": LatLng(60.16, 24.93)}[merchants[i]]
        drop = LatLng(60.17 + draw(st.floats(-0.03, 0.03)), 24.94 + draw(st.floats(-0.03, 0.03)))
        orders.append(
            order(
                f"o{i}",
                dict(zip(chosen, times, strict=True)),
                merchant=merchants[i],
                pickup=pickup,
                dropoff=drop,
                ready_in_s=draw(st.floats(0, 1200)),
                placed_ago_s=draw(st.floats(0, 1800)),
                promised_in_s=draw(st.one_of(st.none(), st.floats(300, 3600))),
                ride_s=draw(st.floats(60, 1200)),
            )
        )
    return batch(*orders, bundles=True)


def assert_valid_matching(b: DispatchBatch, columns: list, chosen: list[int]) -> None:  # type: ignore[type-arg]
    """Each order and rider at most once; the rider is a candidate of every order it is given."""
    orders_seen: set[int] = set()
    riders_seen: set[str] = set()
    for k in chosen:
        col = columns[k]
        assert col.rider.rider_id not in riders_seen
        assert not orders_seen & set(col.bundle.orders)
        riders_seen.add(col.rider.rider_id)
        orders_seen.update(col.bundle.orders)
        for i in col.bundle.orders:
            assert col.rider.rider_id in {c.rider_id for c in b.orders[i].candidates}


@settings(max_examples=60, deadline=None)
@given(random_batches())
def test_the_matching_is_valid_and_never_worse_than_greedy(b: DispatchBatch) -> None:
    policy = commit_all(time_limit_s=0.5)
    columns = policy.columns(b)
    chosen = policy.solve(columns)
    assert_valid_matching(b, columns, chosen)
    objective = sum(columns[k].cost for k in chosen)
    greedy = sum(columns[k].cost for k in policy.greedy(columns))
    assert objective <= greedy
    assert policy.last.objective == objective


@settings(max_examples=40, deadline=None)
@given(random_batches())
def test_solving_in_pieces_finds_what_one_model_finds(b: DispatchBatch) -> None:
    """Each connected component in a model of its own, or all in one model: valid matchings, never
    worse than greedy, and the same objective up to the gap CP-SAT is allowed to stop at."""
    found = {}
    for piece_columns in (1, 10**9):
        with pieces_of(piece_columns):
            policy = commit_all(time_limit_s=0.5)
            columns = policy.columns(b)
            chosen = policy.solve(columns)
        assert_valid_matching(b, columns, chosen)
        assert policy.last.objective == sum(columns[k].cost for k in chosen) <= policy.last.greedy_objective
        found[piece_columns] = policy.last.objective
    assert abs(found[1] - found[10**9]) <= optimiser.GAP_UNITS_PER_ORDER * len(b.orders)


def test_a_piece_left_without_an_answer_keeps_its_greedy_part() -> None:
    """When CP-SAT has no answer for a piece (its time ran out), that piece keeps the greedy answer and
    the others CP-SAT's: still a valid matching, never worse than greedy, better where CP-SAT helped."""
    orders = [order(f"o{i}", {f"a{i}": 60, f"b{i}": 600}) for i in range(3)]
    orders += [order(f"p{i}", {f"a{i}": 30, f"b{i}": 90}) for i in range(3)]  # the known-optimum pair, x3
    b = batch(*orders)
    policy = commit_all()
    columns = policy.columns(b)
    greedy = policy.greedy(columns)
    solve_piece = OptimiserPolicy._solve_piece

    def no_answer_for_the_first(self: OptimiserPolicy, piece, time_limit_s: float):  # type: ignore[no-untyped-def]
        return None if piece.index == 0 else solve_piece(self, piece, time_limit_s)

    with pieces_of(1):
        OptimiserPolicy._solve_piece = no_answer_for_the_first  # type: ignore[method-assign]
        try:
            chosen = policy.solve(columns)
        finally:
            OptimiserPolicy._solve_piece = solve_piece  # type: ignore[method-assign]
    assert policy.last.models == 3 and policy.last.status == "UNKNOWN"
    assert_valid_matching(b, columns, chosen)
    pairs = {(b.orders[columns[k].bundle.orders[0]].record.order_id, columns[k].rider.rider_id) for k in chosen}
    # Piece 0 (o0, p0, riders a0, b0) as greedy has it; the other two at their optimum.
    assert pairs == {("o0", "b0"), ("p0", "a0"), ("o1", "a1"), ("p1", "b1"), ("o2", "a2"), ("p2", "b2")}
    assert {(b.orders[columns[k].bundle.orders[0]].record.order_id, columns[k].rider.rider_id) for k in greedy} >= {
        ("o0", "b0"),
        ("p0", "a0"),
    }
    assert policy.last.objective < policy.last.greedy_objective


def test_the_time_limit_holds_on_a_large_tick() -> None:
    rng = random.Random(3)
    riders = [f"r{k}" for k in range(3000)]
    merchants = [LatLng(60.15 + rng.uniform(0, 0.05), 24.9 + rng.uniform(0, 0.08)) for _ in range(300)]
    orders = []
    for i in range(1000):
        m = rng.randrange(len(merchants))
        orders.append(
            order(
                f"o{i}",
                {r: rng.uniform(30, 900) for r in rng.sample(riders, 8)},
                merchant=f"m{m}",
                pickup=merchants[m],
                dropoff=LatLng(60.15 + rng.uniform(0, 0.05), 24.9 + rng.uniform(0, 0.08)),
                ready_in_s=rng.uniform(0, 900),
            )
        )
    b = batch(*orders, bundles=True)
    policy = commit_all(time_limit_s=0.3)
    started = time.perf_counter()
    decisions = policy.decide(b)
    elapsed = time.perf_counter() - started
    assert decisions
    # The solver's own budget holds (with slack for building the model on a shared machine).
    assert policy.last.solve_s <= 0.3 + 1.5, policy.last
    assert elapsed < 10


def reference_cost(policy: OptimiserPolicy, b: DispatchBatch, col) -> float:  # type: ignore[no-untyped-def]
    """The column cost of the module docstring, computed the slow, obvious way with plan_route."""
    w = policy.config.weights
    free = {c.rider_id for o in b.orders for c in o.candidates if c.available_at_ms is None}
    scarce = len(free) < policy.config.scarce_below_riders_per_order * len(b.orders)
    plan = plan_route(b, col.bundle, col.rider.to_pickup_s, col.rider.departs_ms(b.now_ms))
    ride = w.scarce_ride if scarce else w.ride
    cost = w.rider_use + w.rider_wait * plan.rider_wait_ms / 1000 + ride * plan.ride_s
    for i, drop in zip(col.bundle.orders, plan.dropoff_ms, strict=True):
        r = b.orders[i].record.request
        earliest = plan_route(b, single(i, b.orders[i]), 0.0).dropoff_ms[0]  # a rider at the counter now
        cost += w.click_to_door * (drop - earliest) / 1000 - w.serve - w.age * (b.now_ms - r.placed_at_ms) / 1000
        if r.promised_at_ms is not None:
            cost += w.lateness * (max(0, drop - r.promised_at_ms) - max(0, earliest - r.promised_at_ms)) / 1000
    return cost


@st.composite
def random_packings(draw: st.DrawFn) -> list[optimiser.Column]:
    """Columns of random orders (one to three of up to ten) and riders (of up to six), at random costs:
    packings whose LP relaxation is often fractional (odd cycles of bundles sharing orders)."""
    n_orders = draw(st.integers(1, 10))
    riders = [Candidate(f"r{k}", M1, 60.0) for k in range(draw(st.integers(1, 6)))]
    columns = []
    for _ in range(draw(st.integers(1, 40))):
        orders = tuple(draw(st.lists(st.integers(0, n_orders - 1), min_size=1, max_size=3, unique=True)))
        bundle = BundleOption(orders, (), ())
        cost = draw(st.integers(-80_000 * len(orders), 1_000))
        columns.append(
            optimiser.Column(bundle, draw(st.sampled_from(riders)), cost, (0,) * len(orders), (0,) * len(orders), 0)
        )
    return columns


def assert_valid_packing(columns: list[optimiser.Column], chosen: list[int]) -> None:
    orders = [i for k in chosen for i in columns[k].bundle.orders]
    riders = [columns[k].rider.rider_id for k in chosen]
    assert len(set(orders)) == len(orders) and len(set(riders)) == len(riders)
    assert all(columns[k].cost < 0 for k in chosen)


def exact_optimum(columns: list[optimiser.Column]) -> int:
    """The optimum of one CP-SAT model of the whole packing, proven (no gap)."""
    with patched(PIECE_COLUMNS=10**9, LP_PIECE_COLUMNS=10**9, GAP_UNITS_PER_ORDER=0.0):
        policy = commit_all(time_limit_s=10.0)
        chosen = policy.solve(columns)
    assert policy.last.status in ("OPTIMAL", "")  # "" : nothing to solve (at most one useful column)
    return sum(columns[k].cost for k in chosen)


@settings(max_examples=200, deadline=None)
@given(random_packings())
def test_the_lp_decomposition_finds_the_optimum(columns: list[optimiser.Column]) -> None:
    """Every piece through its LP relaxation (reduced-cost fixing, components, CP-SAT on what is left)
    finds what CP-SAT finds on one model of the whole packing: the optimum, with no gap allowed; with
    the default gap, within it. Always a valid packing, never worse than greedy."""
    best = exact_optimum(columns)
    for gap in (0.0, optimiser.GAP_UNITS_PER_ORDER):
        with patched(PIECE_COLUMNS=1, LP_PIECE_COLUMNS=0, GAP_UNITS_PER_ORDER=gap):
            policy = commit_all(time_limit_s=10.0)
            chosen = policy.solve(columns)
        assert_valid_packing(columns, chosen)
        objective = sum(columns[k].cost for k in chosen)
        assert objective == policy.last.objective <= policy.last.greedy_objective
        orders = {i for c in columns if c.cost < 0 for i in c.bundle.orders}
        assert best <= objective <= best + gap * len(orders)


@settings(max_examples=40, deadline=None)
@given(random_batches())
def test_the_lp_decomposition_on_batches(b: DispatchBatch) -> None:
    """The same on the columns of random batches (bundles of one merchant, costs by the formula)."""
    columns = commit_all().columns(b)
    best = exact_optimum(columns)
    with patched(LP_PIECE_COLUMNS=0, GAP_UNITS_PER_ORDER=0.0):
        policy = commit_all(time_limit_s=10.0)
        chosen = policy.solve(columns)
    assert_valid_matching(b, columns, chosen)
    assert sum(columns[k].cost for k in chosen) == best
    assert policy.last.objective <= policy.last.greedy_objective


def test_a_large_component_goes_through_the_lp() -> None:
    """A piece above LP_PIECE_COLUMNS is solved by `_solve_by_lp`, others by CP-SAT alone."""
    columns = [
        optimiser.Column(
            BundleOption((i,), (), ()), Candidate(f"r{(i + k) % 30}", M1, 60.0), -70_000 + 37 * k, (0,), (0,), 0
        )
        for i in range(30)
        for k in range(3)
    ]
    calls = []
    solve_by_lp = OptimiserPolicy._solve_by_lp

    def counted(self: OptimiserPolicy, piece, time_limit_s: float):  # type: ignore[no-untyped-def]
        calls.append(len(piece.columns))
        return solve_by_lp(self, piece, time_limit_s)

    OptimiserPolicy._solve_by_lp = counted  # type: ignore[method-assign]
    try:
        for threshold, expected in ((len(columns) - 1, [len(columns)]), (len(columns), [])):
            calls.clear()
            with patched(LP_PIECE_COLUMNS=threshold):
                policy = commit_all()
                chosen = policy.solve(columns)
            assert calls == expected
            assert policy.last.status == "OPTIMAL"
            assert_valid_packing(columns, chosen)
            assert policy.last.objective == exact_optimum(columns)
    finally:
        OptimiserPolicy._solve_by_lp = solve_by_lp  # type: ignore[method-assign]


@settings(max_examples=40, deadline=None)
@given(random_batches())
def test_column_costs_follow_the_documented_formula(b: DispatchBatch) -> None:
    policy = commit_all()
    for col in policy.columns(b):
        assert abs(col.cost / 10 - reference_cost(policy, b, col)) <= 0.2, col
        plan = plan_route(b, col.bundle, col.rider.to_pickup_s, col.rider.departs_ms(b.now_ms))
        assert col.dropoff_ms == plan.dropoff_ms and col.pickup_ms == plan.pickup_ms


def test_riding_costs_more_while_riders_are_scarce() -> None:
    """With fewer free riders than pending orders every second of riding costs `scarce_ride`, else `ride`."""
    flat = OptimiserWeights(scarce_ride=OptimiserWeights().ride)
    scarce = batch(order("a", {"r1": 300.0}), order("b", {"r1": 400.0}, dropoff=LatLng(60.19, 24.94)))
    plenty = batch(order("a", {"r1": 300.0, "r2": 500.0}))
    for b, is_scarce in ((scarce, True), (plenty, False)):
        policy, baseline = commit_all(), commit_all(weights=flat)
        w = policy.weights_for(b)
        assert w.ride == (w.scarce_ride if is_scarce else OptimiserWeights().ride)
        extra = w.ride - flat.ride
        for col, base in zip(policy.columns(b), baseline.columns(b), strict=True):
            ride_s = col.rider.to_pickup_s + sum(col.bundle.legs_s)
            assert abs(col.cost - base.cost - round(extra * ride_s * 10)) <= 1, (col, base)
    with pytest.raises(ValueError):
        OptimiserConfig(scarce_below_riders_per_order=-1)


@settings(max_examples=40, deadline=None)
@given(random_batches())
def test_bundles_keep_their_promises_by_plan_route(b: DispatchBatch) -> None:
    """The bundler's own arithmetic agrees with plan_route: no bundle delays an order past the limit or
    past a promise it keeps alone."""
    limit_ms = BundleConfig().max_delay_s * 1000
    for bundle in b.bundles:
        if len(bundle.orders) < 2:
            continue
        plan = plan_route(b, bundle, 0.0)
        for i, drop in zip(bundle.orders, plan.dropoff_ms, strict=True):
            alone = plan_route(b, single(i, b.orders[i]), 0.0).dropoff_ms[0]
            promised = b.orders[i].record.request.promised_at_ms
            assert drop - alone <= limit_ms
            assert promised is None or drop <= promised or alone > promised


def test_an_order_far_past_its_promise_by_its_own_ride_is_still_served() -> None:
    """A customer an hour's ride from the merchant, promised in 45 minutes: no rider can keep the promise,
    but a free rider should still take the order rather than leave it to expire (it was once costed
    above the value of serving it, and never served)."""
    far = order("far", {"a": 60}, ride_s=3_800.0, ready_in_s=500.0, promised_in_s=45 * 60 - 120)
    decisions = commit_all().decide(batch(far))
    assert [(d.order_id, d.rider_id) for d in decisions] == [("far", "a")]


@settings(max_examples=40, deadline=None)
@given(random_batches())
def test_components_nothing_could_be_committed_from_are_not_solved(b: DispatchBatch) -> None:
    """With the rolling horizon on, only components holding a column that would be committed are
    solved: the answer there is what solving everything finds (up to the gap CP-SAT may stop at), and
    nothing is chosen elsewhere."""
    policy = OptimiserPolicy()
    columns = policy.columns(b)
    committable = [policy.must_commit(b, col, hold=True) for col in columns]
    kept = set(optimiser._Packing.of(columns, committable).useful)
    some = policy.solve(columns, committable)
    assert_valid_matching(b, columns, some)
    assert set(some) <= kept
    everything = [k for k in policy.solve(columns) if k in kept]
    orders_in_kept = {i for k in kept for i in columns[k].bundle.orders}
    gap = optimiser.GAP_UNITS_PER_ORDER * len(orders_in_kept)
    assert abs(sum(columns[k].cost for k in some) - sum(columns[k].cost for k in everything)) <= gap


def commits_by_the_rule(policy: OptimiserPolicy, b: DispatchBatch, column: optimiser.Column, hold: bool) -> bool:
    """The rolling horizon's rule for one column, written out plainly (commit_flags vectorises it)."""
    cfg = policy.config
    next_tick = b.now_ms + round(b.tick_s * 1000)
    due = next_tick + round(cfg.commit_within_s * 1000)
    urgent = any(
        b.now_ms - b.orders[i].record.request.placed_at_ms >= cfg.urgent_after_s * 1000
        or (b.orders[i].record.request.promised_at_ms is not None
            and drop >= b.orders[i].record.request.promised_at_ms - cfg.promise_margin_s * 1000)
        for i, drop in zip(column.bundle.orders, column.dropoff_ms, strict=True)
    )  # fmt: skip
    if column.joins:
        return not cfg.rolling_horizon or column.pickup_ms[0] <= due or urgent
    if column.rider.departs_ms(b.now_ms) >= next_tick:
        return False
    return not cfg.rolling_horizon or not hold or column.leave_by_ms <= due or urgent


@settings(max_examples=40, deadline=None)
@given(random_batches(), st.booleans(), st.data())
def test_commit_flags_follow_the_rule_column_by_column(b: DispatchBatch, hold: bool, data: st.DataObject) -> None:
    """Over random batches with some riders still busy (until before or after the next tick) and some
    orders able to join a bundle at their counter."""
    busy_until = {}
    for r in sorted({c.rider_id for o in b.orders for c in o.candidates}):
        busy_until[r] = data.draw(st.one_of(st.none(), st.integers(0, 60_000).map(lambda ms: NOW + ms)))
    orders = tuple(
        replace(o, candidates=tuple(replace(c, available_at_ms=busy_until[c.rider_id]) for c in o.candidates))
        for o in b.orders
    )
    joins = tuple(
        join(i, f"j{i}", pickup_in_s=data.draw(st.floats(0, 900)), dropoff_in_s=1_500)
        for i in range(len(orders))
        if data.draw(st.booleans())
    )
    b = replace(b, orders=orders, joins=joins)
    policy = OptimiserPolicy()
    columns = policy.columns(b)
    assert any(c.joins for c in columns) == bool(joins)
    flags = policy.commit_flags(b, columns, hold).tolist()
    assert flags == [commits_by_the_rule(policy, b, c, hold) for c in columns]


def test_a_component_that_can_only_wait_is_not_solved() -> None:
    """An order whose food is ready now (its rider must leave) and one ready in half an hour with other
    riders: only the first one's component goes to the solver. Linked by a shared rider, both do."""
    due = order("due", {"a": 300}, ready_in_s=0)
    later = order("later", {"b": 60, "c": 90}, ready_in_s=1_800, placed_ago_s=30)
    policy = OptimiserPolicy()
    b = batch(due, later)
    columns = policy.columns(b)
    committable = [policy.must_commit(b, col, hold=True) for col in columns]
    chosen = policy.solve(columns, committable)
    assert [columns[k].bundle.orders for k in chosen] == [(0,)]
    assert policy.last.columns == len(columns)
    linked = batch(due, order("later", {"a": 200, "b": 60}, ready_in_s=1_800, placed_ago_s=30))
    columns = policy.columns(linked)
    committable = [policy.must_commit(linked, col, hold=True) for col in columns]
    chosen = policy.solve(columns, committable)
    assert sorted(columns[k].bundle.orders for k in chosen) == [(0,), (1,)]
    assert [d.order_id for d in policy.decide(linked)] == ["due"]


def test_a_kept_component_whose_riders_came_last_is_solved() -> None:
    """Riders are numbered over all columns before components are dropped: the one kept here has the
    highest number (the greedy answer once indexed its riders by the kept columns' count and failed)."""
    later = order("later", {"b": 60, "c": 90}, ready_in_s=1_800, placed_ago_s=30)
    due = order("due", {"a": 300}, ready_in_s=0)
    policy = OptimiserPolicy()
    b = batch(later, due)
    columns = policy.columns(b)
    committable = [policy.must_commit(b, col, hold=True) for col in columns]
    assert [columns[k].bundle.orders for k in policy.solve(columns, committable)] == [(1,)]
    assert [d.order_id for d in policy.decide(b)] == ["due"]


def join(o: int, rider: str, pickup_in_s: float, dropoff_in_s: float, delay_s: float = 0.0) -> JoinOption:
    return JoinOption(o, rider, f"bundle-of-{rider}", NOW + round(pickup_in_s * 1000), NOW + round(dropoff_in_s * 1000),
                      round(delay_s * 1000), 1, 120.0)  # fmt: skip


def test_an_order_joins_a_bundle_at_its_counter_when_the_pickup_is_due() -> None:
    """The only free rider is 25 minutes away; a rider picking up at the order's counter could take it
    as its second drop-off. The join is the model's choice, held while its pickup is not due before the
    next tick, and committed (as a join of that rider's bundle) once it is."""
    o = order("o", {"far": 1_500}, ready_in_s=60)
    policy = OptimiserPolicy()
    b = replace(batch(o), joins=(join(0, "carrier", 300, 300 + 120 + 600 + 240 + 300),))
    columns = policy.columns(b)
    [chosen] = policy.solve(columns)
    assert columns[chosen].joins == "bundle-of-carrier"
    assert policy.decide(b) == []  # the pickup is five minutes off: another rider may still turn up
    due = replace(batch(o), joins=(join(0, "carrier", 5, 5 + 120 + 600 + 240 + 300),))
    [decision] = policy.decide(due)
    assert (decision.order_id, decision.rider_id, decision.joins) == ("o", "carrier", "bundle-of-carrier")
    assert decision.estimated_pickup_ms == NOW + 5_000
    # A join that delays the bundle it joins costs that delay to each order already in it (and its rider).
    food_later = order("o", {"far": 1_500}, ready_in_s=300)
    drop_s = 300 + 120 + 600 + 240 + 300
    [on_time] = [
        c for c in policy.columns(replace(batch(food_later), joins=(join(0, "carrier", 300, drop_s),))) if c.joins
    ]
    delayed = replace(batch(food_later), joins=(join(0, "carrier", 300, drop_s, delay_s=600),))
    [late] = [c for c in policy.columns(delayed) if c.joins]
    w = policy.config.weights
    assert on_time.dropoff_ms == late.dropoff_ms
    assert late.cost - on_time.cost == round(10 * (w.click_to_door + w.rider_wait) * 600)


def test_a_join_waiting_for_predicted_food_is_costed_at_its_expected_wait() -> None:
    """Food predicted ready when the bundle is picked up, give or take five minutes: the join costs more
    than with the ready time known (half the time the bundle waits for it)."""
    known = order("o", {"far": 1_500}, ready_in_s=300)
    request = replace(known.record.request, ready_at_hint_ms=None)
    predicted = replace(known, record=OrderRecord(request, predicted_ready_ms=NOW + 300_000, predicted_ready_sd_s=300))
    policy = OptimiserPolicy()
    joins = (join(0, "carrier", 300, 1_560),)
    [certain] = [c for c in policy.columns(replace(batch(known), joins=joins)) if c.joins]
    [uncertain] = [c for c in policy.columns(replace(batch(predicted), joins=joins)) if c.joins]
    assert uncertain.cost > certain.cost


def test_expected_pickup_with_a_predicted_ready_time() -> None:
    """E[max(arrival, ready)]: the plain maximum when the ready time is known; with a spread, never
    earlier than either, and what sampling the normal ready time gives."""
    arrive = np.array([0.0, 600_000.0, 1_200_000.0, 900_000.0])
    ready = np.full(4, 900_000.0)
    assert (optimiser.expected_pickup(arrive, ready, np.zeros(4)) == np.maximum(arrive, ready)).all()
    sd = np.full(4, 300_000.0)
    got = optimiser.expected_pickup(arrive, ready, sd)
    assert (got >= np.maximum(arrive, ready)).all()
    assert got[1] < got[3] < got[2]  # arriving earlier still helps
    samples = np.random.default_rng(1).normal(900_000.0, 300_000.0, 400_000)
    for a, g in zip(arrive, got, strict=True):
        assert abs(np.maximum(a, samples).mean() - g) < 2_000


@pytest.mark.parametrize(
    ("ready", "sd"),
    [
        ([0, 0], [420_000, 420_000]),
        ([0, 60_000], [420_000, 300_000]),
        ([0, 120_000, -60_000], [300_000, 0, 500_000]),
        ([0, 0], [5_000, 5_000]),
    ],
)
def test_the_last_of_several_foods_is_ready_as_a_simulation_says(ready: list[int], sd: list[float]) -> None:
    """Clark's moment matching for the maximum of independent normal ready times, against a million draws."""
    draws = np.random.default_rng(7).normal(ready, sd, size=(1_000_000, len(ready))).max(axis=1)
    mean, spread = optimiser.last_ready(ready, sd)
    assert abs(mean - draws.mean()) < 2_000  # ms
    assert spread == pytest.approx(draws.std(), rel=0.03)
    # The same at real clock times (epoch ms): nothing lost to rounding.
    at_now, spread_at_now = optimiser.last_ready([NOW + r for r in ready], sd)
    assert at_now == NOW + mean and spread_at_now == pytest.approx(spread, rel=1e-9)


def test_known_ready_times_make_the_last_one_the_latest() -> None:
    assert optimiser.last_ready([5_000, 9_000, 7_000], [0.0, 0.0, 0.0]) == (9_000, 0.0)
    assert optimiser.last_ready([NOW + 5_000, NOW + 9_000], [0.0, 0.0]) == (NOW + 9_000, 0.0)


def predicted(o: PendingOrder, sd_s: float) -> PendingOrder:
    """The order with its hinted ready time turned into a prediction with this spread."""
    request = replace(o.record.request, ready_at_hint_ms=None)
    record = OrderRecord(request, predicted_ready_ms=o.record.request.ready_at_hint_ms, predicted_ready_sd_s=sd_s)
    return replace(o, record=record)


def test_a_bundle_of_predicted_foods_is_costed_at_the_last_ones_expected_time() -> None:
    """Two orders of one counter, both predicted ready in 10 minutes with a 7-minute spread: the bundle's
    pickup is planned about 4 minutes after that (the later of two), not at the prediction."""
    a = predicted(order("a", {"r": 60}, ready_in_s=600, dropoff=LatLng(60.175, 24.94)), sd_s=420)
    b = predicted(order("b", {"r": 60}, ready_in_s=600, dropoff=LatLng(60.176, 24.94)), sd_s=420)
    bt = batch(a, b, bundles=True)
    [pair] = [c for c in OptimiserPolicy().columns(bt) if len(c.bundle.orders) == 2]
    expected_ms = NOW + 600_000 + 420_000 / math.sqrt(math.pi)
    assert pair.pickup_ms[0] == pytest.approx(expected_ms, abs=1_000)


def test_waiting_for_predicted_food_is_costed_only_while_riders_are_scarce() -> None:
    """A rider who would wait at the counter for food predicted ready in 20 minutes: while riders are
    plentiful that wait costs nothing (however rider_wait is set), while they are scarce it costs
    rider_wait; waiting for food whose time is known costs rider_wait either way."""
    far_food = predicted(order("p", {"near": 60.0}, ready_in_s=1_200), sd_s=300)
    known = order("k", {"near": 60.0}, ready_in_s=1_200)
    other = order("x", {"near": 90.0}, ready_in_s=0, dropoff=LatLng(60.19, 24.94))

    def cost(b: DispatchBatch, rider_wait: float, oid: str) -> int:
        policy = OptimiserPolicy(OptimiserConfig(weights=OptimiserWeights(rider_wait=rider_wait)))
        [col] = [c for c in policy.columns(b) if [b.orders[i].record.order_id for i in c.bundle.orders] == [oid]]
        return col.cost

    plenty, scarce = batch(far_food), batch(far_food, other)  # one free rider for one order, for two
    assert cost(plenty, 0.5, "p") == cost(plenty, 5.0, "p")
    assert cost(scarce, 5.0, "p") > cost(scarce, 0.5, "p")
    assert cost(batch(known), 5.0, "k") > cost(batch(known), 0.5, "k")
