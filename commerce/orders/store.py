"""Orders in Redis: idempotent creation and every status change as one compare-and-set script.

A change reads the order, checks the step against `commerce.orders.flow`, and writes under the version
it read: a script writes only if the version is unchanged (else the caller reads again). Payment also
enters the order in the unsplit set (the ledger takes it out when the split is posted) and in the list
of paid orders the reconciliation walks.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from commerce.orders.models import Order, OrderEvent, Refund
from core.errors import NotFound
from settlement.keys import MoneyKeys

# How long a merchant's index of orders keeps an order: its dashboard shows today's and the statement days
# before; older orders stay readable by id.
MERCHANT_ORDERS_KEPT_DAYS = 35

# Creates an order unless its id exists; returns the stored fingerprint either way. The merchant's index of
# orders (its dashboard's list) gains it and drops what is older than it keeps.
# KEYS: order, history, merchant's orders. ARGV: history event, field, value, ...
_CREATE_LUA = """
local existing = redis.call('HGET', KEYS[1], 'fingerprint')
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('RPUSH', KEYS[2], ARGV[1])
local created = tonumber(redis.call('HGET', KEYS[1], 'created_ms'))
redis.call('ZADD', KEYS[3], created, redis.call('HGET', KEYS[1], 'order_id'))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (created - KEPT_MS))
return {1, redis.call('HGET', KEYS[1], 'fingerprint')}
""".replace("KEPT_MS", str(MERCHANT_ORDERS_KEPT_DAYS * 86_400_000))

# A status change under the version read. KEYS: order, history. ARGV: version, history event, field, value, ...
_CHANGE_LUA = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
"""

# Payment: the status change plus the unsplit set and the paid orders. KEYS: order, history, unsplit,
# paid. ARGV: version, history event, paid_at_ms, order id, field, value, ...
_PAY_LUA = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
return 1
"""


# Lets go of a creation's claim if it is still this call's. KEYS: claim. ARGV: token.
_UNCLAIM_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _flat(fields: dict[str, str]) -> list[str]:
    out: list[str] = []
    for k, v in fields.items():
        out += [k, v]
    return out


class OrderStore:
    """The order center's orders."""

    def __init__(self, client: aioredis.Redis, keys: MoneyKeys) -> None:
        self._redis = client
        self.keys = keys
        self._create = client.register_script(_CREATE_LUA)
        self._change = client.register_script(_CHANGE_LUA)
        self._pay = client.register_script(_PAY_LUA)
        self._unclaim = client.register_script(_UNCLAIM_LUA)

    async def claim_creation(self, order_id: str, token: str, ttl_ms: int) -> bool:
        """Takes the right to decide and store a new order (one call at a time per order id) for ttl_ms;
        False while another call holds it."""
        return bool(await self._redis.set(self.keys.order_claim(order_id), token, nx=True, px=ttl_ms))

    async def release_creation(self, order_id: str, token: str) -> None:
        """Lets go of the claim if it is still this call's (a claim that outlived its time may be another's)."""
        await self._unclaim(keys=[self.keys.order_claim(order_id)], args=[token])

    async def create(self, order: Order, event: OrderEvent) -> tuple[bool, str]:
        """Stores the order unless its id exists; returns (created, stored fingerprint)."""
        oid = order.order_id
        created, fingerprint = await self._create(
            keys=[
                self.keys.order(oid),
                self.keys.order_history(oid),
                self.keys.orders_of_merchant(order.spec.merchant_id),
            ],
            args=[event.to_json(), *_flat(order.to_redis())],
        )
        return bool(created), fingerprint

    async def find(self, order_id: str) -> Order | None:
        raw = await self._redis.hgetall(self.keys.order(order_id))
        return Order.from_redis(raw) if raw else None

    async def get(self, order_id: str) -> Order:
        order = await self.find(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        return order

    async def find_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hgetall(self.keys.order(oid))
            raws = await pipe.execute()
        return {oid: Order.from_redis(raw) for oid, raw in zip(order_ids, raws, strict=True) if raw}

    async def history(self, order_id: str) -> list[OrderEvent]:
        return [OrderEvent.from_json(e) for e in await self._redis.lrange(self.keys.order_history(order_id), 0, -1)]

    async def change(self, before: Order, after: Order, event: OrderEvent) -> bool:
        """Writes `after` if the order is still at `before`'s version; False if it moved meanwhile."""
        oid = after.order_id
        fields = _changed_fields(before, after)
        return bool(
            await self._change(
                keys=[self.keys.order(oid), self.keys.order_history(oid)],
                args=[str(before.version), event.to_json(), *_flat(fields)],
            )
        )

    async def pay(self, before: Order, after: Order, event: OrderEvent) -> bool:
        keys, args = self.pay_call(before, after, event)
        return bool(await self._pay(keys=keys, args=args))

    def pay_call(self, before: Order, after: Order, event: OrderEvent) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of the payment (_PAY_LUA; checkout's script takes the same)."""
        oid = after.order_id
        return (
            [self.keys.order(oid), self.keys.order_history(oid), self.keys.unsplit, self.keys.orders_paid],
            [str(before.version), event.to_json(), after.paid_at_ms, oid, *_flat(_changed_fields(before, after))],
        )

    async def set_delivery(self, order_id: str, dispatch_status: str, rider_id: str, in_delivery: bool) -> None:
        """Mirrors dispatch's view of the order (not a status change: no version bump)."""
        # shard_hint: on a Redis Cluster the transaction runs on the node of the money slot (serving.redis_cluster).
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.order(order_id)) as pipe:
            pipe.hset(self.keys.order(order_id), mapping={"dispatch_status": dispatch_status, "rider_id": rider_id})
            if in_delivery:
                pipe.sadd(self.keys.orders_in_delivery, order_id)
            else:
                pipe.srem(self.keys.orders_in_delivery, order_id)
            await pipe.execute()

    async def in_delivery(self) -> list[str]:
        return list(await self._redis.smembers(self.keys.orders_in_delivery))

    async def refund_record(self, order_id: str, key: str) -> tuple[str, Refund] | None:
        """(fingerprint, refund) stored under a refund key, if any."""
        raw = await self._redis.hget(self.keys.order_refunds(order_id), key)
        if raw is None:
            return None
        fingerprint, _, record = raw.partition("|")
        return fingerprint, Refund.from_json(key, record)

    async def refunds(self, order_id: str) -> list[Refund]:
        raw = await self._redis.hgetall(self.keys.order_refunds(order_id))
        return [Refund.from_json(k, v.partition("|")[2]) for k, v in raw.items()]

    async def merchant_order_ids(self, merchant_id: str, from_ms: int, to_ms: int, limit: int = 500) -> list[str]:
        """The merchant's orders created in [from_ms, to_ms), newest first, at most `limit`."""
        return list(
            await self._redis.zrevrangebyscore(
                self.keys.orders_of_merchant(merchant_id), f"({to_ms}", from_ms, start=0, num=limit
            )
        )

    async def paid_order_ids(self, from_ms: int | None = None, to_ms: int | None = None) -> list[str]:
        lo = "-inf" if from_ms is None else from_ms
        hi = "+inf" if to_ms is None else f"({to_ms}"
        return list(await self._redis.zrangebyscore(self.keys.orders_paid, lo, hi))


def _changed_fields(before: Order, after: Order) -> dict[str, str]:
    b, a = before.to_redis(), after.to_redis()
    return {k: v for k, v in a.items() if b.get(k) != v}
