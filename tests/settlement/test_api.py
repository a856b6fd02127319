"""SettlementService through the real gRPC server and Redis: rules, splits, halts and alerts, T+1 runs,
statements, invoices and reconciliation."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from pathlib import Path

import grpc
import pytest
import redis
from google.protobuf.timestamp_pb2 import Timestamp

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import now_ms, redis_snapshot, server_config
from tests.dispatch.api.helpers import bad_request_fields
from tests.settlement.helpers import Money, create_and_pay, new_order, rule, set_rule
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as pb


def money_keys(client: redis.Redis) -> dict[str, object]:
    return {k: v for k, v in redis_snapshot(client).items() if k.startswith("tc:{money}:")}


@pytest.mark.parametrize(
    ("bad_rule", "field"),
    [
        (rule(platform_commission=pb.Share(basis_points=3_001)), "rule.platform_commission.basis_points"),
        (rule(rider_delivery_fee=pb.Share(basis_points=-1)), "rule.rider_delivery_fee.basis_points"),
        (rule(group_leader_commission=pb.Share(fixed_fen=-5)), "rule.group_leader_commission.fixed_fen"),
        (rule(head_office_share=pb.Share(basis_points=12_000)), "rule.head_office_share.basis_points"),
        (rule(max_receiver_share_bp=10_001), "rule.max_receiver_share_bp"),
        (
            rule(
                max_receiver_share_bp=9_000, platform_commission=pb.Share(basis_points=5_000),
                rider_delivery_fee=pb.Share(basis_points=5_000), group_leader_commission=pb.Share(basis_points=1),
            ),
            "rule",
        ),
        (pb.SplitRule(merchant_id="m1", chain_id="c1"), "rule.merchant_id"),
        (pb.SplitRule(merchant_id="bad id"), "rule.merchant_id"),
        (pb.SplitRule(merchant_id="m1\n"), "rule.merchant_id"),
        (rule(rider_fleet_id="fleet\n"), "rule.rider_fleet_id"),
        (rule(effective_from=Timestamp(seconds=253_402_300_799)), "rule.effective_from"),
        (rule(effective_from=Timestamp(seconds=2**62)), "rule.effective_from"),
        (rule(effective_from=Timestamp(seconds=86_400)), "rule.effective_from"),
    ],
)  # fmt: skip
async def test_bad_rules_name_the_field(
    money_only, redis_sync: redis.Redis, bad_rule: pb.SplitRule, field: str
) -> None:  # type: ignore[no-untyped-def]
    """Ratios over 100%, a receiver's share over the cap, negative fees, two scopes: INVALID_ARGUMENT naming the field."""
    m = money_only(Role.OPS)
    before = money_keys(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await set_rule(m, bad_rule)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err.value)
    assert money_keys(redis_sync) == before


async def test_rules_are_versioned_and_splits_record_the_version(money_only) -> None:  # type: ignore[no-untyped-def]
    """A new version applies to orders paid from its effective time; earlier splits keep theirs."""
    m = money_only(Role.OPS)
    first = await set_rule(m, rule())
    await create_and_pay(m, "o1")
    second = await set_rule(m, rule(platform_commission=pb.Share(basis_points=1_000)))
    await create_and_pay(m, "o2")
    assert (first.version, second.version) == (1, 2)
    listed = await m.settlement.ListSplitRules(pb.ListSplitRulesRequest(merchant_id="m1"), metadata=m.md)
    assert [r.platform_commission.basis_points for r in listed.rules] == [500, 1_000]
    splits = [await m.settlement.GetSplit(pb.GetSplitRequest(order_id=o), metadata=m.md) for o in ("o1", "o2")]
    assert [s.split.rule for s in splits] == ["merchant:m1#1", "merchant:m1#2"]
    assert [{leg.receiver: leg.amount_fen for leg in s.split.legs}["platform:tongcheng"] for s in splits] == [475, 950]


async def test_chain_rule_gives_head_office_its_share(money_only) -> None:  # type: ignore[no-untyped-def]
    """A branch without its own rule splits under its chain's: head office 10% of the order."""
    m = money_only(Role.OPS)
    chain_rule = rule(merchant_id="")
    chain_rule.chain_id = "c1"
    await set_rule(m, chain_rule)
    await create_and_pay(m, "o1", merchant_id="b7", chain_id="c1")
    split = await m.settlement.GetSplit(pb.GetSplitRequest(order_id="o1"), metadata=m.md)
    legs = {leg.receiver: leg.amount_fen for leg in split.split.legs}
    assert legs["head_office:c1"] == 950 and split.split.rule == "chain:c1#1" and sum(legs.values()) == 9_500


async def test_one_fen_rule_error_halts_and_alerts(
    money_only, redis_sync: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Fixed fees asking one fen more than was paid: nothing is posted, an alert is raised (log, counter,
    ListAlerts), reconciliation lists the order; after the rule is fixed, SplitOrders posts it."""
    m = money_only(Role.OPS)
    await set_rule(
        m,
        rule(
            max_receiver_share_bp=9_000, platform_commission=pb.Share(fixed_fen=500),
            rider_delivery_fee=pb.Share(fixed_fen=500), group_leader_commission=pb.Share(),
            head_office_share=pb.Share(),
        ),
    )  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="tongcheng.settlement"):
        paid = await create_and_pay(m, "o1", items_fen=899, delivery_fee_fen=100)  # 999 fen: 1 fen short of the fees
    assert paid.status == opb.ORDER_STATUS_PAID and paid.split_state == opb.SPLIT_STATE_HALTED
    assert any("split halted" in r.getMessage() and "o1" in r.getMessage() for r in caplog.records)
    split = await m.settlement.GetSplit(pb.GetSplitRequest(order_id="o1"), metadata=m.md)
    assert list(split.entries) == [] and redis_sync.hlen("tc:{money}:balances") == 0
    alerts = await m.settlement.ListAlerts(pb.ListAlertsRequest(), metadata=m.md)
    assert alerts.total_raised == 1 and [a.order_id for a in alerts.alerts] == ["o1"]
    assert "1 fen over" in alerts.alerts[0].message
    report = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    assert [(d.order_id, d.kind, d.expected_fen) for d in report.differences] == [("o1", "not_split", 999)]
    # The fix, effective for orders paid since before this one: the retry posts.
    fixed = rule(
        max_receiver_share_bp=9_000, platform_commission=pb.Share(fixed_fen=499),
        rider_delivery_fee=pb.Share(fixed_fen=500), group_leader_commission=pb.Share(), head_office_share=pb.Share(),
    )  # fmt: skip
    fixed.effective_from.CopyFrom(paid.paid_at)
    await set_rule(m, fixed)
    [result] = (
        await m.settlement.SplitOrders(
            pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key="retry-1", order_id="o1")]),
            metadata=m.md,
        )
    ).results
    assert result.outcome == pb.SPLIT_OUTCOME_POSTED and result.rule == "merchant:m1#2"
    assert {leg.receiver: leg.amount_fen for leg in result.legs} == {"platform:tongcheng": 499, "rider:fleet": 500}
    report = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    assert list(report.differences) == [] and report.ledger_net_fen == 999


async def test_split_halted_for_lack_of_a_rule_posts_once_the_rule_is_set(money_only) -> None:  # type: ignore[no-untyped-def]
    """No rule in force at payment: HALTED; a rule scheduled for later does not apply early; SetSplitRule with its
    default effective_from (now, after the payment), then SplitOrders: POSTED under that version, recorded."""
    m = money_only(Role.OPS)
    scheduled = rule(merchant_id="m2")
    scheduled.effective_from.FromMilliseconds(now_ms() + 3_600_000)
    await set_rule(m, scheduled)
    paid = await create_and_pay(m, "o1", merchant_id="m2")
    assert paid.split_state == opb.SPLIT_STATE_HALTED

    async def retry(key: str) -> pb.SplitResult:
        request = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key=key, order_id="o1")])
        return (await m.settlement.SplitOrders(request, metadata=m.md)).results[0]

    assert (await retry("retry-1")).outcome == pb.SPLIT_OUTCOME_HALTED
    fixed = await set_rule(m, rule(merchant_id="m2", platform_commission=pb.Share(basis_points=1_000)))
    assert fixed.effective_from.ToMilliseconds() > paid.paid_at.ToMilliseconds()
    result = await retry("retry-2")
    assert result.outcome == pb.SPLIT_OUTCOME_POSTED and result.rule == "merchant:m2#2"
    assert {leg.receiver: leg.amount_fen for leg in result.legs}["platform:tongcheng"] == 950
    split = await m.settlement.GetSplit(pb.GetSplitRequest(order_id="o1"), metadata=m.md)
    assert split.split.rule == "merchant:m2#2" and sum(e.amount_fen for e in split.entries) == 9_500
    order = (await m.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=m.md)).order
    assert order.split_state == opb.SPLIT_STATE_POSTED
    report = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    assert list(report.differences) == []


async def test_a_rule_in_force_at_payment_is_kept_by_a_halted_split(money_only) -> None:  # type: ignore[no-untyped-def]
    """A split halted by the rule in force at its payment stays HALTED after a new version effective now (orders
    paid from then on use it); only a version effective at or before the payment fixes it."""
    m = money_only(Role.OPS)
    await set_rule(m, rule(rider_delivery_fee=pb.Share(fixed_fen=2_000)))
    paid = await create_and_pay(m, "o1", items_fen=900, delivery_fee_fen=100)  # 1,000 fen: fees of 2,000 halt
    assert paid.split_state == opb.SPLIT_STATE_HALTED
    await set_rule(m, rule())
    later = await create_and_pay(m, "o2", items_fen=900, delivery_fee_fen=100)
    assert later.split_state == opb.SPLIT_STATE_POSTED
    request = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key="retry-1", order_id="o1")])
    still = (await m.settlement.SplitOrders(request, metadata=m.md)).results[0]
    assert still.outcome == pb.SPLIT_OUTCOME_HALTED and still.rule == "merchant:m1#1"
    backdated = rule()
    backdated.effective_from.CopyFrom(paid.paid_at)
    await set_rule(m, backdated)
    request = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key="retry-2", order_id="o1")])
    posted = (await m.settlement.SplitOrders(request, metadata=m.md)).results[0]
    assert posted.outcome == pb.SPLIT_OUTCOME_POSTED and posted.rule == "merchant:m1#3"


async def test_hundred_concurrent_identical_splits_have_one_effect(money_only, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """100 identical SplitOrders calls at once on a paid, unsplit order: one POSTED, 99 REPLAYED, one set of entries."""
    m = money_only(Role.OPS)
    await create_and_pay(m, "o1")  # no rule yet: the split halts
    paid_at = (await m.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=m.md)).order.paid_at
    r = rule()
    r.effective_from.CopyFrom(paid_at)
    await set_rule(m, r)
    svc = money_only(Role.ORDER_SERVICE)
    req = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key="k1", order_id="o1")])
    replies = await asyncio.gather(*(svc.settlement.SplitOrders(req, metadata=svc.md) for _ in range(100)))
    outcomes = sorted(pb.SplitOutcome.Name(reply.results[0].outcome) for reply in replies)
    assert outcomes == ["SPLIT_OUTCOME_POSTED"] + ["SPLIT_OUTCOME_REPLAYED"] * 99
    assert redis_sync.llen("tc:{money}:split_postings:o1") == 1
    balances = {k: int(v) for k, v in redis_sync.hgetall("tc:{money}:balances").items()}
    assert sum(balances.values()) == 9_500
    # Another key for the same order does nothing either.
    other = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key="k2", order_id="o1")])
    again = await svc.settlement.SplitOrders(other, metadata=svc.md)
    assert again.results[0].outcome == pb.SPLIT_OUTCOME_ALREADY_SPLIT
    assert redis_sync.llen("tc:{money}:split_postings:o1") == 1


async def test_split_bad_input_names_the_field(money_only, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """An unknown order, a key reused for another order, an empty request: INVALID_ARGUMENT naming the field."""
    m = money_only(Role.OPS)
    await set_rule(m, rule())
    await create_and_pay(m, "o1")
    await create_and_pay(m, "o2")
    await m.orders.CreateOrder(new_order("o3"), metadata=m.md)

    async def split(*pairs: tuple[str, str]) -> grpc.aio.AioRpcError:
        req = pb.SplitOrdersRequest(splits=[pb.SplitOrderRequest(idempotency_key=k, order_id=o) for k, o in pairs])
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await m.settlement.SplitOrders(req, metadata=m.md)
        return err.value

    before = money_keys(redis_sync)
    err = await split(("a", "o1"), ("b", "nope"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err) == ["splits[1].order_id"]
    err = await split(("pay:o1", "o2"))  # the key PayOrder used for o1
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err) == ["splits[0].idempotency_key"]
    err = await split(("same", "o1"), ("same", "o2"))
    assert bad_request_fields(err) == ["splits[1].idempotency_key"]
    err = await split(("k1", "o1"), ("k2", "o1"))  # one order twice in a batch: one alert at most, not two
    assert bad_request_fields(err) == ["splits[1].order_id"]
    err = await split(("k1\n", "o1"))
    assert bad_request_fields(err) == ["splits[0].idempotency_key"]
    err = await split()
    assert bad_request_fields(err) == ["splits"]
    err = await split(("k", "o3"))  # created, not paid
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert money_keys(redis_sync) == before


async def test_daily_run_statements_invoices_and_carry(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """T+1: a day settles only once it is over; statements list every entry with a CSV export and payable totals,
    platform fees get an e-invoice, and a receiver whose refunds outweigh its credits carries the difference."""
    # 2026-03-10 10:00 CST
    clock = ManualClock(1_773_108_000_000)
    app = App(server_config(tmp_path, redis_server.url, services=("orders", "settlement")), clock=clock)
    await app.start()
    try:
        assert app.private_key_file is not None
        issuer = TokenIssuer(app.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            m = Money(ch, issuer.mint(Role.OPS))
            await set_rule(m, rule())
            await create_and_pay(m, "o1")
            await create_and_pay(m, "o2", items_fen=19_500)
            run = m.settlement.RunDailySettlement
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await run(pb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=m.md)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # the day is not over
            for bad_day in ("2026-13-01", "9999-12-31", "1999-12-31", "２０２６-03-10", "2026-03-10\n"):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await run(pb.RunDailySettlementRequest(business_day=bad_day), metadata=m.md)
                assert bad_request_fields(err.value) == ["business_day"], bad_day

            clock.advance(24 * 3600)  # 2026-03-11 10:00: refund all of o1 (its legs gave back on the 11th)
            await m.orders.RefundOrder(
                opb.RefundOrderRequest(order_id="o1", idempotency_key="r1", amount_fen=9_500), metadata=m.md
            )
            first = await run(pb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=m.md)
            assert first.ran_now and list(first.days_settled) == ["2026-03-10"]
            by = {s.receiver: s for s in first.statements}
            # o1 9,500 fen: platform 475, rider 760 + 100, merchant 8,165; o2 20,000: 1,000, 1,600 + 100, 17,300.
            assert by["merchant:m1"].net_fen == 8_165 + 17_300 and by["merchant:m1"].payable_fen == 25_465
            assert by["platform:tongcheng"].net_fen == 475 + 1_000
            [invoice] = first.invoices
            assert (invoice.party, invoice.amount_fen, invoice.tax_fen) == ("merchant:m1", 1_475, 83)  # 1475 x 6/106
            assert invoice.invoice_number == "TC2026031000000001"
            statement = await m.settlement.GetStatement(
                pb.GetStatementRequest(business_day="2026-03-10", receiver="merchant:m1"), metadata=m.md
            )
            rows = list(csv.reader(io.StringIO(statement.csv)))
            assert rows[0] == ["entry_id", "order_id", "business_day", "posted_at_ms", "cause", "amount_fen"]
            assert sorted(r[0] for r in rows[1:3]) == ["o1#1.1", "o2#1.1"] and rows[-2] == [
                "payable",
                "",
                "",
                "",
                "",
                "25465",
            ]
            again = await run(pb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=m.md)
            assert not again.ran_now and list(again.statements) == list(first.statements)

            clock.advance(24 * 3600)  # 2026-03-12: settle the 11th, which holds only o1's reversal
            second = await run(pb.RunDailySettlementRequest(business_day="2026-03-11"), metadata=m.md)
            merchant = {s.receiver: s for s in second.statements}["merchant:m1"]
            assert (merchant.net_fen, merchant.payable_fen, merchant.carried_out_fen) == (-8_165, 0, -8_165)
            assert list(second.invoices) == []  # refunds took back the fees: nothing to invoice
            report = await m.settlement.Reconcile(pb.ReconcileRequest(business_day="2026-03-10"), metadata=m.md)
            assert report.orders_checked == 2 and list(report.differences) == [] and report.ledger_net_fen == 20_000
    finally:
        await app.stop()


async def test_reconciliation_finds_a_lost_entry(money_only, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """An entry missing from the ledger (removed behind the service's back) is listed, order by order."""
    m = money_only(Role.OPS)
    await set_rule(m, rule())
    await create_and_pay(m, "o1")
    await create_and_pay(m, "o2")
    clean = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    assert list(clean.differences) == [] and clean.orders_checked == 2 and clean.entries_checked == 6
    redis_sync.delete("tc:{money}:split_postings:o2")
    report = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    kinds = {(d.order_id, d.kind) for d in report.differences}
    assert ("o2", "net_mismatch") in kinds and ("o2", "leg_received_mismatch") in kinds
    assert all(d.order_id in ("o2", "") for d in report.differences)
