"""Bookings (预约): resources with weekly schedules, slots exact across DST, holds, confirms, waiting lists.
No gRPC below `bookings.api`."""

from bookings.models import Booking, BookingState, PaymentKind, Resource, ResourceKind, Slot, SlotView
from bookings.payments import BookingOrderGateway, OrderDesk, booking_order_id
from bookings.service import Bookings
from bookings.slots import slot_at, slots_between

__all__ = [
    "Booking",
    "BookingOrderGateway",
    "BookingState",
    "Bookings",
    "OrderDesk",
    "PaymentKind",
    "Resource",
    "ResourceKind",
    "Slot",
    "SlotView",
    "booking_order_id",
    "slot_at",
    "slots_between",
]
