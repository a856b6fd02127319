"""The randomised invariant run of bench.settlement_invariants, smaller: payments, partial and full refunds,
retries, concurrent duplicates and rule changes, checked by an independent recomputation from the order records."""

from __future__ import annotations

import logging

import pytest
import redis

from bench.settlement_invariants import run
from serving.embedded_redis import EmbeddedRedis


@pytest.mark.parametrize("seed", [11, 12])
async def test_randomised_operations_violate_nothing(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    """3,000 random operations at 32 at a time: zero violations, and the run did exercise every kind of operation."""
    caplog.set_level(logging.CRITICAL, logger="tongcheng.settlement")  # halted splits are counted, not printed
    tally, stats, _ = await run(redis_server.url, 3_000, seed, 32)
    assert tally.violations == []
    assert tally.ops >= 3_000 and stats["orders"] > 500 and stats["entries"] > 4_000
    for kind in ("order", "refund", "retry_refund", "dup_refund", "split_retry", "cancel", "step"):
        assert tally.by_kind[kind] > 0, kind
