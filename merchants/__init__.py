"""Merchants, their catalogue and stock synced from the POS. No gRPC below `merchants.api`."""

from merchants.catalog import Catalog
from merchants.chains import ChainBranch, ChainGateway, Chains, OverflowPolicy
from merchants.directory import Directory
from merchants.keys import MerchantKeys, merchant_tag
from merchants.models import (
    MAX_BATCH_OBJECTS,
    CatalogItem,
    ItemStatus,
    Lot,
    Merchant,
    MerchantStatus,
    PromotionSuggestion,
    Reservation,
    ReservationState,
    StockEvent,
    StockEventKind,
    StockLevel,
    Variant,
)
from merchants.service import Merchants, OrderStockGateway, PricedLine
from merchants.stock import OutOfStock, Stock

__all__ = [
    "MAX_BATCH_OBJECTS",
    "Catalog",
    "CatalogItem",
    "ChainBranch",
    "ChainGateway",
    "Chains",
    "Directory",
    "ItemStatus",
    "Lot",
    "Merchant",
    "MerchantKeys",
    "MerchantStatus",
    "Merchants",
    "OrderStockGateway",
    "OutOfStock",
    "OverflowPolicy",
    "PricedLine",
    "PromotionSuggestion",
    "Reservation",
    "ReservationState",
    "Stock",
    "StockEvent",
    "StockEventKind",
    "StockLevel",
    "Variant",
    "merchant_tag",
]
