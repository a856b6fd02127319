"""The dispatcher's tick machinery that the API tests cannot see: the collector pause around ticks, the
ranking of each order's nearest riders."""

from __future__ import annotations

import gc
import random

import pytest

from dispatch.dispatcher import _collector_paused, _nearest
from dispatch.models import Availability, LatLng, NearbyRider, OrderRecord, OrderRequest
from dispatch.rider_index import haversine_m


def test_the_collector_is_paused_during_ticks_and_restored_after_the_last() -> None:
    """Overlapping ticks (two zones) keep the collector paused until the last ends, then it is on
    again; an exception in a tick restores it too; a collector already off stays off."""
    assert gc.isenabled()
    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second zone's tick is still running
    second.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("tick failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_nearest_riders_match_a_brute_force_ranking() -> None:
    """Per order, the k nearest riders within the radius, declined ones skipped, each with its great-circle
    distance: as ranking every rider by haversine would give (random cities, radii and refusals)."""
    rng = random.Random(5)
    for _ in range(200):
        riders = [
            NearbyRider(
                f"r{i}",
                LatLng(60.1 + rng.random() * 0.2, 24.8 + rng.random() * 0.3),
                0.0,
                Availability.AVAILABLE,
                1,
                0,
                None,
                None,
            )
            for i in range(rng.randint(1, 60))
        ]
        records = [
            OrderRecord(
                OrderRequest(
                    f"o{j}", "m", LatLng(60.1 + rng.random() * 0.2, 24.8 + rng.random() * 0.3), LatLng(60.2, 24.9), 1
                )
            )
            for j in range(rng.randint(1, 20))
        ]
        declined = {f"o{j}": {f"r{rng.randint(0, 60)}" for _ in range(rng.randint(0, 5))} for j in range(0, 20, 3)}
        k, radius = rng.randint(1, 10), rng.choice([500.0, 2_000.0, 8_000.0, 50_000.0])
        got = _nearest(riders, records, declined, k, radius)
        for record in records:
            p = record.request.pickup
            ranked = sorted(
                (haversine_m(p.lat, p.lng, r.position.lat, r.position.lng), r.rider_id)
                for r in riders
                if r.rider_id not in declined.get(record.order_id, set())
            )
            expected = [(d, rid) for d, rid in ranked if d <= radius][:k]
            assert [r.rider_id for r in got[record.order_id]] == [rid for _, rid in expected]
            assert [r.distance_m for r in got[record.order_id]] == pytest.approx([d for d, _ in expected], abs=1e-3)
