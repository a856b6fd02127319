"""SettlementService: authenticate, convert, call settlement, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from core.errors import InvalidArgument, PermissionDenied
from core.validation import instant_violation
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import checked_ts_to_ms, opt_ms_to_ts
from settlement.daily import Invoice, StatementSummary
from settlement.ledger import Entry, LegState, SplitResult
from settlement.reconcile import Difference
from settlement.rules import DEFAULT_MAX_RECEIVER_SHARE_BP, DEFAULT_RIDER_FLEET_ID, SHARE_FIELDS, Share, SplitRule
from settlement.service import Settlement, check_scope
from tongcheng.settlement.v1 import settlement_pb2 as pb
from tongcheng.settlement.v1 import settlement_pb2_grpc

OUTCOME_TO_PB = {
    "posted": pb.SPLIT_OUTCOME_POSTED,
    "replayed": pb.SPLIT_OUTCOME_REPLAYED,
    "halted": pb.SPLIT_OUTCOME_HALTED,
    "already_split": pb.SPLIT_OUTCOME_ALREADY_SPLIT,
    "nothing_to_split": pb.SPLIT_OUTCOME_NOTHING_TO_SPLIT,
}


def rule_from_pb(r: pb.SplitRule) -> SplitRule:
    check_scope(r.merchant_id, r.chain_id, prefix="rule.")
    effective_from_ms = checked_ts_to_ms("rule.effective_from", r.effective_from) if r.HasField("effective_from") else 0
    if r.HasField("effective_from") and (bad := instant_violation("rule.effective_from", effective_from_ms)):
        raise InvalidArgument(bad)
    shares = {name: Share(getattr(r, name).basis_points, getattr(r, name).fixed_fen) for name in SHARE_FIELDS}
    return SplitRule(
        scope=f"merchant:{r.merchant_id}" if r.merchant_id else f"chain:{r.chain_id}",
        max_receiver_share_bp=r.max_receiver_share_bp or DEFAULT_MAX_RECEIVER_SHARE_BP,
        rider_fleet_id=r.rider_fleet_id or DEFAULT_RIDER_FLEET_ID,
        effective_from_ms=effective_from_ms,
        **shares,
    )


def rule_to_pb(r: SplitRule) -> pb.SplitRule:
    kind, _, owner = r.scope.partition(":")
    out = pb.SplitRule(
        version=r.version,
        max_receiver_share_bp=r.max_receiver_share_bp,
        rider_fleet_id=r.rider_fleet_id,
        effective_from=opt_ms_to_ts(r.effective_from_ms),
        created_at=opt_ms_to_ts(r.created_ms),
    )
    if kind == "merchant":
        out.merchant_id = owner
    else:
        out.chain_id = owner
    for name in SHARE_FIELDS:
        s: Share = getattr(r, name)
        getattr(out, name).CopyFrom(pb.Share(basis_points=s.basis_points, fixed_fen=s.fixed_fen))
    return out


def legs_to_pb(legs: tuple[LegState, ...]) -> list[pb.Leg]:
    return [pb.Leg(receiver=leg.receiver, amount_fen=leg.amount_fen, reversed_fen=leg.reversed_fen) for leg in legs]


def result_to_pb(r: SplitResult) -> pb.SplitResult:
    return pb.SplitResult(
        order_id=r.order_id, outcome=OUTCOME_TO_PB[r.outcome], legs=legs_to_pb(r.legs), rule=r.rule, reason=r.reason
    )


def entry_to_pb(e: Entry) -> pb.Entry:
    return pb.Entry(
        entry_id=e.entry_id, order_id=e.order_id, receiver=e.receiver, amount_fen=e.amount_fen, cause=e.cause,
        posted_at=opt_ms_to_ts(e.posted_ms), business_day=e.day,
    )  # fmt: skip


def summary_to_pb(s: StatementSummary) -> pb.StatementSummary:
    return pb.StatementSummary(
        receiver=s.receiver, entry_count=s.entry_count, net_fen=s.net_fen, carried_in_fen=s.carried_in_fen,
        payable_fen=s.payable_fen, carried_out_fen=s.carried_out_fen,
    )  # fmt: skip


def invoice_to_pb(i: Invoice) -> pb.Invoice:
    return pb.Invoice(
        invoice_number=i.invoice_number, party=i.party, amount_fen=i.amount_fen, tax_fen=i.tax_fen,
        business_day=i.business_day,
    )  # fmt: skip


def difference_to_pb(d: Difference) -> pb.Difference:
    return pb.Difference(
        order_id=d.order_id, receiver=d.receiver, kind=d.kind, expected_fen=d.expected_fen,
        actual_fen=d.actual_fen, detail=d.detail,
    )  # fmt: skip


class SettlementServicer(settlement_pb2_grpc.SettlementServiceServicer):
    def __init__(self, settlement: Settlement, auth: Authenticator) -> None:
        self._settlement = settlement
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    @rpc
    async def SetSplitRule(
        self, request: pb.SetSplitRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetSplitRuleResponse:
        self._caller(context).require(Role.OPS)
        if not request.HasField("rule"):
            raise InvalidArgument.field("rule", "required")
        stored = await self._settlement.set_rule(rule_from_pb(request.rule))
        return pb.SetSplitRuleResponse(rule=rule_to_pb(stored))

    @rpc
    async def ListSplitRules(
        self, request: pb.ListSplitRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSplitRulesResponse:
        self._caller(context).require(Role.OPS)
        rules = await self._settlement.list_rules(request.merchant_id, request.chain_id)
        return pb.ListSplitRulesResponse(rules=[rule_to_pb(r) for r in rules])

    @rpc
    async def SplitOrders(
        self, request: pb.SplitOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.SplitOrdersResponse:
        self._caller(context).require(Role.ORDER_SERVICE, Role.OPS)
        results = await self._settlement.split([(s.idempotency_key, s.order_id) for s in request.splits])
        return pb.SplitOrdersResponse(results=[result_to_pb(r) for r in results])

    @rpc
    async def GetSplit(self, request: pb.GetSplitRequest, context: grpc.aio.ServicerContext) -> pb.GetSplitResponse:
        self._caller(context).require(Role.ORDER_SERVICE, Role.OPS)
        legs, rule, entries, paid = await self._settlement.split_of(request.order_id)
        outcome = pb.SPLIT_OUTCOME_POSTED if legs else pb.SPLIT_OUTCOME_UNSPECIFIED
        return pb.GetSplitResponse(
            split=pb.SplitResult(order_id=request.order_id, outcome=outcome, legs=legs_to_pb(legs), rule=rule),
            paid_fen=paid,
            entries=[entry_to_pb(e) for e in entries],
        )

    @rpc
    async def ListAlerts(
        self, request: pb.ListAlertsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAlertsResponse:
        self._caller(context).require(Role.OPS)
        alerts, raised = await self._settlement.alerts.page(request.after_alert_id, request.page_size)
        return pb.ListAlertsResponse(
            alerts=[
                pb.Alert(
                    alert_id=a.alert_id,
                    order_id=a.order_id,
                    kind=a.kind,
                    message=a.message,
                    raised_at=opt_ms_to_ts(a.raised_ms),
                )
                for a in alerts
            ],
            total_raised=raised,
        )

    @rpc
    async def RunDailySettlement(
        self, request: pb.RunDailySettlementRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunDailySettlementResponse:
        self._caller(context).require(Role.OPS)
        run = await self._settlement.runs.run(request.business_day)
        return pb.RunDailySettlementResponse(
            business_day=run.business_day,
            days_settled=list(run.days_settled),
            statements=[summary_to_pb(s) for s in run.statements],
            invoices=[invoice_to_pb(i) for i in run.invoices],
            ran_now=run.ran_now,
        )

    @rpc
    async def GetStatement(
        self, request: pb.GetStatementRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetStatementResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT)
        if caller.role is Role.MERCHANT and request.receiver != f"merchant:{caller.subject_id}":
            raise PermissionDenied(f"merchant {caller.subject_id} may read only its own statements")
        if not request.receiver:
            raise InvalidArgument.field("receiver", "required (e.g. merchant:m1)")
        summary, entries, csv_text = await self._settlement.runs.statement(request.business_day, request.receiver)
        return pb.GetStatementResponse(
            summary=summary_to_pb(summary), entries=[entry_to_pb(e) for e in entries], csv=csv_text
        )

    @rpc
    async def Reconcile(self, request: pb.ReconcileRequest, context: grpc.aio.ServicerContext) -> pb.ReconcileResponse:
        self._caller(context).require(Role.OPS)
        report = await self._settlement.reconciler.reconcile(request.business_day)
        return pb.ReconcileResponse(
            orders_checked=report.orders_checked,
            entries_checked=report.entries_checked,
            order_net_fen=report.order_net_fen,
            ledger_net_fen=report.ledger_net_fen,
            differences=[difference_to_pb(d) for d in report.differences],
        )
