"""Tongcheng server: `python server.py --help`. Every flag has a TONGCHENG_* environment equivalent."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path

import processes
from core.geo import City, LatLng
from dispatch.config import DispatchConfig
from dispatch.guidance import GuidanceConfig
from dispatch.policies import DEFAULT_POLICY
from dispatch.zones import DEFAULT_ZONE_RESOLUTION
from forecast import ForecastConfig
from serving import logs
from serving.app import KNOWN_SERVICES, ROLES, App, ServerConfig

log = logging.getLogger("tongcheng.server")

# Intake processes beside the worker by default: two measured best on this 2-core machine (README).
DEFAULT_INTAKE_PROCESSES = 2


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"TONGCHENG_{name}", default)


def parse_args(argv: list[str] | None = None) -> tuple[ServerConfig, str]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to bind (TONGCHENG_HOST)")
    p.add_argument("--port", type=int, default=int(_env("PORT", "50051")), help="0 picks a free port (TONGCHENG_PORT)")
    p.add_argument(
        "--redis-url",
        default=_env("REDIS_URL"),
        help="redis://host:port/db, or redis+cluster://host:port,host:port/0 for a Redis Cluster (docs/cluster.md); "
        "unset starts an embedded redis-server (TONGCHENG_REDIS_URL)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("DATA_DIR", ".tongcheng")),
        help="embedded Redis data and dev keys (TONGCHENG_DATA_DIR)",
    )
    p.add_argument(
        "--city",
        default=_env("CITY", "helsinki"),
        help="city served: helsinki, baltimore, liechtenstein, andorra, or a path to an .osm.pbf (TONGCHENG_CITY)",
    )
    p.add_argument(
        "--tick-s",
        type=float,
        default=float(_env("TICK_S", "2.0")),
        help="seconds between batch decisions (TONGCHENG_TICK_S)",
    )
    p.add_argument(
        "--services",
        default=_env("SERVICES", ",".join(KNOWN_SERVICES)),
        help=f"comma list of services to run: {', '.join(KNOWN_SERVICES)} (TONGCHENG_SERVICES)",
    )
    p.add_argument("--policy", default=_env("POLICY", DEFAULT_POLICY), help="dispatch policy (TONGCHENG_POLICY)")
    p.add_argument(
        "--role",
        default=_env("ROLE", "all"),
        choices=ROLES,
        help="all: everything (with --intake-processes > 0, as a parent of intake and worker processes); "
        "intake: serve the API, never tick; worker: tick the zone, serve health only (TONGCHENG_ROLE)",
    )
    p.add_argument(
        "--intake-processes",
        type=int,
        default=int(_env("INTAKE_PROCESSES", str(DEFAULT_INTAKE_PROCESSES))),
        help="with --role all: intake processes sharing the port beside one worker process; 0 runs everything "
        "in this one process (TONGCHENG_INTAKE_PROCESSES)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "1")),
        help="with intake processes: zone workers; they spread the zones' leases among them and take over a "
        "dead worker's zones within a lease round (TONGCHENG_WORKERS)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=int(_env("METRICS_PORT", "9464")),
        help="Prometheus /metrics on this port (0: a free one; -1: off); with intake processes, the worker takes "
        "it and intake process i the port + i (TONGCHENG_METRICS_PORT)",
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=int(_env("HTTP_PORT", "8080")),
        help="the ops cockpit and merchant dashboard (web pages, same tokens as the API) on this port (0: a free "
        "one; -1: off); with intake processes, every intake process serves it (TONGCHENG_HTTP_PORT)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        default=_env("REUSE_PORT", "") in ("1", "true"),
        help="share the port with other intake processes (SO_REUSEPORT) (TONGCHENG_REUSE_PORT)",
    )
    p.add_argument(
        "--h3-resolution",
        type=int,
        default=int(_env("H3_RESOLUTION", "9")),
        help="H3 resolution of the rider index (TONGCHENG_H3_RESOLUTION)",
    )
    p.add_argument(
        "--zones",
        default=_env("ZONES", str(DEFAULT_ZONE_RESOLUTION)),
        help="how the city is cut into zones, each ticked by one worker: an H3 resolution (6: cells of ~36 km²), "
        "a GeoJSON file of polygons (each feature's `zone` property names it), or `city` for one zone "
        "(TONGCHENG_ZONES)",
    )
    p.add_argument(
        "--rider-ttl-s",
        type=float,
        default=float(_env("RIDER_TTL_S", "60")),
        help="riders silent longer than this leave the index (TONGCHENG_RIDER_TTL_S)",
    )
    p.add_argument(
        "--pricing-refresh-s",
        type=float,
        default=float(_env("PRICING_REFRESH_S", "10")),
        help="how often the ticking process recomputes delivery surge and area shrinking; 0: only on RefreshSurge "
        "(TONGCHENG_PRICING_REFRESH_S)",
    )
    p.add_argument(
        "--auth-public-key",
        type=Path,
        default=_env("AUTH_PUBLIC_KEY_FILE"),
        help="PEM public key verifying bearer tokens; unset uses a local dev key pair (TONGCHENG_AUTH_PUBLIC_KEY_FILE)",
    )
    p.add_argument(
        "--auth-disabled",
        action="store_true",
        default=_env("AUTH_DISABLED", "") in ("1", "true"),
        help="dev mode: no token checks, every caller is ops (TONGCHENG_AUTH_DISABLED=1)",
    )
    p.add_argument(
        "--tls-cert", type=Path, default=_env("TLS_CERT_FILE"), help="PEM certificate chain (TONGCHENG_TLS_CERT_FILE)"
    )
    p.add_argument(
        "--tls-key", type=Path, default=_env("TLS_KEY_FILE"), help="PEM private key (TONGCHENG_TLS_KEY_FILE)"
    )
    p.add_argument(
        "--grace-s",
        type=float,
        default=float(_env("GRACE_S", "10")),
        help="how long in-flight calls may drain on SIGTERM (TONGCHENG_GRACE_S)",
    )
    p.add_argument(
        "--redis-appendfsync",
        default=_env("REDIS_APPENDFSYNC", "everysec"),
        choices=["always", "everysec", "no"],
        help="embedded Redis AOF fsync policy (TONGCHENG_REDIS_APPENDFSYNC)",
    )
    p.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="(TONGCHENG_LOG_LEVEL)",
    )
    p.add_argument(
        "--ready-file",
        type=Path,
        default=_env("READY_FILE"),
        help="write the bound port here once serving (for scripts and tests) (TONGCHENG_READY_FILE)",
    )
    p.add_argument(
        "--dispatch-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a dispatch.config.DispatchConfig field, e.g. offer_timeout_s=45 (repeatable)",
    )
    dev = p.add_argument_group("dev and bench only: a scaled clock for replays through the API, never in production")
    dev.add_argument(
        "--clock-speed",
        type=float,
        default=_env("CLOCK_SPEED"),
        help="run simulated time this many times faster than real time; ticks last --tick-s / speed (TONGCHENG_CLOCK_SPEED)",
    )
    dev.add_argument(
        "--clock-start",
        default=_env("CLOCK_START"),
        help="simulated time at start-up (or at --clock-anchor-ms): ISO 8601 with offset, or Unix ms; default now (TONGCHENG_CLOCK_START)",
    )
    dev.add_argument(
        "--clock-anchor-ms",
        type=int,
        default=_env("CLOCK_ANCHOR_MS"),
        help="the Unix wall time (ms) at which the clock reads --clock-start, so a client can share the clock (TONGCHENG_CLOCK_ANCHOR_MS)",
    )
    ns = p.parse_args(argv)
    try:
        config = ServerConfig(
            host=ns.host, port=ns.port, redis_url=ns.redis_url or None, data_dir=ns.data_dir, city=ns.city,
            tick_s=ns.tick_s, services=tuple(s.strip() for s in ns.services.split(",") if s.strip()),
            role=ns.role, reuse_port=ns.reuse_port, metrics_port=None if ns.metrics_port < 0 else ns.metrics_port,
            http_port=None if ns.http_port < 0 else ns.http_port,
            policy=ns.policy, h3_resolution=ns.h3_resolution, zones=ns.zones, rider_ttl_s=ns.rider_ttl_s,
            pricing_refresh_s=ns.pricing_refresh_s,
            auth_public_key_file=ns.auth_public_key, auth_disabled=ns.auth_disabled,
            tls_cert_file=ns.tls_cert, tls_key_file=ns.tls_key, grace_s=ns.grace_s,
            redis_appendfsync=ns.redis_appendfsync, dispatch_overrides=parse_dispatch_settings(ns.dispatch_setting),
            clock_speed=None if ns.clock_speed is None else float(ns.clock_speed),
            clock_start_ms=parse_instant_ms(ns.clock_start), clock_anchor_ms=ns.clock_anchor_ms,
        )  # fmt: skip
    except ValueError as exc:
        p.error(str(exc))
    if ns.intake_processes < 0 or ns.workers < 1:
        p.error("--intake-processes must be 0 or more and --workers 1 or more")
    return config, ns.log_level, ns.ready_file, (ns.intake_processes, ns.workers)  # type: ignore[return-value]


def parse_instant_ms(text: str | None) -> int | None:
    """ISO 8601 with a UTC offset, or Unix milliseconds."""
    if text is None or text == "":
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--clock-start {text!r} is neither ISO 8601 nor Unix milliseconds") from None
    if when.tzinfo is None:
        raise ValueError(f"--clock-start {text!r} needs a UTC offset (e.g. +03:00 or Z)")
    return round(when.timestamp() * 1000)


_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def parse_dispatch_settings(items: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs naming DispatchConfig fields, converted to the field's type."""
    own_flags = ("city", "tick_s", "h3_resolution", "zones", "rider_ttl_s", "bundles", "lease")
    fields = {f.name: f for f in dataclasses.fields(DispatchConfig) if f.name not in own_flags}
    out: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise ValueError(
                f"--dispatch-setting {item!r}: use NAME=VALUE with NAME one of {', '.join(sorted(fields))}"
            )
        kind = str(fields[name].type)
        text = value.strip().lower()
        if name == "guidance":  # idle-rider guidance by mode (on: the default mode), or off (none)
            if text in ("recent", "forecast"):
                out[name] = GuidanceConfig(mode=text)
                continue
            if text != "none" and text not in _BOOLS:
                raise ValueError(f"--dispatch-setting {item!r}: guidance takes none, recent, forecast, on or off")
            out[name] = GuidanceConfig() if _BOOLS.get(text, False) else None
            continue
        if name == "forecast":  # the demand forecast, with its default settings, or off
            if text not in _BOOLS:
                raise ValueError(f"--dispatch-setting {item!r}: forecast takes on or off")
            out[name] = ForecastConfig() if _BOOLS[text] else None
            continue
        if kind == "bool":
            if text not in _BOOLS:
                raise ValueError(f"--dispatch-setting {item!r}: {name} takes true or false")
            out[name] = _BOOLS[text]
            continue
        if kind.endswith("| None") and text in ("none", "off"):
            out[name] = None
            continue
        try:
            out[name] = int(value) if kind == "int" else float(value)
        except ValueError:
            takes = "a whole number" if kind == "int" else "a number"
            takes += ", or none" if kind.endswith("| None") else ""
            raise ValueError(f"--dispatch-setting {item!r}: {name} takes {takes}") from None
    DispatchConfig(City("check", LatLng(0.0, 0.0), 1.0), **out)  # type: ignore[arg-type]  # its own checks
    return out


async def serve(config: ServerConfig, ready_file: Path | None) -> None:
    app = App(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    try:
        if ready_file is not None:
            await asyncio.to_thread(ready_file.write_text, str(app.port))
        await stop.wait()
    finally:
        await app.stop()


def main(argv: list[str] | None = None) -> int:
    config, level, ready_file, (intake_processes, workers) = parse_args(argv)
    logs.configure(level)
    if config.role == "all" and intake_processes > 0:
        argv_ = list(sys.argv[1:] if argv is None else argv)
        return processes.run(config, argv_, intake_processes, ready_file, workers)
    try:
        asyncio.run(serve(config, ready_file))
    except Exception:
        log.exception("server failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
