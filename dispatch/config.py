"""The dispatch engine's settings, one frozen dataclass validated on creation."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.geo import City
from dispatch.bundles import BundleConfig
from dispatch.guidance import GuidanceConfig
from dispatch.lease import LeaseConfig
from dispatch.zones import ZoneSpec
from forecast import ForecastConfig


@dataclass(frozen=True)
class DispatchConfig:
    """Every knob of the engine. Times in seconds, distances in metres."""

    city: City
    # How the city is cut into zones (`dispatch.zones`): None, the whole city is one zone (the replays: their
    # figures are those of one optimiser over the whole city); server.py cuts it into H3 cells of resolution 6.
    zones: ZoneSpec | None = None
    # H3 resolution of the rider index: 9 is ~0.1 km² per cell, a few hundred metres across.
    h3_resolution: int = 9
    # Seconds between batch decisions.
    tick_s: float = 2.0
    # Riders silent for longer than this leave the index (rider apps upload every few seconds).
    rider_ttl_s: float = 60.0
    # Orders a zone's tick looks at; the rest wait for the next one (oldest first). Bounds a tick's work when
    # a zone's pool swells (measured under overload with bench.load); per zone, so a city of many zones
    # decides many times this per tick.
    max_orders_per_tick: int = 2_000
    # Largest AssignRiders batch accepted in one call.
    max_batch_orders: int = 1_000
    # Timestamps further in the future than this (device clock skew) are rejected.
    max_clock_skew_s: float = 60.0
    # GPS fixes older than this are rejected as garbage rather than stored.
    max_fix_age_s: float = 6 * 3600.0
    # An offer not accepted in this time goes back to the pool.
    offer_timeout_s: float = 30.0
    # An order nobody could take in this time is rejected ("no rider within reach").
    max_pending_s: float = 900.0
    # Back-pressure: new orders are refused (RESOURCE_EXHAUSTED, retry after a tick) while the zone's pool
    # holds more than this many ticks of its measured decisions, or `backlog_min_orders`, whichever is
    # more (a quiet zone still takes a burst as large as one tick looks at: max_orders_per_tick). None:
    # never shed.
    backlog_ticks: float | None = 3.0
    backlog_min_orders: int = 2_000
    # Back-pressure in each process that takes orders: while this many orders are being stored by it (validated,
    # written, predicted), further AssignRiders calls are refused at once (RESOURCE_EXHAUSTED, retry shortly)
    # rather than queued behind them, so an overloaded intake process answers every call before its deadline
    # instead of all of them late (a concurrency limit, as load balancers and Netflix's concurrency-limits
    # apply). A call is always admitted when nothing else is in flight. None: no limit. 2,000 is about 1.5 s
    # of one process's work (~1,400 orders/s measured), well inside a 5-s deadline: at 3,000 orders/s offered
    # on a quiet 2-core machine it never refused a call (1,000 refused 7-9% of them), and on one loaded by
    # other work it is what keeps calls from queueing past their deadlines.
    intake_max_in_flight: int | None = 2_000
    # The zone's lease: the worker holding it ticks; others stand by and take over within its TTL.
    lease: LeaseConfig = field(default_factory=LeaseConfig)
    # An order that can no longer reach its customer within this long of its placement (even a rider at
    # the counter now would drop it off later) is rejected rather than delivered hours late; one that
    # could not have made it even at placement (a very long ride) is served as best it can. None: off.
    max_click_to_door_s: float | None = None
    # Upper bound on how long AssignRiders waits for a decision (the call's deadline also bounds it).
    assign_wait_s: float = 10.0
    # How far from a pickup riders are searched for.
    search_radius_m: float = 6_000.0
    # Riders considered per order.
    candidates_per_order: int = 8
    # Longest pickup-to-dropoff straight-line distance served.
    max_delivery_distance_m: float = 15_000.0
    # A pickup or drop-off farther than this from the nearest road is not served.
    max_access_m: float = 500.0
    # Service times at the merchant and at the door (MDRP instances use 4 min each; urban
    # same-city deliveries are quicker to hand over).
    pickup_service_s: float = 120.0
    dropoff_service_s: float = 120.0
    # Watchers of a rider feed poll Redis this often when no in-process event woke them (events from
    # other dispatcher processes).
    feed_poll_s: float = 2.0
    # Events kept per rider feed (approximate trim).
    feed_max_len: int = 1_000
    # Order events kept for WatchOrders (approximate trim): about a minute of a 3,000-orders/s peak at
    # two or three events an order, some 200 bytes each (~40 MB). A watcher further behind resumes from
    # GetOrder.
    events_max_len: int = 200_000
    # How often congestion learned from riders' reported speeds is applied to the road graph (0: never),
    # and which share of fixes is sampled for it.
    learn_traffic_s: float = 60.0
    speed_sample_every: int = 4
    # Riders finishing their work within this many seconds are candidates too (for policies that plan
    # ahead; they are committed to only once free).
    plan_ahead_s: float = 1800.0
    # Riders finishing work soon considered per order, besides its `candidates_per_order` free riders.
    # Measured on the MDRP dev instances (gap to the lower bound, ortools): 4 per order 8.6% on
    # 7o100t75s1p125 and 11.2% on 4o100t100s2p100; 24 (plan_ahead_s 1800): 3.9% and 7.3-7.6%; 48: 3.5%
    # and 7.4% (within the noise of 24, and a half-busy city's 1,000-order tick 10% slower). Seeing the
    # riders about to be free near a merchant is what lets the optimiser hold an order for one of them
    # instead of spending a far free rider (or a busy one that someone else takes).
    soon_free_per_order: int = 24
    # Which orders may be bundled (for policies that bundle).
    bundles: BundleConfig = field(default_factory=BundleConfig)
    # Assignment updates (for policies that plan ahead): a pending order may join, as its last drop-off,
    # a bundle a rider holds at the same counter and has not picked up, up to `bundles.max_orders` orders
    # and delaying the bundle by at most `bundles.max_delay_s`.
    join_at_counter: bool = True
    # A merchant that has reported a ready event (ReportFoodReady) within this long is taken to report them:
    # until it reports an order's, the order's predicted ready time is conditioned on the food not being
    # ready yet (`dispatch.prep.still_cooking`). 0: predictions are used as made at placement.
    ready_reports_window_s: float = 86_400.0
    # Idle-rider guidance (`dispatch.guidance`): riders with nothing to do are spread over recent demand.
    # None: off (riders wait where they are, as in the MDRP).
    guidance: GuidanceConfig | None = None
    # The demand forecast (`forecast`): every order served is counted per H3 cell and merchant. None: not
    # kept (unless guidance is by forecast, which keeps one with the default settings).
    forecast: ForecastConfig | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.h3_resolution <= 15:
            raise ValueError("h3_resolution must be within 0..15")
        for name in (
            "tick_s", "rider_ttl_s", "offer_timeout_s", "max_pending_s", "assign_wait_s",
            "search_radius_m", "max_delivery_distance_m", "max_access_m", "feed_poll_s", "max_clock_skew_s",
            "max_fix_age_s",
        ):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_click_to_door_s is not None and not self.max_click_to_door_s > 0:
            raise ValueError("max_click_to_door_s must be positive (or None)")
        if self.soon_free_per_order < 0:
            raise ValueError("soon_free_per_order must not be negative")
        if self.max_batch_orders < 1 or self.candidates_per_order < 1 or self.max_orders_per_tick < 1:
            raise ValueError("max_batch_orders, candidates_per_order and max_orders_per_tick must be at least 1")
        if self.learn_traffic_s < 0 or self.speed_sample_every < 1:
            raise ValueError("learn_traffic_s must not be negative and speed_sample_every must be at least 1")
        if self.pickup_service_s < 0 or self.dropoff_service_s < 0:
            raise ValueError("service times must not be negative")
        if self.ready_reports_window_s < 0:
            raise ValueError("ready_reports_window_s must not be negative")

    @property
    def zone(self) -> str:
        return self.city.name
