"""What a merchant's dashboard shows: today's orders with their riders' ETAs, today's sales, settlement
statements, and for a chain's head office every branch side by side.

Read from the order center's per-merchant index of orders (`orders:merchant:<id>`, written with each order),
the orders themselves, dispatch's estimates for those in delivery, and the settlement runs. Days are the
settlement's business days (China Standard Time), so "today's sales" and a statement use the same day.
"""

from __future__ import annotations

import asyncio
import dataclasses

from commerce.orders.models import Order
from commerce.orders.store import OrderStore
from core.clock import Clock
from core.errors import InvalidArgument, NotFound
from core.validation import id_violation
from dispatch.dispatcher import Dispatcher
from merchants import Merchants
from settlement.days import DAY_MS, business_day, day_name, day_number
from settlement.service import Settlement

CST_OFFSET_MS = 8 * 3_600_000
ORDERS_SHOWN = 200  # the newest of the day; the count and sales cover all of them
BRANCHES_SHOWN = 200


class MerchantDesk:
    def __init__(
        self,
        store: OrderStore,
        settlement: Settlement | None,
        dispatcher: Dispatcher | None,
        merchants: Merchants | None,
        clock: Clock,
    ) -> None:
        self.store = store
        self.settlement = settlement
        self.dispatcher = dispatcher
        self.merchants = merchants
        self.clock = clock

    async def branches(self, chain_id: str) -> list[str]:
        """A chain's branches (merchants naming it), as the merchant service records them."""
        if self.merchants is None or not chain_id:
            return []
        return (await self.merchants.directory.branches(chain_id))[:BRANCHES_SHOWN]

    def yesterday(self) -> str:
        return day_name(day_number(self.clock.now_ms()) - 1)

    def _today(self) -> tuple[str, int, int]:
        name, n = business_day(self.clock.now_ms())
        start = n * DAY_MS - CST_OFFSET_MS
        return name, start, start + DAY_MS

    async def summary(self, merchant_id: str) -> dict[str, object]:
        _check(merchant_id)
        day, start, end = self._today()
        out = await self._day_of(merchant_id, start, end, ORDERS_SHOWN)
        out["day"] = day
        branches = await self.branches(merchant_id)
        if branches:
            sides = await asyncio.gather(*(self._day_of(b, start, end, 0) for b in branches))
            out["branches"] = [{"merchant_id": b, **s} for b, s in zip(branches, sides, strict=True)]
            out["chain_total"] = {
                k: sum(int(side[k]) for side in sides) for k in ("orders_today", "paid_orders", "sales_fen")
            }
        return out

    async def _day_of(self, merchant_id: str, start: int, end: int, shown: int) -> dict[str, object]:
        ids = await self.store.merchant_order_ids(merchant_id, start, end, limit=100_000)
        orders = await self.store.find_many(ids)
        eta: dict[str, tuple[int | None, int | None]] = {}
        live = [o for o in list(orders.values())[:shown] if o.dispatch_status and o.rider_id]
        if self.dispatcher is not None and live:
            found = await self.dispatcher.find_many([o.order_id for o in live])
            eta = {oid: (r.estimated_pickup_ms, r.estimated_dropoff_ms) for oid, r in found.items()}
        sales = sum(o.paid_fen - o.refunded_fen for o in orders.values() if start <= o.paid_at_ms < end)
        by_status: dict[str, int] = {}
        for o in orders.values():
            by_status[o.status.value] = by_status.get(o.status.value, 0) + 1
        return {
            "orders_today": len(orders),
            "sales_fen": sales,
            "paid_orders": sum(1 for o in orders.values() if start <= o.paid_at_ms < end),
            "by_status": by_status,
            "orders": [self._row(o, eta) for o in list(orders.values())[:shown]],
        }

    @staticmethod
    def _row(o: Order, eta: dict[str, tuple[int | None, int | None]]) -> dict[str, object]:
        pickup, dropoff = eta.get(o.order_id, (None, None))
        return {
            "order_id": o.order_id, "status": o.status.value, "dispatch_status": o.dispatch_status,
            "rider_id": o.rider_id, "total_fen": o.spec.total_fen, "paid_fen": o.paid_fen,
            "refunded_fen": o.refunded_fen, "created_ms": o.created_ms, "eta_pickup_ms": pickup,
            "eta_dropoff_ms": dropoff,
        }  # fmt: skip

    async def statement(self, merchant_id: str, day: str) -> dict[str, object]:
        """The merchant's statement of a settlement run (a chain's: its head office's share)."""
        _check(merchant_id)
        if self.settlement is None:
            raise NotFound("this server runs no settlement")
        receiver = f"head_office:{merchant_id}" if await self.branches(merchant_id) else f"merchant:{merchant_id}"
        summary, entries, csv_text = await self.settlement.runs.statement(day, receiver)
        return {
            "day": day,
            "summary": dataclasses.asdict(summary),
            "entries": [dataclasses.asdict(e) for e in entries],
            "csv": csv_text,
        }


def _check(merchant_id: str) -> None:
    if bad := id_violation("merchant_id", merchant_id):
        raise InvalidArgument(bad)
