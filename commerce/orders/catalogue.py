"""Orders of catalogue lines (issue 20): prices from the merchant's catalogue, stock reserved at creation,
sold at payment, given back at cancellation.

The order center sees the catalogue and stock only through `CatalogueGateway` (served in this process by
`merchants.OrderStockGateway`), as it sees dispatch through `DeliveryGateway`: the merchants package
knows nothing of orders. Stock lives under the merchant's hash tag and orders under `{money}`, so a
creation is two steps, each idempotent on the order id: reserve (the reservation id is the order id),
then store the order. A crash between them leaves a reservation without an order, which expires by
itself; a retried CreateOrder finds it and goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from commerce.orders.models import OrderLine

log = logging.getLogger("tongcheng.orders")


class PricedLine(Protocol):
    item_id: str
    variant_id: str
    quantity: int
    unit_price_fen: int


class CatalogueGateway(Protocol):
    """What the order center needs of the merchants' catalogue and stock."""

    async def price(self, merchant_id: str, lines: Sequence[tuple[str, str, int]]) -> Sequence[PricedLine]:
        """Prices (item, variant, quantity) lines; INVALID_ARGUMENT naming `lines[i]...` or `merchant_id`."""
        ...

    async def reserve(self, merchant_id: str, order_id: str, lines: Sequence[PricedLine]) -> object:
        """Holds the lines' stock under the order id (idempotent); INVALID_ARGUMENT naming the short line."""
        ...

    async def sell(self, merchant_id: str, order_id: str) -> None:
        """The order's reservation becomes a sale (idempotent)."""
        ...

    async def release(self, merchant_id: str, order_id: str) -> None:
        """Gives the order's stock back, held or sold (idempotent)."""
        ...


def priced_lines(priced: Sequence[PricedLine]) -> tuple[OrderLine, ...]:
    return tuple(OrderLine(p.item_id, p.variant_id, p.quantity, p.unit_price_fen) for p in priced)


async def release_quietly(catalogue: CatalogueGateway, merchant_id: str, order_id: str) -> None:
    """Gives an order's stock back after its cancellation is stored; a failure is logged, not raised: the
    cancellation stands, a held reservation expires by itself and a retried cancel releases again."""
    try:
        await catalogue.release(merchant_id, order_id)
    except Exception as exc:
        log.warning("order %s cancelled but its stock was not given back: %s", order_id, exc)
