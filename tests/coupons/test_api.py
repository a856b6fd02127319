"""CouponService through the real gRPC server and Redis: limits that hold under many concurrent clients,
roles, bad input that changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
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
from tongcheng.coupons.v1 import coupons_pb2 as pb
from tongcheng.coupons.v1 import coupons_pb2_grpc

CLIENTS = 10  # channels, each a connection of its own
CALLS = 100


@pytest_asyncio.fixture
async def coupon_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    application = App(server_config(tmp_path, redis_server.url, services=("coupons",)))
    await application.start()
    yield application
    await application.stop()


class Clients:
    """CLIENTS channels to the server, and tokens minted for any role."""

    def __init__(self, channels: list[grpc.aio.Channel], issuer: TokenIssuer) -> None:
        self.stubs = [coupons_pb2_grpc.CouponServiceStub(ch) for ch in channels]
        self.issuer = issuer

    def md(self, role: Role = Role.OPS, subject_id: str = "") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.issuer.mint(role, subject_id)}"),)

    @property
    def stub(self) -> coupons_pb2_grpc.CouponServiceStub:
        return self.stubs[0]


@pytest_asyncio.fixture
async def clients(coupon_app: App) -> AsyncIterator[Clients]:
    assert coupon_app.private_key_file is not None
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{coupon_app.port}") for _ in range(CLIENTS)]
    yield Clients(channels, TokenIssuer(coupon_app.private_key_file.read_bytes()))
    for ch in channels:
        await ch.close()


def campaign(**kw: object) -> pb.Campaign:
    now_s = int(time.time())
    fields: dict[str, object] = {
        "campaign_id": "c1", "merchant_id": "m1", "kind": pb.DISCOUNT_KIND_AMOUNT_OFF, "amount_off_fen": 1_000,
        "transaction_minimum_fen": 5_000, "max_coupons": 1_000,
    }  # fmt: skip
    fields.update(kw)
    c = pb.Campaign(**fields)  # type: ignore[arg-type]
    c.valid_from.seconds, c.valid_until.seconds = now_s - 3_600, now_s + 30 * 86_400
    return c


async def claim_many(c: Clients, n: int, campaign_id: str = "c1") -> list[str]:
    replies = await asyncio.gather(
        *(
            c.stubs[i % CLIENTS].ClaimCoupon(
                pb.ClaimCouponRequest(campaign_id=campaign_id, member_id=f"u{i}", idempotency_key=f"k{i}"),
                metadata=c.md(),
            )
            for i in range(n)
        )
    )
    return [r.coupon.code for r in replies]


async def outcomes(calls: list[Callable[[], object]]) -> Counter[str]:
    async def one(call: Callable[[], object]) -> str:
        try:
            await call()  # type: ignore[misc]
            return "OK"
        except grpc.aio.AioRpcError as err:
            return err.code().name

    return Counter(await asyncio.gather(*(one(call) for call in calls)))


async def test_100_concurrent_redemptions_of_one_code_succeed_once(clients: Clients) -> None:
    """Exactly one 核销 of a single-use code, whatever the concurrency; the others FAILED_PRECONDITION."""
    c = clients
    await c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign()), metadata=c.md())
    (code,) = await claim_many(c, 1)
    md = c.md(Role.MERCHANT, "m1")
    calls = [
        (lambda i=i: c.stubs[i % CLIENTS].RedeemCoupon(
            pb.RedeemCouponRequest(code=code, merchant_id="m1", order_id=f"o{i}", order_amount_fen=8_000,
                                   request_no=f"q{i}"), metadata=md))
        for i in range(CALLS)
    ]  # fmt: skip
    assert await outcomes(calls) == Counter({"OK": 1, "FAILED_PRECONDITION": CALLS - 1})
    got = await c.stub.GetCampaign(pb.GetCampaignRequest(campaign_id="c1"), metadata=c.md())
    assert (got.usage.redeemed, got.usage.amount_used_fen) == (1, 1_000)


async def test_100_concurrent_locks_against_a_budget_of_10_lock_exactly_10(clients: Clients) -> None:
    """Per-day and amount budgets reserved at lock: exactly 10 of 100 concurrent locks hold, then none."""
    c = clients
    for campaign_id, limits in (("day", {"max_redemptions_per_day": 10}), ("amount", {"max_amount_fen": 10_500})):
        await c.stub.CreateCampaign(
            pb.CreateCampaignRequest(campaign=campaign(campaign_id=campaign_id, **limits)), metadata=c.md()
        )
        codes = await claim_many(c, CALLS, campaign_id)
        md = c.md(Role.ORDER_SERVICE)
        calls = [
            (lambda i=i, code=code, md=md: c.stubs[i % CLIENTS].LockCoupon(
                pb.LockCouponRequest(code=code, merchant_id="m1", order_id=f"o{i}", order_amount_fen=6_000,
                                     ttl_minutes=5), metadata=md))
            for i, code in enumerate(codes)
        ]  # fmt: skip
        assert await outcomes(calls) == Counter({"OK": 10, "FAILED_PRECONDITION": CALLS - 10}), campaign_id
        got = await c.stub.GetCampaign(pb.GetCampaignRequest(campaign_id=campaign_id), metadata=c.md())
        assert (got.usage.locked, got.usage.amount_used_fen) == (10, 10_000)


async def test_concurrent_claims_never_pass_the_count_or_the_member_limit(clients: Clients) -> None:
    """100 members race for 10 coupons: 10 win; one member's 20 racing claims get at most its limit of 2."""
    c = clients
    await c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign(max_coupons=10)), metadata=c.md())
    await c.stub.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign(campaign_id="c2", max_coupons_per_member=2)), metadata=c.md()
    )
    calls = [
        (lambda i=i: c.stubs[i % CLIENTS].ClaimCoupon(
            pb.ClaimCouponRequest(campaign_id="c1", member_id=f"u{i}", idempotency_key=f"k{i}"), metadata=c.md()))
        for i in range(CALLS)
    ]  # fmt: skip
    assert await outcomes(calls) == Counter({"OK": 10, "FAILED_PRECONDITION": CALLS - 10})
    md = c.md(Role.MEMBER, "u1")
    calls = [
        (lambda i=i: c.stubs[i % CLIENTS].ClaimCoupon(
            pb.ClaimCouponRequest(campaign_id="c2", member_id="u1", idempotency_key=f"u1-{i}"), metadata=md))
        for i in range(20)
    ]  # fmt: skip
    assert await outcomes(calls) == Counter({"OK": 2, "FAILED_PRECONDITION": 18})


async def test_roles_merchants_act_on_their_own_campaigns_and_members_on_their_own_coupons(clients: Clients) -> None:
    """A merchant creates only its own merchant-funded campaigns and redeems only at its own counter."""
    c = clients
    m1, m2 = c.md(Role.MERCHANT, "m1"), c.md(Role.MERCHANT, "m2")
    await c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign()), metadata=m1)
    got = await c.stub.GetCampaign(pb.GetCampaignRequest(campaign_id="c1"), metadata=m1)
    assert len(got.verification_key) == 64
    denied = [
        c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign(campaign_id="c2")), metadata=m2),
        c.stub.ClaimCoupon(pb.ClaimCouponRequest(campaign_id="c1", member_id="u2", idempotency_key="k"),
                           metadata=c.md(Role.MEMBER, "u1")),
        c.stub.RedeemCoupon(pb.RedeemCouponRequest(code="X", merchant_id="m1", order_id="o1", order_amount_fen=1,
                                                   request_no="q"), metadata=m2),
        c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign(campaign_id="c3")),
                              metadata=c.md(Role.MEMBER, "u1")),
    ]  # fmt: skip
    for call in denied:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:  # another merchant's campaign is not shown at all
        await c.stub.GetCampaign(pb.GetCampaignRequest(campaign_id="c1"), metadata=m2)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    u1 = c.md(Role.MEMBER, "u1")
    mine = await c.stub.ClaimCoupon(
        pb.ClaimCouponRequest(campaign_id="c1", member_id="u1", idempotency_key="k1"), metadata=u1
    )
    assert mine.coupon.qr_payload.endswith(mine.coupon.code)
    seen = await c.stub.GetCoupon(pb.GetCouponRequest(code=mine.coupon.code), metadata=u1)
    assert seen.coupon.state == pb.COUPON_STATE_CLAIMED
    for md in (c.md(Role.MEMBER, "u2"), m2):  # another member, another merchant: the same NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await c.stub.GetCoupon(pb.GetCouponRequest(code=mine.coupon.code), metadata=md)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


BAD = [
    ("CreateCampaign", pb.CreateCampaignRequest(campaign=campaign(discount_percent=101)),
     {"campaign.discount_percent"}),
    ("CreateCampaign", pb.CreateCampaignRequest(campaign=campaign(kind=pb.DISCOUNT_KIND_PERCENT_OFF, amount_off_fen=0,
                                                                  discount_percent=120, max_discount_fen=-1)),
     {"campaign.discount_percent", "campaign.max_discount_fen"}),
    ("CreateCampaign", pb.CreateCampaignRequest(campaign=pb.Campaign(campaign_id="c9", merchant_id="m1",
                                                                     kind=pb.DISCOUNT_KIND_AMOUNT_OFF)),
     {"campaign.amount_off_fen", "campaign.transaction_minimum_fen", "campaign.max_coupons", "campaign.valid_from",
      "campaign.valid_until"}),
    ("CreateCampaign", pb.CreateCampaignRequest(), {"campaign"}),
    ("ClaimCoupon", pb.ClaimCouponRequest(campaign_id="c1", member_id="", idempotency_key="k\x00"),
     {"member_id", "idempotency_key"}),
    ("LockCoupon", pb.LockCouponRequest(code="nonsense", merchant_id="m1", order_id="o1", order_amount_fen=0,
                                        ttl_minutes=61), {"order_amount_fen", "ttl_minutes"}),
    ("LockCoupon", pb.LockCouponRequest(code="nonsense", merchant_id="m1", order_id="o1", order_amount_fen=6_000),
     {"code"}),
    ("RedeemCoupon", pb.RedeemCouponRequest(code="", merchant_id="m1", order_id="o 1", order_amount_fen=100,
                                            delivery_fee_fen=200, request_no=""),
     {"order_id", "delivery_fee_fen", "request_no"}),
    ("RollbackCoupon", pb.RollbackCouponRequest(code="x", merchant_id="m1", order_id="", request_no="q"), {"order_id"}),
    ("GetCampaign", pb.GetCampaignRequest(campaign_id="c/1"), {"campaign_id"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "request_", "fields"), BAD, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(BAD)])
async def test_bad_input_names_the_field_and_changes_nothing(
    clients: Clients, redis_sync: redis.Redis, method: str, request_: object, fields: set[str]
) -> None:
    """INVALID_ARGUMENT with a BadRequest naming each bad field; Redis exactly as before."""
    c = clients
    await c.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign()), metadata=c.md())
    await claim_many(c, 2)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(c.stub, method)(request_, metadata=c.md())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert set(bad_request_fields(err.value)) == fields
    assert redis_snapshot(redis_sync) == before


async def test_a_member_lists_their_coupons_newest_first_page_by_page(
    clients: Clients, redis_sync: redis.Redis
) -> None:
    """Coupons of two campaigns claimed by u1 (and one by u2): u1 pages through its own, newest first, each with its
    campaign, state, discount terms and expiry, pages of 2 joining up to exactly the coupons claimed; another
    member's list is PERMISSION_DENIED to u1 and a merchant's; a bad page size or token is INVALID_ARGUMENT naming
    it, and nothing changes."""
    s = clients.stub
    await s.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign(max_coupons_per_member=5)), metadata=clients.md())
    pct = campaign(campaign_id="c2", kind=pb.DISCOUNT_KIND_PERCENT_OFF, amount_off_fen=0, discount_percent=20,
                   max_discount_fen=800, transaction_minimum_fen=0, max_coupons_per_member=5)  # fmt: skip
    await s.CreateCampaign(pb.CreateCampaignRequest(campaign=pct), metadata=clients.md())
    mine = []
    for n, cid in enumerate(("c1", "c2", "c1", "c2", "c1")):
        claim = pb.ClaimCouponRequest(campaign_id=cid, member_id="u1", idempotency_key=f"k{n}")
        mine.append((await s.ClaimCoupon(claim, metadata=clients.md(Role.MEMBER, "u1"))).coupon.code)
        await asyncio.sleep(0.002)  # claimed in distinct milliseconds: a definite newest first
    other = pb.ClaimCouponRequest(campaign_id="c1", member_id="u2", idempotency_key="u2-k0")
    await s.ClaimCoupon(other, metadata=clients.md(Role.MEMBER, "u2"))
    await s.LockCoupon(
        pb.LockCouponRequest(code=mine[0], merchant_id="m1", order_id="o1", order_amount_fen=6_000),
        metadata=clients.md(Role.MERCHANT, "m1"),
    )
    listed, token = [], ""
    while True:
        page = await s.ListMemberCoupons(
            pb.ListMemberCouponsRequest(member_id="u1", page_size=2, page_token=token),
            metadata=clients.md(Role.MEMBER, "u1"),
        )
        assert len(page.coupons) <= 2
        listed += page.coupons
        token = page.next_page_token
        if not token:
            break
    assert [c.coupon.code for c in listed] == mine[::-1]
    by_code = {c.coupon.code: c for c in listed}
    first = by_code[mine[0]]
    assert (first.coupon.campaign_id, first.coupon.state, first.coupon.discount_fen) == ("c1", pb.COUPON_STATE_LOCKED,
                                                                                         1_000)  # fmt: skip
    assert (first.merchant_id, first.kind, first.amount_off_fen, first.transaction_minimum_fen) == (
        "m1", pb.DISCOUNT_KIND_AMOUNT_OFF, 1_000, 5_000)  # fmt: skip
    second = by_code[mine[1]]
    assert (second.coupon.state, second.kind, second.discount_percent, second.max_discount_fen) == (
        pb.COUPON_STATE_CLAIMED, pb.DISCOUNT_KIND_PERCENT_OFF, 20, 800)  # fmt: skip
    assert second.valid_until == pct.valid_until
    everything = await s.ListMemberCoupons(pb.ListMemberCouponsRequest(member_id="u1"), metadata=clients.md())
    assert len(everything.coupons) == 5 and not everything.next_page_token  # ops: any member, 50 a page
    before = redis_snapshot(redis_sync)
    for role, subject in ((Role.MEMBER, "u2"), (Role.MERCHANT, "m1")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await s.ListMemberCoupons(pb.ListMemberCouponsRequest(member_id="u1"), metadata=clients.md(role, subject))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for request, field in (
        (pb.ListMemberCouponsRequest(member_id="u1", page_size=201), "page_size"),
        (pb.ListMemberCouponsRequest(member_id="u1", page_size=-1), "page_size"),
        (pb.ListMemberCouponsRequest(member_id="u1", page_token="nonsense"), "page_token"),
        (pb.ListMemberCouponsRequest(member_id=""), "member_id"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await s.ListMemberCoupons(request, metadata=clients.md())
        assert bad_request_fields(err.value) == [field], request
    assert redis_snapshot(redis_sync) == before
    empty = await s.ListMemberCoupons(pb.ListMemberCouponsRequest(member_id="u9"), metadata=clients.md())
    assert list(empty.coupons) == [] and not empty.next_page_token
