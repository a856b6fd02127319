"""The merchants package's value types: merchants, catalogue items, stock events, reservations, lots."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from dataclasses import dataclass, replace

from core.schedule import DateException, Period, Schedule, WeeklyPeriod

# The same ceiling as an order's total: a price above it could never be paid.
MAX_PRICE_FEN = 1_000_000_000
# A physical count or a single adjustment; far above any shelf, and exact as a Lua number.
MAX_STOCK_QUANTITY = 1_000_000
# Square's Catalog API takes up to 1,000 objects per batch (25-100 recommended); so does SyncCatalog.
MAX_BATCH_OBJECTS = 1_000
MAX_VARIANTS = 20
MAX_RESERVATION_LINES = 100
MAX_LINE_QUANTITY = 10_000
# A checkout's hold: 15 minutes to pay by default (Saleor's default reservation is of that order), at most an hour.
DEFAULT_RESERVATION_TTL_S = 900
MAX_RESERVATION_TTL_S = 3_600


def fingerprint(body: object) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


class MerchantStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


CATEGORIES = (
    "restaurant", "grocery", "convenience", "pharmacy", "fruit", "clinic", "fitness", "home_service", "other",
)  # fmt: skip


@dataclass(frozen=True)
class Merchant:
    """A merchant as kept: where it is, when it opens (in its zone), its chain and its status."""

    merchant_id: str
    name: str
    category: str
    lat: float
    lng: float
    time_zone: str
    weekly: tuple[WeeklyPeriod, ...] = ()
    exceptions: tuple[DateException, ...] = ()
    chain_id: str = ""
    status: MerchantStatus = MerchantStatus.OPEN
    version: int = 0
    updated_ms: int = 0

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.time_zone, self.weekly, self.exceptions, open_when_empty=True)

    def is_open_at(self, ms: int) -> bool:
        return self.status is MerchantStatus.OPEN and self.schedule.is_open_at(ms)

    def body_json(self) -> str:
        """Everything but status, version and time: what UpsertMerchant replaces."""
        return json.dumps(
            {
                "id": self.merchant_id, "name": self.name, "cat": self.category, "lat": self.lat, "lng": self.lng,
                "tz": self.time_zone, "chain": self.chain_id,
                "weekly": [[w.day, w.start_minute, w.end_minute] for w in self.weekly],
                "ex": [[e.date.isoformat(), [[p.start_minute, p.end_minute] for p in e.periods]] for e in self.exceptions],
            },
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_redis(cls, h: dict[str, str]) -> Merchant:
        b = json.loads(h["body"])
        return cls(
            merchant_id=b["id"], name=b["name"], category=b["cat"], lat=b["lat"], lng=b["lng"], time_zone=b["tz"],
            chain_id=b["chain"], weekly=tuple(WeeklyPeriod(*w) for w in b["weekly"]),
            exceptions=tuple(
                DateException(dt.date.fromisoformat(d), tuple(Period(s, e) for s, e in ps)) for d, ps in b["ex"]
            ),
            status=MerchantStatus(h["status"]), version=int(h["version"]), updated_ms=int(h.get("updated_ms", 0)),
        )  # fmt: skip


class ItemStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True)
class Variant:
    variant_id: str
    name: str
    price_fen: int


@dataclass(frozen=True)
class CatalogItem:
    """A catalogue item; `version` is the one last read (in a sync) or the stored one."""

    item_id: str
    name: str
    category: str
    variants: tuple[Variant, ...]
    status: ItemStatus = ItemStatus.ACTIVE
    version: int = 0
    updated_ms: int = 0
    # In a branch's merged view only (never stored with the item): the chain it is inherited from, and
    # whether the branch overrides its status or a price.
    chain_id: str = ""
    overridden: bool = False

    def body(self) -> list[object]:
        """What a sync sends for this item (its fingerprint's part)."""
        return [
            self.item_id, self.name, self.category, self.status.value, self.version,
            [[v.variant_id, v.name, v.price_fen] for v in self.variants],
        ]  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.item_id, "name": self.name, "cat": self.category, "st": self.status.value, "v": self.version,
             "t": self.updated_ms, "var": [[v.variant_id, v.name, v.price_fen] for v in self.variants]},
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str) -> CatalogItem:
        d = json.loads(raw)
        return cls(
            item_id=d["id"], name=d["name"], category=d["cat"], status=ItemStatus(d["st"]), version=d["v"],
            updated_ms=d["t"], variants=tuple(Variant(*v) for v in d["var"]),
        )  # fmt: skip

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.variant_id == variant_id), None)


@dataclass(frozen=True)
class ItemOverride:
    """A branch's own availability and prices for an item of its chain's catalogue (None, absent: inherited)."""

    item_id: str
    status: ItemStatus | None = None
    prices_fen: tuple[tuple[str, int], ...] = ()  # (variant id, price)

    def to_json(self) -> str:
        return json.dumps({"st": self.status.value if self.status else None, "p": [list(p) for p in self.prices_fen]},
                          separators=(",", ":"))  # fmt: skip

    @classmethod
    def from_json(cls, item_id: str, raw: str) -> ItemOverride:
        d = json.loads(raw)
        return cls(item_id, ItemStatus(d["st"]) if d["st"] else None, tuple((v, p) for v, p in d["p"]))

    def apply(self, item: CatalogItem) -> CatalogItem:
        prices = dict(self.prices_fen)
        return replace(
            item, status=self.status or item.status, overridden=True,
            variants=tuple(Variant(v.variant_id, v.name, prices.get(v.variant_id, v.price_fen)) for v in item.variants),
        )  # fmt: skip


class StockEventKind(enum.StrEnum):
    COUNT = "count"  # a physical count: the quantity on the shelf at occurred_ms
    ADJUSTMENT = "adjustment"  # a change at the counter (received, sold, spoiled)
    SALE = "sale"  # a committed reservation (the platform's own sale)
    RETURN = "return"  # a sold reservation given back


@dataclass(frozen=True)
class StockEvent:
    event_id: str
    variant_id: str
    kind: StockEventKind
    quantity: int  # a count, or a signed change
    occurred_ms: int
    reason: str = ""

    def member(self) -> str:
        """Its ledger entry (a zset member; unique by event id)."""
        return json.dumps(
            {"id": self.event_id, "k": self.kind.value, "q": self.quantity, "t": self.occurred_ms, "r": self.reason},
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_member(cls, variant_id: str, raw: str) -> StockEvent:
        d = json.loads(raw)
        return cls(d["id"], variant_id, StockEventKind(d["k"]), d["q"], d["t"], d["r"])

    def fingerprint(self) -> str:
        return fingerprint(
            [self.event_id, self.variant_id, self.kind.value, self.quantity, self.occurred_ms, self.reason]
        )


@dataclass(frozen=True)
class StockLevel:
    variant_id: str
    on_hand: int
    reserved: int
    last_count_ms: int  # 0: never counted

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved)

    @property
    def oversold(self) -> int:
        return max(0, self.reserved - max(self.on_hand, 0))


class ReservationState(enum.StrEnum):
    HELD = "held"
    SOLD = "sold"
    RELEASED = "released"
    EXPIRED = "expired"  # never stored: a held reservation past its expiry reads as expired
    RETURNED = "returned"


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    lines: tuple[tuple[str, int], ...]  # (variant id, quantity)
    state: ReservationState
    expires_ms: int

    def seen_at(self, now_ms: int) -> Reservation:
        """The reservation as of now: a held one past its expiry is expired."""
        if self.state is ReservationState.HELD and self.expires_ms <= now_ms:
            return Reservation(self.reservation_id, self.lines, ReservationState.EXPIRED, self.expires_ms)
        return self

    @classmethod
    def from_json(cls, reservation_id: str, raw: str) -> Reservation:
        d = json.loads(raw)
        return cls(reservation_id, tuple((v, q) for v, q in d["l"]), ReservationState(d["s"]), d["e"])


@dataclass(frozen=True)
class Lot:
    lot_id: str
    variant_id: str
    quantity: int
    expires_on: dt.date

    def to_json(self) -> str:
        return json.dumps({"v": self.variant_id, "q": self.quantity, "e": self.expires_on.isoformat()})

    @classmethod
    def from_json(cls, lot_id: str, raw: str) -> Lot:
        d = json.loads(raw)
        return cls(lot_id, d["v"], d["q"], dt.date.fromisoformat(d["e"]))


@dataclass(frozen=True)
class PromotionSuggestion:
    """A markdown proposed for a lot near its expiry; the merchant may turn it into a coupon campaign
    (`campaign_id` then names it, and the suggestion is kept as it was)."""

    lot: Lot
    discount_bp: int
    price_fen: int
    created_ms: int
    campaign_id: str = ""

    @property
    def promotion_price_fen(self) -> int:
        # Rounded down to the fen: the customer never pays more than the advertised discount.
        return self.price_fen * (10_000 - self.discount_bp) // 10_000

    def to_json(self) -> str:
        d = {"lot": self.lot.lot_id, "v": self.lot.variant_id, "q": self.lot.quantity,
             "e": self.lot.expires_on.isoformat(), "bp": self.discount_bp, "p": self.price_fen, "t": self.created_ms}  # fmt: skip
        if self.campaign_id:
            d["c"] = self.campaign_id
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> PromotionSuggestion:
        d = json.loads(raw)
        lot = Lot(d["lot"], d["v"], d["q"], dt.date.fromisoformat(d["e"]))
        return cls(lot, d["bp"], d["p"], d["t"], d.get("c", ""))
