"""Merchant records: create or replace under a version (compare-and-set in one script), status, chains.

A merchant's chain is the settlement's: orders of a branch carry its `chain_id`, and the chain's split
rule gives the head office its share. The chain's list of branches lives under the chain's own hash tag,
so it is written after the merchant's script (an idempotent SADD/SREM that a retried upsert repeats).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, InvalidArgument, NotFound
from merchants.keys import MerchantKeys, chain_branches_key
from merchants.models import Merchant, MerchantStatus
from merchants.validation import check_merchant, check_merchant_id

# Creates (expected version 0, absent) or replaces a merchant at the version read.
# KEYS: merchant. ARGV: expected version, body, status, updated_ms. Returns {'ok', version} or {'stale', version}.
_UPSERT_LUA = """
local current = redis.call('HGET', KEYS[1], 'version') or '0'
if current ~= ARGV[1] then return {'stale', current} end
local version = tonumber(current) + 1
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'status', ARGV[3], 'version', version, 'updated_ms', ARGV[4])
return {'ok', tostring(version)}
"""

# Sets the status of an existing merchant. KEYS: merchant. ARGV: status, updated_ms.
_STATUS_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') == ARGV[1] then return 1 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_ms', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
"""


class Directory:
    """Every merchant, one hash each."""

    def __init__(self, client: aioredis.Redis, clock: Clock) -> None:
        self._redis = client
        self.clock = clock
        self._upsert = client.register_script(_UPSERT_LUA)
        self._status = client.register_script(_STATUS_LUA)

    async def find(self, merchant_id: str) -> Merchant | None:
        raw = await self._redis.hgetall(MerchantKeys(merchant_id).merchant)
        return Merchant.from_redis(raw) if raw else None

    async def get(self, merchant_id: str) -> Merchant:
        check_merchant_id(merchant_id)
        merchant = await self.find(merchant_id)
        if merchant is None:
            raise NotFound(f"merchant {merchant_id} not found")
        return merchant

    async def known(self, merchant_id: str, field: str = "merchant_id") -> Merchant:
        """The merchant a request about its catalogue or stock names; an unknown one is bad input."""
        check_merchant_id(merchant_id, field)
        merchant = await self.find(merchant_id)
        if merchant is None:
            raise InvalidArgument.field(field, f"no merchant {merchant_id}")
        return merchant

    async def upsert(self, merchant: Merchant) -> Merchant:
        """Stores the merchant if `merchant.version` is the stored version (0: it must not exist yet)."""
        check_merchant(merchant)
        before = await self.find(merchant.merchant_id)
        now_ms = self.clock.now_ms()
        status, version = await self._upsert(
            keys=[MerchantKeys(merchant.merchant_id).merchant],
            args=[str(merchant.version), merchant.body_json(), merchant.status.value, now_ms],
        )
        if status == "stale":
            raise FailedPrecondition(
                f"merchant {merchant.merchant_id} is at version {version}, not {merchant.version}: read it again"
            )
        old_chain = before.chain_id if before is not None and before.version == merchant.version else ""
        if old_chain and old_chain != merchant.chain_id:
            await self._redis.srem(chain_branches_key(old_chain), merchant.merchant_id)
        if merchant.chain_id:
            await self._redis.sadd(chain_branches_key(merchant.chain_id), merchant.merchant_id)
        return Merchant(**{**merchant.__dict__, "version": int(version), "updated_ms": now_ms})

    async def set_status(self, merchant_id: str, status: MerchantStatus) -> Merchant:
        check_merchant_id(merchant_id)
        if not await self._status(keys=[MerchantKeys(merchant_id).merchant], args=[status.value, self.clock.now_ms()]):
            raise NotFound(f"merchant {merchant_id} not found")
        return await self.get(merchant_id)

    async def branches(self, chain_id: str) -> list[str]:
        check_merchant_id(chain_id, "chain_id")
        return sorted(await self._redis.smembers(chain_branches_key(chain_id)))
