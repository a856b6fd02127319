"""Checks of what callers send to the order center, naming the offending field; nothing is written before."""

from __future__ import annotations

from commerce.orders.models import MAX_ORDER_FEN, NewOrder
from core.errors import FieldViolation, InvalidArgument
from core.geo import LatLng
from core.validation import id_violation, ids_violations, text_violation

# The same limits as dispatch: a paid order is handed to it unchanged.
from dispatch.validation import MAX_ITEM_COUNT, latlng_violations

MAX_REASON_CHARS = 500


def fen_violation(field: str, value: int, minimum: int = 1) -> FieldViolation | None:
    if value < minimum:
        return FieldViolation(field, "must be positive" if minimum == 1 else f"must be at least {minimum}")
    if value > MAX_ORDER_FEN:
        return FieldViolation(field, f"must be at most {MAX_ORDER_FEN} fen")
    return None


def check_ids(**fields: str) -> None:
    bad = ids_violations(**fields)
    if bad:
        raise InvalidArgument(bad)


def check_reason(reason: str) -> None:
    if bad := text_violation("reason", reason, MAX_REASON_CHARS):
        raise InvalidArgument(bad)


def check_new_order(o: NewOrder) -> None:
    """Raises InvalidArgument naming every bad field of a new order."""
    out = [
        id_violation("order_id", o.order_id),
        id_violation("merchant_id", o.merchant_id),
        id_violation("chain_id", o.chain_id, required=False),
        id_violation("group_leader_id", o.group_leader_id, required=False),
        id_violation("customer_id", o.customer_id, required=False),
        fen_violation("items_fen", o.items_fen),
        fen_violation("delivery_fee_fen", o.delivery_fee_fen, minimum=0),
    ]
    violations = [v for v in out if v]
    if not violations and o.total_fen > MAX_ORDER_FEN:
        violations.append(FieldViolation("items_fen", f"the order's total must be at most {MAX_ORDER_FEN} fen"))
    if o.is_booking:
        violations += booking_order_violations(o)
        if violations:
            raise InvalidArgument(violations)
        return
    if o.booking_id:
        violations.append(FieldViolation("booking_id", "only for an order of kind BOOKING"))
    for name, lat, lng in (("pickup", o.pickup_lat, o.pickup_lng), ("dropoff", o.dropoff_lat, o.dropoff_lng)):
        if (lat, lng) == (0.0, 0.0):
            violations.append(FieldViolation(name, "required"))
            continue
        violations += latlng_violations(name, LatLng(lat, lng))
    if not 1 <= o.item_count <= MAX_ITEM_COUNT:
        violations.append(FieldViolation("item_count", f"must be within [1, {MAX_ITEM_COUNT}]"))
    if violations:
        raise InvalidArgument(violations)


def booking_order_violations(o: NewOrder) -> list[FieldViolation]:
    """A booking's order is paid for a slot, not delivered: no addresses, no delivery fee, no catalogue lines."""
    out = [v for v in (id_violation("booking_id", o.booking_id),) if v]
    nothing = "must be empty: a booking order has no delivery"
    for name, lat, lng in (("pickup", o.pickup_lat, o.pickup_lng), ("dropoff", o.dropoff_lat, o.dropoff_lng)):
        if (lat, lng) != (0.0, 0.0):
            out.append(FieldViolation(name, nothing))
    if o.delivery_fee_fen:
        out.append(FieldViolation("delivery_fee_fen", "must be 0: a booking order has no delivery"))
    if o.lines:
        out.append(FieldViolation("lines", "must be empty: a booking order pays for a slot, not catalogue lines"))
    if o.item_count != 1:
        out.append(FieldViolation("item_count", "must be 1 (or unset) for a booking order"))
    return out
