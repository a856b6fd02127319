"""Checks of what callers send to the merchants package, naming every offending field; nothing is written before."""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.errors import FieldViolation, InvalidArgument
from core.schedule import Period, schedule_violations
from core.validation import (
    EARLIEST_MS,
    count_violation,
    duplicate_violations,
    id_violation,
    instant_violation,
    local_date_violation,
    text_violation,
)
from merchants.models import (
    CATEGORIES,
    MAX_BATCH_OBJECTS,
    MAX_LINE_QUANTITY,
    MAX_PRICE_FEN,
    MAX_RESERVATION_LINES,
    MAX_RESERVATION_TTL_S,
    MAX_STOCK_QUANTITY,
    MAX_VARIANTS,
    CatalogItem,
    Lot,
    Merchant,
    StockEvent,
    StockEventKind,
)

MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 200
# A POS clock may run a little fast; an event further in the future than this is a wrong clock or a typo.
MAX_FUTURE_SKEW_MS = 5 * 60_000


def raise_if(violations: Sequence[FieldViolation | None]) -> None:
    bad = [v for v in violations if v is not None]
    if bad:
        raise InvalidArgument(bad)


def check_merchant_id(merchant_id: str, field: str = "merchant_id") -> None:
    raise_if([id_violation(field, merchant_id)])


def name_violation(field: str, name: str) -> FieldViolation | None:
    if not name.strip():
        return FieldViolation(field, "required")
    return text_violation(field, name, MAX_NAME_CHARS)


def latlng_violations(field: str, lat: float, lng: float) -> list[FieldViolation]:
    if (lat, lng) == (0.0, 0.0):
        return [FieldViolation(field, "required")]
    out = []
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        out.append(FieldViolation(f"{field}.lat", "must be a number within [-90, 90]"))
    if not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        out.append(FieldViolation(f"{field}.lng", "must be a number within [-180, 180]"))
    return out


def check_merchant(m: Merchant, raw_exceptions: Sequence[tuple[str, Sequence[Period]]] | None = None) -> None:
    """Every bad field of a merchant (prefixed `merchant.`); `raw_exceptions` as sent, when from a request."""
    p = "merchant."
    out: list[FieldViolation | None] = [
        id_violation(p + "merchant_id", m.merchant_id),
        id_violation(p + "chain_id", m.chain_id, required=False),
        name_violation(p + "name", m.name),
        None if m.category in CATEGORIES else FieldViolation(p + "category", "required"),
        None if m.version >= 0 else FieldViolation(p + "version", "must not be negative"),
        *latlng_violations(p + "location", m.lat, m.lng),
    ]
    if m.chain_id and m.chain_id == m.merchant_id:
        out.append(FieldViolation(p + "chain_id", "a merchant cannot be a branch of itself"))
    exceptions = raw_exceptions
    if exceptions is None:
        exceptions = [(e.date.isoformat(), e.periods) for e in m.exceptions]
    bad, _ = schedule_violations(
        p + "time_zone", m.time_zone, p + "weekly_hours", m.weekly, p + "exceptions", exceptions
    )
    raise_if([*out, *bad])


def price_violation(field: str, price_fen: int) -> FieldViolation | None:
    if price_fen < 1:
        return FieldViolation(field, "must be positive")
    if price_fen > MAX_PRICE_FEN:
        return FieldViolation(field, f"must be at most {MAX_PRICE_FEN} fen")
    return None


def check_sync(merchant_id: str, idempotency_key: str, items: Sequence[CatalogItem]) -> None:
    """A POS batch: ids, names, prices, versions, and no item or variant id twice in it."""
    out: list[FieldViolation | None] = [
        id_violation("merchant_id", merchant_id),
        id_violation("idempotency_key", idempotency_key),
        count_violation("items", items, MAX_BATCH_OBJECTS, min_items=1),
    ]
    if out[-1] is not None:
        raise_if(out)
    out += duplicate_violations("items", (it.item_id for it in items), ".item_id")
    seen_variants: dict[str, str] = {}
    for i, it in enumerate(items):
        f = f"items[{i}]"
        out += [
            id_violation(f"{f}.item_id", it.item_id),
            name_violation(f"{f}.name", it.name),
            text_violation(f"{f}.category", it.category, MAX_NAME_CHARS),
            None if it.version >= 0 else FieldViolation(f"{f}.version", "must not be negative"),
        ]
        if v := count_violation(f"{f}.variants", it.variants, MAX_VARIANTS, min_items=1):
            out.append(v)
            continue
        for j, var in enumerate(it.variants):
            g = f"{f}.variants[{j}]"
            out += [
                id_violation(f"{g}.variant_id", var.variant_id),
                text_violation(f"{g}.name", var.name, MAX_NAME_CHARS),
                price_violation(f"{g}.price_fen", var.price_fen),
            ]
            if var.variant_id in seen_variants:
                out.append(FieldViolation(f"{g}.variant_id", f"repeats {seen_variants[var.variant_id]}"))
            else:
                seen_variants[var.variant_id] = f"{g}.variant_id"
    raise_if(out)


def check_stock_upload(merchant_id: str, events: Sequence[StockEvent], lots: Sequence[Lot], now_ms: int) -> None:
    out: list[FieldViolation | None] = [id_violation("merchant_id", merchant_id)]
    if len(events) + len(lots) == 0:
        out.append(FieldViolation("events", "required (events or lots)"))
    elif len(events) + len(lots) > MAX_BATCH_OBJECTS:
        out.append(FieldViolation("events", f"at most {MAX_BATCH_OBJECTS} events and lots together"))
    if any(out):
        raise_if(out)
    out += duplicate_violations("events", (e.event_id for e in events), ".event_id")
    out += duplicate_violations("lots", (lot.lot_id for lot in lots), ".lot_id")
    for i, e in enumerate(events):
        f = f"events[{i}]"
        out += [
            id_violation(f"{f}.event_id", e.event_id),
            id_violation(f"{f}.variant_id", e.variant_id),
            text_violation(f"{f}.reason", e.reason, MAX_REASON_CHARS),
            instant_violation(f"{f}.occurred_at", e.occurred_ms, EARLIEST_MS, now_ms + MAX_FUTURE_SKEW_MS, "now"),
        ]
        if e.kind is StockEventKind.COUNT:
            if not 0 <= e.quantity <= MAX_STOCK_QUANTITY:
                out.append(FieldViolation(f"{f}.quantity", f"a count must be within [0, {MAX_STOCK_QUANTITY}]"))
        elif e.kind is StockEventKind.ADJUSTMENT:
            if e.quantity == 0 or abs(e.quantity) > MAX_STOCK_QUANTITY:
                out.append(
                    FieldViolation(
                        f"{f}.quantity",
                        f"an adjustment must be within [-{MAX_STOCK_QUANTITY}, {MAX_STOCK_QUANTITY}], not 0",
                    )
                )
        else:
            out.append(FieldViolation(f"{f}.kind", "must be PHYSICAL_COUNT or ADJUSTMENT"))
    for i, lot in enumerate(lots):
        f = f"lots[{i}]"
        out += [id_violation(f"{f}.lot_id", lot.lot_id), id_violation(f"{f}.variant_id", lot.variant_id)]
        if not 0 <= lot.quantity <= MAX_STOCK_QUANTITY:
            out.append(FieldViolation(f"{f}.quantity", f"must be within [0, {MAX_STOCK_QUANTITY}]"))
    raise_if(out)


def check_lot_dates(texts: Sequence[str]) -> None:
    raise_if([local_date_violation(f"lots[{i}].expires_on", t) for i, t in enumerate(texts)])


def check_lines(field: str, lines: Sequence[tuple[str, int]]) -> None:
    out: list[FieldViolation | None] = [count_violation(field, lines, MAX_RESERVATION_LINES, min_items=1)]
    out += duplicate_violations(field, (v for v, _ in lines), ".variant_id")
    for i, (variant_id, quantity) in enumerate(lines):
        out.append(id_violation(f"{field}[{i}].variant_id", variant_id))
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            out.append(FieldViolation(f"{field}[{i}].quantity", f"must be within [1, {MAX_LINE_QUANTITY}]"))
    raise_if(out)


def check_reservation(merchant_id: str, reservation_id: str, lines: Sequence[tuple[str, int]], ttl_s: int) -> None:
    raise_if([id_violation("merchant_id", merchant_id), id_violation("reservation_id", reservation_id)])
    check_lines("lines", lines)
    if not 1 <= ttl_s <= MAX_RESERVATION_TTL_S:
        raise InvalidArgument.field("ttl_s", f"must be within [1, {MAX_RESERVATION_TTL_S}] (0: the default)")
