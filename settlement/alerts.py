"""Settlement alerts: halted splits, kept in a Redis stream with a durable count (the scripts of
settlement.ledger raise them; this reads them)."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from core.errors import InvalidArgument
from core.validation import stream_id_violation
from settlement.keys import MoneyKeys

MAX_PAGE = 1_000


@dataclass(frozen=True)
class Alert:
    alert_id: str
    order_id: str
    kind: str
    message: str
    raised_ms: int


class Alerts:
    def __init__(self, client: aioredis.Redis, keys: MoneyKeys) -> None:
        self._redis = client
        self.keys = keys

    async def page(self, after_id: str = "", page_size: int = 100) -> tuple[list[Alert], int]:
        """Alerts after `after_id` (oldest first) and the count of every alert ever raised."""
        if bad := stream_id_violation("after_alert_id", after_id, "an alert id of a previous page"):
            raise InvalidArgument(bad)
        if not 0 <= page_size <= MAX_PAGE:
            raise InvalidArgument.field("page_size", f"must be within [0, {MAX_PAGE}]")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xrange(self.keys.alerts, f"({after_id}" if after_id else "-", "+", count=page_size or 100)
            pipe.get(self.keys.alerts_raised)
            entries, raised = await pipe.execute()
        alerts = [Alert(eid, f["order_id"], f["kind"], f["message"], int(eid.split("-")[0])) for eid, f in entries]
        return alerts, int(raised or 0)
