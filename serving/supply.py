"""Wiring of the supply side — MerchantService and BookingService (issue 20) — kept out of `serving.app`
so that adding them is a few lines there."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from bookings import Bookings
from bookings.api import BookingServicer
from core.clock import Clock
from coupons import Coupons
from merchants import Merchants
from merchants.api import MerchantServicer
from serving.auth import Authenticator
from tongcheng.bookings.v1 import bookings_pb2, bookings_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2, merchants_pb2_grpc

MERCHANT_SERVICE = merchants_pb2.DESCRIPTOR.services_by_name["MerchantService"].full_name
BOOKING_SERVICE = bookings_pb2.DESCRIPTOR.services_by_name["BookingService"].full_name


def add_supply(
    services: tuple[str, ...],
    client: aioredis.Redis,
    clock: Clock,
    auth: Authenticator,
    server: grpc.aio.Server | None,
    coupons: Coupons | None = None,
) -> tuple[Merchants | None, Bookings | None, list[str]]:
    """The engines of `merchants` and `bookings` when named in `services`, and their servicers on `server`
    (None: a process that serves no API); returns them with the names of the services added. `coupons` is
    the process's coupon engine, which turns promotion suggestions into campaigns."""
    merchants = Merchants(client, clock, coupons) if "merchants" in services else None
    bookings = Bookings(client, clock) if "bookings" in services else None
    served: list[str] = []
    if server is not None and merchants is not None:
        merchants_pb2_grpc.add_MerchantServiceServicer_to_server(MerchantServicer(merchants, auth), server)
        served.append(MERCHANT_SERVICE)
    if server is not None and bookings is not None:
        bookings_pb2_grpc.add_BookingServiceServicer_to_server(BookingServicer(bookings, auth), server)
        served.append(BOOKING_SERVICE)
    return merchants, bookings, served
