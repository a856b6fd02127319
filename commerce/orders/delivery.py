"""Handing paid orders to dispatch and reading back how their delivery goes.

The order center follows dispatch rather than dispatch calling back: it hands an order over with the
engine's own `submit` (the path `AssignRiders` takes) and then reads the dispatch order's status, so
dispatch needs no knowledge of the order center and keeps working alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from commerce.orders.models import Order
from core.errors import FailedPrecondition, InvalidArgument, NotFound
from dispatch import Dispatcher, LatLng, OrderRequest

log = logging.getLogger("tongcheng.orders")


class DeliveryGateway(Protocol):
    """Where paid orders go to be delivered."""

    async def hand_over(self, order: Order) -> tuple[str, str]:
        """Submits the order for delivery (idempotent); returns (dispatch status, rider id)."""
        ...

    async def call_off(self, order_id: str, reason: str) -> None:
        """Cancels the delivery if it has not been picked up (a no-op otherwise)."""
        ...

    async def statuses(self, order_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(dispatch status, rider id) of the orders dispatch knows."""
        ...


class InProcessDispatch:
    """The dispatch engine running in this process."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    async def hand_over(self, order: Order) -> tuple[str, str]:
        s = order.spec
        request = OrderRequest(
            order_id=s.order_id,
            merchant_id=s.merchant_id,
            pickup=LatLng(s.pickup_lat, s.pickup_lng),
            dropoff=LatLng(s.dropoff_lat, s.dropoff_lng),
            # The payment time, not now: a retried hand-over must carry the same body (dispatch is
            # idempotent on the order id and refuses another body under it).
            placed_at_ms=order.paid_at_ms,
            item_count=s.item_count,
        )
        try:
            [record] = await self._dispatcher.submit([request])
        except InvalidArgument as exc:
            # Dispatch refuses the order (its id names another dispatch order, sent straight to
            # AssignRiders with another body; or a retry after the 24 h dispatch accepts): the payment
            # stands, and the order is left, like one dispatch rejects, for ops to cancel and refund.
            log.warning("dispatch refused paid order %s: %s", s.order_id, exc)
            return "rejected", ""
        return record.status.value, record.rider_id

    async def call_off(self, order_id: str, reason: str) -> None:
        try:
            await self._dispatcher.cancel(order_id, reason)
        except (FailedPrecondition, NotFound):
            pass  # already on the road, finished, or never handed over

    async def statuses(self, order_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found = await self._dispatcher.find_many(order_ids)
        return {oid: (r.status.value, r.rider_id) for oid, r in found.items()}


class DispatchKitchens:
    """Dispatch's prep-time model (`dispatch/prep.py`) as chain overflow's view of kitchens
    (`commerce.orders.overflow.KitchenView`): read-only, one script per branch in its zone."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    async def predict_ready(
        self, branches: Sequence[tuple[str, LatLng]], at_ms: int, item_count: int
    ) -> list[tuple[int, int]]:
        out = []
        for merchant_id, location in branches:
            prep = self._dispatcher.zone(self._dispatcher.zoning.zone_of(location)).prep
            estimate = await prep.predict(merchant_id, at_ms, item_count)
            out.append((estimate.ready_at_ms, await prep.backlog(merchant_id)))
        return out
