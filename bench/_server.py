"""Runs server.py as a child process for the demo and benchmarks, the way an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from serving.auth import PRIVATE_KEY_FILE, Role, TokenIssuer

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """`python server.py` on a free port with its embedded Redis; stopped with SIGTERM."""

    def __init__(
        self, data_dir: Path, *extra_args: str, log_path: Path | None = None, http_port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        # The cockpit's pages only where asked for (the demo): benchmarks and tests never race for its port.
        self.http_port = http_port
        self.extra_args = ["--http-port", str(-1 if http_port is None else http_port), *extra_args]
        self.log_path = log_path or data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: BinaryIO | None = None
        self.port = 0

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir / "port"
        ready.unlink(missing_ok=True)
        self._log_file = log_file = open(self.log_path, "wb")  # closed by stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", "0", "--data-dir", str(self.data_dir),
             "--ready-file", str(ready), *self.extra_args],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not (ready.exists() and ready.read_text()):
            if self.proc.poll() is not None:
                log_file.close()
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.05)
        self.port = int(ready.read_text())
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def issuer(self) -> TokenIssuer:
        return TokenIssuer((self.data_dir / "keys" / PRIVATE_KEY_FILE).read_bytes())

    def token(self, role: Role, subject_id: str = "") -> str:
        return self.issuer().mint(role, subject_id)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            if self._log_file is not None:
                self._log_file.close()
