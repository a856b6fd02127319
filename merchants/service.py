"""MerchantService's engine: the directory, the catalogue and the stock together, and the order center's view.

`Merchants` is what the servicer calls and what the order center uses through `OrderStockGateway`
(prices from the catalogue, stock reserved at creation and sold at payment) without importing grpc.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from core.validation import ID_MAX_CHARS, count_violation, duplicate_violations, id_violation
from core.zones import load_zone
from coupons import Campaign, Coupons, DiscountKind, Funder
from merchants.catalog import Catalog
from merchants.chains import Chains
from merchants.directory import Directory
from merchants.keys import ChainKeys, MerchantKeys
from merchants.models import (
    DEFAULT_RESERVATION_TTL_S,
    MAX_BATCH_OBJECTS,
    MAX_LINE_QUANTITY,
    MAX_PRICE_FEN,
    MAX_RESERVATION_LINES,
    CatalogItem,
    ItemOverride,
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

    def __init__(self, client: aioredis.Redis, clock: Clock, coupons: Coupons | None = None) -> None:
        self.clock = clock
        self.directory = Directory(client, clock)
        self.catalog = Catalog(client, clock)
        self.chain_catalog = Catalog(client, clock, ChainKeys)  # head offices' catalogues, inherited by branches
        self._redis = client
        self.stock = Stock(client, clock)
        # CouponService's engine as a library (campaigns made of promotion suggestions), as the order
        # center uses the ledger: whether or not this process serves CouponService.
        self.coupons = coupons or Coupons(client, clock)
        self.chains = Chains(client, clock)

    async def sync_catalog(
        self, merchant_id: str, idempotency_key: str, items: Sequence[CatalogItem]
    ) -> tuple[list[CatalogItem], bool]:
        await self.directory.known(merchant_id)
        return await self.catalog.sync(merchant_id, idempotency_key, items)

    # A chain's head-office catalogue -----------------------------------------------------------

    async def sync_chain_catalog(
        self, chain_id: str, idempotency_key: str, items: Sequence[CatalogItem]
    ) -> tuple[list[CatalogItem], bool]:
        """A POS batch of the head office's catalogue (the same rules as a merchant's); then every branch
        knows the new variants, so its stock and checkouts may name them."""
        raise_if([id_violation("chain_id", chain_id)])
        stored, replayed = await self.chain_catalog.sync(chain_id, idempotency_key, items)
        for branch_id in await self.directory.branches(chain_id):
            await self._adopt(branch_id, stored)
        return stored, replayed

    async def adopt_chain(self, merchant: Merchant) -> None:
        """A merchant naming a chain inherits its catalogue's variants (after the merchant is stored)."""
        if merchant.chain_id:
            await self._adopt(merchant.merchant_id, await self.chain_catalog.items(merchant.chain_id))

    async def _adopt(self, branch_id: str, items: Sequence[CatalogItem]) -> None:
        """Maps the chain's variants to their items in the branch's variant index, unless the branch's own
        catalogue already uses the id (its own item wins); idempotent."""
        pairs = [(v.variant_id, it.item_id) for it in items for v in it.variants]
        if not pairs:
            return
        key = MerchantKeys(branch_id).variants
        async with self._redis.pipeline(transaction=True, shard_hint=key) as pipe:
            for variant_id, item_id in pairs:
                pipe.hsetnx(key, variant_id, item_id)
            await pipe.execute()

    async def catalog_view(self, merchant_id: str, item_ids: Sequence[str] = ()) -> list[CatalogItem]:
        """A merchant's catalogue as its customers see it: a branch's is its chain's items, with the branch's
        overrides of status and prices, and the branch's own items (which win over the chain's of the same id).
        Read at once from the chain: a head-office price change is visible at every branch's next read."""
        own = await self.catalog.items(merchant_id, item_ids)
        merchant = await self.directory.find(merchant_id)
        if merchant is None or not merchant.chain_id:
            return own
        inherited = await self.chain_catalog.items(merchant.chain_id, item_ids)
        overrides = await self.overrides(merchant_id, [it.item_id for it in inherited])
        merged = {it.item_id: replace(it, chain_id=merchant.chain_id) for it in inherited}
        for item_id, o in overrides.items():
            if item_id in merged:
                merged[item_id] = o.apply(merged[item_id])
        merged.update({it.item_id: it for it in own})
        return sorted(merged.values(), key=lambda it: it.item_id)

    async def overrides(self, merchant_id: str, item_ids: Sequence[str]) -> dict[str, ItemOverride]:
        if not item_ids:
            return {}
        raws = await self._redis.hmget(MerchantKeys(merchant_id).overrides, list(item_ids))
        return {i: ItemOverride.from_json(i, r) for i, r in zip(item_ids, raws, strict=True) if r is not None}

    async def set_overrides(self, merchant_id: str, overrides: Sequence[ItemOverride], cleared: Sequence[str]) -> None:
        """A branch's own status and prices for items of its chain's catalogue (each override replaces the item's
        previous one; `cleared` items go back to the chain's). Checked whole, then written in one step."""
        bad: list[FieldViolation | None] = [
            count_violation("overrides", [*overrides, *cleared], MAX_BATCH_OBJECTS, min_items=1)
        ]
        raise_if(bad)
        merchant = await self.directory.known(merchant_id)
        if not merchant.chain_id:
            raise InvalidArgument.field(
                "merchant_id", f"merchant {merchant_id} is no chain's branch: nothing to override"
            )
        ids = [o.item_id for o in overrides]
        bad += [id_violation(f"overrides[{i}].item_id", o.item_id) for i, o in enumerate(overrides)]
        bad += [id_violation(f"cleared_item_ids[{i}]", c) for i, c in enumerate(cleared)]
        bad += duplicate_violations("overrides", ids, ".item_id")
        raise_if(bad)
        chain_items = {it.item_id: it for it in await self.chain_catalog.items(merchant.chain_id, ids)}
        out: list[FieldViolation] = []
        for i, o in enumerate(overrides):
            item = chain_items.get(o.item_id)
            if item is None:
                out.append(
                    FieldViolation(
                        f"overrides[{i}].item_id", f"no item {o.item_id} in chain {merchant.chain_id}'s catalogue"
                    )
                )
                continue
            if o.status is None and not o.prices_fen:
                out.append(FieldViolation(f"overrides[{i}]", "overrides nothing: give a status or prices"))
            out += duplicate_violations(f"overrides[{i}].prices", (v for v, _ in o.prices_fen), ".variant_id")
            for j, (variant_id, price) in enumerate(o.prices_fen):
                if item.variant(variant_id) is None:
                    out.append(
                        FieldViolation(
                            f"overrides[{i}].prices[{j}].variant_id", f"no variant {variant_id} of {o.item_id}"
                        )
                    )
                if not 1 <= price <= MAX_PRICE_FEN:
                    out.append(
                        FieldViolation(f"overrides[{i}].prices[{j}].price_fen", f"must be within [1, {MAX_PRICE_FEN}]")
                    )
        if out:
            raise InvalidArgument(out)
        key = MerchantKeys(merchant_id).overrides
        async with self._redis.pipeline(transaction=True, shard_hint=key) as pipe:
            if cleared:
                pipe.hdel(key, *cleared)
            if overrides:
                pipe.hset(key, mapping={o.item_id: o.to_json() for o in overrides})
            await pipe.execute()

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
        prices = {v.variant_id: v.price_fen for it in await self.catalog_view(merchant_id) for v in it.variants}
        return await self.stock.suggest_promotions(
            merchant_id, today, within_days or DEFAULT_PROMOTION_WINDOW_DAYS, prices
        )

    async def promote(self, merchant_id: str, suggestion_id: str) -> tuple[PromotionSuggestion, Campaign, bool]:
        """Turns a promotion suggestion into a coupon campaign of the merchant (the lot's item, the suggested
        discount, valid from the suggestion until the end of the lot's expiry date in the merchant's zone)
        and marks the suggestion used. Idempotent on the suggestion: the campaign is a function of the
        suggestion, so a retry, or a retry after a crash between the two steps, makes the same one.
        Returns the suggestion, its campaign and whether this call created the campaign."""
        raise_if([id_violation("suggestion_id", suggestion_id)])
        merchant = await self.directory.known(merchant_id)
        for _ in range(3):  # a suggestion remade between the read and the mark is read again
            suggestion = await self.stock.promotion(merchant_id, suggestion_id)
            if suggestion is None:
                raise NotFound(f"no promotion suggestion {suggestion_id} of merchant {merchant_id}")
            campaign = await self._campaign_of(merchant_id, merchant.time_zone, suggestion)
            if suggestion.campaign_id:
                break
            if campaign.valid_until_ms <= self.clock.now_ms():
                raise FailedPrecondition(f"lot {suggestion_id} expired on {suggestion.lot.expires_on}")
            outcome = await self.stock.mark_promotion_used(suggestion, merchant_id, campaign.campaign_id)
            if outcome != "changed":
                suggestion = await self.stock.promotion(merchant_id, suggestion_id) or suggestion
                break
        else:
            raise FailedPrecondition(f"promotion suggestion {suggestion_id} keeps changing; try again")
        stored, created = await self.coupons.create_campaign(campaign)
        return suggestion, stored, created

    async def _campaign_of(self, merchant_id: str, time_zone: str, s: PromotionSuggestion) -> Campaign:
        """The campaign a suggestion makes: percent off the lot's item, one coupon per unit of the lot, the
        lot's whole markdown as both one coupon's cap and the campaign's budget."""
        (item_id,) = await self.catalog.item_of_variants(merchant_id, [s.lot.variant_id])
        if item_id is None:
            raise FailedPrecondition(f"variant {s.lot.variant_id} of lot {s.lot.lot_id} left the catalogue")
        campaign_id = s.campaign_id or f"promo:{merchant_id}:{s.lot.lot_id}"
        if len(campaign_id) > ID_MAX_CHARS:
            digest = hashlib.blake2b(f"{merchant_id}|{s.lot.lot_id}".encode(), digest_size=16).hexdigest()
            campaign_id = f"promo:{digest}"
        day_after = s.lot.expires_on + dt.timedelta(days=1)
        # The first instant of the local day after the expiry date (a midnight in a DST gap maps forward).
        until = dt.datetime(day_after.year, day_after.month, day_after.day, tzinfo=load_zone(time_zone))
        markdown_fen = (s.price_fen - s.promotion_price_fen) * s.lot.quantity
        return Campaign(
            campaign_id=campaign_id, merchant_id=merchant_id, kind=DiscountKind.PERCENT_OFF,
            valid_from_ms=s.created_ms, valid_until_ms=int(until.timestamp() * 1000), max_coupons=s.lot.quantity,
            discount_percent=s.discount_bp // 100, max_discount_fen=markdown_fen, max_amount_fen=markdown_fen,
            time_zone=time_zone, funded_by=Funder.MERCHANT, item_ids=(item_id,),
        )  # fmt: skip

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
        items = {it.item_id: it for it in await self.catalog_view(merchant_id, list({i for i, _, _ in lines}))}
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
