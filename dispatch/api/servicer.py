"""DispatchService: authenticate, convert, call the engine, convert back. Nothing else lives here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc

from core.errors import FieldViolation, InvalidArgument, PermissionDenied
from core.validation import (
    count_violation,
    duplicate_violations,
    id_violation,
    ids_violations,
    stream_id_violation,
    text_violation,
    timestamp_ms_violation,
)
from dispatch.api import convert
from dispatch.dispatcher import Dispatcher
from dispatch.models import OrderRecord, PositionFix
from dispatch.validation import check_batch_size, fix_violation
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import opt_checked_ts_to_ms, ts_to_ms
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc

MAX_REPORTED_REJECTIONS = 100
# Fixes per stream message: a rider app buffers a few minutes of fixes while offline (one a second); a
# gateway relaying many riders sends batches of a few hundred. More in one message is refused, fix by fix.
MAX_FIXES_PER_MESSAGE = 1_000
# Cells per UpdateTraffic call: a whole city at H3 resolution 9 (about 0.1 km2 each) is a few thousand.
MAX_TRAFFIC_CELLS = 20_000
MAX_REASON_CHARS = 500
# Of the caller's deadline, keep this much (and a tenth of the rest) for reading the decision back and
# answering, so that a call under load still answers PENDING rather than running out of time.
DEADLINE_MARGIN_S = 0.2
DEADLINE_MARGIN_SHARE = 0.1


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    def __init__(self, dispatcher: Dispatcher, auth: Authenticator) -> None:
        self._dispatcher = dispatcher
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    @rpc
    async def AssignRiders(
        self, request: pb.AssignRidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignRidersResponse:
        self._caller(context).require(Role.ORDER_SERVICE, Role.OPS)
        check_batch_size(len(request.orders), self._dispatcher.config)
        orders = [convert.order_from_pb(o, f"orders[{i}]") for i, o in enumerate(request.orders)]
        remaining = context.time_remaining()
        answer_by = None
        if remaining is not None:
            answer_by = time.monotonic() + remaining * (1 - DEADLINE_MARGIN_SHARE) - DEADLINE_MARGIN_S
        records = await self._dispatcher.assign(orders, answer_by, wait=not request.no_wait)
        return pb.AssignRidersResponse(results=[convert.result_to_pb(r) for r in records])

    @rpc
    async def StreamRiderPositions(
        self, request_iterator: AsyncIterator[pb.StreamRiderPositionsRequest], context: grpc.aio.ServicerContext
    ) -> pb.StreamRiderPositionsResponse:
        caller = self._caller(context)
        caller.require(Role.RIDER, Role.OPS)
        own_rider = caller.subject_id if caller.role is Role.RIDER else None
        dispatcher = self._dispatcher
        config = dispatcher.config
        clock = dispatcher.clock
        writer = dispatcher.positions
        availability = convert.AVAILABILITY_FROM_PB
        response = pb.StreamRiderPositionsResponse()
        ingest = writer.open_stream()

        def reject(message_index: int, fix_index: int, field: str, reason: str) -> None:
            response.rejected_count += 1
            if len(response.rejections) < MAX_REPORTED_REJECTIONS:
                name = f"fixes[{fix_index}].{field}" if field else f"fixes[{fix_index}]"
                response.rejections.add(message_index=message_index, fix_index=fix_index, field=name, reason=reason)

        message_index = 0
        async for message in request_iterator:
            now_ms = clock.now_ms()
            fixes: list[PositionFix] = []
            if len(message.fixes) > MAX_FIXES_PER_MESSAGE:
                # Refused fix by fix, like any bad fix: the stream's earlier fixes are stored and stay so.
                for j in range(len(message.fixes)):
                    reject(message_index, j, "", f"a message carries at most {MAX_FIXES_PER_MESSAGE} fixes")
                message_index += 1
                continue
            for j, f in enumerate(message.fixes):
                if own_rider is not None and f.rider_id != own_rider:
                    # Refused like a bad fix rather than by ending the stream: the fixes this stream
                    # already stored stay stored, and an error status must mean nothing was stored.
                    reject(message_index, j, "rider_id", f"rider {own_rider} may report only its own positions")
                    continue
                if not f.HasField("position"):
                    reject(message_index, j, "position", "required")
                    continue
                p = f.position
                ts = f.recorded_at
                shift = f.shift_ends_at
                bad_ts = timestamp_ms_violation("recorded_at", ts.seconds, ts.nanos) or (
                    timestamp_ms_violation("shift_ends_at", shift.seconds, shift.nanos)
                    if f.HasField("shift_ends_at")
                    else None
                )
                if bad_ts is not None:
                    reject(message_index, j, bad_ts.field, bad_ts.description)
                    continue
                recorded_ms = ts.seconds * 1000 + ts.nanos // 1_000_000
                shift_ms = ts_to_ms(shift) if f.HasField("shift_ends_at") else None
                speed = f.speed_mps if f.HasField("speed_mps") else None
                heading = f.heading_deg if f.HasField("heading_deg") else None
                accuracy = f.accuracy_m if f.HasField("accuracy_m") else None
                bad = fix_violation(
                    f.rider_id, p.lat, p.lng, recorded_ms, speed, heading, accuracy, now_ms, config, shift_ms
                )
                if bad is not None:
                    reject(message_index, j, *bad)
                    continue
                av = availability.get(f.availability)
                if av is None:
                    reject(message_index, j, "availability", f"unknown value {f.availability}")
                    continue
                fixes.append(PositionFix(f.rider_id, p.lat, p.lng, recorded_ms, speed, heading, accuracy, av, shift_ms))
            if fixes:
                ingest.add(fixes)
                await writer.wait_for_room()
            message_index += 1
        result = await ingest.drain()
        response.accepted_count = result.accepted
        response.stale_count = result.stale
        return response

    @rpc
    async def WatchAssignments(
        self, request: pb.WatchAssignmentsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchAssignmentsResponse]:
        caller = self._caller(context)
        bad = id_violation("rider_id", request.rider_id)
        if bad:
            raise InvalidArgument(bad)
        caller.require_rider(request.rider_id)
        resume = request.resume_after_event_id
        if bad := stream_id_violation("resume_after_event_id", resume, "an event id of a previous TaskEvent"):
            raise InvalidArgument(bad)
        async for event in self._dispatcher.watch(request.rider_id, resume):
            yield pb.WatchAssignmentsResponse(event=convert.event_to_pb(event))

    @rpc
    async def UpdateTask(
        self, request: pb.UpdateTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateTaskResponse:
        caller = self._caller(context)
        violations = ids_violations(rider_id=request.rider_id, order_id=request.order_id)
        action = convert.ACTION_FROM_PB.get(request.action)
        if action is None:
            violations.append(
                FieldViolation("action", "must be one of ACCEPT, REJECT, ARRIVED_AT_MERCHANT, PICKED_UP, DELIVERED")
            )
        if violations:
            raise InvalidArgument(violations)
        caller.require_rider(request.rider_id)
        occurred_ms = opt_checked_ts_to_ms(request, "occurred_at")
        record = await self._dispatcher.update_task(request.rider_id, request.order_id, action, occurred_ms)  # type: ignore[arg-type]
        return pb.UpdateTaskResponse(task=convert.task_to_pb(record))

    @rpc
    async def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelOrderResponse:
        caller = self._caller(context)
        caller.require(Role.ORDER_SERVICE, Role.OPS, Role.MERCHANT)
        bad = id_violation("order_id", request.order_id)
        if bad:
            raise InvalidArgument(bad)
        if bad := text_violation("reason", request.reason, MAX_REASON_CHARS):
            raise InvalidArgument(bad)
        if caller.role is Role.MERCHANT:
            _require_own_merchant(caller, await self._dispatcher.get(request.order_id))
        record = await self._dispatcher.cancel(request.order_id, request.reason)
        return pb.CancelOrderResponse(status=convert.STATUS_TO_PB[record.status])

    @rpc
    async def GetOrder(self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext) -> pb.GetOrderResponse:
        caller = self._caller(context)
        bad = id_violation("order_id", request.order_id)
        if bad:
            raise InvalidArgument(bad)
        record = await self._dispatcher.get(request.order_id)
        if caller.role is Role.MERCHANT:
            _require_own_merchant(caller, record)
        if caller.role is Role.RIDER and record.rider_id != caller.subject_id:
            raise PermissionDenied(f"order {request.order_id} is not a task of rider {caller.subject_id}")
        history = await self._dispatcher.history(request.order_id)
        return pb.GetOrderResponse(order=convert.details_to_pb(record, history))

    @rpc
    async def ReportFoodReady(
        self, request: pb.ReportFoodReadyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReportFoodReadyResponse:
        caller = self._caller(context)
        caller.require(Role.MERCHANT, Role.ORDER_SERVICE, Role.OPS)
        bad = id_violation("order_id", request.order_id)
        if bad:
            raise InvalidArgument(bad)
        if caller.role is Role.MERCHANT:
            _require_own_merchant(caller, await self._dispatcher.get(request.order_id))
        ready_ms = opt_checked_ts_to_ms(request, "ready_at")
        record = await self._dispatcher.report_food_ready(request.order_id, ready_ms)
        return pb.ReportFoodReadyResponse(status=convert.STATUS_TO_PB[record.status])

    @rpc
    async def UpdateTraffic(
        self, request: pb.UpdateTrafficRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateTrafficResponse:
        self._caller(context).require(Role.OPS)
        if bad := count_violation("cells", request.cells, MAX_TRAFFIC_CELLS):
            raise InvalidArgument(bad)
        if repeats := duplicate_violations("cells", (c.h3_cell for c in request.cells), ".h3_cell"):
            raise InvalidArgument(repeats)
        cells = [(c.h3_cell, c.factor) for c in request.cells]
        changed, version = await self._dispatcher.set_traffic(cells, request.reset)
        return pb.UpdateTrafficResponse(roads_changed=changed, traffic_version=version)

    @rpc
    async def WatchOrders(
        self, request: pb.WatchOrdersRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchOrdersResponse]:
        self._caller(context).require(Role.ORDER_SERVICE, Role.OPS)
        resume = request.resume_after_event_id
        if bad := stream_id_violation("resume_after_event_id", resume, "an event id of a previous OrderUpdate"):
            raise InvalidArgument(bad)
        async for update in self._dispatcher.watch_orders(resume):
            yield pb.WatchOrdersResponse(update=convert.update_to_pb(update))


def _require_own_merchant(caller: Principal, record: OrderRecord) -> None:
    """A merchant acts only on its own orders."""
    if record.request.merchant_id != caller.subject_id:
        raise PermissionDenied(f"order {record.order_id} is not an order of merchant {caller.subject_id}")
