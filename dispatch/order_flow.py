"""The order state machine: which step may move an order from which status to which.

PENDING ──assign──▶ ASSIGNED ──accept──▶ ACCEPTED ──arrive──▶ AT_MERCHANT ──pick_up──▶ PICKED_UP ──deliver──▶ DELIVERED
   ▲  │                │                    └───────────────pick_up──────────────────▲
   │  └─reject_order─▶ REJECTED              (reject / expire_offer return ASSIGNED to PENDING)
   └────────────────── ASSIGNED
cancel: from PENDING, ASSIGNED, ACCEPTED or AT_MERCHANT to CANCELLED (goods not yet with the rider)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dispatch.models import OrderStatus, TaskAction, TaskEventType

S = OrderStatus


class Step(enum.StrEnum):
    ASSIGN = "assign"
    ACCEPT = "accept"
    REJECT = "reject"
    EXPIRE_OFFER = "expire_offer"
    ARRIVE = "arrive"
    PICK_UP = "pick_up"
    DELIVER = "deliver"
    CANCEL = "cancel"
    REJECT_ORDER = "reject_order"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[OrderStatus]
    target: OrderStatus
    # The event the order's rider sees on its feed, if any.
    rider_event: TaskEventType | None
    # Whether the order leaves its rider (back to the pool or finished).
    releases_rider: bool = False


TRANSITIONS: dict[Step, Transition] = {
    Step.ASSIGN: Transition(frozenset({S.PENDING}), S.ASSIGNED, TaskEventType.OFFERED),
    Step.ACCEPT: Transition(frozenset({S.ASSIGNED}), S.ACCEPTED, TaskEventType.UPDATED),
    Step.REJECT: Transition(frozenset({S.ASSIGNED}), S.PENDING, TaskEventType.UPDATED, releases_rider=True),
    Step.EXPIRE_OFFER: Transition(frozenset({S.ASSIGNED}), S.PENDING, TaskEventType.OFFER_EXPIRED, releases_rider=True),
    Step.ARRIVE: Transition(frozenset({S.ACCEPTED}), S.AT_MERCHANT, TaskEventType.UPDATED),
    Step.PICK_UP: Transition(frozenset({S.ACCEPTED, S.AT_MERCHANT}), S.PICKED_UP, TaskEventType.UPDATED),
    Step.DELIVER: Transition(frozenset({S.PICKED_UP}), S.DELIVERED, TaskEventType.UPDATED, releases_rider=True),
    Step.CANCEL: Transition(
        frozenset({S.PENDING, S.ASSIGNED, S.ACCEPTED, S.AT_MERCHANT}),
        S.CANCELLED,
        TaskEventType.CANCELLED,
        releases_rider=True,
    ),
    Step.REJECT_ORDER: Transition(frozenset({S.PENDING}), S.REJECTED, None),
}

STEP_OF_ACTION: dict[TaskAction, Step] = {
    TaskAction.ACCEPT: Step.ACCEPT,
    TaskAction.REJECT: Step.REJECT,
    TaskAction.ARRIVED_AT_MERCHANT: Step.ARRIVE,
    TaskAction.PICKED_UP: Step.PICK_UP,
    TaskAction.DELIVERED: Step.DELIVER,
}
