"""Replenishment hints: a merchant whose forecast demand for an item category over the coming hours exceeds
what it has on the shelf is told to restock, with the numbers behind it.

Item-level demand = the merchant's forecast orders over the horizon (`DemandForecast.merchants`) x the
category's units per order in the merchant's own sales history: the units of the category's variants its
platform sales sold (sale events of the stock ledger, less the returns of those sales) over the last
`history_days`, divided by the orders behind those sales (distinct reservations sold). A category the
merchant sold nothing of has no demand to forecast, and gets no hint. On hand is what is available now
(on hand less live reservations) over the category's variants. Cover = on hand / (forecast units per
hour), over the `horizon_h` hours from the next 15-minute slot. A hint is made when the forecast units exceed on hand, and suggests the difference, rounded up.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from core.errors import FieldViolation, InvalidArgument
from forecast.slots import SLOT_MS
from forecast.store import DemandForecast
from merchants import Merchants
from merchants.keys import MerchantKeys
from merchants.models import StockEvent, StockEventKind

__all__ = ["MAX_HORIZON_H", "RestockSuggestion", "restock_suggestions", "suggest_restock"]

MAX_HORIZON_H = 24
DEFAULT_HORIZON_H = 4
DEFAULT_HISTORY_DAYS = 28
# Ledger events read per variant within the history (the oldest first): weeks of a busy counter's sales.
LEDGER_EVENTS_READ = 5_000


@dataclass(frozen=True)
class RestockSuggestion:
    """Restock `category`: `forecast_units` expected over the next `horizon_h` hours (`expected_orders` of
    the merchant x `units_per_order` of the category) against `on_hand` available; `cover_h` hours of cover
    at that rate; `suggested_units` to add."""

    category: str
    horizon_h: int
    expected_orders: float
    units_per_order: float
    forecast_units: float
    on_hand: int
    cover_h: float
    suggested_units: int
    created_ms: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> RestockSuggestion:
        return cls(**json.loads(raw))


async def suggest_restock(
    client: aioredis.Redis, merchants: Merchants, forecast_of: Callable[[float, float], Awaitable[DemandForecast | None]],
    merchant_id: str, now_ms: int, horizon_h: int = DEFAULT_HORIZON_H, history_days: int = DEFAULT_HISTORY_DAYS,
) -> list[RestockSuggestion]:  # fmt: skip
    """The merchant's restock suggestions now (stored in place of its earlier ones; categories covered
    again lose theirs). `forecast_of(lat, lng)` gives the demand forecast of the merchant's zone."""
    if not 1 <= horizon_h <= MAX_HORIZON_H:
        raise InvalidArgument([FieldViolation("horizon_hours", f"must be within 1..{MAX_HORIZON_H}")])
    merchant = await merchants.directory.known(merchant_id)
    items = await merchants.catalog.items(merchant_id)
    category_of = {v.variant_id: item.category for item in items for v in item.variants}
    variants = sorted(category_of)
    since_ms = now_ms - history_days * 86_400_000
    units: dict[str, int] = defaultdict(int)
    sold_orders: set[str] = set()
    sold: dict[tuple[str, str], int] = {}
    returned: dict[tuple[str, str], int] = {}
    # Every variant's newest ledger events in one round trip (the merchant's keys share its slot).
    async with client.pipeline(transaction=False) as pipe:
        for v in variants:
            pipe.zrangebyscore(MerchantKeys(merchant_id).ledger(v), since_ms, "+inf", start=0, num=LEDGER_EVENTS_READ)
        ledgers = await pipe.execute()
    for v, raw in zip(variants, ledgers, strict=True):
        for e in (StockEvent.from_member(v, m) for m in raw):
            if e.kind is StockEventKind.SALE:
                sold[(v, e.reason)] = -e.quantity
                sold_orders.add(e.reason)
            elif e.kind is StockEventKind.RETURN:
                returned[(v, e.reason)] = e.quantity
    for (v, order), qty in sold.items():
        units[category_of[v]] += max(0, qty - returned.get((v, order), 0))
    levels = await merchants.stock.levels(merchant_id, variants) if variants else []
    on_hand: dict[str, int] = defaultdict(int)
    for level in levels:
        on_hand[category_of[level.variant_id]] += level.available
    made: list[RestockSuggestion] = []
    fc = await forecast_of(merchant.lat, merchant.lng)
    if fc is not None and sold_orders:
        slots = math.ceil(horizon_h * 3_600_000 / SLOT_MS)
        # From the next slot on: the current one's orders are still coming in (the forecast counts a slot once
        # it is complete), and a restock takes some time anyway.
        got = await fc.merchants([merchant_id], now_ms + SLOT_MS, slots)
        expected = got[0].total if got else 0.0
        for category in sorted(units):
            per_order = units[category] / len(sold_orders)
            need = expected * per_order
            have = on_hand[category]
            if need > have and need > 0:
                cover_h = have / (need / horizon_h)
                made.append(RestockSuggestion(
                    category, horizon_h, round(expected, 3), round(per_order, 4), round(need, 2), have,
                    round(cover_h, 2), math.ceil(need - have), now_ms,
                ))  # fmt: skip
    # Beside the merchant's promotion suggestions, under its hash tag; replaced as a whole.
    key = MerchantKeys(merchant_id).restock
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if made:
            pipe.hset(key, mapping={s.category: s.to_json() for s in made})
        await pipe.execute()
    return made


async def restock_suggestions(
    client: aioredis.Redis, merchants: Merchants, merchant_id: str
) -> list[RestockSuggestion]:
    """The merchant's stored restock suggestions, by category."""
    await merchants.directory.known(merchant_id)
    raw = await client.hgetall(MerchantKeys(merchant_id).restock)
    return sorted((RestockSuggestion.from_json(v) for v in raw.values()), key=lambda s: s.category)
