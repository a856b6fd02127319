"""Prometheus metrics of a server process: the RPCs and Redis here, and the HTTP endpoint that serves them
with the engine's (`dispatch.metrics`). Each process serves its own; docs/operations.md lists them all."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger("tongcheng.metrics")

# From a cached read (~1 ms) to a call held to its deadline (seconds).
_RPC_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_SECONDS = Histogram(
    "tongcheng_rpc_seconds", "Time from a unary call's start to its answer, by method.", ["method"],
    buckets=_RPC_BUCKETS_S,
)  # fmt: skip
RPC_CODES = Counter("tongcheng_rpc_total", "Calls answered, by method and status code.", ["method", "code"])
REDIS_ERRORS = Counter(
    "tongcheng_redis_errors_total", "Calls that failed on Redis (down, stalled, timed out), by method.", ["method"]
)


def serve_metrics(host: str, port: int) -> int | None:
    """Serves /metrics on host:port (0: a free port); returns the port, or None when it is taken (logged:
    a process without its metrics endpoint still serves its API)."""
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        log.error("metrics endpoint not served: %s:%d: %s", host, port, exc)
        return None
    bound = int(server.server_port)
    log.info("metrics on http://%s:%d/metrics", host, bound)
    return bound
