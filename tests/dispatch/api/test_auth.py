"""Every call needs a verified token of a role allowed to make it."""

from __future__ import annotations

import time

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.app import App
from serving.auth import ALGORITHM, AUDIENCE, ISSUER, Role, TokenIssuer, generate_key_pair
from tests.conftest import Caller
from tests.dispatch.api.helpers import fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


def get_order(caller: Caller):  # type: ignore[no-untyped-def]
    return caller.stub.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=caller.metadata)


async def expect(code: grpc.StatusCode, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()


async def test_missing_and_malformed_tokens_are_unauthenticated(app: App, channel: grpc.aio.Channel) -> None:
    """No token, a non-bearer header or garbage: UNAUTHENTICATED."""
    await expect(grpc.StatusCode.UNAUTHENTICATED, get_order(Caller(channel, None)))
    stub = Caller(channel, None).stub
    await expect(
        grpc.StatusCode.UNAUTHENTICATED,
        stub.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=(("authorization", "Basic abc"),)),
    )
    await expect(grpc.StatusCode.UNAUTHENTICATED, get_order(Caller(channel, "not.a.jwt")))


async def test_tokens_signed_by_another_key_are_unauthenticated(app: App, channel: grpc.aio.Channel) -> None:
    """A well-formed token from a foreign key does not verify."""
    foreign = TokenIssuer(generate_key_pair()[0]).mint(Role.OPS)
    await expect(grpc.StatusCode.UNAUTHENTICATED, get_order(Caller(channel, foreign)))


async def test_expired_and_unknown_role_tokens_are_unauthenticated(app: App, channel: grpc.aio.Channel) -> None:
    """An expired token, or one naming a role that does not exist, is refused."""
    assert app.private_key_file is not None
    key = app.private_key_file.read_bytes()
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ops", "iat": now - 7200}
    expired = jwt.encode({**base, "role": "ops", "exp": now - 3600}, _private(key), algorithm=ALGORITHM)
    await expect(grpc.StatusCode.UNAUTHENTICATED, get_order(Caller(channel, expired)))
    unknown = jwt.encode({**base, "role": "emperor", "exp": now + 3600}, _private(key), algorithm=ALGORITHM)
    await expect(grpc.StatusCode.UNAUTHENTICATED, get_order(Caller(channel, unknown)))


def _private(pem: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


async def test_wrong_roles_are_permission_denied(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Riders cannot submit orders; order services cannot stream positions or act as riders."""
    rider = as_role(Role.RIDER, "r1")
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        rider.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=rider.metadata),
    )
    svc = as_role(Role.ORDER_SERVICE)
    await expect(grpc.StatusCode.PERMISSION_DENIED, stream_fixes(svc, [[fix("r1", 60.17, 24.94)]]))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        svc.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=svc.metadata
        ),
    )
    merchant = as_role(Role.MERCHANT, "m1")
    watch = merchant.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r1"), metadata=merchant.metadata)
    await expect(grpc.StatusCode.PERMISSION_DENIED, watch.read())


async def test_riders_act_only_as_themselves(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A rider may stream only its own positions (another rider's fix is refused, the stream's own fixes are
    kept), watch only its own tasks, update only its own orders."""
    r1 = as_role(Role.RIDER, "r1")
    r2 = as_role(Role.RIDER, "r2")
    await stream_fixes(r2, [[fix("r2", 60.17, 24.94)]])
    off = pb.RIDER_AVAILABILITY_OFFLINE  # r1 stays out of the dispatch below
    reply = await stream_fixes(r1, [[fix("r1", 60.17, 24.94, availability=off), fix("r2", 60.18, 24.95)]])
    assert (reply.accepted_count, reply.rejected_count) == (1, 1)
    assert reply.rejections[0].field == "fixes[1].rider_id"
    assert "only its own" in reply.rejections[0].reason
    assert app.dispatcher is not None and app.redis is not None
    assert float(await app.redis.hget(app.dispatcher.index.keys.rider("r2"), "lat")) == 60.17
    watch = r1.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r2"), metadata=r1.metadata)
    await expect(grpc.StatusCode.PERMISSION_DENIED, watch.read())
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        r1.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r2", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=r1.metadata
        ),
    )
    # r2's order cannot be moved on by r1 even through r1's own id.
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    assert reply.results[0].rider_id == "r2"
    await stream_fixes(r1, [[fix("r1", 60.30, 24.94)]])
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        r1.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=r1.metadata
        ),
    )
    await expect(grpc.StatusCode.PERMISSION_DENIED, get_order(r1))


async def test_health_and_reflection_need_no_token(app: App, channel: grpc.aio.Channel) -> None:
    """Load balancers and grpcurl reach health checking without credentials."""
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="tongcheng.dispatch.v1.DispatchService")
    stream = health.Watch(request)
    while (await stream.read()).status != health_pb2.HealthCheckResponse.SERVING:
        pass
    stream.cancel()
    assert (await health.Check(request)).status == health_pb2.HealthCheckResponse.SERVING


def test_issuer_and_verifier_round_trip() -> None:
    """A minted token verifies to its role and id; tampering breaks it."""
    from core.errors import Unauthenticated
    from serving.auth import TokenVerifier

    private, public = generate_key_pair()
    token = TokenIssuer(private).mint(Role.RIDER, "r9")
    principal = TokenVerifier(public).verify(token)
    assert (principal.role, principal.subject_id) == (Role.RIDER, "r9")
    head, body, sig = token.split(".")
    with pytest.raises(Unauthenticated):
        TokenVerifier(public).verify(f"{head}.{body}.{sig[:-4]}AAAA")
