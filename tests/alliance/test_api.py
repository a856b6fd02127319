"""AllianceService through the real gRPC server: an order completed at the coffee shop (OrderService) issues
the yoga studio's trial coupon; its redemption at the studio's counter credits the coffee shop; roles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis

from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot, server_config
from tests.dispatch.api.helpers import bad_request_fields
from tests.settlement.helpers import KAMPPI, Money, create_and_pay, new_order, rule, set_rule
from tongcheng.alliance.v1 import alliance_pb2 as pb
from tongcheng.alliance.v1 import alliance_pb2_grpc
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb


@pytest_asyncio.fixture
async def served(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    services = ("orders", "settlement", "coupons", "alliance")
    application = App(server_config(tmp_path, redis_server.url, services=services))
    await application.start()
    yield application
    await application.stop()


class Client(Money):
    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        super().__init__(channel, token)
        self.alliance = alliance_pb2_grpc.AllianceServiceStub(channel)
        self.coupons = coupons_pb2_grpc.CouponServiceStub(channel)


@pytest_asyncio.fixture
async def client(served: App):  # type: ignore[no-untyped-def]
    assert served.private_key_file is not None
    issuer = TokenIssuer(served.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{served.port}") as ch:
        yield lambda role=Role.OPS, subject="": Client(ch, issuer.mint(role, subject))


async def setup(c) -> None:  # type: ignore[no-untyped-def]
    ops, yoga = c(), c(Role.MERCHANT, "yoga")
    alliance = pb.Alliance(alliance_id="a1", commission_bp=1_000, merchants=[
        pb.AllianceMerchant(merchant_id="m1", lat=KAMPPI[0], lng=KAMPPI[1], category="coffee"),
        pb.AllianceMerchant(merchant_id="yoga", lat=KAMPPI[0] + 0.002, lng=KAMPPI[1], category="fitness"),
    ])  # fmt: skip
    await ops.alliance.CreateAlliance(pb.CreateAllianceRequest(alliance=alliance), metadata=ops.md)
    now_s = int(time.time())
    campaign = cpb.Campaign(campaign_id="yoga-trial", merchant_id="yoga", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF,
                            amount_off_fen=3_000, transaction_minimum_fen=5_000, max_coupons=10)  # fmt: skip
    campaign.valid_from.seconds, campaign.valid_until.seconds = now_s - 60, now_s + 86_400
    await yoga.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=campaign), metadata=yoga.md)
    offer = pb.Offer(offer_id="yoga-for-coffee", alliance_id="a1", source_merchant_id="m1", campaign_id="yoga-trial",
                     trigger=pb.TRIGGER_COMPLETED, max_distance_m=1_000)  # fmt: skip
    await yoga.alliance.CreateOffer(pb.CreateOfferRequest(offer=offer), metadata=yoga.md)
    await set_rule(ops, rule())


async def test_whoever_brings_the_customer_gets_paid(client) -> None:  # type: ignore[no-untyped-def]
    """Completing a coffee order issues the yoga coupon; the studio redeems it; the coffee shop's report shows it."""
    await setup(client)
    ops, m1, yoga = client(), client(Role.MERCHANT, "m1"), client(Role.MERCHANT, "yoga")
    await create_and_pay(ops, "o1", customer_id="u1")
    for step in ("AcceptOrder", "MarkReady", "MarkPickedUp", "MarkDelivered", "CompleteOrder"):
        await getattr(ops.orders, step)(getattr(opb, f"{step}Request")(order_id="o1"), metadata=ops.md)
    report = await m1.alliance.GetContribution(
        pb.GetContributionRequest(alliance_id="a1", merchant_id="m1"), metadata=m1.md
    )
    assert [(o.offer_id, o.issued, o.redeemed) for o in report.offers] == [("yoga-for-coffee", 1, 0)]
    segment = await ops.alliance.GetMemberSegment(
        pb.GetMemberSegmentRequest(alliance_id="a1", member_id="u1"), metadata=ops.md
    )
    assert (segment.orders, segment.spend_fen, list(segment.categories)) == (1, 9_500, ["coffee"])
    usage = await yoga.coupons.GetCampaign(cpb.GetCampaignRequest(campaign_id="yoga-trial"), metadata=yoga.md)
    assert usage.usage.claimed == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:  # one merchant cannot read another's report
        await yoga.alliance.GetContribution(
            pb.GetContributionRequest(alliance_id="a1", merchant_id="m1"), metadata=yoga.md
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:  # nor offer another merchant's campaign
        offer = pb.Offer(offer_id="x", alliance_id="a1", source_merchant_id="yoga", campaign_id="yoga-trial",
                         trigger=pb.TRIGGER_PAID)  # fmt: skip
        await m1.alliance.CreateOffer(pb.CreateOfferRequest(offer=offer), metadata=m1.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_input_names_the_field_and_changes_nothing(client, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A bad alliance, a bad offer: INVALID_ARGUMENT naming each field; Redis as before."""
    await setup(client)
    ops = client()
    before = redis_snapshot(redis_sync)
    bad = [
        (ops.alliance.CreateAlliance(pb.CreateAllianceRequest(alliance=pb.Alliance(alliance_id="a2", commission_bp=5_000)),
                                     metadata=ops.md), {"alliance.merchants", "alliance.commission_bp"}),
        (ops.alliance.CreateOffer(pb.CreateOfferRequest(offer=pb.Offer(offer_id="o2", alliance_id="a1",
                                                                       source_merchant_id="m1", campaign_id="yoga-trial",
                                                                       max_distance_m=60_000)),
                                  metadata=ops.md), {"offer.trigger"}),
        (ops.alliance.GetMemberSegment(pb.GetMemberSegmentRequest(alliance_id="a1", member_id=""), metadata=ops.md),
         {"member_id"}),
    ]  # fmt: skip
    for call, fields in bad:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(bad_request_fields(err.value)) == fields
    assert redis_snapshot(redis_sync) == before


async def test_a_partner_coupon_paid_at_checkout_credits_the_source(client, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """The yoga coupon a coffee order issued pays for part of a yoga order at checkout (PayOrder redeems it): the
    coffee shop is credited 10% of the order; cancelling the yoga order claws it back, and a retried payment
    credits nothing again."""
    await setup(client)
    ops, m1 = client(), client(Role.MERCHANT, "m1")
    await create_and_pay(ops, "o1", customer_id="u1")
    for step in ("AcceptOrder", "MarkReady", "MarkPickedUp", "MarkDelivered", "CompleteOrder"):
        await getattr(ops.orders, step)(getattr(opb, f"{step}Request")(order_id="o1"), metadata=ops.md)
    (key,) = redis_sync.keys("tc:{money}:coupons:code:*")  # the coupon the completed coffee order issued
    code = key.rsplit(":", 1)[1]
    await ops.coupons.LockCoupon(
        cpb.LockCouponRequest(code=code, merchant_id="yoga", order_id="y1", order_amount_fen=9_500), metadata=ops.md
    )
    created = await ops.orders.CreateOrder(
        new_order("y1", merchant_id="yoga", customer_id="u1", coupon_codes=[code]), metadata=ops.md
    )
    pay = opb.PayOrderRequest(order_id="y1", payment_id="pay-y1", amount_fen=created.order.amount_due_fen)
    await ops.orders.PayOrder(pay, metadata=ops.md)

    async def contribution() -> tuple[int, int]:
        report = await m1.alliance.GetContribution(
            pb.GetContributionRequest(alliance_id="a1", merchant_id="m1"), metadata=m1.md
        )
        (offer,) = report.offers
        return offer.redeemed, offer.commission_fen

    assert await contribution() == (1, 950)
    await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id="y1"), metadata=ops.md)
    assert await contribution() == (0, 0)
    await ops.orders.PayOrder(pay, metadata=ops.md)  # a late retry of the payment
    assert await contribution() == (0, 0)
