"""MerchantService's engine: the directory, the catalogue and the stock together, and the order center's view.

`Merchants` is what the servicer calls and what the order center uses through `OrderStockGateway`
(prices from the catalogue, stock reserved at creation and sold at payment) without importing grpc.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FieldViolation, InvalidArgument
from core.validation import count_violation, duplicate_violations, id_violation
from merchants.catalog import Catalog
from merchants.chains import Chains
from merchants.directory import Directory
from merchants.models import (
    DEFAULT_RESERVATION_TTL_S,
    MAX_LINE_QUANTITY,
    MAX_RESERVATION_LINES,
    CatalogItem,
    ItemStatus,
    Lot,
    Merchant,
    MerchantStatus,
    PromotionSuggestion,
    Reservation,
    StockEvent,
    StockLevel,
)
from merchants.stock import OutOfStock, Stock
from merchants.validation import check_lot_dates, raise_if

DEFAULT_PROMOTION_WINDOW_DAYS = 3
MAX_PROMOTION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class PricedLine:
    """An order line priced from the catalogue."""

    item_id: str
    variant_id: str
    quantity: int
    unit_price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.unit_price_fen * self.quantity


class Merchants:
    """Merchants, catalogue and stock over one Redis (every merchant's keys under its own hash tag)."""

    def __init__(self, client: aioredis.Redis, clock: Clock) -> None:
        self.clock = clock
        self.directory = Directory(client, clock)
        self.catalog = Catalog(client, clock)
        self.stock = Stock(client, clock)
        self.chains = Chains(client, clock)

    async def sync_catalog(
        self, merchant_id: str, idempotency_key: str, items: Sequence[CatalogItem]
    ) -> tuple[list[CatalogItem], bool]:
        await self.directory.known(merchant_id)
        return await self.catalog.sync(merchant_id, idempotency_key, items)

    async def record_stock(
        self, merchant_id: str, events: Sequence[StockEvent], lots: Sequence[tuple[str, str, int, str]]
    ) -> tuple[list[StockLevel], int]:
        """POS counts and adjustments, and lots as sent: (lot id, variant id, quantity, expiry date text)."""
        await self.directory.known(merchant_id)
        check_lot_dates([t for *_, t in lots])
        parsed = [Lot(lot_id, v, q, dt.date.fromisoformat(t)) for lot_id, v, q, t in lots]
        return await self.stock.record(merchant_id, events, parsed)

    async def suggest_promotions(self, merchant_id: str, within_days: int) -> list[PromotionSuggestion]:
        if not 0 <= within_days <= MAX_PROMOTION_WINDOW_DAYS:
            raise InvalidArgument.field(
                "within_days", f"must be within [0, {MAX_PROMOTION_WINDOW_DAYS}] (0: the default)"
            )
        merchant = await self.directory.known(merchant_id)
        today = merchant.schedule.local_date(self.clock.now_ms())
        prices = {v.variant_id: v.price_fen for it in await self.catalog.items(merchant_id) for v in it.variants}
        return await self.stock.suggest_promotions(
            merchant_id, today, within_days or DEFAULT_PROMOTION_WINDOW_DAYS, prices
        )

    # The order center's view ---------------------------------------------------------------------

    async def price_lines(
        self, merchant_id: str, lines: Sequence[tuple[str, str, int]], field: str = "lines"
    ) -> list[PricedLine]:
        """Prices (item id, variant id, quantity) lines from the catalogue. INVALID_ARGUMENT naming the field for
        an unknown merchant, one not open now (paused, closed, or outside its hours), an unknown or paused item,
        or an unknown variant."""
        bad: list[FieldViolation | None] = [count_violation(field, lines, MAX_RESERVATION_LINES, min_items=1)]
        for i, (item_id, variant_id, quantity) in enumerate(lines):
            bad += [id_violation(f"{field}[{i}].item_id", item_id)]
            bad += [id_violation(f"{field}[{i}].variant_id", variant_id)]
            if not 1 <= quantity <= MAX_LINE_QUANTITY:
                bad.append(FieldViolation(f"{field}[{i}].quantity", f"must be within [1, {MAX_LINE_QUANTITY}]"))
        raise_if(bad)
        merchant = await self.directory.known(merchant_id)
        if not merchant.is_open_at(self.clock.now_ms()):
            why = merchant.status.value if merchant.status is not MerchantStatus.OPEN else "outside its opening hours"
            raise InvalidArgument.field("merchant_id", f"merchant {merchant_id} takes no orders now: {why}")
        items = {it.item_id: it for it in await self.catalog.items(merchant_id, list({i for i, _, _ in lines}))}
        priced: list[PricedLine] = []
        out: list[FieldViolation] = []
        for i, (item_id, variant_id, quantity) in enumerate(lines):
            item = items.get(item_id)
            if item is None:
                out.append(
                    FieldViolation(f"{field}[{i}].item_id", f"no item {item_id} in the catalogue of {merchant_id}")
                )
                continue
            if item.status is not ItemStatus.ACTIVE:
                out.append(FieldViolation(f"{field}[{i}].item_id", f"item {item_id} is paused"))
                continue
            variant = item.variant(variant_id)
            if variant is None:
                out.append(FieldViolation(f"{field}[{i}].variant_id", f"no variant {variant_id} of item {item_id}"))
                continue
            priced.append(PricedLine(item_id, variant_id, quantity, variant.price_fen))
        out += duplicate_violations(field, (p.variant_id for p in priced), ".variant_id")
        if out:
            raise InvalidArgument(out)
        return priced

    async def merchant(self, merchant_id: str) -> Merchant:
        return await self.directory.get(merchant_id)


class OrderStockGateway:
    """What the order center needs of the catalogue and stock (commerce.orders.CatalogueGateway)."""

    def __init__(self, merchants: Merchants, reservation_ttl_s: int = DEFAULT_RESERVATION_TTL_S) -> None:
        self.merchants = merchants
        self.reservation_ttl_s = reservation_ttl_s

    async def price(self, merchant_id: str, lines: Sequence[tuple[str, str, int]]) -> list[PricedLine]:
        return await self.merchants.price_lines(merchant_id, lines)

    async def reserve(self, merchant_id: str, order_id: str, lines: Sequence[PricedLine]) -> Reservation:
        """Holds the order's stock; INVALID_ARGUMENT naming the line that is out of stock."""
        try:
            return await self.merchants.stock.reserve(
                merchant_id, order_id, [(p.variant_id, p.quantity) for p in lines], self.reservation_ttl_s
            )
        except OutOfStock as exc:
            line = lines[exc.index]
            raise InvalidArgument.field(
                f"lines[{exc.index}].quantity",
                f"out of stock: {exc.available} of {line.item_id}/{line.variant_id} available, {line.quantity} asked",
            ) from None

    async def sell(self, merchant_id: str, order_id: str) -> None:
        await self.merchants.stock.commit(merchant_id, order_id)

    async def release(self, merchant_id: str, order_id: str) -> None:
        await self.merchants.stock.release(merchant_id, order_id)
