"""Bookings (预约): resources with weekly schedules, slots exact across DST, holds, confirms, waiting lists.
No gRPC below `bookings.api`."""

from bookings.models import Booking, BookingState, Resource, ResourceKind, Slot, SlotView
from bookings.service import Bookings
from bookings.slots import slot_at, slots_between

__all__ = [
    "Booking",
    "BookingState",
    "Bookings",
    "Resource",
    "ResourceKind",
    "Slot",
    "SlotView",
    "slot_at",
    "slots_between",
]
