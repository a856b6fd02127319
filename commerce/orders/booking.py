"""Orders that pay for a booked slot (issue 20): a deposit or the full price, no delivery.

The order center sees bookings only through `BookingGateway` (served in this process by
`bookings.BookingOrderGateway`), as it sees the catalogue through `CatalogueGateway`: the amount of a
booking order must be the booked resource's deposit or price, and its customer the booking's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from commerce.orders.flow import OrderKind, Step
from commerce.orders.models import NewOrder, Order

if TYPE_CHECKING:
    from commerce.orders.center import OrderCenter


@dataclass(frozen=True)
class BookingTerms:
    """What a booking costs: its customer, the resource's deposit (0: none) and full price (0: not paid online),
    and the one order id that may pay for it (so a booking is never paid by two orders)."""

    customer_id: str
    deposit_fen: int
    price_fen: int
    order_id: str

    def amounts_fen(self) -> tuple[int, ...]:
        return tuple(a for a in (self.deposit_fen, self.price_fen) if a)


class BookingGateway(Protocol):
    async def terms(self, merchant_id: str, booking_id: str) -> BookingTerms:
        """The booking's terms; INVALID_ARGUMENT naming `booking_id` for an unknown booking."""
        ...


class BookingOrderDesk:
    """What BookingService asks of the order center (`bookings.payments.OrderDesk`): a booking's order
    created and paid, then ended by its booking's cancel, no-show or completion. Each step is idempotent
    on the order id, which is a function of the booking."""

    def __init__(self, center: OrderCenter) -> None:
        self.center = center

    async def pay_booking(
        self, merchant_id: str, booking_id: str, order_id: str, amount_fen: int, payment_id: str
    ) -> Order:
        new = NewOrder(
            order_id=order_id, merchant_id=merchant_id, items_fen=amount_fen, delivery_fee_fen=0,
            pickup_lat=0.0, pickup_lng=0.0, dropoff_lat=0.0, dropoff_lng=0.0, kind=OrderKind.BOOKING,
            booking_id=booking_id,
        )  # fmt: skip
        await self.center.create(new)
        return await self.center.pay(order_id, payment_id, amount_fen)

    async def find(self, order_id: str) -> Order | None:
        return await self.center.store.find(order_id)

    async def end_booking(self, order_id: str, step: Step, keep_fen: int, note: str) -> Order:
        return await self.center.step(order_id, step, note, keep_fen=keep_fen, for_booking=True)
