"""Clients and builders for the merchants and bookings tests."""

from __future__ import annotations

import grpc

from serving.timestamps import ms_to_ts
from tongcheng.bookings.v1 import bookings_pb2_grpc
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2_grpc

SHANGHAI_PEOPLES_SQUARE = (31.2304, 121.4737)


class Supply:
    """A client of MerchantService, BookingService, OrderService, SettlementService and CouponService with one
    role's token."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.merchants = merchants_pb2_grpc.MerchantServiceStub(channel)
        self.bookings = bookings_pb2_grpc.BookingServiceStub(channel)
        self.orders = orders_pb2_grpc.OrderServiceStub(channel)
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
        self.coupons = coupons_pb2_grpc.CouponServiceStub(channel)
        self.md = (("authorization", f"Bearer {token}"),)


def merchant(merchant_id: str = "m1", **kw: object) -> mpb.Merchant:
    m = mpb.Merchant(
        merchant_id=merchant_id,
        name=str(kw.pop("name", "小龙虾 Crayfish House")),
        category=kw.pop("category", mpb.MERCHANT_CATEGORY_RESTAURANT),  # type: ignore[arg-type]
        location=mpb.LatLng(lat=SHANGHAI_PEOPLES_SQUARE[0], lng=SHANGHAI_PEOPLES_SQUARE[1]),
        time_zone=str(kw.pop("time_zone", "Asia/Shanghai")),
    )
    for k, v in kw.items():
        if isinstance(v, list):
            getattr(m, k).extend(v)
        else:
            setattr(m, k, v)
    return m


async def create_merchant(s: Supply, merchant_id: str = "m1", **kw: object) -> mpb.Merchant:
    reply = await s.merchants.UpsertMerchant(
        mpb.UpsertMerchantRequest(merchant=merchant(merchant_id, **kw)), metadata=s.md
    )
    return reply.merchant


def item(item_id: str, price_fen: int = 1_000, version: int = 0, variants: int = 1, **kw: object) -> mpb.CatalogItem:
    """An item with `variants` variants, named <item>-v<n>, priced price_fen + 100 n."""
    return mpb.CatalogItem(
        item_id=item_id,
        name=str(kw.pop("name", f"item {item_id}")),
        version=version,
        variants=[
            mpb.Variant(variant_id=f"{item_id}-v{n}", name=f"size {n}", price_fen=price_fen + 100 * n)
            for n in range(variants)
        ],
        **kw,  # type: ignore[arg-type]
    )


async def sync(s: Supply, merchant_id: str, key: str, *items: mpb.CatalogItem) -> mpb.SyncCatalogResponse:
    return await s.merchants.SyncCatalog(
        mpb.SyncCatalogRequest(merchant_id=merchant_id, idempotency_key=key, items=list(items)), metadata=s.md
    )


def count(event_id: str, variant_id: str, quantity: int, at_ms: int) -> mpb.StockEvent:
    return mpb.StockEvent(
        event_id=event_id, variant_id=variant_id, kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT, quantity=quantity,
        occurred_at=ms_to_ts(at_ms),
    )  # fmt: skip


def adjust(event_id: str, variant_id: str, delta: int, at_ms: int, reason: str = "") -> mpb.StockEvent:
    return mpb.StockEvent(
        event_id=event_id, variant_id=variant_id, kind=mpb.STOCK_EVENT_KIND_ADJUSTMENT, quantity=delta,
        occurred_at=ms_to_ts(at_ms), reason=reason,
    )  # fmt: skip


async def record(s: Supply, merchant_id: str, *events: mpb.StockEvent, lots: list[mpb.StockLot] | None = None):  # type: ignore[no-untyped-def]
    return await s.merchants.RecordStockEvents(
        mpb.RecordStockEventsRequest(merchant_id=merchant_id, events=list(events), lots=lots or []), metadata=s.md
    )


async def level(s: Supply, merchant_id: str, variant_id: str) -> mpb.StockLevel:
    reply = await s.merchants.GetStock(
        mpb.GetStockRequest(merchant_id=merchant_id, variant_ids=[variant_id]), metadata=s.md
    )
    return reply.levels[0]
