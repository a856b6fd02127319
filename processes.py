"""server.py's default shape on one machine: an embedded Redis, one zone worker and N intake processes.

The parent starts the embedded Redis (supervised, as a single-process server does), then `server.py
--role worker` and N × `server.py --role intake --reuse-port` on the one port (the kernel spreads
connections among them), waits until each has bound, and then watches them: a child that dies is started
again (with backoff), and SIGTERM stops the intake processes first (they drain their calls), then the
worker, then Redis. Each child dies with the parent (PR_SET_PDEATHSIG), so a killed parent leaves nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from serving.app import ServerConfig
from serving.auth import ensure_dev_keys, ensure_quote_key
from serving.embedded_redis import EmbeddedRedis, die_with_parent_command, free_port

log = logging.getLogger("tongcheng.processes")

ROOT = Path(__file__).resolve().parent
# How long a child may take to bind its port (a worker loads the road graph first).
START_TIMEOUT_S = 120.0
# A child that dies is started again after this long, doubling up to the cap while it keeps dying young.
RESTART_BACKOFF_S = (0.5, 10.0)


@dataclass
class Child:
    """One `server.py` child: its role, its extra arguments and its ready file."""

    name: str
    args: list[str]
    ready_file: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = RESTART_BACKOFF_S[0]
    restarts: int = 0
    restart_at: float | None = field(default=None)

    def start(self, base_argv: list[str]) -> None:
        self.ready_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            str(ROOT / "server.py"),
            *base_argv,
            *self.args,
            "--ready-file",
            str(self.ready_file),
        ]
        self.proc = subprocess.Popen([*die_with_parent_command(os.getpid()), *command], cwd=ROOT)
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.proc.pid)

    @property
    def ready(self) -> bool:
        return self.ready_file.exists() and bool(self.ready_file.read_text().strip())

    def stop(self, timeout_s: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.error("%s did not stop in %.0f s: killed", self.name, timeout_s)
            self.proc.kill()
            self.proc.wait()


def run(
    config: ServerConfig, base_argv: list[str], intake_processes: int, ready_file: Path | None, workers: int = 1
) -> int:
    """Runs the processes until SIGTERM or SIGINT; returns the exit code."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    redis_server: EmbeddedRedis | None = None
    run_dir = config.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    try:
        redis_url = config.redis_url
        if not redis_url:
            redis_server = EmbeddedRedis(
                config.data_dir / "redis", appendfsync=config.redis_appendfsync, supervise=True,
                backoff=config.redis_restart,
            ).start()  # fmt: skip
            redis_url = redis_server.url
            log.info(
                "embedded redis-server on port %d (pid %d), data in %s",
                redis_server.port, redis_server.pid, redis_server.data_dir,
            )  # fmt: skip
        if config.auth_public_key_file is None and not config.auth_disabled:
            ensure_dev_keys(config.data_dir / "keys")  # made once here, not raced by the children
        ensure_quote_key(config.data_dir / "keys")  # every child signs and checks delivery quotes with it
        port = config.port or free_port(config.host)
        http = _http_port(config)
        common = ["--redis-url", redis_url, "--intake-processes", "0"]
        # Workers spread the city's zones among them (each zone's lease lets one tick it); the others take over
        # a dead worker's zones within a lease round.
        for w in range(workers):
            name = "worker" if w == 0 else f"worker-{w + 1}"
            children.append(
                Child(
                    name,
                    [*common, "--role", "worker", "--port", "0", "--http-port", "-1", *_metrics(config, -w)],
                    run_dir / f"{name}.port",
                )
            )
        for i in range(intake_processes):
            intake = ["--role", "intake", "--port", str(port), "--reuse-port", "--http-port", str(http)]
            children.append(
                Child(f"intake-{i + 1}", [*common, *intake, *_metrics(config, i + 1)], run_dir / f"intake-{i + 1}.port")
            )
        for child in children:
            child.start(base_argv)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(c.ready for c in children):
            for c in children:
                if c.proc is not None and c.proc.poll() is not None:
                    log.error("%s exited with %s while starting", c.name, c.proc.returncode)
                    return 1
            if stop.wait(0.05) or time.monotonic() > deadline:
                log.error("not every process started within %.0f s", START_TIMEOUT_S)
                return 1
        log.info("serving on %s:%d: %d intake processes, %d worker(s)", config.host, port, intake_processes, workers)
        if ready_file is not None:
            ready_file.write_text(str(port))
        while not stop.wait(0.2):
            _restart_dead(children, base_argv, redis_url)
        return 0
    finally:
        # Intake first, so calls drain while the worker still decides them; then the worker; then Redis.
        for c in children:
            if c.name.startswith("intake"):
                c.stop(config.grace_s + 5)
        for c in children:
            c.stop(config.grace_s + 5)
        if redis_server is not None:
            redis_server.stop()
        log.info("stopped")


# Deletes a lease if it still names the given owner prefix (a dead worker's), atomically.
_RELEASE_DEAD_LUA = """
local held = redis.call('GET', KEYS[1])
if held and string.find(held, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0
"""


def release_leases_of(redis_url: str, pid: int) -> None:
    """A worker that died here holds its zones' leases until their TTL; the parent, which saw it die, frees
    them at once, so the other workers take its zones over within a tick rather than a TTL. Only leases naming the dead
    process (`host:pid:`, dispatch.lease.default_owner) are touched; a failure leaves the TTL to do it."""
    owner = f"|{socket.gethostname()}:{pid}:"
    try:
        with redis.Redis.from_url(redis_url, socket_timeout=1.0, decode_responses=True) as client:
            release = client.register_script(_RELEASE_DEAD_LUA)
            for key in client.scan_iter(match="tc:{*}:lease", count=1_000):
                if release(keys=[key], args=[owner]):
                    log.info("released %s of dead worker pid %d", key, pid)
    except (redis.RedisError, ValueError) as exc:  # ValueError: a URL form this plain client does not take
        log.warning("could not release the leases of dead worker pid %d (they expire by themselves): %s", pid, exc)


def _http_port(config: ServerConfig) -> int:
    """The cockpit's port for every intake process (-1: off). Checked free here, without SO_REUSEPORT, so the
    intake processes share it with each other and never with another server that holds it; a taken port is
    logged and the API served without pages, as a taken metrics port is."""
    if config.http_port is None:
        return -1
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((config.host, config.http_port))
        except OSError as exc:
            log.error("cockpit not served: %s:%d: %s", config.host, config.http_port, exc)
            return -1
        port = int(s.getsockname()[1])
    log.info("cockpit on http://%s:%d/", config.host, port)
    return port


def _metrics(config: ServerConfig, index: int) -> list[str]:
    """The metrics port of the child at `index` (the first worker 0, standby worker w at -w, intake process i
    at i): the configured port plus the index, a free one for each when it is 0, none when off."""
    if config.metrics_port is None:
        return ["--metrics-port", "-1"]
    return ["--metrics-port", str(config.metrics_port + index if config.metrics_port else 0)]


def _restart_dead(children: list[Child], base_argv: list[str], redis_url: str) -> None:
    now = time.monotonic()
    for c in children:
        if c.proc is None or c.proc.poll() is None:
            continue
        if c.restart_at is None:
            if c.name.startswith("worker"):
                release_leases_of(redis_url, c.proc.pid)
            # A child that had started serving died of something else than its start-up (killed, lost its
            # host's memory): it comes back at once. One that dies before it serves, again and again, backs off.
            c.backoff_s = RESTART_BACKOFF_S[0] if c.ready else min(RESTART_BACKOFF_S[1], c.backoff_s * 2)
            c.restart_at = now + c.backoff_s
            log.error("%s (pid %d) exited with %s: restarting in %.1f s", c.name, c.proc.pid, c.proc.returncode,
                      c.backoff_s)  # fmt: skip
        elif now >= c.restart_at:
            c.restart_at = None
            c.restarts += 1
            c.start(base_argv)
