"""Wires configuration, Redis, the engine and the servicers into one grpc.aio server.

`App.start()` brings everything up (an embedded, supervised redis-server when no URL is given),
`App.stop()` takes it down gracefully: health goes NOT_SERVING, in-flight calls drain within the grace
period, the dispatcher finishes its tick and flushes queued positions, then Redis is closed. Meanwhile
health follows Redis, and calls fail fast while it is down (`serving.status.StoreGuard`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import redis.asyncio as aioredis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from alliance import Alliances
from alliance.api import AllianceServicer
from bookings import BookingOrderGateway, Bookings
from cockpit.feed import CityFeed
from cockpit.merchant import MerchantDesk
from cockpit.roads import RoadLayer
from cockpit.web import CityInfo, Cockpit
from commerce.orders import BookingOrderDesk, InProcessDispatch, OrderCenter, OrderStore
from commerce.orders.api import OrderServicer
from commerce.orders.checkout import Checkout
from commerce.orders.delivery import DispatchKitchens
from commerce.orders.followers import AllianceFollower, CheckoutFollower, LoyaltyFollower
from commerce.orders.overflow import ChainOverflow, OracleRoadTimes, StraightLineTimes, covers_by_terms
from core.clock import Clock, ScaledClock, SystemClock
from coupons import Coupons
from coupons.api import CouponServicer
from dispatch.api.servicer import DispatchServicer
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.guidance import GuidanceConfig
from dispatch.policies import DEFAULT_POLICY, make_policy
from dispatch.zones import DEFAULT_ZONE_RESOLUTION, ZoneSpec, make_zoning
from forecast import ForecastConfig
from forecast.api import ForecastServicer
from loyalty import Loyalty
from loyalty.api import LoyaltyServicer
from merchants import ChainGateway, Merchants, OrderStockGateway
from pricing import Pricing
from routing_data.cities import load_city, resolve
from serving.auth import Authenticator, TokenVerifier, ensure_dev_keys
from serving.embedded_redis import EmbeddedRedis, RestartBackoff
from serving.metrics import serve_metrics
from serving.pricing import add_pricing
from serving.redis_cluster import cluster_from_url, parse_cluster_url
from serving.retention import Retention, RetentionConfig
from serving.status import REDIS_DOWN, StoreGuard
from serving.supply import add_supply
from settlement.api import SettlementServicer
from settlement.keys import MoneyKeys
from settlement.service import Settlement
from tongcheng.alliance.v1 import alliance_pb2, alliance_pb2_grpc
from tongcheng.coupons.v1 import coupons_pb2, coupons_pb2_grpc
from tongcheng.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from tongcheng.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from tongcheng.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from tongcheng.orders.v1 import orders_pb2, orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2, settlement_pb2_grpc

log = logging.getLogger("tongcheng.server")

KNOWN_SERVICES = (
    "dispatch", "orders", "settlement", "loyalty", "coupons", "alliance", "merchants", "bookings", "pricing",
    "forecast",
)  # fmt: skip
# What one process does: `all` (serve the API and tick, one process), `intake` (serve the API; several may
# share a port), `worker` (tick the zone and follow dispatch for the order center; serves health only).
ROLES = ("all", "intake", "worker")
# A scaled clock must leave each tick at least this much real time (a tick's own work takes a few ms).
MIN_TICK_WALL_MS = 5
DISPATCH_SERVICE = dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"].full_name
ORDER_SERVICE = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name
SETTLEMENT_SERVICE = settlement_pb2.DESCRIPTOR.services_by_name["SettlementService"].full_name
FORECAST_SERVICE = forecast_pb2.DESCRIPTOR.services_by_name["ForecastService"].full_name
LOYALTY_SERVICE = loyalty_pb2.DESCRIPTOR.services_by_name["LoyaltyService"].full_name
COUPON_SERVICE = coupons_pb2.DESCRIPTOR.services_by_name["CouponService"].full_name
ALLIANCE_SERVICE = alliance_pb2.DESCRIPTOR.services_by_name["AllianceService"].full_name


@dataclass(frozen=True)
class RedisWatch:
    """How the health monitor watches Redis: a ping every `interval_s` on its own connection, and a
    ping not answered within `ping_timeout_s` counts as Redis down."""

    interval_s: float = 0.25
    # Above the longest command a healthy Redis may keep a ping waiting behind (the tick's free-rider
    # read of a 50,000-rider zone: 0.47 s in Redis, measured; see redis_client), and short enough that a
    # stalled Redis is seen within interval + timeout = 1.25 s.
    ping_timeout_s: float = 1.0


@dataclass(frozen=True)
class ServerConfig:
    """Everything server.py takes from flags or the environment."""

    host: str = "127.0.0.1"
    port: int = 50051
    redis_url: str | None = None
    data_dir: Path = Path(".tongcheng")
    city: str = "helsinki"
    tick_s: float = 2.0
    services: tuple[str, ...] = KNOWN_SERVICES
    role: str = "all"
    # Prometheus /metrics on this port of `host` (0: a free one); None: not served.
    metrics_port: int | None = None
    # The cockpit's web pages on this port of `host` (0: a free one); None: not served. Intake processes share it.
    http_port: int | None = None
    # Let several intake processes listen on one port (SO_REUSEPORT; the kernel spreads connections).
    reuse_port: bool = False
    policy: str = DEFAULT_POLICY
    h3_resolution: int = 9
    # How the city is cut into zones (`dispatch.zones.ZoneSpec.parse`): an H3 resolution, a GeoJSON file of
    # polygons, or `city` (one zone).
    zones: str = str(DEFAULT_ZONE_RESOLUTION)
    rider_ttl_s: float = 60.0
    auth_public_key_file: Path | None = None
    auth_disabled: bool = False
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    grace_s: float = 10.0
    redis_appendfsync: str = "everysec"
    redis_watch: RedisWatch = field(default_factory=RedisWatch)
    redis_restart: RestartBackoff = field(default_factory=RestartBackoff)
    dispatch_overrides: dict[str, object] = field(default_factory=dict)
    # How often the ticking process refreshes surge and area shrinking from dispatch (0: only RefreshSurge).
    pricing_refresh_s: float = 10.0
    # Dev and bench only (replays through the API): run on a scaled clock, `clock_speed` times real
    # time, reading `clock_start_ms` at the Unix instant `clock_anchor_ms` (default: start-up).
    clock_speed: float | None = None
    clock_start_ms: int | None = None
    clock_anchor_ms: int | None = None
    # The bookings sweeper's period: a place freed by an expired hold or offer reaches the waiting list within
    # about this long with no call touching the slot (0: off; places then move at the next call that does).
    booking_sweep_s: float = 0.5
    # How long the stock ledger and finished bookings are kept, and how often a pass folds and trims them.
    retention: RetentionConfig = field(default_factory=RetentionConfig)

    def __post_init__(self) -> None:
        unknown = set(self.services) - set(KNOWN_SERVICES)
        if unknown or not self.services:
            raise ValueError(f"--services takes a comma list of {', '.join(KNOWN_SERVICES)}; got {self.services}")
        if "forecast" in self.services and "dispatch" not in self.services:
            raise ValueError("--services: forecast reads dispatch's zones, so it needs dispatch too")
        if self.role not in ROLES:
            raise ValueError(f"--role takes one of {', '.join(ROLES)}; got {self.role}")
        resolve(self.city)  # a known city with its extract present, or a path to a .pbf
        spec = ZoneSpec.parse(self.zones)
        if spec.geojson is not None and not spec.geojson.is_file():
            raise ValueError(f"--zones: no GeoJSON file at {spec.geojson}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be within 0..65535")
        if self.http_port is not None and not 0 <= self.http_port <= 65535:
            raise ValueError("--http-port must be within 0..65535, or -1 for off")
        if not (math.isfinite(self.pricing_refresh_s) and 0 <= self.pricing_refresh_s <= 3_600):
            raise ValueError(f"--pricing-refresh-s must be within 0..3600 s, got {self.pricing_refresh_s}")
        self._check_clock()

    def _check_clock(self) -> None:
        if self.clock_speed is None:
            if self.clock_start_ms is not None or self.clock_anchor_ms is not None:
                raise ValueError("--clock-start and --clock-anchor-ms need --clock-speed")
            return
        if not math.isfinite(self.clock_speed) or self.clock_speed <= 0:
            raise ValueError(f"--clock-speed must be a positive number of times real time, got {self.clock_speed}")
        if self.clock_start_ms is not None and self.clock_start_ms <= 0:
            raise ValueError("--clock-start must be a time after 1970")
        tick_wall_ms = 1000 * self.tick_s / self.clock_speed
        if tick_wall_ms < MIN_TICK_WALL_MS:
            raise ValueError(
                f"at --clock-speed {self.clock_speed:g} a {self.tick_s:g}-s tick lasts {tick_wall_ms:.1f} ms of real "
                f"time; the tick loop cannot keep pace below {MIN_TICK_WALL_MS} ms: lower the speed or raise --tick-s"
            )

    def make_clock(self) -> Clock:
        if self.clock_speed is None:
            return SystemClock()
        start_ms = self.clock_start_ms if self.clock_start_ms is not None else time.time_ns() // 1_000_000
        return ScaledClock(start_ms, self.clock_speed, self.clock_anchor_ms)


RedisClient = aioredis.Redis | RedisCluster


def _client_from_url(url: str, **settings: object) -> RedisClient:
    """A single-Redis client from a redis:// URL, or a cluster client from the cluster form; same settings."""
    if parse_cluster_url(url) is None:
        return aioredis.Redis.from_url(url, **settings)
    return cluster_from_url(url, **settings)


def redis_client(url: str) -> RedisClient:
    """A client that fails fast when Redis is down (callers get UNAVAILABLE, not a hang) and
    reconnects by itself when it is back: one Redis, or a Redis Cluster for the cluster URL form."""
    settings: dict[str, object] = dict(
        decode_responses=True,
        # The longest a healthy Redis keeps a reply waiting, measured (appendfsync always, this shared
        # 2-core machine, SLOWLOG and client-side): in a tick of 2,000 orders over 3,000 riders the longest
        # command is the free-rider read, 24 ms in Redis, and no reply waits over 35 ms; the same read in
        # a zone of 50,000 free riders (the most the tick reads in one call, SNAPSHOT_MAX_FREE) takes 0.47 s
        # in Redis and 0.8 s to arrive. 1.5 s leaves that read twice its time. A stall is caught sooner
        # anyway: the health monitor fails calls fast and callers' deadlines bound the rest (StoreGuard).
        socket_timeout=1.5,
        # A TCP connect, even to another host of the data centre, takes milliseconds.
        socket_connect_timeout=0.5,
        # One retry, on a dropped connection only: after a Redis restart, pooled connections are dead and
        # a fresh one works. A timeout is not retried: Redis is stalled or busy, a retry would double the
        # wait (2 s x 3 before) and send the same write a second time. (The cluster client takes only the
        # count and backoff from this: it retries its own list of errors, timeouts included; docs/cluster.md.)
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1, supported_errors=(RedisConnectionError,)),
        health_check_interval=15,
        max_connections=128,
    )
    if parse_cluster_url(url) is not None:
        # 128 connections per node; redis-py's cluster client has no blocking pool, so past them a command
        # fails at once (UNAVAILABLE) rather than queueing. Transactions have pools of their own (blocking).
        return cluster_from_url(url, **settings)
    # A blocking pool: under a burst, callers queue for a connection (up to 2 s) instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(url, timeout=2.0, **settings)
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


async def ping(client: RedisClient) -> bool:
    """Whether Redis answers; on a cluster, whether every master does (each serves its share of the keys)."""
    if isinstance(client, RedisCluster):
        return bool(await client.ping(target_nodes=RedisCluster.PRIMARIES))
    return bool(await client.ping())


class App:
    """One Tongcheng server process."""

    def __init__(self, config: ServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or config.make_clock()
        self.embedded_redis: EmbeddedRedis | None = None
        self.redis: RedisClient | None = None
        self.dispatcher: Dispatcher | None = None
        self.settlement: Settlement | None = None
        self.orders: OrderCenter | None = None
        self.loyalty: Loyalty | None = None
        self.retention: Retention | None = None
        self.merchants: Merchants | None = None
        self.bookings: Bookings | None = None
        self.pricing: Pricing | None = None
        self.oracle = None
        self.health = HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.metrics_port: int | None = None
        self.cockpit: Cockpit | None = None
        self.http_port: int | None = None
        self._monitor: asyncio.Task[None] | None = None
        self.guard = StoreGuard()
        self.private_key_file: Path | None = None
        self._closing = asyncio.Event()
        self._served: list[str] = []

    @property
    def redis_url(self) -> str:
        if self.config.redis_url:
            return self.config.redis_url
        assert self.embedded_redis is not None
        return self.embedded_redis.url

    def _authenticator(self) -> Authenticator:
        if self.config.auth_disabled:
            log.warning("authentication is OFF (dev mode): every caller is treated as ops")
            return Authenticator(None)
        key_file = self.config.auth_public_key_file
        if key_file is None:
            self.private_key_file, key_file = ensure_dev_keys(self.config.data_dir / "keys")
            log.info("no --auth-public-key: using the local dev key pair in %s", key_file.parent)
        return Authenticator(TokenVerifier(key_file.read_bytes()))

    async def start(self) -> None:
        cfg = self.config
        if not cfg.redis_url:
            # Supervised: a crashed redis-server is restarted on its port and data (its AOF) by a thread
            # that lives until stop(), since the child's lifetime is tied to that thread (PDEATHSIG).
            self.embedded_redis = EmbeddedRedis(
                cfg.data_dir / "redis", appendfsync=cfg.redis_appendfsync, supervise=True, backoff=cfg.redis_restart
            )
            await asyncio.to_thread(self.embedded_redis.start)
            log.info(
                "embedded redis-server on port %d (pid %d), data in %s",
                self.embedded_redis.port, self.embedded_redis.pid, self.embedded_redis.data_dir,
            )  # fmt: skip
        self.redis = redis_client(self.redis_url)
        if cfg.metrics_port is not None:
            self.metrics_port = serve_metrics(cfg.host, cfg.metrics_port)
        auth = self._authenticator()
        self._auth = auth
        server = grpc.aio.server(
            interceptors=[self.guard],
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                # A second server on a taken port must fail, not silently share its traffic, unless it is
                # one of several intake processes told to share it.
                ("grpc.so_reuseport", 1 if cfg.reuse_port else 0),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.http2.max_pings_without_data", 0),
            ],
        )
        served = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        serves_api = cfg.role != "worker"
        city = None
        if "dispatch" in cfg.services or "pricing" in cfg.services:
            # Pricing routes quotes and isochrones on the same road graph dispatch uses.
            city, oracle = await asyncio.to_thread(load_city, cfg.city)
            self.oracle = oracle
        if "dispatch" in cfg.services:
            log.info(
                "road graph of %s: %d nodes, %d arcs; service area %.1f km around %.4f,%.4f",
                city.name, oracle.graph.node_count, oracle.graph.arc_count, city.service_radius_m / 1000,
                city.center.lat, city.center.lng,
            )  # fmt: skip
            # The tick loop paces itself in real time: on a scaled clock, a tick of tick_s simulated
            # seconds lasts tick_s / speed real seconds. Every other period (offer timeout, rider TTL,
            # pending limit) is compared with the clock's own time and needs no scaling.
            tick_s = self.clock.wall_s(cfg.tick_s) if isinstance(self.clock, ScaledClock) else cfg.tick_s
            # Idle-rider guidance and the demand forecast are on in a served city unless a setting turns them off.
            settings = {"guidance": GuidanceConfig(), "forecast": ForecastConfig(), **cfg.dispatch_overrides}
            dispatch_config = DispatchConfig(
                city=city, tick_s=tick_s, h3_resolution=cfg.h3_resolution, zones=ZoneSpec.parse(cfg.zones),
                rider_ttl_s=cfg.rider_ttl_s, **settings,  # type: ignore[arg-type]
            )  # fmt: skip
            self.dispatcher = Dispatcher(self.redis, dispatch_config, self.clock, oracle, make_policy(cfg.policy))
            if serves_api:
                dispatch_pb2_grpc.add_DispatchServiceServicer_to_server(DispatchServicer(self.dispatcher, auth), server)
                served.append(DISPATCH_SERVICE)
        coupons = Coupons(self.redis, self.clock)  # a library of loyalty's rewards and alliances' offers too
        # Issue 20: merchants (catalogue, stock) and bookings, wired in serving/supply.py.
        self.merchants, self.bookings, supply = add_supply(
            cfg.services, self.redis, self.clock, auth, server if serves_api else None, coupons
        )
        served += supply
        # Issue 21: delivery areas and quotes, wired in serving/pricing.py.
        zoning = self.dispatcher.zoning if self.dispatcher is not None else None
        if zoning is None and city is not None:
            zoning = make_zoning(city, ZoneSpec.parse(cfg.zones))
        self.pricing, priced = add_pricing(
            cfg.services, self.redis, self.clock, auth, server if serves_api else None, cfg.data_dir / "keys",
            city, self.oracle, zoning, self.dispatcher,
        )  # fmt: skip
        served += priced
        if self.merchants is not None or self.bookings is not None:
            self.retention = Retention(self.redis, self.clock, self.merchants, self.bookings, cfg.retention)
        if "forecast" in cfg.services and self.dispatcher is not None and serves_api:
            # Demand forecasts, guidance decisions and restock hints (forecast/api.py: why a service of its own).
            merchants = self.merchants or Merchants(self.redis, self.clock)
            forecast_pb2_grpc.add_ForecastServiceServicer_to_server(
                ForecastServicer(self.redis, self.dispatcher, merchants, auth), server
            )
            served.append(FORECAST_SERVICE)
        if "orders" in cfg.services or "settlement" in cfg.services:
            # The ledger is a library over the money keys: the order center splits payments with it even
            # when this process does not serve SettlementService.
            self.settlement = Settlement(self.redis, self.clock)
        # Partner offers follow orders and attribution follows redemptions wherever orders or coupons run.
        alliances = Alliances(self.redis, self.clock, coupons)
        coupons.observers.append(alliances)
        if self.settlement is not None:
            self.settlement.reconciler.extra_checks.append(alliances.reconcile)  # Reconcile covers commissions
        if "orders" in cfg.services or "loyalty" in cfg.services:
            # Points follow the order center's orders whether or not this process serves LoyaltyService.
            self.loyalty = Loyalty(self.redis, self.clock, coupons=coupons)
            if self.settlement is not None:
                self.settlement.reconciler.extra_checks.append(self.loyalty.reconcile)  # Reconcile covers points
        if "orders" in cfg.services:
            assert self.settlement is not None and self.loyalty is not None
            delivery = InProcessDispatch(self.dispatcher) if self.dispatcher is not None else None
            # Catalogue and stock are a library to the order center, as the ledger is (issue 20).
            merchants = self.merchants or Merchants(self.redis, self.clock, coupons)
            catalogue = OrderStockGateway(merchants)
            overflow = None  # chain overflow needs dispatch's prep-time model: a money-only process moves nothing
            if self.dispatcher is not None:
                overflow = ChainOverflow(
                    ChainGateway(merchants.chains), DispatchKitchens(self.dispatcher),
                    OracleRoadTimes(self.oracle) if self.oracle is not None else StraightLineTimes(),
                    covers_by_terms(self.pricing) if self.pricing is not None else None,
                )  # fmt: skip
            self.orders = OrderCenter(
                OrderStore(self.redis, self.settlement.keys), self.settlement.ledger, self.clock, delivery,
                followers=(
                    LoyaltyFollower(self.loyalty), AllianceFollower(alliances), CheckoutFollower(coupons, self.loyalty)
                ),
                catalogue=catalogue, terms=self.pricing, overflow=overflow,
                checkout=Checkout(self.redis, self.clock, coupons, self.loyalty),
                bookings=BookingOrderGateway(self.bookings) if self.bookings is not None else None,
            )  # fmt: skip
            if self.bookings is not None:
                self.bookings.orders = BookingOrderDesk(self.orders)  # a booking's payment (issue 20)
            if serves_api:
                orders_pb2_grpc.add_OrderServiceServicer_to_server(OrderServicer(self.orders, auth), server)
                served.append(ORDER_SERVICE)
        if "settlement" in cfg.services and serves_api:
            assert self.settlement is not None
            settlement_pb2_grpc.add_SettlementServiceServicer_to_server(
                SettlementServicer(self.settlement, auth), server
            )
            served.append(SETTLEMENT_SERVICE)
        if "loyalty" in cfg.services and serves_api:
            assert self.loyalty is not None
            loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server(LoyaltyServicer(self.loyalty, auth), server)
            served.append(LOYALTY_SERVICE)
        if "coupons" in cfg.services and serves_api:
            coupons_pb2_grpc.add_CouponServiceServicer_to_server(CouponServicer(coupons, auth), server)
            served.append(COUPON_SERVICE)
        if "alliance" in cfg.services and serves_api:
            alliance_pb2_grpc.add_AllianceServiceServicer_to_server(AllianceServicer(alliances, auth), server)
            served.append(ALLIANCE_SERVICE)
        self._served = [name for name in served if name.startswith("tongcheng.")]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(served, server)
        address = f"{cfg.host}:{cfg.port}"
        if cfg.tls_cert_file and cfg.tls_key_file:
            creds = grpc.ssl_server_credentials([(cfg.tls_key_file.read_bytes(), cfg.tls_cert_file.read_bytes())])
            self.port = server.add_secure_port(address, creds)
        else:
            self.port = server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"could not bind {address}")
        await server.start()
        self.server = server
        ticks = cfg.role != "intake"
        if self.dispatcher is not None:
            self.dispatcher.start(tick=ticks)
            await self.dispatcher.lease_tried()
        if self.orders is not None and ticks:
            self.orders.start()  # one process follows dispatch for the order center: the one that ticks
        if self.pricing is not None and ticks:
            self.pricing.start(cfg.pricing_refresh_s)  # surge and area shrinking: the ticking process only
        if self.bookings is not None:
            self.bookings.start(cfg.booking_sweep_s)  # waiting-list offers on a timer (issue 20)
        if self.retention is not None:
            self.retention.start()
        self._monitor = asyncio.create_task(self._watch_redis(), name="redis-health")
        if cfg.http_port is not None and serves_api:
            await self._serve_cockpit(cfg.http_port)
        if isinstance(self.clock, ScaledClock):
            log.warning(
                "SCALED CLOCK (dev/bench only): %g x real time, reading %d ms at Unix %d ms; now %d ms",
                self.clock.speed, self.clock.start_ms, self.clock.anchor_unix_ms, self.clock.now_ms(),
            )  # fmt: skip
        log.info(
            "%s: serving %s on %s:%d (city=%s tick_s=%s policy=%s tls=%s auth=%s)",
            cfg.role, ",".join(cfg.services) if serves_api else "health", cfg.host, self.port, cfg.city, cfg.tick_s,
            cfg.policy,
            cfg.tls_cert_file is not None, "off" if cfg.auth_disabled else "on",
        )  # fmt: skip

    async def _serve_cockpit(self, port: int) -> None:
        """The web pages (issue 22) over what this process already holds; a taken port is logged and the API
        served anyway, as for the metrics."""
        city = feed = roads = None
        if self.dispatcher is not None and self.oracle is not None:
            c = self.dispatcher.config.city
            city = CityInfo(c.name, (c.center.lat, c.center.lng), c.service_radius_m)
            money = (self.redis, MoneyKeys().checkout_events) if self.orders is not None else None
            feed = CityFeed(self.dispatcher, self.clock, checkout_events=money)
            roads = RoadLayer(self.oracle.graph)
        desk = None
        if self.orders is not None:
            desk = MerchantDesk(self.orders.store, self.settlement, self.dispatcher, self.merchants, self.clock)
        cockpit = Cockpit(self._auth.verifier, city, feed, roads, desk)
        try:
            self.http_port = await cockpit.start(self.config.host, port, reuse_port=self.config.reuse_port)
        except OSError as exc:
            log.error("cockpit not served: %s:%d: %s", self.config.host, port, exc)
            await cockpit.stop()
            return
        self.cockpit = cockpit

    async def _set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set("", status)
        for name in self._served:
            await self.health.set(name, status)

    async def _watch_redis(self) -> None:
        """Health follows Redis: NOT_SERVING while it does not answer a ping in time (down, stalled, or
        loading its AOF after a restart), SERVING again as soon as it does; calls fail fast meanwhile."""
        watch = self.config.redis_watch
        # Its own connection, short timeouts: the pooled ones may all be held by calls stuck on a stalled
        # Redis. One retry, at once, on a dropped connection only: after a restart the old one is dead.
        # (A cluster client keeps its own pools, so it too has connections of its own.)
        pinger = _client_from_url(
            self.redis_url,
            socket_timeout=watch.ping_timeout_s,
            socket_connect_timeout=watch.ping_timeout_s,
            retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
            **({} if parse_cluster_url(self.redis_url) else {"single_connection_client": True}),
        )
        serving: bool | None = None
        try:
            while not self._closing.is_set():
                try:
                    async with asyncio.timeout(watch.ping_timeout_s):  # the whole ping, reconnect included
                        ok = await ping(pinger)
                except (*REDIS_DOWN, TimeoutError):
                    ok = False
                if ok != serving:
                    serving = ok
                    self.guard.store_down = not ok
                    await self._set_serving(ok)
                    (log.info if ok else log.error)(
                        "redis %s: health %s", "reachable" if ok else "UNREACHABLE", "SERVING" if ok else "NOT_SERVING"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=watch.interval_s)
        finally:
            await pinger.aclose()

    async def stop(self) -> None:
        log.info("shutting down: health NOT_SERVING, draining calls for up to %.0f s", self.config.grace_s)
        self._closing.set()
        if self._monitor is not None:
            await self._monitor
        await self.health.enter_graceful_shutdown()
        if self.cockpit is not None:
            await self.cockpit.stop()  # pages reconnect to another process; live streams end here
        if self.bookings is not None:
            await self.bookings.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.orders is not None:
            await self.orders.stop()  # stops following dispatch before dispatch stops
        if self.pricing is not None:
            await self.pricing.stop()
        if self.dispatcher is not None:
            # Ends the tick loop and open WatchAssignments streams, so only finite calls remain.
            await self.dispatcher.stop()
        if self.server is not None:
            await self.server.stop(self.config.grace_s)
        if self.dispatcher is not None:
            await self.dispatcher.close()  # flushes positions the drained streams queued
        if self.redis is not None:
            await self.redis.aclose()
        if self.embedded_redis is not None:
            await asyncio.to_thread(self.embedded_redis.stop)
        if self.oracle is not None:
            self.oracle.close()
        log.info("stopped")
