"""Proto <-> domain conversion for the dispatch API."""

from __future__ import annotations

from dispatch.models import (
    Availability,
    LatLng,
    OrderEvent,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    PositionFix,
    TaskAction,
    TaskEvent,
    TaskEventType,
)
from serving.timestamps import checked_ts_to_ms, ms_to_ts
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

STATUS_TO_PB = {
    OrderStatus.PENDING: pb.ORDER_STATUS_PENDING,
    OrderStatus.ASSIGNED: pb.ORDER_STATUS_ASSIGNED,
    OrderStatus.ACCEPTED: pb.ORDER_STATUS_ACCEPTED,
    OrderStatus.AT_MERCHANT: pb.ORDER_STATUS_AT_MERCHANT,
    OrderStatus.PICKED_UP: pb.ORDER_STATUS_PICKED_UP,
    OrderStatus.DELIVERED: pb.ORDER_STATUS_DELIVERED,
    OrderStatus.CANCELLED: pb.ORDER_STATUS_CANCELLED,
    OrderStatus.REJECTED: pb.ORDER_STATUS_REJECTED,
}
AVAILABILITY_FROM_PB = {
    pb.RIDER_AVAILABILITY_UNSPECIFIED: Availability.AVAILABLE,
    pb.RIDER_AVAILABILITY_AVAILABLE: Availability.AVAILABLE,
    pb.RIDER_AVAILABILITY_BUSY: Availability.BUSY,
    pb.RIDER_AVAILABILITY_OFFLINE: Availability.OFFLINE,
}
ACTION_FROM_PB = {
    pb.TASK_ACTION_ACCEPT: TaskAction.ACCEPT,
    pb.TASK_ACTION_REJECT: TaskAction.REJECT,
    pb.TASK_ACTION_ARRIVED_AT_MERCHANT: TaskAction.ARRIVED_AT_MERCHANT,
    pb.TASK_ACTION_PICKED_UP: TaskAction.PICKED_UP,
    pb.TASK_ACTION_DELIVERED: TaskAction.DELIVERED,
}
# The other way, for clients of the API written in Python (simulators, replays).
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}
ACTION_TO_PB = {v: k for k, v in ACTION_FROM_PB.items()}
AVAILABILITY_TO_PB = {
    Availability.AVAILABLE: pb.RIDER_AVAILABILITY_AVAILABLE,
    Availability.BUSY: pb.RIDER_AVAILABILITY_BUSY,
    Availability.OFFLINE: pb.RIDER_AVAILABILITY_OFFLINE,
}
EVENT_TO_PB = {
    TaskEventType.OFFERED: pb.TASK_EVENT_TYPE_OFFERED,
    TaskEventType.OFFER_EXPIRED: pb.TASK_EVENT_TYPE_OFFER_EXPIRED,
    TaskEventType.CANCELLED: pb.TASK_EVENT_TYPE_CANCELLED,
    TaskEventType.UPDATED: pb.TASK_EVENT_TYPE_UPDATED,
    TaskEventType.GUIDED: pb.TASK_EVENT_TYPE_GUIDED,
}


def _opt_ts(msg: object, name: str, prefix: str) -> int | None:
    if not msg.HasField(name):  # type: ignore[attr-defined]
        return None
    return checked_ts_to_ms(f"{prefix}.{name}", getattr(msg, name))


def latlng_from_pb(msg: object, name: str) -> LatLng | None:
    if not msg.HasField(name):  # type: ignore[attr-defined]
        return None
    p = getattr(msg, name)
    return LatLng(p.lat, p.lng)


def order_from_pb(o: pb.Order, prefix: str = "order") -> OrderRequest:
    """The domain order; INVALID_ARGUMENT (field named under `prefix`) for a Timestamp no clock can read."""
    return OrderRequest(
        order_id=o.order_id,
        merchant_id=o.merchant_id,
        pickup=latlng_from_pb(o, "pickup"),  # type: ignore[arg-type]  # None is caught by validation
        dropoff=latlng_from_pb(o, "dropoff"),  # type: ignore[arg-type]
        placed_at_ms=_opt_ts(o, "placed_at", prefix) or 0,
        # 0 is proto3's "unset": one item.
        item_count=o.item_count or 1,
        promised_at_ms=_opt_ts(o, "promised_at", prefix),
        ready_at_hint_ms=_opt_ts(o, "ready_at_hint", prefix),
        merchant_category=o.merchant_category,
        ready_hint_sd_s=o.ready_hint_sd_s,
    )


def order_to_pb(r: OrderRequest) -> pb.Order:
    o = pb.Order(
        order_id=r.order_id,
        merchant_id=r.merchant_id,
        pickup=pb.LatLng(lat=r.pickup.lat, lng=r.pickup.lng),
        dropoff=pb.LatLng(lat=r.dropoff.lat, lng=r.dropoff.lng),
        placed_at=ms_to_ts(r.placed_at_ms),
        item_count=r.item_count,
        merchant_category=r.merchant_category,
        ready_hint_sd_s=r.ready_hint_sd_s,
    )
    if r.promised_at_ms is not None:
        o.promised_at.CopyFrom(ms_to_ts(r.promised_at_ms))
    if r.ready_at_hint_ms is not None:
        o.ready_at_hint.CopyFrom(ms_to_ts(r.ready_at_hint_ms))
    return o


def fix_to_pb(f: PositionFix) -> pb.PositionFix:
    msg = pb.PositionFix(
        rider_id=f.rider_id,
        position=pb.LatLng(lat=f.lat, lng=f.lng),
        recorded_at=ms_to_ts(f.recorded_at_ms),
        availability=AVAILABILITY_TO_PB[f.availability],
    )
    for name in ("speed_mps", "heading_deg", "accuracy_m"):
        value = getattr(f, name)
        if value is not None:
            setattr(msg, name, value)
    if f.shift_ends_at_ms is not None:
        msg.shift_ends_at.CopyFrom(ms_to_ts(f.shift_ends_at_ms))
    return msg


def _set_estimates(msg: object, record: OrderRecord) -> None:
    if record.estimated_pickup_ms is not None:
        msg.estimated_pickup_at.CopyFrom(ms_to_ts(record.estimated_pickup_ms))  # type: ignore[attr-defined]
    if record.estimated_dropoff_ms is not None:
        msg.estimated_dropoff_at.CopyFrom(ms_to_ts(record.estimated_dropoff_ms))  # type: ignore[attr-defined]


def result_to_pb(record: OrderRecord) -> pb.AssignmentResult:
    reason = record.reason
    if record.status is OrderStatus.PENDING and not reason:
        reason = "waiting for a rider: decided in a coming batch"
    result = pb.AssignmentResult(
        order_id=record.order_id, status=STATUS_TO_PB[record.status], rider_id=record.rider_id, reason=reason
    )
    _set_estimates(result, record)
    return result


def task_to_pb(record: OrderRecord) -> pb.Task:
    r = record.request
    task = pb.Task(
        order_id=r.order_id,
        merchant_id=r.merchant_id,
        pickup=pb.LatLng(lat=r.pickup.lat, lng=r.pickup.lng),
        dropoff=pb.LatLng(lat=r.dropoff.lat, lng=r.dropoff.lng),
        status=STATUS_TO_PB[record.status],
        item_count=r.item_count,
    )
    _set_estimates(task, record)
    task.bundle_id = record.bundle_id
    task.bundle_sequence = record.bundle_seq
    if record.expected_ready_ms is not None:
        task.expected_ready_at.CopyFrom(ms_to_ts(record.expected_ready_ms))
    if record.offer_expires_ms is not None:
        task.offer_expires_at.CopyFrom(ms_to_ts(record.offer_expires_ms))
    if r.promised_at_ms is not None:
        task.promised_at.CopyFrom(ms_to_ts(r.promised_at_ms))
    return task


def event_to_pb(event: TaskEvent) -> pb.TaskEvent:
    out = pb.TaskEvent(event_id=event.event_id, type=EVENT_TO_PB[event.type], occurred_at=ms_to_ts(event.occurred_ms))
    if event.order is not None:
        out.task.CopyFrom(task_to_pb(event.order))
    if event.wait_at is not None:
        out.wait_at.CopyFrom(pb.LatLng(lat=event.wait_at.lat, lng=event.wait_at.lng))
    return out


def update_to_pb(u: OrderUpdate) -> pb.OrderUpdate:
    out = pb.OrderUpdate(
        event_id=u.event_id, order_id=u.order_id, status=STATUS_TO_PB[u.status], rider_id=u.rider_id,
        reason=u.reason, occurred_at=ms_to_ts(u.occurred_ms),
    )  # fmt: skip
    if u.estimated_pickup_ms is not None:
        out.estimated_pickup_at.CopyFrom(ms_to_ts(u.estimated_pickup_ms))
    if u.estimated_dropoff_ms is not None:
        out.estimated_dropoff_at.CopyFrom(ms_to_ts(u.estimated_dropoff_ms))
    return out


def details_to_pb(record: OrderRecord, history: list[OrderEvent]) -> pb.OrderDetails:
    details = pb.OrderDetails(
        order=order_to_pb(record.request),
        status=STATUS_TO_PB[record.status],
        rider_id=record.rider_id,
        reason=record.reason,
        history=[
            pb.OrderEvent(
                occurred_at=ms_to_ts(e.occurred_ms), status=STATUS_TO_PB[e.status], rider_id=e.rider_id, note=e.note
            )
            for e in history
        ],
    )
    _set_estimates(details, record)
    return details
