"""The engine's Prometheus metrics (intake, back-pressure, the tick); `serving.metrics` serves them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Tick stages last from milliseconds (a quiet zone) to seconds (2,000 orders over 10,000 riders).
_TICK_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)

ORDERS_ACCEPTED = Counter("tongcheng_orders_accepted_total", "Orders stored by intake (new, not retries).", ["zone"])
ORDERS_SHED = Counter(
    "tongcheng_orders_shed_total", "Orders refused RESOURCE_EXHAUSTED because the zone was over its budget.", ["zone"]
)
INTAKE_SHED = Counter(
    "tongcheng_intake_shed_total",
    "Orders refused RESOURCE_EXHAUSTED because this process was storing intake_max_in_flight orders already.",
)
WAITS_SKIPPED = Counter(
    "tongcheng_assign_waits_skipped_total",
    "AssignRiders calls answered PENDING at once because their zones were further behind than the call could wait.",
)
ZONE_BACKLOG = Gauge("tongcheng_zone_backlog_orders", "Orders pending in the zone's pool, at its last tick.", ["zone"])
ZONE_LAG = Gauge(
    "tongcheng_zone_lag_seconds", "Age of the oldest order pending in the zone's pool, at its last tick.", ["zone"]
)
TICK_SECONDS = Histogram(
    "tongcheng_tick_seconds", "Duration of a zone's tick by stage (batch, solve, commit, total).",
    ["zone", "stage"], buckets=_TICK_BUCKETS_S,
)  # fmt: skip
DECISIONS = Counter(
    "tongcheng_decisions_total", "Decisions of the zone's ticks by outcome (assigned, rejected, offer_expired).",
    ["zone", "outcome"],
)  # fmt: skip
TICK_FAILURES = Counter("tongcheng_tick_failures_total", "Ticks that failed (a Redis outage, mostly).", ["zone"])
LEASE_CHANGES = Counter(
    "tongcheng_lease_changes_total", "Zone leases this worker took, released, or lost (not renewed in time).",
    ["zone", "change"],
)  # fmt: skip
ZONES_HELD = Gauge("tongcheng_zones_held", "Zones whose lease this worker holds.")
RIDER_MOVES = Counter("tongcheng_rider_moves_total", "Riders this process handed over from one zone to another.")
