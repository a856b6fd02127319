"""Checks of what callers send, naming the offending field; nothing is written before they pass."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import h3

from core.errors import FieldViolation, InvalidArgument
from core.geo import LatLng
from core.validation import (
    PROMISE_HORIZON_MS,
    count_violation,
    duplicate_violations,
    id_violation,
    instant_violation,
    is_id,
)
from dispatch.config import DispatchConfig
from dispatch.models import OrderRequest
from dispatch.prep import MIN_SD_S

MAX_ITEM_COUNT = 1_000
# The widest spread a merchant's ready-time forecast may state (seconds).
MAX_READY_HINT_SD_S = 4 * 3600.0
# An order placed longer ago than this is a replay of stale data, not a delivery request.
MAX_ORDER_AGE_MS = 24 * 3600 * 1000
# A rider's shift ends within a week of now: a later end is a unit error (seconds for ms), not a shift.
MAX_SHIFT_AHEAD_MS = 7 * 24 * 3600 * 1000


def latlng_violations(field: str, p: LatLng | None) -> list[FieldViolation]:
    if p is None:
        return [FieldViolation(field, "required")]
    out = []
    if not (math.isfinite(p.lat) and -90.0 <= p.lat <= 90.0):
        out.append(FieldViolation(f"{field}.lat", f"must be a number within [-90, 90], got {p.lat}"))
    if not (math.isfinite(p.lng) and -180.0 <= p.lng <= 180.0):
        out.append(FieldViolation(f"{field}.lng", f"must be a number within [-180, 180], got {p.lng}"))
    return out


def check_orders(requests: Sequence[OrderRequest | None], now_ms: int, config: DispatchConfig) -> None:
    """Raises InvalidArgument naming every bad field of a batch of orders."""
    check_batch_size(len(requests), config)
    skew_ms = int(config.max_clock_skew_s * 1000)
    violations: list[FieldViolation] = duplicate_violations(
        "orders", (r.order_id if r is not None else object() for r in requests), ".order_id"
    )
    for i, r in enumerate(requests):
        f = f"orders[{i}]"
        if r is None:
            violations.append(FieldViolation(f, "required"))
            continue
        for v in (id_violation(f"{f}.order_id", r.order_id), id_violation(f"{f}.merchant_id", r.merchant_id)):
            if v:
                violations.append(v)
        violations += latlng_violations(f"{f}.pickup", r.pickup)
        violations += latlng_violations(f"{f}.dropoff", r.dropoff)
        if r.placed_at_ms <= 0:
            violations.append(FieldViolation(f"{f}.placed_at", "required"))
        elif r.placed_at_ms > now_ms + skew_ms:
            violations.append(FieldViolation(f"{f}.placed_at", "is in the future"))
        elif r.placed_at_ms < now_ms - MAX_ORDER_AGE_MS:
            violations.append(FieldViolation(f"{f}.placed_at", "is more than 24 h ago"))
        horizon_ms = max(r.placed_at_ms, 0) + PROMISE_HORIZON_MS
        if r.promised_at_ms is not None:
            if r.promised_at_ms <= r.placed_at_ms:
                violations.append(FieldViolation(f"{f}.promised_at", "must be after placed_at"))
            elif v := instant_violation(f"{f}.promised_at", r.promised_at_ms, latest_ms=horizon_ms,
                                        latest_what="30 days after placed_at"):  # fmt: skip
                violations.append(v)
        if r.ready_at_hint_ms is not None:
            if r.ready_at_hint_ms < r.placed_at_ms - skew_ms:
                violations.append(FieldViolation(f"{f}.ready_at_hint", "must not be before placed_at"))
            elif v := instant_violation(f"{f}.ready_at_hint", r.ready_at_hint_ms, latest_ms=horizon_ms,
                                        latest_what="30 days after placed_at"):  # fmt: skip
                violations.append(v)
        if r.ready_hint_sd_s:
            if not MIN_SD_S <= r.ready_hint_sd_s <= MAX_READY_HINT_SD_S:  # NaN fails it too
                violations.append(
                    FieldViolation(
                        f"{f}.ready_hint_sd_s",
                        f"must be 0 (an exact hint) or within [{MIN_SD_S:g}, {MAX_READY_HINT_SD_S:g}] seconds",
                    )
                )
            elif r.ready_at_hint_ms is None:
                violations.append(FieldViolation(f"{f}.ready_hint_sd_s", "requires ready_at_hint"))
        if not 1 <= r.item_count <= MAX_ITEM_COUNT:
            violations.append(FieldViolation(f"{f}.item_count", f"must be within [1, {MAX_ITEM_COUNT}]"))
        if r.merchant_category and not CATEGORY.fullmatch(r.merchant_category):
            violations.append(
                FieldViolation(f"{f}.merchant_category", "must be 1-32 lower-case letters, digits or _ (an OSM value)")
            )
    if violations:
        raise InvalidArgument(violations)


CATEGORY = re.compile(r"[a-z0-9_]{1,32}", re.ASCII)
# An H3 index as text: 15 hexadecimal digits (h3.is_valid_cell raises OverflowError on some other strings,
# such as "-B", instead of answering False).
_H3_CELL = re.compile(r"[0-9a-fA-F]{15}", re.ASCII)


def is_h3_cell(text: str) -> bool:
    return _H3_CELL.fullmatch(text) is not None and bool(h3.is_valid_cell(text))


def check_batch_size(count: int, config: DispatchConfig) -> None:
    """1..max_batch_orders orders: checked before anything of the batch is converted or read."""
    bad = count_violation("orders", range(count), config.max_batch_orders, min_items=1)
    if bad is not None:
        raise InvalidArgument(bad)


def fix_violation(
    rider_id: str,
    lat: float,
    lng: float,
    recorded_at_ms: int,
    speed_mps: float | None,
    heading_deg: float | None,
    accuracy_m: float | None,
    now_ms: int,
    config: DispatchConfig,
    shift_ends_at_ms: int | None = None,
) -> tuple[str, str] | None:
    """The first bad field of one GPS fix, as (field, reason), or None. On the ingest hot path."""
    if not is_id(rider_id):
        return ("rider_id", "required: 1-128 characters of letters, digits and . _ : -")
    if not (-90.0 <= lat <= 90.0):  # NaN fails every comparison
        return ("position.lat", f"must be a number within [-90, 90], got {lat}")
    if not (-180.0 <= lng <= 180.0):
        return ("position.lng", f"must be a number within [-180, 180], got {lng}")
    if recorded_at_ms <= 0:
        return ("recorded_at", "required")
    if recorded_at_ms > now_ms + config.max_clock_skew_s * 1000:
        return ("recorded_at", "is in the future")
    if recorded_at_ms < now_ms - config.max_fix_age_s * 1000:
        return ("recorded_at", "is too old")
    if speed_mps is not None and not (0.0 <= speed_mps <= 100.0):
        return ("speed_mps", "must be within [0, 100]")
    if heading_deg is not None and not (0.0 <= heading_deg < 360.0):
        return ("heading_deg", "must be within [0, 360)")
    if accuracy_m is not None and not (0.0 <= accuracy_m <= 100_000.0):
        return ("accuracy_m", "must be within [0, 100000]")
    if shift_ends_at_ms is not None and (bad := instant_violation(
        "shift_ends_at", shift_ends_at_ms, latest_ms=now_ms + MAX_SHIFT_AHEAD_MS, latest_what="a week from now"
    )):  # fmt: skip
        return (bad.field, bad.description)
    return None
