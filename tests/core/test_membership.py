"""The merchant-membership memory: a membership is read once, an absence only for a while."""

from __future__ import annotations

import asyncio

from core.membership import MembershipCache


async def test_memberships_are_kept_and_absences_expire() -> None:
    """m1's group is read once; m2's absence is read again after its TTL; joining clears it at once."""
    store = {"m1": "p1"}
    reads: list[str] = []

    async def read(merchant_id: str) -> str | None:
        reads.append(merchant_id)
        return store.get(merchant_id)

    cache = MembershipCache(absent_ttl_s=0.05)
    assert [await cache.group_of("m1", read) for _ in range(3)] == ["p1"] * 3
    assert await cache.group_of("m2", read) is None and await cache.group_of("m2", read) is None
    assert reads == ["m1", "m2"]
    store["m2"] = "p2"
    await asyncio.sleep(0.06)
    assert await cache.group_of("m2", read) == "p2" and reads == ["m1", "m2", "m2"]
    assert await cache.group_of("m3", read) is None
    cache.joined(["m3"], "p3")
    assert await cache.group_of("m3", read) == "p3" and reads[-1] == "m3" and len(reads) == 4
