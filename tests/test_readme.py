"""The README's API examples, run as written with bash, grpcurl and minted tokens against a live server.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

VENV_BIN = Path(sys.executable).parent
README_PORT = "localhost:50051"
# grpcurl exits with 64 + the gRPC status code of a failed call.
DEADLINE_EXCEEDED, NOT_FOUND = 64 + 4, 64 + 5
# Before each command, bash prints the exit status of the command before it and the command's own text,
# between ASCII separators that neither JSON output nor the README's commands contain.
TRACE = 'trap \'printf "\\036%s\\037%s\\035" "$?" "$BASH_COMMAND"\' DEBUG\n'


@dataclass
class Call:
    command: str  # as written in the README (variables unexpanded)
    output: str
    status: int = 0


def sh_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh fenced blocks, in order."""
    blocks: list[str] = []
    body: list[str] | None = None
    for line in markdown.splitlines():
        if body is None:
            if line.strip() == "```sh":
                body = []
        elif line.strip() == "```":
            blocks.append("\n".join(body))
            body = None
        else:
            body.append(line)
    return blocks


def calls_the_api(block: str) -> bool:
    """Uses grpcurl or mints tokens, and starts neither a server nor make (comments aside)."""
    code = "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in block.splitlines())
    uses_api = re.search(r"grpcurl|\$G\b|serving\.tokens", code) is not None
    starts_something = re.search(r"\bserver\.py\b|^\s*make\b", code, re.MULTILINE) is not None
    return uses_api and not starts_something


def as_run_here(block: str, port: int) -> str:
    """The block with only the port and the virtualenv's bin directory replaced by this test's."""
    return block.replace(README_PORT, f"localhost:{port}").replace(".venv/bin/", f"{VENV_BIN}/")


def parse_calls(transcript: str) -> list[Call]:
    """The commands bash ran, each with its output and exit status, from the transcript TRACE makes."""
    calls: list[Call] = []
    for record in transcript.split("\x1e")[1:]:
        status, _, rest = record.partition("\x1f")
        command, _, output = rest.partition("\x1d")
        if calls:
            calls[-1].status = int(status)
        calls.append(Call(command, output))
    return calls[:-1]  # the last is the closing no-op that reported the status of the one before


@pytest.fixture
def readme_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """server.py as the README starts it (embedded Redis, Helsinki, default policy), data in the examples' `.tongcheng`."""
    ready = tmp_path / "port"
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        # --port 0: the server binds a free port itself and writes it to the ready file, leaving no window in
        # which another process could take a port picked here.
        proc = subprocess.Popen(
            [sys.executable, "server.py", "--port", "0", "--data-dir", str(tmp_path / ".tongcheng"),
             "--city", "helsinki", "--ready-file", str(ready)],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not ready.exists() or not ready.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "server did not start in 60 s"
                time.sleep(0.05)
            port = int(ready.read_text())
            health = [str(VENV_BIN / "grpcurl"), "-plaintext", f"127.0.0.1:{port}", "grpc.health.v1.Health/Check"]
            while '"SERVING"' not in subprocess.run(health, capture_output=True, text=True, timeout=10).stdout:
                assert time.monotonic() < deadline, "server not SERVING in 60 s"
                time.sleep(0.1)
            yield port, tmp_path, log_path
        finally:
            proc.terminate()  # graceful: the server stops its embedded Redis
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_readme_examples_run_as_written(readme_server) -> None:  # type: ignore[no-untyped-def]
    """The README's sh blocks with grpcurl or tokens run in order as written, each call succeeding; blocks without them (benchmarks, builds, replays) or starting server.py or make are not run: they start their own servers or take minutes."""
    port, folder, log_path = readme_server
    blocks = [b for b in sh_blocks((ROOT / "README.md").read_text()) if calls_the_api(b)]
    script = TRACE + "\n".join(as_run_here(b, port) for b in blocks) + "\n:\n"
    (folder / "readme.sh").write_text(script)
    # The caller's TONGCHENG_* settings (a key file, say) must not change what the examples do, and their
    # `python -m serving.tokens`, run from the data folder, takes this checkout's modules.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGCHENG_")} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["bash", "readme.sh"], cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=120,
    )  # fmt: skip
    calls = parse_calls(done.stdout)

    def shown(call: Call) -> str:
        return f"{call.command}\n-> exit {call.status}\n{call.output}"

    def ran(method: str) -> list[Call]:
        return [c for c in calls if f"/{method}" in c.command]

    assert done.returncode == 0, done.stdout[-3000:]
    assert ran("AssignRiders") and ran("SplitOrders"), "the README's examples were not found"
    assert ran("SyncCatalog") and ran("HoldSlot") and ran("ConfirmBooking"), "the supply examples were not found"
    for call in ran("GetStock"):  # 30 counted, 3 sold to o4
        assert '"onHand": "27"' in call.output or '"on_hand": "27"' in call.output, shown(call)
    # The examples' own claims first: a REJECTED order (a place outside the service area) fails the calls after it.
    for call in ran("AssignRiders"):
        assert re.search(r'"status": "ORDER_STATUS_(ASSIGNED|PENDING)"', call.output), shown(call)
    for call in ran("PayOrder"):
        assert '"dispatch_status": "rejected"' not in call.output, shown(call)
    for call in ran("SplitOrders"):
        assert "SPLIT_OUTCOME_POSTED" in call.output, shown(call)
    # A watch bounded by -max-time ends with DeadlineExceeded: its normal end. GetStatement of yesterday's run
    # is NOT_FOUND when that run settled nothing, as the README says of a server whose payments are all today's.
    settled_nothing = all('"days_settled"' not in c.output for c in ran("RunDailySettlement"))
    failed = [
        c
        for c in calls
        if c.status != 0
        and not ("-max-time" in c.command and c.status == DEADLINE_EXCEEDED)
        and not (
            "/GetStatement" in c.command and c.status == NOT_FOUND and settled_nothing and "no statement" in c.output
        )
    ]
    assert not failed, "\n\n".join(shown(c) for c in failed) + "\n\nserver log:\n" + log_path.read_text()[-3000:]
