"""The catalogue: items with variants and prices, versioned, synced from the POS in all-or-nothing batches.

Square's Catalog API is the model: every object carries a `version`; a write naming another version
than the stored one fails (VERSION_MISMATCH there, FAILED_PRECONDITION here), and a batch of up to
1,000 objects is applied whole or not at all. One script checks the batch's idempotency key, every
item's version and that no variant id belongs to another item, before its first write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, InvalidArgument
from core.validation import count_violation, id_violation
from merchants.keys import CatalogKeys, MerchantKeys
from merchants.models import MAX_BATCH_OBJECTS, CatalogItem, fingerprint
from merchants.validation import check_sync, raise_if

# KEYS: items, item versions, variants, sync keys. ARGV: key, fingerprint, result JSON, n items, then per
# item: item id, expected version, item JSON (at its new version), n variants, variant ids..., n dropped,
# dropped variant ids... Returns {'ok'}, {'replayed', result}, {'key_clash'}, {'stale', i, version} or
# {'variant_taken', i, variant id, owner}.
_SYNC_LUA = """
local prev = redis.call('HGET', KEYS[4], ARGV[1])
if prev then
  local nl = string.find(prev, '\\n', 1, true)
  if string.sub(prev, 1, nl - 1) ~= ARGV[2] then return {'key_clash'} end
  return {'replayed', string.sub(prev, nl + 1)}
end
local n = tonumber(ARGV[4])
local a = 5
for i = 1, n do
  local id, expected = ARGV[a], ARGV[a + 1]
  local current = redis.call('HGET', KEYS[2], id) or '0'
  if current ~= expected then return {'stale', i - 1, current} end
  local nv = tonumber(ARGV[a + 3])
  for j = 1, nv do
    local owner = redis.call('HGET', KEYS[3], ARGV[a + 3 + j])
    if owner and owner ~= id then return {'variant_taken', i - 1, ARGV[a + 3 + j], owner} end
  end
  a = a + 4 + nv
  a = a + 1 + tonumber(ARGV[a])
end
a = 5
for i = 1, n do
  local id = ARGV[a]
  redis.call('HSET', KEYS[1], id, ARGV[a + 2])
  redis.call('HSET', KEYS[2], id, tonumber(ARGV[a + 1]) + 1)
  local nv = tonumber(ARGV[a + 3])
  for j = 1, nv do redis.call('HSET', KEYS[3], ARGV[a + 3 + j], id) end
  a = a + 4 + nv
  local nd = tonumber(ARGV[a])
  for j = 1, nd do
    if redis.call('HGET', KEYS[3], ARGV[a + j]) == id then redis.call('HDEL', KEYS[3], ARGV[a + j]) end
  end
  a = a + 1 + nd
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3])
return {'ok'}
"""


class Catalog:
    """Every merchant's catalogue."""

    def __init__(
        self, client: aioredis.Redis, clock: Clock, keys_of: Callable[[str], CatalogKeys] = MerchantKeys
    ) -> None:
        """keys_of: a merchant's keys, or (ChainKeys) a chain head office's, whose catalogue its branches inherit."""
        self._redis = client
        self.clock = clock
        self._keys_of = keys_of
        self._sync = client.register_script(_SYNC_LUA)

    async def sync(
        self, merchant_id: str, idempotency_key: str, items: Sequence[CatalogItem]
    ) -> tuple[list[CatalogItem], bool]:
        """Applies a POS batch whole; returns the stored items and whether this was a replay of the key."""
        check_sync(merchant_id, idempotency_key, items)
        keys = self._keys_of(merchant_id)
        body_fp = fingerprint([merchant_id, [it.body() for it in items]])
        ids = [it.item_id for it in items]
        # The variants each item holds now: those the batch drops are unmapped (if the item is still at the
        # version read, which the script checks, this read is what it replaces).
        current_raw = await self._redis.hmget(keys.items, ids)
        now_ms = self.clock.now_ms()
        stored = [
            CatalogItem(it.item_id, it.name, it.category, it.variants, it.status, it.version + 1, now_ms)
            for it in items
        ]
        result = json.dumps([s.to_json() for s in stored], separators=(",", ":"))
        args: list[str | int] = [idempotency_key, body_fp, result, len(items)]
        for it, new, raw in zip(items, stored, current_raw, strict=True):
            kept = {v.variant_id for v in it.variants}
            dropped = (
                [v.variant_id for v in CatalogItem.from_json(raw).variants if v.variant_id not in kept] if raw else []
            )
            args += [it.item_id, str(it.version), new.to_json(), len(it.variants), *(v.variant_id for v in it.variants)]
            args += [len(dropped), *dropped]
        reply = await self._sync(keys=[keys.items, keys.item_versions, keys.variants, keys.sync_keys], args=args)
        outcome = reply[0]
        if outcome == "ok":
            return stored, False
        if outcome == "replayed":
            return [CatalogItem.from_json(r) for r in json.loads(reply[1])], True
        if outcome == "key_clash":
            raise InvalidArgument.field("idempotency_key", "already used for another batch of this merchant")
        if outcome == "stale":
            i, version = int(reply[1]), reply[2]
            raise FailedPrecondition(
                f"items[{i}] ({items[i].item_id}) is at version {version}, not {items[i].version}: "
                "version mismatch, nothing of the batch was applied"
            )
        if outcome == "variant_taken":
            i = int(reply[1])
            j = next(j for j, v in enumerate(items[i].variants) if v.variant_id == reply[2])
            raise InvalidArgument.field(
                f"items[{i}].variants[{j}].variant_id", f"{reply[2]} is a variant of item {reply[3]}"
            )
        raise RuntimeError(f"unexpected sync reply {reply!r}")

    async def items(self, merchant_id: str, item_ids: Sequence[str] = ()) -> list[CatalogItem]:
        """The named items that exist (all when none are named), sorted by id."""
        raise_if([id_violation("merchant_id", merchant_id), count_violation("item_ids", item_ids, MAX_BATCH_OBJECTS)])
        raise_if([id_violation(f"item_ids[{i}]", v) for i, v in enumerate(item_ids)])
        keys = self._keys_of(merchant_id)
        if item_ids:
            raws = [r for r in await self._redis.hmget(keys.items, list(item_ids)) if r is not None]
        else:
            raws = list((await self._redis.hgetall(keys.items)).values())
        return sorted((CatalogItem.from_json(r) for r in raws), key=lambda it: it.item_id)

    async def item_of_variants(self, merchant_id: str, variant_ids: Sequence[str]) -> list[str | None]:
        return list(await self._redis.hmget(self._keys_of(merchant_id).variants, list(variant_ids)))
