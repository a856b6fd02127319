"""The order store's batch reads (a tick's records and declined riders) against a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import redis
import redis.asyncio as aioredis

from dispatch.models import LatLng, OrderRecord, OrderRequest, OrderStatus
from dispatch.order_flow import Step
from dispatch.orders import OrderStore
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

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
