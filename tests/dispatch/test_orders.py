"""The order store's batch reads (a tick's records and declined riders) against a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from core.errors import FailedPrecondition
from core.geo import LatLng
from dispatch.models import OrderRecord, OrderRequest, OrderStatus
from dispatch.order_flow import Step
from dispatch.orders import OrderStore
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot

NOW = 1_800_000_000_000


def request(oid: str, k: int) -> OrderRequest:
    return OrderRequest(
        oid,
        f"m{k % 3}",
        LatLng(60.17 + k / 1000, 24.94),
        LatLng(60.18, 24.95 + k / 1000),
        NOW - k * 1000,
        item_count=1 + k % 4,
        promised_at_ms=NOW + 2_700_000 if k % 2 else None,
        ready_at_hint_ms=NOW + 60_000 * k if k % 3 else None,
        merchant_category="restaurant" if k % 2 else "",
    )


@pytest_asyncio.fixture
async def store(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[OrderStore]:
    """An order store of zone z on the session's Redis (emptied)."""
    client: aioredis.Redis = redis_client(redis_server.url)
    yield OrderStore(client, "z")
    await client.aclose()


async def test_declined_by_names_the_riders_of_each_order_and_none_for_the_others(store: OrderStore) -> None:
    """Riders who rejected an offer or let it lapse are listed per order; orders never declined (and
    unknown ids) get an empty set; the answer keeps the ids asked for, repeats included."""
    await store.create_many([request(f"o{k}", k) for k in range(6)], NOW)
    for oid, rider, step in (("o1", "r1", Step.REJECT), ("o1", "r2", Step.EXPIRE_OFFER), ("o4", "r3", Step.REJECT)):
        await store.assign_bundle(rider, [(oid, NOW + 1, NOW + 2)], NOW, offer_expires_ms=NOW + 30_000)
        _, changed = await store.apply(oid, step, NOW)
        assert changed
    asked = ["o0", "o1", "o2", "o3", "o4", "o5", "missing", "o1"]
    assert await store.declined_by(asked) == {
        "o0": set(), "o1": {"r1", "r2"}, "o2": set(), "o3": set(), "o4": {"r3"}, "o5": set(), "missing": set(),
    }  # fmt: skip
    assert await store.declined_by([]) == {}


async def test_find_many_reads_back_what_was_written(store: OrderStore) -> None:
    """Every field of a record survives the round trip, optional ones empty or set; unknown ids are left out."""
    created = await store.create_many([request(f"o{k}", k) for k in range(7)], NOW)
    await store.set_predictions({"o2": (NOW + 90_000, 42.5)})
    await store.assign_bundle("r1", [("o3", NOW + 5, NOW + 9)], NOW, offer_expires_ms=NOW + 30_000)
    await store.mark_ready("o5", NOW - 1)
    found = await store.find_many(["o6", "missing", "o2", "o3", "o5", "o0"])
    assert list(found) == ["o6", "o2", "o3", "o5", "o0"]
    assert found["o6"] == created[6][0]
    assert found["o2"] == created[2][0].evolve(predicted_ready_ms=NOW + 90_000, predicted_ready_sd_s=42.5)
    assert found["o3"].status is OrderStatus.ASSIGNED and found["o3"].rider_id == "r1"
    assert (found["o3"].estimated_pickup_ms, found["o3"].estimated_dropoff_ms) == (NOW + 5, NOW + 9)
    assert found["o3"].bundle_id == "o3" and found["o3"].bundle_seq == 1 and found["o3"].version == 1
    assert found["o5"].ready_at_ms == NOW - 1
    for oid, record in found.items():
        assert record == OrderRecord.from_redis(await store._redis.hgetall(store.keys.order(oid)))


COUNTER = LatLng(60.17, 24.94)


def at_counter(oid: str, merchant: str = "m1", door: float = 0.0) -> OrderRequest:
    return OrderRequest(oid, merchant, COUNTER, LatLng(60.18, 24.95 + door), NOW - 60_000)


async def test_an_order_joins_the_bundle_a_rider_holds_at_its_counter(store: OrderStore) -> None:
    """The bundle a rider was offered is listed as an open pickup (its counter, planned pickup, orders, last
    door and drop-off); an order of that counter joins it as the last drop-off: offered to the same rider
    in the same bundle, the bundle's pickup and drop-offs moved on by the wait for the new food, the
    rider's plan and open pickup following; once the bundle is picked up nothing can join it."""
    await store.create_many([at_counter("a"), at_counter("b", door=0.01)], NOW)
    await store.assign_bundle("r1", [("a", NOW + 300_000, NOW + 900_000)], NOW, offer_expires_ms=NOW + 30_000)
    await store.apply("a", Step.ACCEPT, NOW, acting_rider="r1")
    assert await store.open_pickups(["m2"]) == [] and await store.open_pickups([]) == []  # other counters only
    [open_] = await store.open_pickups(["m2", "m1"])
    assert (open_.rider_id, open_.bundle_id, open_.merchant_id, open_.pickup) == ("r1", "a", "m1", COUNTER)
    assert (open_.pickup_ms, open_.orders, open_.free_ms, open_.last_door) == (
        NOW + 300_000, 1, NOW + 900_000, LatLng(60.18, 24.95)
    )  # fmt: skip
    joined, moved = await store.join_bundle(
        "r1", "a", ("b", NOW + 360_000, NOW + 1_500_000), NOW + 1_000, offer_expires_ms=NOW + 31_000
    )
    assert (joined.order_id, joined.status, joined.rider_id) == ("b", OrderStatus.ASSIGNED, "r1")
    assert (joined.bundle_id, joined.bundle_seq) == ("a", 2)
    assert (moved.order_id, moved.status, moved.bundle_seq) == ("a", OrderStatus.ACCEPTED, 1)
    assert (moved.estimated_pickup_ms, moved.estimated_dropoff_ms) == (NOW + 360_000, NOW + 960_000)
    assert (await store.find_many(["a"]))["a"] == moved
    assert await store.rider_task_ids("r1") == {"a", "b"}
    [open_] = await store.open_pickups(["m1"])
    assert (open_.pickup_ms, open_.orders, open_.free_ms, open_.last_door) == (
        NOW + 360_000, 2, NOW + 1_500_000, LatLng(60.18, 24.96)
    )  # fmt: skip
    feed = await store.feed_after("r1", "0-0")
    assert [(e.type.value, e.order.order_id) for e in feed][-2:] == [("offered", "b"), ("updated", "a")]
    await store.apply("b", Step.ACCEPT, NOW, acting_rider="r1")
    await store.apply("a", Step.PICK_UP, NOW + 360_000, acting_rider="r1")
    assert await store.open_pickups(["m1"]) == []


async def test_a_join_that_no_longer_fits_writes_nothing(store: OrderStore, redis_sync: redis.Redis) -> None:
    """FailedPrecondition, Redis untouched: an order of another merchant, an order no longer pending, a
    bundle id the rider does not hold, a rider without a bundle, a bundle already picked up."""
    await store.create_many([at_counter("a"), at_counter("b"), at_counter("c", merchant="m2"), at_counter("d")], NOW)
    await store.assign_bundle("r1", [("a", NOW + 300_000, NOW + 900_000)], NOW, offer_expires_ms=NOW + 30_000)
    await store.assign_bundle("r2", [("d", NOW + 300_000, NOW + 900_000)], NOW, offer_expires_ms=NOW + 30_000)
    cases = [
        ("r1", "a", "c", "not at the counter"),
        ("r1", "a", "d", "is assigned"),
        ("r1", "x", "b", "can no longer be joined"),
        ("r9", "a", "b", "holds no bundle"),
    ]
    for rider, bundle, oid, message in cases:
        before = redis_snapshot(redis_sync)
        with pytest.raises(FailedPrecondition, match=message):
            await store.join_bundle(rider, bundle, (oid, NOW, NOW), NOW, offer_expires_ms=NOW + 30_000)
        assert redis_snapshot(redis_sync) == before
    await store.apply("a", Step.ACCEPT, NOW, acting_rider="r1")
    await store.apply("a", Step.PICK_UP, NOW, acting_rider="r1")
    before = redis_snapshot(redis_sync)
    with pytest.raises(FailedPrecondition, match="picked_up"):
        await store.join_bundle("r1", "a", ("b", NOW, NOW), NOW, offer_expires_ms=NOW + 30_000)
    assert redis_snapshot(redis_sync) == before


async def test_an_order_leaving_a_bundle_leaves_the_riders_plan_to_the_others(store: OrderStore) -> None:
    """A joined order the rider rejects: its plan is the bundle's last door again and its open pickup
    counts one order; a bundle whose last order is cancelled after another was picked up: the plan ends at
    the remaining door and nothing can join any more."""
    await store.create_many([at_counter("a"), at_counter("b", door=0.01), at_counter("c", door=0.02)], NOW)
    await store.assign_bundle("r1", [("a", NOW + 300_000, NOW + 900_000)], NOW, offer_expires_ms=NOW + 30_000)
    await store.apply("a", Step.ACCEPT, NOW, acting_rider="r1")
    await store.join_bundle("r1", "a", ("b", NOW + 300_000, NOW + 1_500_000), NOW, offer_expires_ms=NOW + 30_000)
    await store.apply("b", Step.REJECT, NOW, acting_rider="r1")
    [open_] = await store.open_pickups(["m1"])
    assert (open_.orders, open_.free_ms, open_.last_door) == (1, NOW + 900_000, LatLng(60.18, 24.95))
    await store.join_bundle("r1", "a", ("c", NOW + 300_000, NOW + 1_600_000), NOW, offer_expires_ms=NOW + 30_000)
    await store.apply("c", Step.ACCEPT, NOW, acting_rider="r1")
    await store.apply("a", Step.PICK_UP, NOW + 300_000, acting_rider="r1")
    await store.apply("c", Step.CANCEL, NOW + 301_000)
    assert await store.open_pickups(["m1"]) == []
    plan = await store._redis.hget(store.keys.riders_plan, "r1")
    assert plan == f"{NOW + 900_000},60.18,24.95"


async def test_ids_that_end_like_another_orders_keys_are_orders_of_their_own(store: OrderStore) -> None:
    """Ids may hold ':', so orders "x:history" and "x:declined" must not be (or overwrite) order x's history or
    declined riders, and rider "r1:tasks" not rider r1's tasks: each is stored, offered and declined on its own."""
    await store.create_many([request("x:history", 0), request("x:declined", 1), request("x", 2)], NOW)
    for oid, rider in (("x", "r1"), ("x:declined", "r1:tasks")):
        await store.assign_bundle(rider, [(oid, NOW + 1, NOW + 2)], NOW, offer_expires_ms=NOW + 30_000)
        _, changed = await store.apply(oid, Step.REJECT, NOW)
        assert changed
    assert await store.declined_by(["x", "x:declined", "x:history"]) == {
        "x": {"r1"}, "x:declined": {"r1:tasks"}, "x:history": set(),
    }  # fmt: skip
    for oid in ("x", "x:history", "x:declined"):
        record = await store.get(oid)
        assert record.order_id == oid and record.status is OrderStatus.PENDING, oid
