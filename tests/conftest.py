"""Shared fixtures: a real redis-server on a free port and the real gRPC server on another."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis

from serving.app import App, ServerConfig
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedCluster, EmbeddedRedis
from tongcheng.dispatch.v1 import dispatch_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def pytest_report_header() -> list[str]:
    """Says at the top of every run whether the shared OSM/MDRP data is there."""
    if SHARED.exists():
        return [f"shared data: {SHARED}"]
    return [f"!!! shared data ABSENT at {SHARED}: tests that read OSM or MDRP data will be SKIPPED !!!"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-cluster",
        action="store_true",
        help="the tests' Redis (redis_server) is the session's 3-master Redis Cluster: the audit of docs/cluster.md",
    )


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """One real 3-master Redis Cluster for the session (AOF on, fsync always), formed by the bundled redis-cli."""
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("redis-cluster"), appendfsync="always")
    cluster.start()
    # redis-cli gives the slots of {helsinki} and {money} to one master (the third): the money slot moves to
    # the first, so dispatch and the money side talk to different masters, as they may in production.
    cluster.move_slot("tc:{money}:", 0)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One real redis-server for the session (AOF on, fsync always: the strictest setting); with
    --redis-cluster, the session's Redis Cluster in its place (it has the same url, running and start)."""
    if request.config.getoption("--redis-cluster"):
        yield request.getfixturevalue("redis_cluster")
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendfsync="always")
    server.start()
    yield server
    server.stop()


class ClusterSync(redis.RedisCluster):
    """The tests' plain client on a cluster: KEYS asks every master (redis-py asks one node), so key
    listings and snapshots see every key."""

    def keys(self, pattern: str = "*", **kwargs: object) -> list[str]:  # type: ignore[override]
        return super().keys(pattern, target_nodes=redis.RedisCluster.PRIMARIES, **kwargs)  # type: ignore[return-value]


@pytest.fixture
def redis_sync(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    """A plain client on the session's Redis (a cluster client on a cluster), emptied before each test."""
    if not redis_server.running:  # a test that stopped Redis failed before restarting it
        redis_server.start()
    if isinstance(redis_server, EmbeddedCluster):
        redis_server.flushall()
        cluster = ClusterSync(host="127.0.0.1", port=redis_server.nodes[0].port, decode_responses=True)
        yield cluster  # type: ignore[misc]
        cluster.close()
        return
    client = redis.Redis(port=redis_server.port, decode_responses=True)
    client.flushall()
    yield client
    client.close()


def server_config(tmp_path: Path, redis_url: str, **overrides: object) -> ServerConfig:
    fields: dict[str, object] = {
        "port": 0,
        "redis_url": redis_url,
        "data_dir": tmp_path / "data",
        "tick_s": 0.1,
        "grace_s": 2.0,
        # The API tests drive the task flow with the policy that offers at once; the default policy
        # (ortools: holds orders until a rider must leave) has its own API tests.
        "policy": "greedy",
        # One zone, so tests may name a key by the city's hash tag; tests/dispatch/api/test_zoned_api.py and
        # server.py's own tests run the city cut into zones.
        "zones": "city",
        "dispatch_overrides": {"offer_timeout_s": 30.0, "assign_wait_s": 3.0},
        # No surge timer: its refresh writes the surge board whenever a cell's riders or orders change, so a
        # rider's first fix could land in Redis between a test's "nothing written" snapshots. Surge tests call
        # RefreshSurge (tests/pricing) or set a period.
        "pricing_refresh_s": 0.0,
    }
    fields.update(overrides)
    return ServerConfig(**fields)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server on a free port against the session's Redis (emptied), ticking every 0.1 s."""
    application = App(server_config(tmp_path, redis_server.url))
    await application.start()
    yield application
    await application.stop()


@pytest.fixture
def issuer(app: App) -> TokenIssuer:
    assert app.private_key_file is not None
    return TokenIssuer(app.private_key_file.read_bytes())


class Caller:
    """A client of the running server with a token of one role."""

    def __init__(self, channel: grpc.aio.Channel, token: str | None) -> None:
        self.stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()


@pytest_asyncio.fixture
async def channel(app: App) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
        yield ch


@pytest.fixture
def as_role(channel: grpc.aio.Channel, issuer: TokenIssuer):  # type: ignore[no-untyped-def]
    """as_role(Role.RIDER, "r1") -> a Caller holding that role's token."""

    def make(role: Role, subject_id: str = "") -> Caller:
        return Caller(channel, issuer.mint(role, subject_id))

    return make


def redis_snapshot(client: redis.Redis) -> dict[str, object]:
    """Every key with its type and value: compared before and after a refused call."""
    out: dict[str, object] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == "hash":
            out[key] = client.hgetall(key)
        elif kind == "set":
            out[key] = sorted(client.smembers(key))
        elif kind == "zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            out[key] = client.lrange(key, 0, -1)
        elif kind == "stream":
            out[key] = client.xrange(key)
        else:
            out[key] = client.get(key)
    return out


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def require_shared(*parts: str) -> Path:
    """A path under ../shared, or a loud skip when the shared folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"SKIPPED: {path} is absent (../shared is needed for real OSM/MDRP data)")
    return path


os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@pytest.fixture
def money(channel: grpc.aio.Channel, issuer: TokenIssuer):  # type: ignore[no-untyped-def]
    """money(Role.OPS) -> a client of OrderService and SettlementService holding that role's token."""
    from tests.settlement.helpers import Money

    def make(role: Role = Role.OPS, subject_id: str = "") -> Money:
        return Money(channel, issuer.mint(role, subject_id))

    return make


@pytest_asyncio.fixture
async def money_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server running only the order center and settlement (`--services orders,settlement`)."""
    application = App(server_config(tmp_path, redis_server.url, services=("orders", "settlement")))
    await application.start()
    yield application
    await application.stop()


@pytest_asyncio.fixture
async def money_only(money_app: App):  # type: ignore[no-untyped-def]
    """money_only(Role.OPS) -> a client of the orders-and-settlement-only server."""
    from tests.settlement.helpers import Money

    assert money_app.private_key_file is not None
    issuer = TokenIssuer(money_app.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{money_app.port}") as ch:

        def make(role: Role = Role.OPS, subject_id: str = "") -> Money:
            return Money(ch, issuer.mint(role, subject_id))

        yield make
