"""Delivery terms at checkout (issue 21): the merchant's delivery area and a signed delivery quote.

The order center sees them only through `DeliveryTerms` (served in this process by `pricing.Pricing`),
as it sees the catalogue through `CatalogueGateway`: pricing knows nothing of orders. A drop-off outside
the merchant's area (when it has one) is INVALID_ARGUMENT naming `dropoff`: the request, not the order's
state, is what is wrong, and another drop-off would do. A quote's faults — forged or altered, another
merchant's or drop-off's, expired, priced on a larger basket than the order's (its small-order line) — are
INVALID_ARGUMENT naming `delivery_quote`.
"""

from __future__ import annotations

from typing import Protocol


class QuoteView(Protocol):
    quote_id: str
    fee_fen: int
    rider_surge_fen: int
    expires_ms: int
    items_fen: int  # the basket the fee was priced on


class DeliveryTerms(Protocol):
    """What the order center needs of delivery areas and quotes."""

    async def check_dropoff(self, merchant_id: str, dropoff: object, field: str = "dropoff") -> None:
        """INVALID_ARGUMENT naming `field` when the merchant has an area and the drop-off lies outside it."""
        ...

    def check_quote(self, token: str, merchant_id: str, lat: float, lng: float, now_ms: int | None) -> QuoteView:
        """The quote's terms; INVALID_ARGUMENT naming `delivery_quote` unless it is this server's, for this
        merchant and drop-off, and (unless now_ms is None) unexpired."""
        ...
