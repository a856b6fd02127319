"""Order splits per second and call latency through gRPC, against a real `server.py --services orders,settlement`
with its embedded Redis (AOF on).

    python -m bench.settlement --orders 5000 --concurrency 16 --batch 50 --batch-concurrency 4 --appendfsync everysec

Phases, each over its own orders (the setup creates them, pays half with no rule in effect so their splits halt
and wait, then sets the rule):
  baseline     grpc.health.v1 Health/Check: the same server's transport and event loop, no auth, no Redis
  pay          PayOrder, one order per call: payment compare-and-set + split script + reads (the live path)
  split x1     SplitOrders with one order per call: the retry of a halted split, one script per call
  split xB     SplitOrders with B orders per call: one pipeline of scripts per call
Reported per phase: calls/s, splits/s, latency p50/p90/p99 per call, the ratio to the baseline's calls/s, and
the CPU the server, its Redis and this client spent per split (per call for the baseline): on a shared
machine the rates move with what else runs, the CPU per split much less.
The run ends with Reconcile, which must report no difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._report import quantile
from bench._server import ServerProcess
from core.validation import EARLIEST_MS
from serving.auth import Role
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

TOTAL_FEN = 9_500
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU used by the server, its embedded Redis and this client during a phase: the figures that do not
    depend on what else the shared machine runs meanwhile."""

    def __init__(self, server_pid: int) -> None:
        # Any thread's: the embedded Redis is a child of its supervisor thread, not of the main one.
        children = [
            pid
            for task in Path(f"/proc/{server_pid}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        self.pids = {"server": server_pid, "redis": int(children[0]) if children else 0}

    def read(self) -> dict[str, float]:
        out = {name: cpu_s(pid) for name, pid in self.pids.items() if pid}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out["client"] = usage.ru_utime + usage.ru_stime
        return out


async def drive(
    calls: list[Callable[[], Awaitable[object]]], concurrency: int, meter: CpuMeter | None = None
) -> tuple[float, list[float], dict[str, float]]:
    """Runs the calls with `concurrency` in flight; returns (seconds, per-call latencies in ms, CPU seconds used)."""
    latencies: list[float] = []
    before = meter.read() if meter else {}
    it = iter(calls)

    async def worker() -> None:
        for call in it:
            t0 = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    after = meter.read() if meter else {}
    return seconds, latencies, {k: after[k] - before[k] for k in after}


def line(
    name: str, calls: int, splits: int, seconds: float, lat: list[float], baseline_cps: float | None,
    cpu: dict[str, float],
) -> str:  # fmt: skip
    cps = calls / seconds
    ratio = f" {cps / baseline_cps:5.2f}x baseline" if baseline_cps else " " * 17
    per = max(splits, calls)
    cpu_text = "  ".join(f"{k} {v * 1e6 / per:5.0f}" for k, v in cpu.items())
    return (
        f"{name:<10} {calls:>6} calls {splits:>6} splits {seconds:5.2f} s {cps:6.0f} calls/s {splits / seconds:6.0f}"
        f" splits/s  p50 {quantile(lat, 50):6.2f}  p90 {quantile(lat, 90):6.2f}  p99 {quantile(lat, 99):6.2f} ms{ratio}"
        f"  CPU us/{'split' if splits else 'call'}: {cpu_text}"
    )


async def bench(server: ServerProcess, orders: int, concurrency: int, batch: int, batch_concurrency: int) -> int:
    md = (("authorization", f"Bearer {server.token(Role.OPS)}"),)
    load_before = os.getloadavg()
    async with grpc.aio.insecure_channel(server.address) as ch:
        o = orders_pb2_grpc.OrderServiceStub(ch)
        s = settlement_pb2_grpc.SettlementServiceStub(ch)
        health = health_pb2_grpc.HealthStub(ch)
        n = orders
        ids = {phase: [f"{phase}-{i}" for i in range(n)] for phase in ("pay", "one", "batch")}

        def create(oid: str) -> Callable[[], Awaitable[object]]:
            req = opb.CreateOrderRequest(
                order_id=oid, merchant_id=f"m{hash(oid) % 50}", items_fen=TOTAL_FEN - 500, delivery_fee_fen=500,
                group_leader_id="g1" if hash(oid) % 3 == 0 else "", pickup=opb.LatLng(lat=31.23, lng=121.47),
                dropoff=opb.LatLng(lat=31.24, lng=121.48), item_count=1,
            )  # fmt: skip
            return lambda: o.CreateOrder(req, metadata=md)

        def pay(oid: str, state: int) -> Callable[[], Awaitable[object]]:
            req = opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=TOTAL_FEN)

            async def call() -> None:
                reply = await o.PayOrder(req, metadata=md)
                assert reply.order.split_state == state, reply.order

            return call

        print(f"setup: creating {3 * n} orders, paying {2 * n} of them with no rule in effect (their splits halt)")
        await drive([create(oid) for phase in ids.values() for oid in phase], concurrency)
        await drive([pay(oid, opb.SPLIT_STATE_HALTED) for oid in ids["one"] + ids["batch"]], concurrency)
        assert server.proc is not None
        meter = CpuMeter(server.proc.pid)
        for m in range(50):
            rule = spb.SplitRule(
                merchant_id=f"m{m}", platform_commission=spb.Share(basis_points=500),
                rider_delivery_fee=spb.Share(basis_points=800, fixed_fen=100),
                group_leader_commission=spb.Share(basis_points=300),
            )  # fmt: skip
            rule.effective_from.FromMilliseconds(EARLIEST_MS)  # every order: the oldest instant a request may name
            await s.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=md)

        check = health_pb2.HealthCheckRequest()
        seconds, lat, cpu = await drive([lambda: health.Check(check) for _ in range(n)], concurrency, meter)
        baseline_cps = n / seconds
        report = [line("baseline", n, 0, seconds, lat, None, cpu)]

        seconds, lat, cpu = await drive([pay(oid, opb.SPLIT_STATE_POSTED) for oid in ids["pay"]], concurrency, meter)
        report.append(line("pay", n, n, seconds, lat, baseline_cps, cpu))

        def split(chunk: list[str]) -> Callable[[], Awaitable[object]]:
            req = spb.SplitOrdersRequest(
                splits=[spb.SplitOrderRequest(idempotency_key=f"k-{x}", order_id=x) for x in chunk]
            )

            async def call() -> None:
                reply = await s.SplitOrders(req, metadata=md)
                assert all(r.outcome == spb.SPLIT_OUTCOME_POSTED for r in reply.results), reply.results[0]

            return call

        seconds, lat, cpu = await drive([split([oid]) for oid in ids["one"]], concurrency, meter)
        report.append(line("split x1", n, n, seconds, lat, baseline_cps, cpu))
        chunks = [ids["batch"][i : i + batch] for i in range(0, n, batch)]
        seconds, lat, cpu = await drive([split(c) for c in chunks], max(1, min(batch_concurrency, len(chunks))), meter)
        report.append(line(f"split x{batch}", len(chunks), n, seconds, lat, baseline_cps, cpu))

        return await finish(s, md, report, load_before)


async def finish(s: settlement_pb2_grpc.SettlementServiceStub, md: tuple[tuple[str, str], ...], report: list[str],
                 load_before: tuple[float, float, float]) -> int:  # fmt: skip
    """Prints the load, the report's lines and a Reconcile of the whole ledger; 1 when it finds differences."""
    print(f"load average before the run: {load_before}; after: {os.getloadavg()}")
    recon = await s.Reconcile(spb.ReconcileRequest(), metadata=md)
    print("\n".join(report))
    print(
        f"reconcile: {recon.orders_checked} orders, {recon.entries_checked} entries, "
        f"{len(recon.differences)} differences; ledger {recon.ledger_net_fen} fen = orders {recon.order_net_fen} fen"
    )
    return 1 if recon.differences else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=5_000, help="orders per phase")
    p.add_argument("--concurrency", type=int, default=16, help="calls in flight")
    p.add_argument("--batch", type=int, default=50, help="orders per SplitOrders call in the batched phase")
    p.add_argument("--batch-concurrency", type=int, default=4, help="batched calls in flight")
    p.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"])
    ns = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="tc-bench-settlement-"))
    server = ServerProcess(
        # One process (as CpuMeter reads it: the server, and its embedded Redis as its child).
        data, "--services", "orders,settlement", "--intake-processes", "0", "--redis-appendfsync", ns.appendfsync,
        "--log-level", "warning",
    ).start()  # fmt: skip
    try:
        print(f"server pid {server.proc.pid if server.proc else '?'}, appendfsync {ns.appendfsync}, data {data}")
        return asyncio.run(bench(server, ns.orders, ns.concurrency, ns.batch, ns.batch_concurrency))
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
