"""The nearest-available policy on hand-made batches."""

from __future__ import annotations

from dispatch.models import LatLng, OrderRecord, OrderRequest
from dispatch.policies import Candidate, DispatchBatch, NearestAvailablePolicy, PendingOrder, make_policy

P = LatLng(60.17, 24.94)


def pending(order_id: str, placed_ms: int, candidates: dict[str, float], ready_ms: int | None = None) -> PendingOrder:
    request = OrderRequest(order_id, "m1", P, P, placed_ms, ready_at_hint_ms=ready_ms)
    return PendingOrder(
        OrderRecord(request), tuple(Candidate(r, P, t) for r, t in candidates.items()), pickup_to_dropoff_s=300.0
    )


def batch(*orders: PendingOrder) -> DispatchBatch:
    return DispatchBatch(now_ms=1_000_000, orders=orders, pickup_service_s=60.0, dropoff_service_s=60.0)


def test_oldest_order_first_gets_its_nearest_rider() -> None:
    """Orders are served in placement order, each by the free rider who reaches it soonest."""
    decisions = NearestAvailablePolicy().decide(
        batch(pending("late", 2, {"a": 60, "b": 90}), pending("early", 1, {"a": 30, "b": 200}))
    )
    assert [(d.order_id, d.rider_id) for d in decisions] == [("early", "a"), ("late", "b")]


def test_a_rider_takes_one_order_per_batch() -> None:
    """With one rider and two orders, one order waits for the next tick."""
    decisions = NearestAvailablePolicy().decide(batch(pending("o1", 1, {"a": 60}), pending("o2", 2, {"a": 10})))
    assert [(d.order_id, d.rider_id) for d in decisions] == [("o1", "a")]


def test_estimates_wait_for_the_food() -> None:
    """Pickup is when the rider has arrived and the food is ready, plus the handover; drop-off follows the ride."""
    [d] = NearestAvailablePolicy().decide(batch(pending("o1", 1, {"a": 60}, ready_ms=1_000_000 + 600_000)))
    assert d.estimated_pickup_ms == 1_000_000 + 600_000 + 60_000
    assert d.estimated_dropoff_ms == d.estimated_pickup_ms + 300_000 + 60_000


def test_unknown_policy_names_the_known_ones() -> None:
    """A typo in --policy fails with the list of policies."""
    try:
        make_policy("nearst")
    except ValueError as exc:
        assert "nearest" in str(exc)
    else:
        raise AssertionError("unknown policy accepted")
