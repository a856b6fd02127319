"""BookingService: authenticate, convert, call the engine, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from bookings.models import DEFAULT_OFFER_MINUTES, Booking, BookingState, PaymentKind, Resource, ResourceKind, SlotView
from bookings.service import Bookings
from core.errors import InvalidArgument, PermissionDenied
from core.schedule import Period, WeeklyPeriod
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import checked_ts_to_ms, opt_ms_to_ts
from tongcheng.bookings.v1 import bookings_pb2 as pb
from tongcheng.bookings.v1 import bookings_pb2_grpc

KIND_FROM_PB = {
    pb.RESOURCE_KIND_DOCTOR: ResourceKind.DOCTOR,
    pb.RESOURCE_KIND_TABLE: ResourceKind.TABLE,
    pb.RESOURCE_KIND_CLASS: ResourceKind.CLASS,
    pb.RESOURCE_KIND_HOME_SERVICE: ResourceKind.HOME_SERVICE,
}
KIND_TO_PB = {v: k for k, v in KIND_FROM_PB.items()}
STATE_TO_PB = {s: pb.BookingState.Value(f"BOOKING_STATE_{s.name}") for s in BookingState}
SERVICES = (Role.ORDER_SERVICE, Role.OPS)
PAYMENT_KIND_FROM_PB = {pb.PAYMENT_KIND_DEPOSIT: PaymentKind.DEPOSIT, pb.PAYMENT_KIND_FULL: PaymentKind.FULL}


def resource_to_pb(r: Resource) -> pb.Resource:
    return pb.Resource(
        merchant_id=r.merchant_id, resource_id=r.resource_id, name=r.name, kind=KIND_TO_PB[r.kind],
        time_zone=r.time_zone, slot_minutes=r.slot_minutes, capacity=r.capacity,
        weekly_schedule=[pb.WeeklyPeriod(day=w.day, start_minute=w.start_minute, end_minute=w.end_minute)  # type: ignore[arg-type]
                         for w in r.weekly],
        exceptions=[
            pb.DateException(date=e.date.isoformat(),
                             periods=[pb.TimeRange(start_minute=p.start_minute, end_minute=p.end_minute) for p in e.periods])
            for e in r.exceptions
        ],
        offer_minutes=r.offer_minutes, version=r.version, price_fen=r.price_fen, deposit_fen=r.deposit_fen,
        free_cancel_minutes=r.free_cancel_minutes,
    )  # fmt: skip


def booking_to_pb(b: Booking) -> pb.Booking:
    live = b.state in (BookingState.HELD, BookingState.OFFERED)
    return pb.Booking(
        booking_id=b.booking_id, merchant_id=b.merchant_id, resource_id=b.resource_id, customer_id=b.customer_id,
        start_at=opt_ms_to_ts(b.start_ms), end_at=opt_ms_to_ts(b.end_ms), state=STATE_TO_PB[b.state],
        hold_expires_at=opt_ms_to_ts(b.expires_ms) if live else None, waitlist_position=b.waitlist_position,
        updated_at=opt_ms_to_ts(b.updated_ms), order_id=b.order_id,
    )  # fmt: skip


def availability_to_pb(views: list[SlotView]) -> pb.GetAvailabilityResponse:
    """The slots, built in place (`add`, Timestamps' fields set directly) and each date's text made once:
    a 30-day reply of 810 slots took 4.2 ms to build message by message, 2.6 ms so (profiled)."""
    reply = pb.GetAvailabilityResponse()
    add = reply.slots.add
    dates: dict[object, str] = {}
    for v in views:
        s = v.slot
        date_text = dates.get(s.local_date)
        if date_text is None:
            date_text = dates[s.local_date] = s.local_date.isoformat()
        m = add(
            resource_id=s.resource_id, local_date=date_text, local_start_minute=s.local_start_minute,
            capacity=v.capacity, free=v.free, waiting=v.waiting,
        )  # fmt: skip
        m.start_at.seconds, m.start_at.nanos = s.start_ms // 1000, (s.start_ms % 1000) * 1_000_000
        m.end_at.seconds, m.end_at.nanos = s.end_ms // 1000, (s.end_ms % 1000) * 1_000_000
    return reply


def _start_ms(request: object, field: str = "start_at") -> int:
    if not request.HasField(field):  # type: ignore[attr-defined]
        raise InvalidArgument.field(field, "required (a slot's start from GetAvailability)")
    return checked_ts_to_ms(field, getattr(request, field))


class BookingServicer(bookings_pb2_grpc.BookingServiceServicer):
    def __init__(self, bookings: Bookings, auth: Authenticator) -> None:
        self._b = bookings
        self._auth = auth

    def _for_merchant(self, context: grpc.aio.ServicerContext, merchant_id: str) -> Principal:
        """Services (the mini-program's back end) and ops act for any merchant, a merchant only for itself."""
        caller = self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]
        caller.require(Role.MERCHANT, *SERVICES)
        if caller.role is Role.MERCHANT and merchant_id != caller.subject_id:
            raise PermissionDenied(f"merchant {caller.subject_id} may not act for merchant {merchant_id}")
        return caller

    @rpc
    async def UpsertResource(
        self, request: pb.UpsertResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertResourceResponse:
        m = request.resource
        self._for_merchant(context, m.merchant_id)
        kind = KIND_FROM_PB.get(m.kind)
        if kind is None:
            raise InvalidArgument.field("resource.kind", "required: DOCTOR, TABLE, CLASS or HOME_SERVICE")
        resource = Resource(
            merchant_id=m.merchant_id, resource_id=m.resource_id, name=m.name, kind=kind, time_zone=m.time_zone,
            slot_minutes=m.slot_minutes, capacity=m.capacity, offer_minutes=m.offer_minutes or DEFAULT_OFFER_MINUTES,
            weekly=tuple(WeeklyPeriod(w.day, w.start_minute, w.end_minute) for w in m.weekly_schedule[:29]),
            version=m.version, price_fen=m.price_fen, deposit_fen=m.deposit_fen,
            free_cancel_minutes=m.free_cancel_minutes,
        )  # fmt: skip
        if len(m.weekly_schedule) > 28:
            raise InvalidArgument.field("resource.weekly_schedule", f"at most 28 entries, got {len(m.weekly_schedule)}")
        raw_exceptions = [
            (e.date, [Period(p.start_minute, p.end_minute) for p in e.periods]) for e in m.exceptions[:101]
        ]
        stored = await self._b.upsert_resource(resource, raw_exceptions)
        return pb.UpsertResourceResponse(resource=resource_to_pb(stored))

    @rpc
    async def GetResource(
        self, request: pb.GetResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResourceResponse:
        self._for_merchant(context, request.merchant_id)
        return pb.GetResourceResponse(
            resource=resource_to_pb(await self._b.resource(request.merchant_id, request.resource_id))
        )

    @rpc
    async def GetAvailability(
        self, request: pb.GetAvailabilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAvailabilityResponse:
        self._for_merchant(context, request.merchant_id)
        kind = KIND_FROM_PB.get(request.kind) if request.kind else None
        if request.kind and kind is None:
            raise InvalidArgument.field("kind", "must be DOCTOR, TABLE, CLASS or HOME_SERVICE")
        views = await self._b.availability(
            request.merchant_id, request.resource_id, kind, request.from_date, request.to_date, request.only_free
        )
        return availability_to_pb(views)

    @rpc
    async def HoldSlot(self, request: pb.HoldSlotRequest, context: grpc.aio.ServicerContext) -> pb.HoldSlotResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.take(
            request.merchant_id, request.resource_id, _start_ms(request), request.booking_id, request.customer_id,
            request.hold_s, waitlist=False,
        )  # fmt: skip
        return pb.HoldSlotResponse(booking=booking_to_pb(b))

    @rpc
    async def JoinWaitlist(
        self, request: pb.JoinWaitlistRequest, context: grpc.aio.ServicerContext
    ) -> pb.JoinWaitlistResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.take(
            request.merchant_id, request.resource_id, _start_ms(request), request.booking_id, request.customer_id, 0,
            waitlist=True,
        )  # fmt: skip
        return pb.JoinWaitlistResponse(booking=booking_to_pb(b))

    @rpc
    async def ConfirmBooking(
        self, request: pb.ConfirmBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmBookingResponse:
        self._for_merchant(context, request.merchant_id)
        p = request.payment
        kind = PAYMENT_KIND_FROM_PB.get(p.kind)
        if p.kind and kind is None:
            raise InvalidArgument.field("payment.kind", "must be DEPOSIT or FULL")
        b = await self._b.confirm(request.merchant_id, request.booking_id, kind, p.amount_fen, p.payment_id)
        return pb.ConfirmBookingResponse(booking=booking_to_pb(b))

    @rpc
    async def CancelBooking(
        self, request: pb.CancelBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelBookingResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.step(request.merchant_id, request.booking_id, "cancel")
        return pb.CancelBookingResponse(booking=booking_to_pb(b))

    @rpc
    async def MarkNoShow(
        self, request: pb.MarkNoShowRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkNoShowResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.step(request.merchant_id, request.booking_id, "no_show")
        return pb.MarkNoShowResponse(booking=booking_to_pb(b))

    @rpc
    async def CompleteBooking(
        self, request: pb.CompleteBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompleteBookingResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.step(request.merchant_id, request.booking_id, "complete")
        return pb.CompleteBookingResponse(booking=booking_to_pb(b))

    @rpc
    async def RescheduleBooking(
        self, request: pb.RescheduleBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.RescheduleBookingResponse:
        self._for_merchant(context, request.merchant_id)
        b = await self._b.reschedule(request.merchant_id, request.booking_id, request.resource_id, _start_ms(request))
        return pb.RescheduleBookingResponse(booking=booking_to_pb(b))

    @rpc
    async def GetBooking(
        self, request: pb.GetBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBookingResponse:
        self._for_merchant(context, request.merchant_id)
        return pb.GetBookingResponse(booking=booking_to_pb(await self._b.get(request.merchant_id, request.booking_id)))
