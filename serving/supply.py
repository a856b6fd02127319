"""Wiring of the supply side — MerchantService and BookingService — kept out of `serving.app` so that
adding them is a few lines there."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from core.clock import Clock
from merchants import Merchants
from merchants.api import MerchantServicer
from serving.auth import Authenticator
from tongcheng.merchants.v1 import merchants_pb2, merchants_pb2_grpc

MERCHANT_SERVICE = merchants_pb2.DESCRIPTOR.services_by_name["MerchantService"].full_name


def add_merchants(
    client: aioredis.Redis, clock: Clock, auth: Authenticator, server: grpc.aio.Server | None
) -> tuple[Merchants, list[str]]:
    """The merchants engine, and its servicer on `server` (None: a process that serves no API)."""
    merchants = Merchants(client, clock)
    if server is None:
        return merchants, []
    merchants_pb2_grpc.add_MerchantServiceServicer_to_server(MerchantServicer(merchants, auth), server)
    return merchants, [MERCHANT_SERVICE]
