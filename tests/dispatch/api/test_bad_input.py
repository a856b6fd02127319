"""Bad input gets INVALID_ARGUMENT (or NOT_FOUND) naming the field, and leaves Redis unchanged."""

from __future__ import annotations

import grpc
import pytest
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import now_ms, redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields, fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

HOUR_MS = 3_600_000


def _orders(*orders: pb.Order) -> pb.AssignRidersRequest:
    return pb.AssignRidersRequest(orders=list(orders))


def _hinted(order_id: str, sd_s: float) -> pb.Order:
    """An order whose merchant forecasts its food ready in 10 minutes, give or take sd_s."""
    o = order(order_id, ready_hint_sd_s=sd_s)
    o.ready_at_hint.FromMilliseconds(o.placed_at.ToMilliseconds() + 600_000)
    return o


def _at(o: pb.Order, name: str, ms: int) -> pb.Order:
    ts = getattr(o, name)
    ts.seconds, ts.nanos = ms // 1000, 0
    return o


def _nanos(o: pb.Order, nanos: int) -> pb.Order:
    o.placed_at.nanos = nanos
    return o


BAD_BATCHES = [
    ("empty batch", _orders(), ["orders"]),
    ("oversize batch", _orders(*[order(f"o{i}") for i in range(1_001)]), ["orders"]),
    ("missing order id", _orders(order("")), ["orders[0].order_id"]),
    ("missing merchant id", _orders(order("o1", merchant_id="")), ["orders[0].merchant_id"]),
    ("id with spaces", _orders(order("o 1")), ["orders[0].order_id"]),
    ("lat above 90", _orders(order("o1", pickup=(90.5, 24.9))), ["orders[0].pickup.lat"]),
    ("lat below -90", _orders(order("o1", dropoff=(-91.0, 24.9))), ["orders[0].dropoff.lat"]),
    ("lng outside", _orders(order("o1", pickup=(60.1, 181.0))), ["orders[0].pickup.lng"]),
    ("NaN lat", _orders(order("o1", pickup=(float("nan"), 24.9))), ["orders[0].pickup.lat"]),
    ("infinite lng", _orders(order("o1", dropoff=(60.1, float("inf")))), ["orders[0].dropoff.lng"]),
    ("placed far in the future", _orders(order("o1", placed_at_ms=now_ms() + HOUR_MS)), ["orders[0].placed_at"]),
    ("placed two days ago", _orders(order("o1", placed_at_ms=now_ms() - 48 * HOUR_MS)), ["orders[0].placed_at"]),
    ("negative items", _orders(order("o1", item_count=-3)), ["orders[0].item_count"]),
    ("duplicate ids", _orders(order("o1"), order("o1")), ["orders[1].order_id"]),
    (
        "merchant category not an OSM value",
        _orders(order("o1", merchant_category="Fast Food!")),
        ["orders[0].merchant_category"],
    ),
    ("negative hint spread", _orders(_hinted("o1", -60.0)), ["orders[0].ready_hint_sd_s"]),
    ("NaN hint spread", _orders(_hinted("o1", float("nan"))), ["orders[0].ready_hint_sd_s"]),
    ("hint spread over 4 h", _orders(_hinted("o1", 4 * 3600.0 + 1)), ["orders[0].ready_hint_sd_s"]),
    ("hint spread below a second", _orders(_hinted("o1", 1e-9)), ["orders[0].ready_hint_sd_s"]),
    ("hint spread without a hint", _orders(order("o1", ready_hint_sd_s=240.0)), ["orders[0].ready_hint_sd_s"]),
    ("id ending in a newline", _orders(order("p1-nl\n")), ["orders[0].order_id"]),
    ("id of Arabic-Indic digits", _orders(order("١٢٣")), ["orders[0].order_id"]),
    ("promised in year 9999", _orders(_at(order("o1"), "promised_at", 253_402_300_000_000)), ["orders[0].promised_at"]),
    ("promised past Timestamp's range", _orders(_at(order("o1"), "promised_at", 2**62)), ["orders[0].promised_at"]),
    (
        "promised 31 days on",
        _orders(_at(order("o1"), "promised_at", now_ms() + 31 * 24 * HOUR_MS)),
        ["orders[0].promised_at"],
    ),
    ("hint in year 9999", _orders(_at(order("o1"), "ready_at_hint", 253_402_300_000_000)), ["orders[0].ready_at_hint"]),
    ("negative nanos", _orders(_nanos(order("o1"), -1)), ["orders[0].placed_at.nanos"]),
    # One bad order refuses the whole batch: the good one is not stored either.
    ("second order bad", _orders(order("good"), order("bad", pickup=(99.0, 24.9))), ["orders[1].pickup.lat"]),
]


@pytest.mark.parametrize(("case", "request_", "fields"), BAD_BATCHES, ids=[c[0] for c in BAD_BATCHES])
async def test_assign_riders_rejects_bad_batches(  # type: ignore[no-untyped-def]
    app: App, as_role, redis_sync: redis.Redis, case: str, request_: pb.AssignRidersRequest, fields: list[str]
) -> None:
    """Each bad batch is INVALID_ARGUMENT with the field named in google.rpc.BadRequest; Redis is untouched."""
    svc = as_role(Role.ORDER_SERVICE)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.AssignRiders(request_, metadata=svc.metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, case
    assert bad_request_fields(err.value) == fields
    assert redis_snapshot(redis_sync) == before


async def test_promised_before_placed_is_invalid(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """promised_at must follow placed_at."""
    svc = as_role(Role.ORDER_SERVICE)
    o = order("o1")
    o.promised_at.FromMilliseconds(o.placed_at.ToMilliseconds() - 60_000)
    before = redis_snapshot(redis_sync)  # the zone's lease, held by the server's worker, and nothing else
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.AssignRiders(_orders(o), metadata=svc.metadata, timeout=5)
    assert bad_request_fields(err.value) == ["orders[0].promised_at"]
    assert redis_snapshot(redis_sync) == before


async def test_reused_order_id_with_another_body_is_invalid(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """An idempotency key names one body: the same id with another pickup is refused, nothing changes."""
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(_orders(order("o1")), metadata=svc.metadata, timeout=0.5)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.AssignRiders(_orders(order("o1", pickup=(60.2, 24.9))), metadata=svc.metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == ["orders[0].order_id"]
    after = redis_snapshot(redis_sync)
    assert {k: v for k, v in after.items() if "pending" not in k} == {
        k: v for k, v in before.items() if "pending" not in k
    }


async def test_rejected_fixes_change_nothing(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A stream of only bad fixes is answered with counts and leaves Redis as it was."""
    ops = as_role(Role.OPS)
    t = now_ms()
    before = redis_snapshot(redis_sync)
    reply = await stream_fixes(
        ops,
        [[fix("r1", 95.0, 24.9, t), fix("r1", 60.1, 24.9, t + HOUR_MS), fix("r1", 60.1, 24.9, t, speed_mps=-1.0)]],
    )
    assert (reply.accepted_count, reply.rejected_count) == (0, 3)
    assert [r.field for r in reply.rejections] == [
        "fixes[0].position.lat",
        "fixes[1].recorded_at",
        "fixes[2].speed_mps",
    ]
    assert redis_snapshot(redis_sync) == before


async def test_unknown_order_is_not_found(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """GetOrder, CancelOrder and UpdateTask on an order that does not exist: NOT_FOUND, nothing written."""
    svc = as_role(Role.ORDER_SERVICE)
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.17, 24.94)]])
    before = redis_snapshot(redis_sync)
    calls = [
        svc.stub.GetOrder(pb.GetOrderRequest(order_id="nope"), metadata=svc.metadata),
        svc.stub.CancelOrder(pb.CancelOrderRequest(order_id="nope"), metadata=svc.metadata),
        rider.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="nope", action=pb.TASK_ACTION_ACCEPT), metadata=rider.metadata
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert redis_snapshot(redis_sync) == before


async def test_unknown_rider_is_not_found(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A rider that never reported a position cannot watch or update tasks."""
    ghost = as_role(Role.RIDER, "ghost")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ghost.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="ghost", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=ghost.metadata
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    watch = ghost.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="ghost"), metadata=ghost.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await watch.read()
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (pb.UpdateTaskRequest(rider_id="", order_id="o1", action=pb.TASK_ACTION_ACCEPT), ["rider_id"]),
        (pb.UpdateTaskRequest(rider_id="r1", order_id="", action=pb.TASK_ACTION_ACCEPT), ["order_id"]),
        (pb.UpdateTaskRequest(rider_id="r1", order_id="o1"), ["action"]),
        (pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TaskAction.ValueType(42)), ["action"]),
    ],
    ids=["no rider", "no order", "no action", "unknown action"],
)
async def test_update_task_bad_fields(app: App, as_role, request_: pb.UpdateTaskRequest, fields: list[str]) -> None:  # type: ignore[no-untyped-def]
    """UpdateTask names its missing or unknown fields."""
    ops = as_role(Role.OPS)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.stub.UpdateTask(request_, metadata=ops.metadata)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == fields


async def test_update_task_from_the_future_is_invalid(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """occurred_at far in the future is refused."""
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.17, 24.94)]])
    req = pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT)
    req.occurred_at.FromMilliseconds(now_ms() + HOUR_MS)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rider.stub.UpdateTask(req, metadata=rider.metadata)
    assert bad_request_fields(err.value) == ["occurred_at"]


async def test_watch_bad_resume_id_and_missing_ids(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """WatchAssignments and GetOrder name the malformed field."""
    ops = as_role(Role.OPS)
    calls = [
        (
            ops.stub.WatchAssignments(
                pb.WatchAssignmentsRequest(rider_id="r1", resume_after_event_id="yesterday"), metadata=ops.metadata
            ),
            ["resume_after_event_id"],
        ),
        (ops.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id=""), metadata=ops.metadata), ["rider_id"]),
    ]
    for call, fields in calls:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call.read()
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request_fields(err.value) == fields
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.stub.GetOrder(pb.GetOrderRequest(order_id=""), metadata=ops.metadata)
    assert bad_request_fields(err.value) == ["order_id"]


@pytest.mark.parametrize(
    "resume",
    ["١٧٠٠٠٠٠٠٠٠٠٠٠-٠", f"{2**64}-0", "1-1\n", "1-"],
    ids=["Arabic-Indic digits", "past 64 bits", "trailing newline", "no sequence"],
)
async def test_resume_ids_redis_would_refuse_are_invalid(app: App, as_role, resume: str) -> None:  # type: ignore[no-untyped-def]
    """A resume point Redis cannot read is INVALID_ARGUMENT, never INTERNAL."""
    ops = as_role(Role.OPS)
    await stream_fixes(ops, [[fix("r1", 60.17, 24.94)]])
    call = ops.stub.WatchAssignments(
        pb.WatchAssignmentsRequest(rider_id="r1", resume_after_event_id=resume), metadata=ops.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call.read()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == ["resume_after_event_id"]


async def test_a_megabyte_value_is_refused_in_a_short_status(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A 1 MB id is INVALID_ARGUMENT (not the client's metadata overflow), its message under 1 KB."""
    svc = as_role(Role.ORDER_SERVICE)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.AssignRiders(_orders(order("x" * 1_000_000)), metadata=svc.metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len((err.value.details() or "").encode()) <= 1024
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.GetOrder(pb.GetOrderRequest(order_id="\n" * 1_000_000), metadata=svc.metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len((err.value.details() or "").encode()) <= 1024
    assert redis_snapshot(redis_sync) == before


async def test_a_thousand_bad_orders_still_fit_one_status(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Every order of a full batch bad: the status names the first 20 violations and counts the rest."""
    svc = as_role(Role.ORDER_SERVICE)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.AssignRiders(_orders(*[order(f"o {i}") for i in range(1_000)]), metadata=svc.metadata)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(bad_request_fields(err.value)) == 20
    assert "and 980 more" in (err.value.details() or "")
