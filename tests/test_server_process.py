"""server.py as an operator runs it: embedded Redis, grpcurl against it, graceful SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bench._server import ServerProcess
from tests.conftest import ROOT

GRPCURL = Path(sys.executable).parent / "grpcurl"


@pytest.fixture
def server_process(tmp_path: Path):  # type: ignore[no-untyped-def]
    ready = tmp_path / "port"
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "server.py", "--port", "0", "--data-dir", str(tmp_path / "data"),
             "--ready-file", str(ready), "--tick-s", "0.5"],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server did not start in 30 s"
            time.sleep(0.05)
        yield proc, int(ready.read_text()), tmp_path, log_path
        if proc.poll() is None:
            proc.terminate()  # graceful: the server stops its embedded Redis
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def embedded_redis_pids(log_path: Path) -> str:
    """PIDs of the server's embedded redis-server (Redis retitles its process "redis-server HOST:PORT")."""
    port = next(
        m.group(1)
        for line in log_path.read_text().splitlines()
        if (m := re.search(r"redis-server on port (\d+)", line))
    )
    return subprocess.run(
        ["pgrep", "-f", f"redis-server 127.0.0.1:{port}$"], capture_output=True, text=True
    ).stdout.strip()


def grpcurl(
    port: int, *args: str, data: str | None = None, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    flags = ["-H", f"authorization: Bearer {token}"] if token else []
    if data is not None:
        flags += ["-d", data]
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *flags, f"127.0.0.1:{port}", *args], capture_output=True, text=True, timeout=30
    )


def test_grpcurl_lists_describes_and_calls(server_process) -> None:  # type: ignore[no-untyped-def]
    """Reflection lists the service, describes it, health answers SERVING, and a call with a minted token works."""
    _, port, tmp_path, _ = server_process
    listed = grpcurl(port, "list")
    assert "tongcheng.dispatch.v1.DispatchService" in listed.stdout.split()
    described = grpcurl(port, "describe", "tongcheng.dispatch.v1.DispatchService")
    for rpc in ("AssignRiders", "StreamRiderPositions", "WatchAssignments", "UpdateTask", "CancelOrder", "GetOrder"):
        assert f"rpc {rpc}" in described.stdout
    for _ in range(50):
        health = grpcurl(port, "grpc.health.v1.Health/Check")
        if '"SERVING"' in health.stdout:
            break
        time.sleep(0.1)
    assert json.loads(health.stdout)["status"] == "SERVING"

    key = tmp_path / "data" / "keys" / "token-signing.key.pem"
    token = subprocess.run(
        [sys.executable, "-m", "serving.tokens", "--role", "ops", "--private-key", str(key)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    missing = grpcurl(port, "tongcheng.dispatch.v1.DispatchService/GetOrder", data='{"order_id": "nope"}', token=token)
    assert "NotFound" in missing.stderr
    denied = grpcurl(port, "tongcheng.dispatch.v1.DispatchService/GetOrder", data='{"order_id": "nope"}')
    assert "Unauthenticated" in denied.stderr


def test_sigterm_stops_gracefully(server_process) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM: health goes NOT_SERVING, calls drain, the embedded Redis stops, exit code 0."""
    proc, _, _, log_path = server_process
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert any(m.startswith("shutting down") for m in messages)
    assert messages[-1] == "stopped"
    assert embedded_redis_pids(log_path) == "", "the embedded redis-server is gone too"


def test_killed_server_leaves_no_redis_behind(server_process) -> None:  # type: ignore[no-untyped-def]
    """Even a SIGKILLed server takes its embedded redis-server with it."""
    proc, _, _, log_path = server_process
    assert embedded_redis_pids(log_path), "the embedded redis-server runs"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while embedded_redis_pids(log_path):
        assert time.monotonic() < deadline, "redis-server outlived its server"
        time.sleep(0.1)


def test_killed_parent_takes_every_child_with_it(server_process) -> None:  # type: ignore[no-untyped-def]
    """The default server is a parent of a worker and intake processes: SIGKILLed, it leaves none behind."""
    proc, _, _, _ = server_process
    children = child_pids(proc.pid)
    assert len(children) >= 3, "a worker and two intake processes"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not is_zombie(pid) for pid in children):
        assert time.monotonic() < deadline, "a child outlived its parent"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_standby_ticks_at_once(tmp_path: Path) -> None:
    """With two workers, kill -9 of the one holding a zone's lease: the other holds it within 2 s (the parent
    frees a dead worker's leases), and the parent starts a new worker."""
    server = ServerProcess(tmp_path / "data", "--tick-s", "0.5", "--workers", "2", "--metrics-port", "-1").start()
    log_path = server.log_path
    try:
        deadline = time.monotonic() + 60
        port = int(re.search(r"redis-server on port (\d+)", log_path.read_text()).group(1))  # type: ignore[union-attr]
        client = redis.Redis(port=port, decode_responses=True)
        leases: list[str] = []
        while not leases:  # server.py cuts the city into zones: any zone's lease will do
            leases = [k for k in client.scan_iter(match="tc:{*}:lease") if client.get(k)]
            assert time.monotonic() < deadline, "no worker took a zone"
            time.sleep(0.05)
        lease = leases[0]
        token, _, owner = str(client.get(lease)).partition("|")
        os.kill(int(owner.split(":")[1]), signal.SIGKILL)
        killed = time.monotonic()
        while True:
            held = client.get(lease)
            if held and int(held.partition("|")[0]) > int(token):
                break
            assert time.monotonic() - killed < 2.0, f"no take-over within 2 s: {held}"
            time.sleep(0.02)
        while "started worker" not in log_path.read_text().split("restarting", 1)[-1]:
            assert time.monotonic() - killed < 10, "the dead worker was not replaced"
            time.sleep(0.1)
        client.close()
    finally:
        assert server.stop() == 0


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
