"""Alliances' value types: an alliance and its merchants, a partner offer and its segment, a member's
aggregates, a partner's contribution."""

from __future__ import annotations

import enum
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from core.errors import FieldViolation
from core.validation import count_violation, duplicate_violations, id_violation

MAX_MERCHANTS = 200
MAX_COMMISSION_BP = 3_000  # as settlement's cap on any receiver but the merchant
MAX_DISTANCE_M = 50_000
MAX_CATEGORIES = 20
ALL_HOURS = (1 << 24) - 1


class Trigger(enum.StrEnum):
    PAID = "paid"
    COMPLETED = "completed"


@dataclass(frozen=True)
class AllianceMerchant:
    merchant_id: str
    lat: float
    lng: float
    category: str


@dataclass(frozen=True)
class Alliance:
    alliance_id: str
    merchants: tuple[AllianceMerchant, ...]
    commission_bp: int
    created_ms: int = 0

    def violations(self, p: str = "alliance.") -> list[FieldViolation]:
        out = [v for v in (id_violation(f"{p}alliance_id", self.alliance_id),) if v]
        if bad := count_violation(f"{p}merchants", self.merchants, MAX_MERCHANTS, min_items=2):
            out.append(bad)
        else:
            for i, m in enumerate(self.merchants):
                q = f"{p}merchants[{i}]"
                out += [v for v in (id_violation(f"{q}.merchant_id", m.merchant_id),
                                    id_violation(f"{q}.category", m.category)) if v]  # fmt: skip
                if not (math.isfinite(m.lat) and -90 <= m.lat <= 90) or (m.lat, m.lng) == (0.0, 0.0):
                    out.append(FieldViolation(f"{q}.lat", "must be a latitude in [-90, 90] (0,0 is no place)"))
                if not (math.isfinite(m.lng) and -180 <= m.lng <= 180):
                    out.append(FieldViolation(f"{q}.lng", "must be a longitude in [-180, 180]"))
            out += duplicate_violations(f"{p}merchants", (m.merchant_id for m in self.merchants), ".merchant_id")
        if not 1 <= self.commission_bp <= MAX_COMMISSION_BP:
            out.append(FieldViolation(f"{p}commission_bp", f"must be within [1, {MAX_COMMISSION_BP}]"))
        return out

    def merchant(self, merchant_id: str) -> AllianceMerchant | None:
        return next((m for m in self.merchants if m.merchant_id == merchant_id), None)

    def body(self) -> dict[str, object]:
        return {"alliance_id": self.alliance_id, "merchants": [list(asdict(m).values()) for m in self.merchants],
                "commission_bp": self.commission_bp}  # fmt: skip

    def fingerprint(self) -> str:
        return hashlib.blake2b(json.dumps(self.body(), sort_keys=True).encode(), digest_size=12).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.body(), "created_ms": self.created_ms}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Alliance:
        d = json.loads(raw)
        return cls(d["alliance_id"], tuple(AllianceMerchant(*m) for m in d["merchants"]), d["commission_bp"],
                   d["created_ms"])  # fmt: skip


@dataclass(frozen=True)
class Segment:
    min_orders: int = 0
    min_spend_fen: int = 0
    hours_mask: int = 0
    categories: tuple[str, ...] = ()

    def violations(self, p: str) -> list[FieldViolation]:
        out = []
        if not 0 <= self.min_orders <= 100_000:
            out.append(FieldViolation(f"{p}min_orders", "must be within [0, 100000]"))
        if not 0 <= self.min_spend_fen <= 10**12:
            out.append(FieldViolation(f"{p}min_spend_fen", "must be within [0, 1e12]"))
        if not 0 <= self.hours_mask <= ALL_HOURS:
            out.append(FieldViolation(f"{p}hours_mask", f"must be within [0, {ALL_HOURS}]"))
        if bad := count_violation(f"{p}categories", self.categories, MAX_CATEGORIES):
            out.append(bad)
        else:
            out += [v for i, c in enumerate(self.categories) if (v := id_violation(f"{p}categories[{i}]", c))]
        return out

    def admits(self, aggregates: MemberAggregates) -> bool:
        return (
            aggregates.orders >= self.min_orders
            and aggregates.spend_fen >= self.min_spend_fen
            and (not self.hours_mask or bool(aggregates.hours_mask & self.hours_mask))
            and (not self.categories or bool(set(self.categories) & set(aggregates.categories)))
        )


@dataclass(frozen=True)
class Offer:
    offer_id: str
    alliance_id: str
    source_merchant_id: str
    campaign_id: str
    trigger: Trigger
    max_distance_m: int = 0
    segment: Segment = field(default_factory=Segment)

    def violations(self, p: str = "offer.") -> list[FieldViolation]:
        out = [
            v
            for v in (
                id_violation(f"{p}offer_id", self.offer_id),
                id_violation(f"{p}alliance_id", self.alliance_id),
                id_violation(f"{p}source_merchant_id", self.source_merchant_id),
                id_violation(f"{p}campaign_id", self.campaign_id),
            )
            if v
        ]
        if not 0 <= self.max_distance_m <= MAX_DISTANCE_M:
            out.append(FieldViolation(f"{p}max_distance_m", f"must be within [0, {MAX_DISTANCE_M}]"))
        return out + self.segment.violations(f"{p}segment.")

    def body(self) -> dict[str, object]:
        d = asdict(self)
        d["trigger"] = self.trigger.value
        d["segment"]["categories"] = list(self.segment.categories)
        return d

    def fingerprint(self) -> str:
        return hashlib.blake2b(json.dumps(self.body(), sort_keys=True).encode(), digest_size=12).hexdigest()

    def to_json(self) -> str:
        return json.dumps(self.body(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Offer:
        d = json.loads(raw)
        seg = d.pop("segment")
        seg["categories"] = tuple(seg["categories"])
        return cls(**{**d, "trigger": Trigger(d["trigger"]), "segment": Segment(**seg)})


@dataclass(frozen=True)
class MemberAggregates:
    orders: int = 0
    spend_fen: int = 0
    hours_mask: int = 0
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class OfferContribution:
    offer_id: str
    issued: int
    redeemed: int
    customers: int
    sales_fen: int
    commission_fen: int
