"""A chain's overflow settings and its branches as the order center's chain overflow sees them (issue 21).

The settings are one JSON value under the chain's own hash tag, beside its list of branches, so setting
them is one script that first checks the chain exists (has a branch) and then replaces the whole value:
the same request again leaves the same state, and needs no idempotency key (as pricing's settings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FieldViolation, InvalidArgument
from core.geo import LatLng
from core.validation import id_violation
from merchants.keys import MerchantKeys, chain_branches_key, chain_overflow_key
from merchants.models import Merchant
from merchants.validation import check_merchant_id

# Upper bounds of the settings: past them a threshold would never trigger, so such a value is a typo.
MAX_BACKLOG_ORDERS = 10_000
MAX_OVERFLOW_S = 6 * 3600

# KEYS: branches, settings. ARGV: settings JSON. Returns 0 for a chain with no branch (nothing written).
_SET_LUA = """
if redis.call('SCARD', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class OverflowPolicy:
    """A chain's overflow settings (commerce.orders.overflow applies them); off unless the chain turns it on."""

    enabled: bool = False
    # The branch an order was placed at counts as swamped at this many open orders (0: the backlog alone never
    # makes it so); the default is about two prep times' worth of a counter with four cooks.
    backlog_orders: int = 8
    # ... or when dispatch's predicted prep time for the order reaches this (0: the prep time alone never does).
    late_prep_s: int = 20 * 60
    # A sibling serves the order only if its promised drop-off is at least this much earlier.
    margin_s: int = 5 * 60

    def violations(self, field_prefix: str = "") -> list[FieldViolation]:
        bad = []
        for name, top in (("backlog_orders", MAX_BACKLOG_ORDERS), ("late_prep_s", MAX_OVERFLOW_S),
                          ("margin_s", MAX_OVERFLOW_S)):  # fmt: skip
            value = getattr(self, name)
            if not 0 <= value <= top:
                bad.append(FieldViolation(field_prefix + name, f"must be within [0, {top}], got {value}"))
        return bad

    def to_json(self) -> str:
        body = {
            "on": self.enabled,
            "backlog": self.backlog_orders,
            "prep_s": self.late_prep_s,
            "margin_s": self.margin_s,
        }
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> OverflowPolicy:
        d = json.loads(raw)
        return cls(bool(d["on"]), int(d["backlog"]), int(d["prep_s"]), int(d["margin_s"]))


@dataclass(frozen=True)
class ChainBranch:
    """A branch, where it is, and whether it takes orders at the time asked."""

    merchant_id: str
    location: LatLng
    is_open: bool


class Chains:
    """Chains' overflow settings and their branches."""

    def __init__(self, client: aioredis.Redis, clock: Clock) -> None:
        self._redis = client
        self.clock = clock
        self._set = client.register_script(_SET_LUA)

    async def set_overflow(self, chain_id: str, policy: OverflowPolicy, field_prefix: str = "") -> OverflowPolicy:
        """Replaces the chain's settings; INVALID_ARGUMENT naming the field for a bad value or an unknown chain."""
        bad = policy.violations(field_prefix)
        if (v := id_violation("chain_id", chain_id)) is not None:
            bad.insert(0, v)
        if bad:
            raise InvalidArgument(bad)
        if not await self._set(keys=[chain_branches_key(chain_id), chain_overflow_key(chain_id)],
                               args=[policy.to_json()]):  # fmt: skip
            raise InvalidArgument.field("chain_id", f"no merchant names chain {chain_id}")
        return policy

    async def overflow(self, chain_id: str) -> tuple[OverflowPolicy, bool]:
        """The chain's settings and whether it has any (else the defaults: off)."""
        check_merchant_id(chain_id, "chain_id")
        raw = await self._redis.get(chain_overflow_key(chain_id))
        return (OverflowPolicy.from_json(raw), True) if raw else (OverflowPolicy(), False)

    async def branches_of(self, chain_id: str, at_ms: int) -> list[ChainBranch]:
        """The chain's branches (sorted by id) that still name it, each with whether it is open at `at_ms`."""
        ids = sorted(await self._redis.smembers(chain_branches_key(chain_id)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for mid in ids:
                pipe.hgetall(MerchantKeys(mid).merchant)
            raws = await pipe.execute()
        out = []
        for raw in raws:
            if not raw:
                continue
            m = Merchant.from_redis(raw)
            if m.chain_id == chain_id:
                out.append(ChainBranch(m.merchant_id, LatLng(m.lat, m.lng), m.is_open_at(at_ms)))
        return out


class ChainGateway:
    """What the order center's chain overflow needs of chains (commerce.orders.overflow.ChainView)."""

    def __init__(self, chains: Chains) -> None:
        self.chains = chains

    async def overflow_policy(self, chain_id: str) -> OverflowPolicy | None:
        policy, configured = await self.chains.overflow(chain_id)
        return policy if configured else None

    async def branches_of(self, chain_id: str, at_ms: int) -> Sequence[ChainBranch]:
        return await self.chains.branches_of(chain_id, at_ms)
