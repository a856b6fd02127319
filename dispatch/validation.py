"""Checks of what callers send, naming the offending field; nothing is written before they pass."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from core.errors import FieldViolation, InvalidArgument
from core.ids import ID_PATTERN, id_violation
from dispatch.config import DispatchConfig
from dispatch.models import LatLng, OrderRequest
from dispatch.prep import MIN_SD_S

MAX_ITEM_COUNT = 1_000
# The widest spread a merchant's ready-time forecast may state (seconds).
MAX_READY_HINT_SD_S = 4 * 3600.0
# An order placed longer ago than this is a replay of stale data, not a delivery request.
MAX_ORDER_AGE_MS = 24 * 3600 * 1000


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
    if not requests:
        raise InvalidArgument.field("orders", "at least one order is required")
    if len(requests) > config.max_batch_orders:
        raise InvalidArgument.field("orders", f"at most {config.max_batch_orders} orders per call, got {len(requests)}")
    skew_ms = int(config.max_clock_skew_s * 1000)
    violations: list[FieldViolation] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(requests):
        f = f"orders[{i}]"
        if r is None:
            violations.append(FieldViolation(f, "required"))
            continue
        for v in (id_violation(f"{f}.order_id", r.order_id), id_violation(f"{f}.merchant_id", r.merchant_id)):
            if v:
                violations.append(v)
        if r.order_id in seen:
            violations.append(FieldViolation(f"{f}.order_id", f"repeats orders[{seen[r.order_id]}].order_id"))
        seen.setdefault(r.order_id, i)
        violations += latlng_violations(f"{f}.pickup", r.pickup)
        violations += latlng_violations(f"{f}.dropoff", r.dropoff)
        if r.placed_at_ms <= 0:
            violations.append(FieldViolation(f"{f}.placed_at", "required"))
        elif r.placed_at_ms > now_ms + skew_ms:
            violations.append(FieldViolation(f"{f}.placed_at", "is in the future"))
        elif r.placed_at_ms < now_ms - MAX_ORDER_AGE_MS:
            violations.append(FieldViolation(f"{f}.placed_at", "is more than 24 h ago"))
        if r.promised_at_ms is not None and r.promised_at_ms <= r.placed_at_ms:
            violations.append(FieldViolation(f"{f}.promised_at", "must be after placed_at"))
        if r.ready_at_hint_ms is not None and r.ready_at_hint_ms < r.placed_at_ms - skew_ms:
            violations.append(FieldViolation(f"{f}.ready_at_hint", "must not be before placed_at"))
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


CATEGORY = re.compile(r"[a-z0-9_]{1,32}")


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
) -> tuple[str, str] | None:
    """The first bad field of one GPS fix, as (field, reason), or None. On the ingest hot path."""
    if not rider_id or not ID_PATTERN.match(rider_id):
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
    return None
