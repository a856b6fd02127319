"""Redis key names of bookings: under the merchant's hash tag `{m:<merchant_id>}`, beside its catalogue.

A merchant's resources, slots, waiting lists and bookings share one slot, so a reschedule from one of its
resources to another is one script, and its bookings never contend with another merchant's.
"""

from __future__ import annotations

import zlib

from merchants.keys import merchant_tag

# Shards of the sweeper's index of merchants with due slots: a few keys, so no one key takes every
# registration, and few enough that a pass reads them all.
DUE_SHARDS = 8


class BookingKeys:
    """The booking keys of one merchant."""

    def __init__(self, merchant_id: str) -> None:
        self.prefix = f"tc:{merchant_tag(merchant_id)}:bk:"

    def resource(self, resource_id: str) -> str:
        """hash: body (JSON), version, capacity, offer_ms."""
        return f"{self.prefix}resource:{resource_id}"

    @property
    def resources(self) -> str:
        """set: the merchant's resource ids."""
        return f"{self.prefix}resources"

    @property
    def bookings(self) -> str:
        """hash: booking id -> JSON (resource, start, end, customer, state, hold expiry, fingerprint)."""
        return f"{self.prefix}bookings"

    def slot(self, resource_id: str, start_ms: int) -> str:
        """zset: booking id -> hold or offer expiry (ms), or CONFIRMED_SCORE: who takes a place in the slot."""
        return f"{self.prefix}slot:{resource_id}:{start_ms}"

    def waitlist(self, resource_id: str, start_ms: int) -> str:
        """list: waiting booking ids, first in line first."""
        return f"{self.prefix}wait:{resource_id}:{start_ms}"

    def index(self, resource_id: str) -> str:
        """zset: slot starts of the resource that ever had a booking (what availability and capacity checks read)."""
        return f"{self.prefix}index:{resource_id}"

    @property
    def due(self) -> str:
        """zset: `<resource id>|<slot start ms>` -> when the slot's earliest hold or offer runs out while people
        wait on its list (what the sweeper reads)."""
        return f"{self.prefix}due"


def due_shard_key_of(shard: int) -> str:
    """zset: merchant id -> when the sweeper should next read the merchant's due index."""
    return f"tc:{{bkdue:{shard}}}:merchants"


def due_shard_key(merchant_id: str) -> str:
    return due_shard_key_of(zlib.crc32(merchant_id.encode()) % DUE_SHARDS)
