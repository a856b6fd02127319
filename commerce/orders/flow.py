"""The order state machine: which step may move an order from which status to which.

    CREATED ─pay─▶ PAID ─accept─▶ ACCEPTED ─ready─▶ READY ─pick_up─▶ PICKED_UP ─deliver─▶ DELIVERED ─complete─▶ COMPLETED
                    │                  └──────────────pick_up─────────▲
                    └─reject─▶ REJECTED (refunded in full)
    cancel: from CREATED, PAID, ACCEPTED or READY to CANCELLED (a paid order is refunded in full)
    refund: from PAID, ACCEPTED, READY, DELIVERED or COMPLETED; partial refunds keep the status, the
            refund of all that is left moves the order to REFUNDED. Not while the goods are on the road
            (PICKED_UP): the delivery finishes first.

A booking's order (kind BOOKING, issue 20: a deposit or the full price of a booked slot) has no delivery and
is never handed to dispatch:

    CREATED ─pay─▶ PAID ─complete─▶ COMPLETED      (the merchant gave the service)
                    ├─no_show─▶ NO_SHOW            (the deposit kept, the rest refunded)
                    └─cancel─▶ CANCELLED           (refunded, less the deposit when late: bookings' policy)
    refund: from PAID, COMPLETED or NO_SHOW, as for any order.

A rider picking up from ACCEPTED is allowed: the rider holding the goods proves they were ready.
Repeating a step whose target is the current status is a harmless no-op (clients retry).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OrderStatus(enum.StrEnum):
    CREATED = "created"
    PAID = "paid"
    ACCEPTED = "accepted"
    READY = "ready"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    REFUNDED = "refunded"
    NO_SHOW = "no_show"  # a booking's customer did not come (booking orders only)


class OrderKind(enum.StrEnum):
    DELIVERY = "delivery"  # goods handed to dispatch (pickup and drop-off)
    BOOKING = "booking"  # a booked slot's payment: no delivery, ends at completion or no-show


class Step(enum.StrEnum):
    PAY = "pay"
    ACCEPT = "accept"
    REJECT = "reject"
    READY = "ready"
    PICK_UP = "pick_up"
    DELIVER = "deliver"
    COMPLETE = "complete"
    CANCEL = "cancel"
    REFUND = "refund"
    NO_SHOW = "no_show"


S = OrderStatus


@dataclass(frozen=True)
class Transition:
    sources: frozenset[OrderStatus]
    target: OrderStatus


TRANSITIONS: dict[Step, Transition] = {
    Step.PAY: Transition(frozenset({S.CREATED}), S.PAID),
    Step.ACCEPT: Transition(frozenset({S.PAID}), S.ACCEPTED),
    Step.REJECT: Transition(frozenset({S.PAID}), S.REJECTED),
    Step.READY: Transition(frozenset({S.ACCEPTED}), S.READY),
    Step.PICK_UP: Transition(frozenset({S.ACCEPTED, S.READY}), S.PICKED_UP),
    Step.DELIVER: Transition(frozenset({S.PICKED_UP}), S.DELIVERED),
    Step.COMPLETE: Transition(frozenset({S.DELIVERED}), S.COMPLETED),
    Step.CANCEL: Transition(frozenset({S.CREATED, S.PAID, S.ACCEPTED, S.READY}), S.CANCELLED),
    # A partial refund keeps the status; the target is where a full refund leads.
    Step.REFUND: Transition(frozenset({S.PAID, S.ACCEPTED, S.READY, S.DELIVERED, S.COMPLETED}), S.REFUNDED),
}

# A booking's order: no accept, ready, pickup or delivery steps.
BOOKING_TRANSITIONS: dict[Step, Transition] = {
    **{step: Transition(frozenset(), t.target) for step, t in TRANSITIONS.items()},
    Step.PAY: Transition(frozenset({S.CREATED}), S.PAID),
    Step.COMPLETE: Transition(frozenset({S.PAID}), S.COMPLETED),
    Step.NO_SHOW: Transition(frozenset({S.PAID}), S.NO_SHOW),
    Step.CANCEL: Transition(frozenset({S.CREATED, S.PAID}), S.CANCELLED),
    Step.REFUND: Transition(frozenset({S.PAID, S.COMPLETED, S.NO_SHOW}), S.REFUNDED),
}
TRANSITIONS[Step.NO_SHOW] = Transition(frozenset(), S.NO_SHOW)  # never for a delivery

# Statuses in which the goods have not left the merchant: dispatch can still be called off.
BEFORE_PICKUP = frozenset({S.CREATED, S.PAID, S.ACCEPTED, S.READY})
FINAL = frozenset({S.COMPLETED, S.CANCELLED, S.REJECTED, S.REFUNDED, S.NO_SHOW})


def transitions(kind: OrderKind = OrderKind.DELIVERY) -> dict[Step, Transition]:
    return BOOKING_TRANSITIONS if kind is OrderKind.BOOKING else TRANSITIONS


def is_repeat(status: OrderStatus, step: Step, kind: OrderKind = OrderKind.DELIVERY) -> bool:
    """A step whose target is already the status (a client's retry): answered with the order as it is."""
    return step is not Step.REFUND and transitions(kind)[step].target is status


def is_allowed(status: OrderStatus, step: Step, kind: OrderKind = OrderKind.DELIVERY) -> bool:
    return status in transitions(kind)[step].sources
