"""The greedy, hungarian and rolling policies on hand-made batches, and properties of their matchings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.geo import LatLng
from dispatch.models import OrderRecord, OrderRequest
from dispatch.policies import (
    Candidate,
    DispatchBatch,
    GreedyPolicy,
    HungarianPolicy,
    PendingOrder,
    RollingPolicy,
    estimate,
    make_policy,
)

P = LatLng(60.17, 24.94)
NOW = 1_000_000


def pending(
    order_id: str, placed_ms: int, candidates: dict[str, float], ready_ms: int | None = None, shifts: dict | None = None
) -> PendingOrder:
    request = OrderRequest(order_id, "m1", P, P, placed_ms, ready_at_hint_ms=ready_ms)
    cands = tuple(Candidate(r, P, t, (shifts or {}).get(r)) for r, t in candidates.items())
    return PendingOrder(OrderRecord(request), cands, pickup_to_dropoff_s=300.0)


def batch(*orders: PendingOrder) -> DispatchBatch:
    return DispatchBatch(now_ms=NOW, orders=orders, pickup_service_s=60.0, dropoff_service_s=60.0)


def test_greedy_serves_oldest_first_with_earliest_pickup() -> None:
    """Orders in placement order, each to the free rider who picks up earliest."""
    decisions = GreedyPolicy().decide(
        batch(pending("late", 2, {"a": 60, "b": 90}), pending("early", 1, {"a": 30, "b": 200}))
    )
    assert [(d.order_id, d.rider_id) for d in decisions] == [("early", "a"), ("late", "b")]


def test_greedy_breaks_ready_time_ties_by_ride() -> None:
    """Food ready in 10 minutes: every rider picks up at the ready time; the nearer rider goes."""
    [d] = GreedyPolicy().decide(batch(pending("o1", 1, {"far": 300, "near": 60}, ready_ms=NOW + 600_000)))
    assert d.rider_id == "near"


def test_a_rider_takes_one_order_per_round() -> None:
    """With one rider and two orders, one order waits for the next tick."""
    for policy in (GreedyPolicy(), HungarianPolicy()):
        decisions = policy.decide(batch(pending("o1", 1, {"a": 60}), pending("o2", 2, {"a": 10})))
        assert len(decisions) == 1 and decisions[0].rider_id == "a"


def test_estimates_follow_the_mdrp_definitions() -> None:
    """Pickup = max(arrival + half the pickup service, ready); drop-off = pickup + half + ride + half."""
    order = pending("o1", 1, {"a": 60}, ready_ms=NOW + 600_000)
    d = estimate(batch(order), order, order.candidates[0])
    assert d is not None
    assert d.estimated_pickup_ms == NOW + 600_000
    assert d.estimated_dropoff_ms == d.estimated_pickup_ms + 30_000 + 300_000 + 30_000
    quick = pending("o2", 1, {"a": 60})
    d2 = estimate(batch(quick), quick, quick.candidates[0])
    assert d2 is not None and d2.estimated_pickup_ms == NOW + 60_000 + 30_000


def test_no_pickup_after_the_shift_ends() -> None:
    """A rider whose shift ends before it could pick up is never chosen, by either policy."""
    order = pending("o1", 1, {"leaving": 10, "staying": 200}, shifts={"leaving": NOW + 5_000})
    for policy in (GreedyPolicy(), HungarianPolicy()):
        [d] = policy.decide(batch(order))
        assert d.rider_id == "staying"


def test_hungarian_beats_greedy_on_a_crossing() -> None:
    """Greedy gives the old order its nearest rider and leaves the new one a long ride; the matching
    swaps them for less total time."""
    orders = (pending("old", 1, {"a": 100, "b": 120}), pending("new", 2, {"a": 110, "b": 1_000}))
    greedy = {d.order_id: d for d in GreedyPolicy().decide(batch(*orders))}
    hungarian = {d.order_id: d for d in HungarianPolicy().decide(batch(*orders))}
    assert (greedy["old"].rider_id, greedy["new"].rider_id) == ("a", "b")
    assert (hungarian["old"].rider_id, hungarian["new"].rider_id) == ("b", "a")
    total = lambda ds: sum(d.estimated_dropoff_ms for d in ds.values())  # noqa: E731
    assert total(hungarian) < total(greedy)


@st.composite
def random_batches(draw):  # type: ignore[no-untyped-def]
    riders = [f"r{i}" for i in range(draw(st.integers(1, 6)))]
    orders = []
    for i in range(draw(st.integers(1, 6))):
        chosen = draw(st.lists(st.sampled_from(riders), unique=True, max_size=len(riders)))
        cands = {r: draw(st.floats(0, 3_000)) for r in chosen}
        shifts = {r: NOW + draw(st.integers(0, 4_000_000)) for r in chosen if draw(st.booleans())}
        ready = NOW + draw(st.integers(0, 1_800_000)) if draw(st.booleans()) else None
        orders.append(pending(f"o{i}", i, cands, ready_ms=ready, shifts=shifts))
    return batch(*orders)


@settings(max_examples=300, deadline=None)
@given(random_batches())
def test_matchings_are_valid_and_hungarian_never_worse(b: DispatchBatch) -> None:
    """Each order and rider at most once, only candidate pairs within shift; the matching serves at least
    as many orders as greedy and, serving as many, never more total click-to-door."""
    results = {}
    for policy in (GreedyPolicy(), HungarianPolicy()):
        decisions = policy.decide(b)
        assert len({d.order_id for d in decisions}) == len(decisions)
        assert len({d.rider_id for d in decisions}) == len(decisions)
        by_id = {o.record.order_id: o for o in b.orders}
        for d in decisions:
            cand = next(c for c in by_id[d.order_id].candidates if c.rider_id == d.rider_id)
            assert cand.shift_ends_at_ms is None or d.estimated_pickup_ms <= cand.shift_ends_at_ms
        results[policy.name] = decisions
    g, h = results["greedy"], results["hungarian"]
    assert len(h) >= len(g)
    if len(h) == len(g):
        assert sum(d.estimated_dropoff_ms for d in h) <= sum(d.estimated_dropoff_ms for d in g)


def test_rolling_holds_a_pair_until_its_rider_must_leave() -> None:
    """Food ready in 10 minutes, the matched rider 2 minutes away: held while leaving a round later still
    meets the food; offered, as hungarian offers it at once, in the round it must leave."""

    def one(now_ms: int) -> DispatchBatch:
        order = pending("o1", 1, {"a": 120.0, "b": 400.0}, ready_ms=NOW + 600_000)
        return DispatchBatch(now_ms=now_ms, orders=(order,), pickup_service_s=60.0, dropoff_service_s=60.0, tick_s=60.0)

    assert RollingPolicy().decide(one(NOW)) == []
    assert [d.rider_id for d in HungarianPolicy().decide(one(NOW))] == ["a"]
    # At NOW + 360 s, leaving a round later (420 s) still reaches the counter at 420 + 120 + 30 = 570 s.
    assert RollingPolicy().decide(one(NOW + 360_000)) == []
    # At NOW + 420 s, a round later would reach it at 630 s, after the food (600 s): offered now.
    [d] = RollingPolicy().decide(one(NOW + 420_000))
    assert (d.rider_id, d.estimated_pickup_ms) == ("a", NOW + 600_000)


@settings(max_examples=200, deadline=None)
@given(random_batches())
def test_rolling_offers_what_hungarian_offers_less_what_can_wait(b: DispatchBatch) -> None:
    """Every pair rolling offers is hungarian's, and hungarian's pairs it holds could still meet the food a round later."""
    matched = {d.order_id: d for d in HungarianPolicy().decide(b)}
    offered = {d.order_id: d for d in RollingPolicy().decide(b)}
    assert all(matched[k] == d for k, d in offered.items())
    by_id = {o.record.order_id: o for o in b.orders}
    for k in matched.keys() - offered.keys():
        order = by_id[k]
        cand = next(c for c in order.candidates if c.rider_id == matched[k].rider_id)
        arrive_next_round = b.now_ms + round(b.tick_s * 1000) + round(cand.to_pickup_s * 1000) + 30_000
        assert (
            order.record.request.ready_at_hint_ms is not None
            and arrive_next_round <= order.record.request.ready_at_hint_ms
        )


def test_unknown_policy_names_the_known_ones() -> None:
    """A typo in --policy fails with the list of policies."""
    try:
        make_policy("gredy")
    except ValueError as exc:
        assert "greedy" in str(exc) and "hungarian" in str(exc)
    else:
        raise AssertionError("unknown policy accepted")
