"""Orders in Redis: idempotent creation, the pending pool, and every status change as one transaction.

An order is a hash; its history a list; the pool of undecided orders a sorted set by placement time;
open offers a sorted set by expiry. A step (order_flow.Step) runs under WATCH/MULTI: the order (and,
for an assignment, the rider's task set) is read, the transition checked, and every write — order,
history, pool, rider tasks, rider feed — committed together or not at all. Every transaction's
`shard_hint` is the zone's slot key: on a Redis Cluster it runs on the node serving the zone
(`serving.redis_cluster`); one Redis ignores it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from core.geo import LatLng
from dispatch.keys import ZoneKeys
from dispatch.lease import Fence, LeaseLost
from dispatch.models import (
    OrderEvent,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    TaskEvent,
    TaskEventType,
)
from dispatch.order_flow import TRANSITIONS, Step

# Creates a batch of orders, those whose ids are new, in one call: the orders travel as one JSON argument
# (profiled under bench.load: packing some twenty-five arguments an order, and a read of every
# fingerprint before, were a third of an intake process's time). Every id is checked before anything is
# written: one held under another body refuses the whole batch. The keys share the zone's hash tag.
_CREATE_MANY_LUA = """
-- KEYS: pending pool. ARGV: key prefix, history event (JSON), orders (JSON [[id, placed ms, fingerprint,
-- {field: value}], ...]). Returns {0, positions of clashing ids} or {1, per order 1 created / 0 existed}.
local prefix = ARGV[1]
local orders = cjson.decode(ARGV[3])
local stored = {}
local clashes = {}
for i, o in ipairs(orders) do
  local fp = redis.call('HGET', prefix .. 'order:' .. o[1], 'fingerprint')
  stored[i] = fp
  if fp and fp ~= o[3] then clashes[#clashes + 1] = i end
end
if #clashes > 0 then return {0, clashes} end
local created = {}
for i, o in ipairs(orders) do
  if stored[i] then
    created[i] = 0
  else
    local key = prefix .. 'order:' .. o[1]
    local flat = {}
    for k, v in pairs(o[4]) do
      flat[#flat + 1] = k
      flat[#flat + 1] = v
    end
    redis.call('HSET', key, unpack(flat))
    redis.call('ZADD', KEYS[1], o[2], o[1])
    redis.call('RPUSH', prefix .. 'order_history:' .. o[1], ARGV[2])
    created[i] = 1
  end
end
return {1, created}
"""

# The riders who declined each of many orders, in one call: a pipeline of SMEMBERS, one command per
# pending order, cost 0.02-0.03 s a tick at 1,000 orders (bench.tick_latency), nearly all of them
# answering an empty set; this costs about 0.005 s. The keys share the zone's hash tag (one slot).
_DECLINED_LUA = """
-- KEYS: declined-rider sets. Returns, for the non-empty ones only: position in KEYS (from 1), members.
local out = {}
for i, key in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', key)
  if #members > 0 then
    out[#out + 1] = i
    out[#out + 1] = members
  end
end
return out
"""

# Orders that finished leave Redis after this long (their settlement and analytics live elsewhere).
FINISHED_ORDER_TTL_S = 7 * 24 * 3600
_OPEN_PICKUPS_LUA = """
-- ARGV: key prefix, then merchant ids. Returns, for each riders:pickup entry at one of these merchants
-- whose rider still has a plan: rider, entry, plan, shift end ('' if none).
local prefix = ARGV[1]
local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local entries = redis.call('HGETALL', prefix .. 'riders:pickup')
local out = {}
for i = 1, #entries, 2 do
  local merchant = string.match(entries[i + 1], '^[^|]*|([^|]*)|')
  if merchant and wanted[merchant] then
    local plan = redis.call('HGET', prefix .. 'riders:plan', entries[i])
    if plan then
      out[#out + 1] = entries[i]
      out[#out + 1] = entries[i + 1]
      out[#out + 1] = plan
      out[#out + 1] = redis.call('HGET', prefix .. 'rider:' .. entries[i], 'shift') or ''
    end
  end
end
return out
"""

# Steps by which an order leaves a bundle its rider keeps carrying out (the rider's plan is redone).
_LEAVES_BUNDLE = frozenset({Step.REJECT, Step.EXPIRE_OFFER, Step.CANCEL})
# A bundle can be joined while none of its orders is picked up.
_JOINABLE = frozenset({OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.AT_MERCHANT})


@dataclass(frozen=True)
class OpenPickup:
    """A rider's bundle not yet picked up (`riders:pickup`), with where and when it frees up (`riders:plan`)."""

    rider_id: str
    bundle_id: str
    merchant_id: str
    pickup: LatLng
    pickup_ms: int
    orders: int
    free_ms: int  # its last drop-off
    last_door: LatLng
    shift_ends_at_ms: int | None = None


def _plan_entry(last_dropoff_ms: int, door: LatLng) -> str:
    """A `riders:plan` value: when and where the rider's work ends (its last drop-off)."""
    return f"{last_dropoff_ms},{door.lat!r},{door.lng!r}"


def _pickup_entry(bundle_id: str, request: OrderRequest, pickup_ms: int, orders: int) -> str:
    p = request.pickup
    return f"{bundle_id}|{request.merchant_id}|{p.lat!r}|{p.lng!r}|{pickup_ms}|{orders}"


class OrderStore:
    """The orders of one zone."""

    def __init__(
        self, client: aioredis.Redis, zone: str, feed_max_len: int = 1_000, events_max_len: int = 200_000
    ) -> None:
        self._redis = client
        self.keys = ZoneKeys(zone)
        self._feed_max_len = feed_max_len
        self._events_max_len = events_max_len
        self._create_many = client.register_script(_CREATE_MANY_LUA)
        self._declined = client.register_script(_DECLINED_LUA)
        self._open_pickups = client.register_script(_OPEN_PICKUPS_LUA)

    async def create_many(self, requests: Sequence[OrderRequest], now_ms: int) -> list[tuple[OrderRecord, bool]]:
        """Creates the orders that are new; returns each order's record and whether it was created.

        Every order is checked before anything is written: an id reused with another body rejects
        the whole batch with INVALID_ARGUMENT and changes nothing.
        """
        fresh = [OrderRecord(request=r, updated_ms=now_ms) for r in requests]
        created_event = OrderEvent(now_ms, OrderStatus.PENDING, note="submitted").to_json()
        payload = json.dumps(
            [[rec.order_id, str(rec.request.placed_at_ms), rec.request.fingerprint(), rec.to_redis()] for rec in fresh],
            separators=(",", ":"),
        )
        ok, found = await self._create_many(keys=[self.keys.pending], args=[self.keys.prefix, created_event, payload])
        if not ok:
            raise InvalidArgument([
                FieldViolation(f"orders[{i - 1}].order_id", f"order {requests[i - 1].order_id} exists with a different body")
                for i in found
            ])  # fmt: skip
        created = [bool(c) for c in found]
        # New orders are what was just written; only resubmitted ones are read back (profiled: the
        # read-back of every order was a fifth of AssignRiders' cost under load).
        existing = await self.find_many([r.order_id for r, new in zip(requests, created, strict=True) if not new])
        return [
            (record, True) if new else (existing.get(record.order_id, record), False)
            for record, new in zip(fresh, created, strict=True)
        ]

    async def get(self, order_id: str) -> OrderRecord:
        raw = await self._redis.hgetall(self.keys.order(order_id))
        if not raw:
            raise NotFound(f"order {order_id} not found")
        return OrderRecord.from_redis(raw)

    async def find_many(self, order_ids: Sequence[str]) -> dict[str, OrderRecord]:
        """The orders that exist among order_ids, by id, in the given order."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hgetall(self.keys.order(oid))
            raws = await pipe.execute()
        return {oid: OrderRecord.from_redis(raw) for oid, raw in zip(order_ids, raws, strict=True) if raw}

    async def get_many(self, order_ids: Sequence[str]) -> list[OrderRecord]:
        found = await self.find_many(order_ids)
        missing = [oid for oid in order_ids if oid not in found]
        if missing:
            raise NotFound(f"orders not found: {', '.join(missing[:10])}")
        return [found[oid] for oid in order_ids]

    async def history(self, order_id: str) -> list[OrderEvent]:
        return [OrderEvent.from_json(e) for e in await self._redis.lrange(self.keys.order_history(order_id), 0, -1)]

    async def pending_ids(self, limit: int) -> list[str]:
        """The oldest undecided orders first."""
        return list(await self._redis.zrange(self.keys.pending, 0, limit - 1))

    async def expired_offer_ids(self, now_ms: int, limit: int = 1_000) -> list[str]:
        return list(await self._redis.zrangebyscore(self.keys.offers, "-inf", now_ms, start=0, num=limit))

    async def declined_by(self, order_ids: Sequence[str]) -> dict[str, set[str]]:
        """Riders who rejected or let lapse each order's offer: not offered it again."""
        declined: dict[str, set[str]] = {oid: set() for oid in order_ids}
        if not declined:
            return declined
        found = await self._declined(keys=[self.keys.order_declined(oid) for oid in order_ids])
        for k in range(0, len(found), 2):
            declined[order_ids[found[k] - 1]] = set(found[k + 1])
        return declined

    async def apply(
        self,
        order_id: str,
        step: Step,
        now_ms: int,
        *,
        acting_rider: str | None = None,
        note: str = "",
        fence: Fence | None = None,
    ) -> tuple[OrderRecord, bool]:
        """Runs one step of the state machine; returns the order after it and whether it changed.

        Repeating a step that already took effect (same target status, same rider) is a no-op, so
        clients may retry freely. `acting_rider` is the rider on whose behalf the step is taken: it
        must be the order's rider. Offers (Step.ASSIGN) go through `assign_bundle`.
        """
        if step is Step.ASSIGN:
            raise ValueError("offers are made with assign_bundle (a lone order is a bundle of one)")
        transition = TRANSITIONS[step]
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            while True:
                try:
                    record = await self._watched(pipe, order_id)
                    if acting_rider is not None:
                        noop = await self._check_rider(pipe, record, step, acting_rider)
                        if noop:
                            return record, False
                    if record.status == transition.target:
                        return record, False
                    if record.status not in transition.sources:
                        raise FailedPrecondition(f"order {order_id} is {record.status.value}: cannot {step.value}")
                    updated = self._next_record(record, step, now_ms, note)
                    # A rider whose hands become empty is free again at once (if it says it is available).
                    rejoins_free = hands_empty = False
                    if transition.releases_rider and record.rider_id:
                        availability = await pipe.hget(self.keys.rider(record.rider_id), "av")
                        hands_empty = await pipe.scard(self.keys.rider_tasks(record.rider_id)) <= 1
                        rejoins_free = availability == "available" and hands_empty
                    await self._check_fence(pipe, fence)
                    pipe.multi()
                    self._queue_writes(pipe, record, updated, step, now_ms, note, rejoins_free)
                    if hands_empty:
                        pipe.hdel(self.keys.riders_plan, record.rider_id)
                    if (hands_empty or step is Step.PICK_UP) and record.rider_id:
                        pipe.hdel(self.keys.riders_pickup, record.rider_id)  # nothing left to join at the counter
                    await pipe.execute()
                    if step in _LEAVES_BUNDLE and record.rider_id and not hands_empty:
                        await self._replan(record.rider_id)
                    return updated, True
                except WatchError:
                    continue

    async def _replan(self, rider_id: str) -> None:
        """After an order left a rider's bundle (rejected, lapsed or cancelled) while others remain: the
        rider's plan is the last drop-off of those, and its open pickup counts them (or goes, if one of them
        is already picked up)."""
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            while True:
                try:
                    held = [await self._watched(pipe, oid) for oid in await self._watched_tasks(pipe, rider_id)]
                    held = sorted((r for r in held if r.rider_id == rider_id), key=lambda r: r.bundle_seq)
                    entry = await pipe.hget(self.keys.riders_pickup, rider_id)
                    pipe.multi()
                    if held:
                        last = held[-1]
                        pipe.hset(self.keys.riders_plan, rider_id,
                                  _plan_entry(last.estimated_dropoff_ms or 0, last.request.dropoff))  # fmt: skip
                    if entry is not None:
                        if held and all(r.status in _JOINABLE for r in held):
                            pipe.hset(self.keys.riders_pickup, rider_id, entry.rsplit("|", 1)[0] + f"|{len(held)}")
                        else:
                            pipe.hdel(self.keys.riders_pickup, rider_id)
                    await pipe.execute()
                    return
                except WatchError:
                    continue
                except NotFound:
                    return  # an order of the rider expired from Redis meanwhile: its plan is left as it was

    async def assign_bundle(
        self,
        rider_id: str,
        legs: Sequence[tuple[str, int, int]],
        now_ms: int,
        *,
        offer_expires_ms: int,
        note: str = "",
        fence: Fence | None = None,
    ) -> list[OrderRecord]:
        """Offers a bundle — (order_id, estimated pickup, estimated drop-off) in delivery sequence — to a
        rider with empty hands, as one transaction: every order must still be pending, or nothing is
        written (FailedPrecondition). A lone order is a bundle of one."""
        if not legs:
            raise ValueError("a bundle has at least one order")
        order_keys = [self.keys.order(oid) for oid, _, _ in legs]
        bundle_id = legs[0][0] if len(legs) == 1 else f"{legs[0][0]}+{len(legs) - 1}@{now_ms}"
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            while True:
                try:
                    await pipe.watch(*order_keys, self.keys.rider_tasks(rider_id))
                    records = []
                    for (oid, _, _), key in zip(legs, order_keys, strict=True):
                        raw = await pipe.hgetall(key)
                        if not raw:
                            raise NotFound(f"order {oid} not found")
                        record = OrderRecord.from_redis(raw)
                        if record.status is not OrderStatus.PENDING:
                            raise FailedPrecondition(f"order {oid} is {record.status.value}: cannot assign")
                        records.append(record)
                    if await pipe.scard(self.keys.rider_tasks(rider_id)):
                        raise FailedPrecondition(f"rider {rider_id} already has a task")
                    updated = [
                        self._next_record(
                            record, Step.ASSIGN, now_ms, note, rider_id=rider_id, estimated_pickup_ms=pickup_ms,
                            estimated_dropoff_ms=dropoff_ms, offer_expires_ms=offer_expires_ms,
                            bundle_id=bundle_id, bundle_seq=seq,
                        )
                        for seq, (record, (_, pickup_ms, dropoff_ms)) in enumerate(zip(records, legs, strict=True), 1)
                    ]  # fmt: skip
                    await self._check_fence(pipe, fence)
                    pipe.multi()
                    for before, after in zip(records, updated, strict=True):
                        self._queue_writes(pipe, before, after, Step.ASSIGN, now_ms, note)
                    pipe.hset(self.keys.riders_plan, rider_id, _plan_entry(legs[-1][2], updated[-1].request.dropoff))
                    first = updated[0].request
                    if all(r.request.merchant_id == first.merchant_id and r.request.pickup == first.pickup
                           for r in updated):  # fmt: skip
                        pipe.hset(self.keys.riders_pickup, rider_id,
                                  _pickup_entry(bundle_id, first, legs[0][1], len(updated)))  # fmt: skip
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    async def join_bundle(
        self,
        rider_id: str,
        bundle_id: str,
        leg: tuple[str, int, int],
        now_ms: int,
        *,
        offer_expires_ms: int,
        note: str = "",
        fence: Fence | None = None,
    ) -> list[OrderRecord]:
        """An assignment update at the counter: offers a pending order — (order_id, estimated pickup,
        estimated drop-off) — to a rider as the last drop-off of the bundle it holds and has not picked
        up yet, at the same merchant. The bundle's pickup moves to the new order's (if later), and the
        drop-offs of its orders by as much. One transaction: the order must be pending and every task
        of the rider an unpicked order of `bundle_id` at the order's counter, or nothing is written
        (FailedPrecondition). Returns the new order's record, then the bundle's orders as updated."""
        order_id, pickup_ms, dropoff_ms = leg
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            while True:
                try:
                    task_ids = await self._watched_tasks(pipe, rider_id)
                    if not task_ids:
                        raise FailedPrecondition(f"rider {rider_id} holds no bundle to join")
                    record = await self._watched(pipe, order_id)
                    if record.status is not OrderStatus.PENDING:
                        raise FailedPrecondition(f"order {order_id} is {record.status.value}: cannot assign")
                    carried = []
                    for oid in task_ids:
                        task = await self._watched(pipe, oid)
                        if task.bundle_id != bundle_id or task.status not in _JOINABLE:
                            raise FailedPrecondition(
                                f"rider {rider_id}'s bundle {bundle_id} can no longer be joined "
                                f"(order {oid} is {task.status.value} in bundle {task.bundle_id or 'none'})"
                            )
                        if (task.request.merchant_id, task.request.pickup) != (
                            record.request.merchant_id, record.request.pickup
                        ):  # fmt: skip
                            raise FailedPrecondition(f"order {order_id} is not at the counter of bundle {bundle_id}")
                        carried.append(task)
                    carried.sort(key=lambda r: r.bundle_seq)
                    updated = self._next_record(
                        record, Step.ASSIGN, now_ms, note, rider_id=rider_id, estimated_pickup_ms=pickup_ms,
                        estimated_dropoff_ms=dropoff_ms, offer_expires_ms=offer_expires_ms, bundle_id=bundle_id,
                        bundle_seq=carried[-1].bundle_seq + 1,
                    )  # fmt: skip
                    # The bundle waits for the new order's food: its pickup, and so its drop-offs, move on.
                    shift = max(0, pickup_ms - max(r.estimated_pickup_ms or 0 for r in carried))
                    moved = [
                        r.evolve(
                            estimated_pickup_ms=(r.estimated_pickup_ms or 0) + shift,
                            estimated_dropoff_ms=(r.estimated_dropoff_ms or 0) + shift,
                            updated_ms=now_ms,
                            version=r.version + 1,
                        )
                        for r in carried
                    ]
                    await self._check_fence(pipe, fence)
                    pipe.multi()
                    self._queue_writes(pipe, record, updated, Step.ASSIGN, now_ms, note)
                    for r in moved if shift else ():
                        pipe.hset(self.keys.order(r.order_id), mapping=r.to_redis())
                        self.queue_feed_event(pipe, rider_id, TaskEventType.UPDATED, r, now_ms)
                    pipe.hset(self.keys.riders_plan, rider_id, _plan_entry(dropoff_ms, updated.request.dropoff))
                    pipe.hset(self.keys.riders_pickup, rider_id,
                              _pickup_entry(bundle_id, updated.request, pickup_ms, len(carried) + 1))  # fmt: skip
                    await pipe.execute()
                    return [updated, *moved]
                except WatchError:
                    continue

    async def set_predictions(self, predictions: dict[str, tuple[int, float]]) -> None:
        """Stores the prep-time model's predicted ready time (ms) and spread (s) on existing orders."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid, (ready_ms, sd_s) in predictions.items():
                pipe.hset(self.keys.order(oid), mapping={"predicted_ready_ms": str(ready_ms),
                                                         "predicted_ready_sd_s": repr(float(sd_s))})  # fmt: skip
            await pipe.execute()

    async def _check_fence(self, pipe: aioredis.client.Pipeline, fence: Fence | None) -> None:
        """For a tick's commit: the zone's lease is still held under the committing worker's fencing token,
        and stays so until EXEC (it is watched), or nothing is written (dispatch.lease)."""
        if fence is None:
            return
        await pipe.watch(self.keys.lease)
        held = await pipe.get(self.keys.lease)
        if held is None or not held.startswith(f"{fence.token}|"):
            raise LeaseLost(f"zone {self.keys.zone}: fencing token {fence.token} no longer holds the lease ({held})")

    async def _watched_tasks(self, pipe: aioredis.client.Pipeline, rider_id: str) -> list[str]:
        """Watches a rider's task set in a transaction's pipeline and reads it (sorted)."""
        key = self.keys.rider_tasks(rider_id)
        await pipe.watch(key)
        return sorted(await pipe.smembers(key))

    async def _watched(self, pipe: aioredis.client.Pipeline, order_id: str) -> OrderRecord:
        """Watches an order in a transaction's pipeline and reads it (NotFound if there is none)."""
        key = self.keys.order(order_id)
        await pipe.watch(key)
        raw = await pipe.hgetall(key)
        if not raw:
            raise NotFound(f"order {order_id} not found")
        return OrderRecord.from_redis(raw)

    async def mark_ready(self, order_id: str, ready_at_ms: int) -> tuple[OrderRecord, bool]:
        """Records the true ready time once; returns the order and whether this call recorded it."""
        key = self.keys.order(order_id)
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            while True:
                try:
                    record = await self._watched(pipe, order_id)
                    if record.ready_at_ms is not None:
                        return record, False
                    if record.status.is_final:
                        raise FailedPrecondition(
                            f"order {order_id} is {record.status.value}: its food no longer matters"
                        )
                    if ready_at_ms < record.request.placed_at_ms:
                        raise InvalidArgument.field("ready_at", "must not be before the order was placed")
                    pipe.multi()
                    pipe.hset(key, "ready_at_ms", str(ready_at_ms))
                    # The merchant reports ready events: its silence about its other orders is news.
                    pipe.hset(self.keys.merchants_ready_reported, record.request.merchant_id, str(ready_at_ms))
                    await pipe.execute()
                    return record.evolve(ready_at_ms=ready_at_ms), True
                except WatchError:
                    continue

    async def ready_reported_at(self, merchant_ids: Iterable[str]) -> dict[str, int]:
        """Per merchant that has reported a ready event, the ready time of its latest report (ms)."""
        merchants = sorted(set(merchant_ids))
        if not merchants:
            return {}
        found = await self._redis.hmget(self.keys.merchants_ready_reported, merchants)
        return {m: int(at) for m, at in zip(merchants, found, strict=True) if at is not None}

    async def _check_rider(self, pipe: aioredis.client.Pipeline, record: OrderRecord, step: Step, rider: str) -> bool:
        """Ownership of a rider's step; True when it is a harmless repeat (already done)."""
        if record.rider_id == rider:
            return False
        if await pipe.sismember(self.keys.order_declined(record.order_id), rider):
            if step is Step.REJECT:
                return True  # the rejection already took effect
            raise FailedPrecondition(f"the offer of order {record.order_id} to rider {rider} is no longer open")
        raise PermissionDenied(f"order {record.order_id} is not assigned to rider {rider}")

    @staticmethod
    def _next_record(record: OrderRecord, step: Step, now_ms: int, note: str, **offer: object) -> OrderRecord:
        """The order after `step`; an offer (Step.ASSIGN) brings its rider, estimates, expiry and bundle."""
        transition = TRANSITIONS[step]
        changes: dict[str, object] = {
            "status": transition.target,
            "updated_ms": now_ms,
            "version": record.version + 1,
        }
        if step is Step.ASSIGN:
            changes.update(offer, reason="")
        elif transition.target is OrderStatus.PENDING:
            changes.update(rider_id="", estimated_pickup_ms=None, estimated_dropoff_ms=None, offer_expires_ms=None,
                           bundle_id="", bundle_seq=0)  # fmt: skip
            changes["reason"] = note
        elif transition.target in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
            changes.update(reason=note, offer_expires_ms=None)
        else:
            changes["offer_expires_ms"] = None
        if step is Step.PICK_UP:
            changes["estimated_pickup_ms"] = now_ms
        if step is Step.DELIVER:
            changes["estimated_dropoff_ms"] = now_ms
        return record.evolve(**changes)

    def _queue_writes(
        self,
        pipe: aioredis.client.Pipeline,
        before: OrderRecord,
        after: OrderRecord,
        step: Step,
        now_ms: int,
        note: str,
        rejoins_free: bool = False,
    ) -> None:
        transition = TRANSITIONS[step]
        oid = after.order_id
        order_key = self.keys.order(oid)
        pipe.hset(order_key, mapping=after.to_redis())
        rider_for_history = after.rider_id or before.rider_id
        pipe.rpush(self.keys.order_history(oid), OrderEvent(now_ms, after.status, rider_for_history, note).to_json())
        if step is Step.ASSIGN:
            pipe.zrem(self.keys.pending, oid)
            pipe.sadd(self.keys.rider_tasks(after.rider_id), oid)
            # No longer free; it rejoins the free set when its task ends (or with a later position).
            pipe.srem(self.keys.riders_free, after.rider_id)
            pipe.zadd(self.keys.offers, {oid: after.offer_expires_ms or now_ms})
        else:
            pipe.zrem(self.keys.offers, oid)
        if transition.target is OrderStatus.PENDING:
            pipe.zadd(self.keys.pending, {oid: after.request.placed_at_ms})
            pipe.sadd(self.keys.order_declined(oid), before.rider_id)
        elif after.status.is_final:
            pipe.zrem(self.keys.pending, oid)
            for key in (order_key, self.keys.order_history(oid), self.keys.order_declined(oid)):
                pipe.expire(key, FINISHED_ORDER_TTL_S)
        if transition.releases_rider and before.rider_id:
            pipe.srem(self.keys.rider_tasks(before.rider_id), oid)
            if rejoins_free:
                pipe.sadd(self.keys.riders_free, before.rider_id)
        feed_rider = after.rider_id or before.rider_id
        if transition.rider_event is not None and feed_rider:
            self.queue_feed_event(pipe, feed_rider, transition.rider_event, after, now_ms)
        fed = feed_rider if transition.rider_event is not None else ""
        self._queue_order_event(pipe, after, now_ms, note, fed)

    def _queue_order_event(
        self, pipe: aioredis.client.Pipeline, order: OrderRecord, now_ms: int, note: str, feed_rider: str = ""
    ) -> None:
        """Appends the order's new state to the zone's order events (trimmed to about `events_max_len`), with
        the rider whose feed the change wrote to, so that its watchers in every process wake at once."""
        pipe.xadd(self.keys.orders_events, {
            "o": order.order_id, "s": order.status.value, "r": order.rider_id, "n": order.reason or note,
            "p": str(order.estimated_pickup_ms or ""), "d": str(order.estimated_dropoff_ms or ""), "t": str(now_ms),
            "f": feed_rider,
        }, maxlen=self._events_max_len, approximate=True)  # fmt: skip

    async def order_events_after(
        self, after_id: str, count: int = 500, block_ms: int | None = None
    ) -> list[OrderUpdate]:
        """Order events strictly after `after_id` ("$": from now), oldest first; with `block_ms`, waits that long
        for the first one."""
        found = await self._redis.xread({self.keys.orders_events: after_id}, count=count, block=block_ms)
        out = []
        for _, entries in found or []:
            for eid, f in entries:
                out.append(OrderUpdate(
                    eid, f["o"], OrderStatus(f["s"]), f["r"], f["n"], int(f["p"]) if f["p"] else None,
                    int(f["d"]) if f["d"] else None, int(f["t"]), f.get("f", ""),
                ))  # fmt: skip
        return out

    async def order_events_bounds(self) -> tuple[str, str]:
        """The ids of the oldest and newest retained order events ("0-0" for none), in one round trip (an idle
        process asks every 50 ms)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xrange(self.keys.orders_events, count=1)
            pipe.xrevrange(self.keys.orders_events, count=1)
            first, last = await pipe.execute()
        return (first[0][0], last[0][0]) if first and last else ("0-0", "0-0")

    async def order_events_lost_after(self, after_id: tuple[int, int]) -> str | None:
        """The oldest retained order event's id if events after `after_id` may have been trimmed away, else
        None. Events leave the stream only by its cap (approximate: whole nodes, so a trimmed stream stays at
        least `events_max_len` long); a shorter stream has lost nothing, whatever its first id (a zone whose
        first event came later)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.keys.orders_events)
            pipe.xrange(self.keys.orders_events, count=1)
            length, first = await pipe.execute()
        if not first or length < self._events_max_len:
            return None
        ms, _, seq = first[0][0].partition("-")
        return first[0][0] if after_id < (int(ms), int(seq or 0)) else None

    def queue_feed_event(
        self, pipe: aioredis.client.Pipeline, rider_id: str, kind: TaskEventType, order: OrderRecord, now_ms: int
    ) -> None:
        self._queue_feed(pipe, rider_id, kind, now_ms, order=json.dumps(order.to_redis(), separators=(",", ":")))

    def _queue_feed(
        self, pipe: aioredis.client.Pipeline, rider_id: str, kind: TaskEventType, now_ms: int, **fields: str
    ) -> None:
        """Appends an event to a rider's feed (trimmed to about `feed_max_len`)."""
        pipe.xadd(self.keys.rider_feed(rider_id), {"type": kind.value, "t": str(now_ms), **fields},
                  maxlen=self._feed_max_len, approximate=True)  # fmt: skip

    async def guide_riders(self, guides: Iterable[tuple[str, LatLng]], now_ms: int) -> None:
        """Feeds each idle rider where it is asked to wait (`GUIDED`, no task)."""
        pipe = self._redis.pipeline(transaction=False)
        for rider_id, at in guides:
            self._queue_feed(pipe, rider_id, TaskEventType.GUIDED, now_ms, at=f"{at.lat!r},{at.lng!r}")
        await pipe.execute()

    async def feed_after(self, rider_id: str, after_id: str, count: int = 100) -> list[TaskEvent]:
        """Events of a rider's feed strictly after `after_id` (a Redis stream id), oldest first."""
        entries = await self._redis.xrange(self.keys.rider_feed(rider_id), f"({after_id}", "+", count=count)
        out = []
        for eid, fields in entries:
            kind, at_ms = TaskEventType(fields["type"]), int(fields["t"])
            if kind is TaskEventType.GUIDED:
                lat, lng = fields["at"].split(",")
                out.append(TaskEvent(eid, kind, None, at_ms, wait_at=LatLng(float(lat), float(lng))))
            else:
                out.append(TaskEvent(eid, kind, OrderRecord.from_redis(json.loads(fields["order"])), at_ms))
        return out

    async def feed_last_id(self, rider_id: str) -> str:
        last = await self._redis.xrevrange(self.keys.rider_feed(rider_id), "+", "-", count=1)
        return last[0][0] if last else "0-0"

    async def open_pickups(self, merchant_ids: Iterable[str]) -> list[OpenPickup]:
        """The bundles riders were offered and have not picked up yet at these merchants, with their plans
        (orders there may join them). One script: in a busy city the entries number in the thousands, and
        a read per rider cost a 1,000-order tick 165 ms (bench.tick_latency --busy-share 0.5)."""
        merchants = sorted(set(merchant_ids))
        if not merchants:
            return []
        raw = await self._open_pickups(keys=[self.keys.slot], args=[self.keys.prefix, *merchants])
        out = []
        for k in range(0, len(raw), 4):
            rider_id, entry, plan, shift = raw[k : k + 4]
            bundle_id, merchant_id, lat, lng, pickup_ms, orders = entry.split("|")
            free_ms, door_lat, door_lng = plan.split(",")
            out.append(OpenPickup(rider_id, bundle_id, merchant_id, LatLng(float(lat), float(lng)), int(pickup_ms),
                                  int(orders), int(free_ms), LatLng(float(door_lat), float(door_lng)),
                                  int(shift) if shift else None))  # fmt: skip
        return sorted(out, key=lambda p: p.rider_id)  # a hash's order is Redis's: fix it, for reproducible ticks

    async def rider_task_ids(self, rider_id: str) -> set[str]:
        return set(await self._redis.smembers(self.keys.rider_tasks(rider_id))) - {"~"}  # '~': the rider left
