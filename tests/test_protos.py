"""The committed generated modules are what protoc makes from proto/ today."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_generated_modules_are_fresh() -> None:
    """Regenerating the stubs changes nothing (run `make proto` after editing a .proto)."""
    result = subprocess.run(
        [sys.executable, "tools/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
