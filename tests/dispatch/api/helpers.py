"""Builders of API messages for the dispatch tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dispatch.api.convert import ms_to_ts
from tests.conftest import Caller, now_ms
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

KAMPPI = (60.1700, 24.9420)  # a pickup in the default city (central Helsinki extract)
TOOLO = (60.1760, 24.9480)  # a drop-off 700 m north-east


def order(
    order_id: str, pickup: tuple[float, float] = KAMPPI, dropoff: tuple[float, float] = TOOLO, **kw: object
) -> pb.Order:
    o = pb.Order(
        order_id=order_id,
        merchant_id=str(kw.pop("merchant_id", "m1")),
        pickup=pb.LatLng(lat=pickup[0], lng=pickup[1]),
        dropoff=pb.LatLng(lat=dropoff[0], lng=dropoff[1]),
        placed_at=ms_to_ts(int(kw.pop("placed_at_ms", now_ms()))),  # type: ignore[arg-type]
        item_count=int(kw.pop("item_count", 2)),  # type: ignore[arg-type]
    )
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def fix(rider_id: str, lat: float, lng: float, at_ms: int | None = None, **kw: object) -> pb.PositionFix:
    return pb.PositionFix(
        rider_id=rider_id, position=pb.LatLng(lat=lat, lng=lng), recorded_at=ms_to_ts(at_ms or now_ms()), **kw
    )


async def stream_fixes(caller: Caller, messages: Sequence[Sequence[pb.PositionFix]]) -> pb.StreamRiderPositionsResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for fixes in messages:
            yield pb.StreamRiderPositionsRequest(fixes=list(fixes))

    return await caller.stub.StreamRiderPositions(gen(), metadata=caller.metadata, timeout=10)


def bad_request_fields(err: grpc.aio.AioRpcError) -> list[str]:
    """The field names of the google.rpc.BadRequest detail of an INVALID_ARGUMENT error."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT without rich status details"
    fields = []
    for detail in status.details:
        br = error_details_pb2.BadRequest()
        if detail.Unpack(br):
            fields += [v.field for v in br.field_violations]
    return fields


async def next_event(stream: grpc.aio.UnaryStreamCall, timeout_s: float = 5.0) -> pb.TaskEvent:
    response = await asyncio.wait_for(stream.read(), timeout_s)
    assert response is not grpc.aio.EOF
    return response.event
