"""A booking's payment through the order center (issue 20): a deposit or the full price of the booked resource.

A confirm with a payment creates and pays the booking's order (kind BOOKING: no delivery, never handed to
dispatch), then confirms the booking recording the order's id. The order id is a function of the booking, so
every step is idempotent on the booking and a retried confirm finishes what a failure interrupted. The
booking's end ends its order: a cancel refunds it (in full up to the resource's free-cancel time, less the
deposit after it), a no-show keeps the deposit and refunds the rest, a completion completes it (points then
become available, as for any order). The order center reaches bookings back only through
`BookingOrderGateway` (`commerce.orders.booking.BookingGateway`), for the terms it checks an amount against.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from commerce.orders.booking import BookingTerms
from commerce.orders.flow import Step
from commerce.orders.models import Order
from core.errors import InvalidArgument
from core.validation import ID_MAX_CHARS

if TYPE_CHECKING:
    from bookings.service import Bookings


def booking_order_id(merchant_id: str, booking_id: str) -> str:
    """The order paying for a booking: one per booking, so a retried confirm pays the same order."""
    readable = f"bk:{merchant_id}:{booking_id}"
    if len(readable) <= ID_MAX_CHARS:
        return readable
    return "bk:" + hashlib.blake2b(f"{merchant_id}|{booking_id}".encode(), digest_size=16).hexdigest()


class OrderDesk(Protocol):
    """What bookings need of the order center (served by `commerce.orders.booking.BookingOrderDesk`)."""

    async def pay_booking(
        self, merchant_id: str, booking_id: str, order_id: str, amount_fen: int, payment_id: str
    ) -> Order: ...

    async def find(self, order_id: str) -> Order | None: ...

    async def end_booking(self, order_id: str, step: Step, keep_fen: int, note: str) -> Order: ...


class BookingOrderGateway:
    """The order center's view of bookings: a booking's customer and its resource's deposit and price."""

    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def terms(self, merchant_id: str, booking_id: str) -> BookingTerms:
        raw = await self.bookings.store.find_raw(merchant_id, booking_id)
        if raw is None:
            raise InvalidArgument.field("booking_id", f"no booking {booking_id} of merchant {merchant_id}")
        b = await self.bookings._read(merchant_id, booking_id)
        r = await self.bookings.store.find_resource(merchant_id, b.resource_id)
        if r is None:
            raise InvalidArgument.field("booking_id", f"booking {booking_id}'s resource is gone")
        return BookingTerms(b.customer_id, r.deposit_fen, r.price_fen, booking_order_id(merchant_id, booking_id))
