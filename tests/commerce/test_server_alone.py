"""server.py with `--services orders,settlement` as an operator runs it: grpcurl lists, describes and calls the
money services (the README's examples), and no dispatch service is served."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from serving.auth import PRIVATE_KEY_FILE, Role, TokenIssuer
from tests.conftest import ROOT

GRPCURL = Path(sys.executable).parent / "grpcurl"


def test_orders_and_settlement_alone_through_grpcurl(tmp_path: Path) -> None:
    """Reflection lists OrderService and SettlementService (not dispatch); a rule, an order, a payment and its split
    through grpcurl; bad input comes back INVALID_ARGUMENT naming the field."""
    ready = tmp_path / "port"
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "server.py", "--port", "0", "--data-dir", str(tmp_path / "data"),
             "--ready-file", str(ready), "--services", "orders,settlement", "--redis-appendfsync", "always"],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server did not start in 30 s"
            time.sleep(0.05)
        port = int(ready.read_text())
        token = TokenIssuer((tmp_path / "data" / "keys" / PRIVATE_KEY_FILE).read_bytes()).mint(Role.OPS)

        def grpcurl(*args: str, data: str | None = None) -> subprocess.CompletedProcess[str]:
            flags = ["-H", f"authorization: Bearer {token}"] + (["-d", data] if data is not None else [])
            return subprocess.run(
                [str(GRPCURL), "-plaintext", *flags, f"127.0.0.1:{port}", *args],
                capture_output=True,
                text=True,
                timeout=30,
            )

        listed = grpcurl("list").stdout.split()
        assert "tongcheng.orders.v1.OrderService" in listed and "tongcheng.settlement.v1.SettlementService" in listed
        assert "tongcheng.dispatch.v1.DispatchService" not in listed
        assert "rpc RefundOrder" in grpcurl("describe", "tongcheng.orders.v1.OrderService").stdout
        rule = grpcurl(
            "tongcheng.settlement.v1.SettlementService/SetSplitRule",
            data='{"rule": {"merchant_id": "m1", "platform_commission": {"basis_points": 500}, '
            '"rider_delivery_fee": {"basis_points": 800, "fixed_fen": 100}, "group_leader_commission": {"basis_points": 300}}}',
        )
        assert rule.returncode == 0, rule.stderr
        order = grpcurl(
            "tongcheng.orders.v1.OrderService/CreateOrder",
            data='{"order_id": "o1", "merchant_id": "m1", "group_leader_id": "g1", "items_fen": 9000, "delivery_fee_fen": 500, '
            '"pickup": {"lat": 60.1688, "lng": 24.9314}, "dropoff": {"lat": 60.1765, "lng": 24.9240}, "item_count": 2}',
        )
        assert order.returncode == 0, order.stderr
        paid = grpcurl(
            "tongcheng.orders.v1.OrderService/PayOrder",
            data='{"order_id": "o1", "payment_id": "wx-4200001", "amount_fen": 9500}',
        )
        assert json.loads(paid.stdout)["order"]["split_state"] == "SPLIT_STATE_POSTED", paid.stdout + paid.stderr
        split = json.loads(
            grpcurl("tongcheng.settlement.v1.SettlementService/GetSplit", data='{"order_id": "o1"}').stdout
        )
        assert sum(int(leg["amount_fen"]) for leg in split["split"]["legs"]) == 9500
        bad = grpcurl(
            "tongcheng.orders.v1.OrderService/RefundOrder",
            data='{"order_id": "o1", "idempotency_key": "rf-1", "amount_fen": -5}',
        )
        assert "InvalidArgument" in bad.stderr and "amount_fen" in bad.stderr
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log_path.read_text()
