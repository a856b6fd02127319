"""Split rules: per merchant or per chain, versioned, validated before they are stored.

A rule gives each receiver other than the merchant a share — basis points of the paid amount plus a
fixed fee in fen — and caps any one of them at `max_receiver_share_bp` of the order (WeChat Pay's
profit sharing caps what may be shared at 30% by default; so does this). The merchant (for a chain,
the branch) gets the rest. New versions never change old ones: a split records the version it used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis

from core.errors import FieldViolation, InvalidArgument, NotFound
from core.validation import id_violation
from settlement.keys import MoneyKeys

BASIS_POINTS = 10_000
DEFAULT_MAX_RECEIVER_SHARE_BP = 3_000
PLATFORM_ID = "tongcheng"
DEFAULT_RIDER_FLEET_ID = "fleet"
# A fixed fee above 100,000 yuan is a typo, not a fee.
MAX_FIXED_FEN = 10_000_000


@dataclass(frozen=True)
class Share:
    """Basis points of the paid amount plus a fixed fee."""

    basis_points: int = 0
    fixed_fen: int = 0


SHARE_FIELDS = ("platform_commission", "rider_delivery_fee", "group_leader_commission", "head_office_share")


@dataclass(frozen=True)
class SplitRule:
    """One version of a merchant's or a chain's split rule."""

    scope: str  # "merchant:<id>" or "chain:<id>"
    platform_commission: Share = field(default_factory=Share)
    rider_delivery_fee: Share = field(default_factory=Share)
    group_leader_commission: Share = field(default_factory=Share)
    head_office_share: Share = field(default_factory=Share)
    max_receiver_share_bp: int = DEFAULT_MAX_RECEIVER_SHARE_BP
    rider_fleet_id: str = DEFAULT_RIDER_FLEET_ID
    effective_from_ms: int = 0
    created_ms: int = 0
    version: int = 0

    @property
    def name(self) -> str:
        return f"{self.scope}#{self.version}"

    def violations(self, prefix: str = "rule") -> list[FieldViolation]:
        """Every bad field, named as in the request (`rule.platform_commission.basis_points`)."""
        out: list[FieldViolation] = []
        cap = self.max_receiver_share_bp
        if not 0 < cap <= BASIS_POINTS:
            out.append(FieldViolation(f"{prefix}.max_receiver_share_bp", f"must be within [1, {BASIS_POINTS}]"))
        total_bp = 0
        for name in SHARE_FIELDS:
            share: Share = getattr(self, name)
            if not 0 <= share.basis_points <= BASIS_POINTS:
                out.append(
                    FieldViolation(f"{prefix}.{name}.basis_points", f"must be within [0, {BASIS_POINTS}] (0-100%)")
                )
            elif 0 < cap <= BASIS_POINTS and share.basis_points > cap:
                out.append(
                    FieldViolation(
                        f"{prefix}.{name}.basis_points",
                        f"{share.basis_points} bp is over the cap of {cap} bp for a receiver other than the merchant",
                    )
                )
            if not 0 <= share.fixed_fen <= MAX_FIXED_FEN:
                out.append(FieldViolation(f"{prefix}.{name}.fixed_fen", f"must be within [0, {MAX_FIXED_FEN}] fen"))
            total_bp += max(0, share.basis_points)
        if total_bp > BASIS_POINTS:
            out.append(FieldViolation(f"{prefix}", f"shares add up to {total_bp} bp, over 100% ({BASIS_POINTS} bp)"))
        if self.effective_from_ms < 0:
            out.append(FieldViolation(f"{prefix}.effective_from", "must be after 1970"))
        # The fleet names a receiver (`rider:<fleet>`), so it is an id like any other.
        if bad := id_violation(f"{prefix}.rider_fleet_id", self.rider_fleet_id):
            out.append(bad)
        return out

    def to_json(self) -> str:
        d = {
            "scope": self.scope,
            "max": self.max_receiver_share_bp,
            "fleet": self.rider_fleet_id,
            "from": self.effective_from_ms,
            "created": self.created_ms,
        }
        for name in SHARE_FIELDS:
            s: Share = getattr(self, name)
            d[name] = [s.basis_points, s.fixed_fen]
        return json.dumps(d, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str, version: int) -> SplitRule:
        d = json.loads(raw)
        return cls(
            scope=d["scope"],
            max_receiver_share_bp=d["max"],
            rider_fleet_id=d["fleet"],
            effective_from_ms=d["from"],
            created_ms=d["created"],
            version=version,
            **{name: Share(*d[name]) for name in SHARE_FIELDS},
        )


def rule_scope(merchant_id: str, chain_id: str) -> str:
    return f"merchant:{merchant_id}" if merchant_id else f"chain:{chain_id}"


class RuleBook:
    """The versions of every rule in Redis, with an in-process cache that a generation counter keeps honest:
    every new version bumps it, and a split's script refuses to post under a stale generation."""

    def __init__(self, client: aioredis.Redis, keys: MoneyKeys) -> None:
        self._redis = client
        self._keys = keys
        self._cache: dict[str, list[SplitRule]] = {}
        self._generation = -1
        self._add = client.register_script(_ADD_RULE_LUA)

    async def add(self, rule: SplitRule, now_ms: int) -> SplitRule:
        """Stores a new version (validated by the caller); returns it with its version number (its place
        in the list: versions are only ever appended)."""
        stamped = replace(rule, created_ms=now_ms, effective_from_ms=rule.effective_from_ms or now_ms, version=0)
        version = await self._add(
            keys=[self._keys.rules(rule.scope), self._keys.rules_generation], args=[stamped.to_json()]
        )
        return replace(stamped, version=int(version))

    async def versions(self, scope: str) -> list[SplitRule]:
        raws = await self._redis.lrange(self._keys.rules(scope), 0, -1)
        return [SplitRule.from_json(r, version=i + 1) for i, r in enumerate(raws)]

    @property
    def generation(self) -> int:
        return self._generation

    async def refresh(self, generation: int) -> None:
        """Drops the cache when the stored generation moved on."""
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation

    async def rule_for(self, merchant_id: str, chain_id: str, paid_at_ms: int, now_ms: int) -> SplitRule:
        """The version in force at the payment: the latest version whose effective_from is at or before
        paid_at_ms, the merchant's own rule before its chain's. An order paid while no rule was in force (its
        split halted for lack of one) takes the version in force when the first one after its payment took
        effect, once that is in force by now_ms: setting the missing rule posts those splits, and a retry at
        any later time picks the same version. An order that had a rule at its payment always keeps it."""
        scopes = [f"merchant:{merchant_id}"] + ([f"chain:{chain_id}"] if chain_id else [])
        found = {s: self._cache[s] for s in scopes if s in self._cache}
        missing = [s for s in scopes if s not in found]
        if missing:
            generation = self._generation
            async with self._redis.pipeline(transaction=False) as pipe:
                for s in missing:
                    pipe.lrange(self._keys.rules(s), 0, -1)
                replies = await pipe.execute()
            for s, raws in zip(missing, replies, strict=True):
                found[s] = [SplitRule.from_json(r, version=i + 1) for i, r in enumerate(raws)]
                # Cached only if no newer generation was seen meanwhile: rules read before a change must
                # never be kept under the generation after it (the scripts would then accept them).
                if self._generation == generation:
                    self._cache[s] = found[s]
        rule = _in_force(found, scopes, paid_at_ms)
        if rule is None:
            # Versions not yet in force (a change scheduled for later) never apply early.
            later = [
                r.effective_from_ms for s in scopes for r in found[s] if paid_at_ms < r.effective_from_ms <= now_ms
            ]
            if later:
                rule = _in_force(found, scopes, min(later))
        if rule is None:
            raise NotFound(
                f"no split rule in effect for merchant {merchant_id}" + (f" or chain {chain_id}" if chain_id else "")
            )
        return rule


def _in_force(found: dict[str, list[SplitRule]], scopes: list[str], at_ms: int) -> SplitRule | None:
    """The version in force at at_ms in the first scope that has one: the latest version (a correction
    supersedes what it corrects) whose effective_from is at or before at_ms."""
    for s in scopes:
        in_effect = [r for r in found[s] if r.effective_from_ms <= at_ms]
        if in_effect:
            return in_effect[-1]
    return None


# Appends a version and bumps the generation, atomically.
_ADD_RULE_LUA = """
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return n
"""


def check_rule(rule: SplitRule) -> None:
    bad = rule.violations()
    if bad:
        raise InvalidArgument(bad)
