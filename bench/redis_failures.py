"""Redis failures against a real `server.py` with its embedded Redis (AOF, appendfsync always): does the
service heal by itself, and does every call answer before its deadline meanwhile?

    python -m bench.redis_failures [--runs 3] [--workers 16] [--deadline-s 1] [--stall-s 10]

Load: `--workers` order services each create, pay (split at once) and partly refund orders one after the
other; with the dispatch service, rider apps stream positions and an order service calls AssignRiders
five times a second. Every call carries a `--deadline-s` deadline. Two failures, each under that load:

  kill -9   the embedded redis-server is killed (the server's supervisor restarts it on its AOF). Printed:
            time to NOT_SERVING and back to SERVING (health, watched), the first successful call, the
            acknowledged creations, payments and refunds, how many of them are lost (every order read back,
            with its split and refund entries), Reconcile's differences on acknowledged orders, and its
            differences once the failed calls are retried (idempotent, so there must be none).
  SIGSTOP   Redis stopped for `--stall-s`, then SIGCONT. Printed: time to NOT_SERVING, the calls started
            during the stall by status code with their longest latency against the deadline, time back to
            SERVING after SIGCONT and the first successful call.

With `--runs` above 1 each run starts a fresh server and the medians follow the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._server import ServerProcess
from core.validation import EARLIEST_MS
from dispatch.api.convert import ms_to_ts
from serving.auth import Role
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

ITEMS_FEN, DELIVERY_FEN, REFUND_FEN = 9_000, 500, 1_234
KAMPPI = (60.1700, 24.9420)  # riders and dispatch orders: central Helsinki, the default city
# Money orders are placed far outside the city, so dispatch refuses them at hand-over and the riders stay
# free for the AssignRiders load.
FAR_AWAY = (31.2300, 121.4700)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def redis_pid(log_path: Path) -> int:
    """The embedded redis-server's current pid, from the server's log (start-up and restart lines)."""
    pids = [
        m.group(1)
        for line in log_path.read_text().splitlines()
        if (m := re.search(r"redis-server.*\(pid (\d+)\)", line))
    ]
    if not pids:
        raise RuntimeError(f"no redis-server pid in {log_path}")
    return int(pids[-1])


def log_messages(log_path: Path, pattern: str) -> list[str]:
    out = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            msg = json.loads(line)["msg"]
            if re.search(pattern, msg):
                out.append(msg)
    return out


def money_order(order_id: str) -> opb.CreateOrderRequest:
    """The order a money worker creates, the same body when a failed creation is retried."""
    return opb.CreateOrderRequest(
        order_id=order_id, merchant_id=f"m{sum(order_id.encode()) % 10}", items_fen=ITEMS_FEN,
        delivery_fee_fen=DELIVERY_FEN, pickup=opb.LatLng(lat=FAR_AWAY[0], lng=FAR_AWAY[1]),
        dropoff=opb.LatLng(lat=FAR_AWAY[0], lng=FAR_AWAY[1] + 0.01), item_count=1,
    )  # fmt: skip


@dataclass
class Outcome:
    """One call: when it started, how long it took, its method and status code name."""

    started: float
    latency_s: float
    method: str
    code: str


class HealthLog:
    """The server's overall health as `Health/Watch` reports it, with the time of each change."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = health_pb2_grpc.HealthStub(channel)
        self.changes: list[tuple[float, int]] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                async for reply in self._stub.Watch(health_pb2.HealthCheckRequest()):
                    if not self.changes or self.changes[-1][1] != reply.status:
                        async with self._changed:
                            self.changes.append((time.monotonic(), reply.status))
                            self._changed.notify_all()
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)

    def first(self, status: int, after: float) -> float | None:
        """When health first said `status` at or after `after` (None: not yet)."""
        return next((t for t, s in self.changes if s == status and t >= after), None)

    async def wait(self, status: int, after: float, within_s: float) -> float | None:
        """When health said `status` at or after `after`, waiting for it up to `within_s` (None: it did not)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.first(status, after) is not None), within_s)
            except TimeoutError:
                pass
        return self.first(status, after)

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


@dataclass
class Load:
    """Order services and rider apps calling one server; what was acknowledged and what failed."""

    channel: grpc.aio.Channel
    ops_md: tuple[tuple[str, str], ...]
    deadline_s: float
    dispatch: bool
    run: str
    workers: int
    outcomes: list[Outcome] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    refunded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    assigned_status: list[tuple[float, str]] = field(default_factory=list)
    fixes_accepted: list[tuple[float, int]] = field(default_factory=list)
    stream_errors: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.orders = orders_pb2_grpc.OrderServiceStub(self.channel)
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(self.channel)
        self.dispatcher = dispatch_pb2_grpc.DispatchServiceStub(self.channel)
        self._ids = itertools.count()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def call(self, method: str, stub_method: Callable[..., Awaitable[Any]], request: Any) -> Any:
        """Runs one call with the load's deadline, recording its outcome; None when it failed."""
        started = time.monotonic()
        try:
            reply = await stub_method(request, metadata=self.ops_md, timeout=self.deadline_s)
            code = "OK"
        except grpc.aio.AioRpcError as err:
            reply, code = None, err.code().name
        self.outcomes.append(Outcome(started, time.monotonic() - started, method, code))
        return reply

    async def money_worker(self) -> None:
        while not self._stop.is_set():
            oid = f"{self.run}-o{next(self._ids)}"
            create = money_order(oid)
            pay = opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=ITEMS_FEN + DELIVERY_FEN)
            refund = opb.RefundOrderRequest(order_id=oid, idempotency_key="r1", amount_fen=REFUND_FEN)
            if await self.call("CreateOrder", self.orders.CreateOrder, create) is None:
                self.failed.add(oid)
                continue
            self.created.add(oid)
            if await self.call("PayOrder", self.orders.PayOrder, pay) is None:
                self.failed.add(oid)
                continue
            self.paid.add(oid)
            if await self.call("RefundOrder", self.orders.RefundOrder, refund) is None:
                self.failed.add(oid)
                continue
            self.refunded.add(oid)

    async def assign_worker(self) -> None:
        rng = random.Random(1)
        seq = itertools.count()
        pending: set[asyncio.Task[None]] = set()

        async def one(oid: str) -> None:
            order = dpb.Order(
                order_id=oid, merchant_id=f"dm{rng.randrange(20)}", item_count=1, placed_at=ms_to_ts(now_ms()),
                pickup=dpb.LatLng(lat=KAMPPI[0] + rng.uniform(-0.005, 0.005), lng=KAMPPI[1] + rng.uniform(-0.01, 0.01)),
                dropoff=dpb.LatLng(lat=KAMPPI[0] + rng.uniform(-0.01, 0.01), lng=KAMPPI[1] + rng.uniform(-0.02, 0.02)),
            )  # fmt: skip
            reply = await self.call(
                "AssignRiders", self.dispatcher.AssignRiders, dpb.AssignRidersRequest(orders=[order])
            )
            if reply is not None:
                said = dpb.OrderStatus.Name(reply.results[0].status).removeprefix("ORDER_STATUS_")
                self.assigned_status.append((time.monotonic(), said))

        while not self._stop.is_set():
            task = asyncio.create_task(one(f"{self.run}-d{next(seq)}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(0.2)
        await asyncio.gather(*pending)

    async def rider_apps(self, riders: int = 300, interval_s: float = 0.5) -> None:
        """Rider positions through one gateway stream at a time, each stream a few rounds long (a stream
        broken by an outage costs only its own fixes)."""
        rng = random.Random(2)
        where = {
            f"{self.run}-r{i}": (KAMPPI[0] + rng.uniform(-0.01, 0.01), KAMPPI[1] + rng.uniform(-0.02, 0.02))
            for i in range(riders)
        }

        async def rounds() -> AsyncIterator[dpb.StreamRiderPositionsRequest]:
            for _ in range(4):
                t = ms_to_ts(now_ms())
                yield dpb.StreamRiderPositionsRequest(
                    fixes=[
                        dpb.PositionFix(
                            rider_id=r, position=dpb.LatLng(lat=p[0], lng=p[1]), recorded_at=t, speed_mps=4.0
                        )
                        for r, p in where.items()
                    ]
                )
                await asyncio.sleep(interval_s)

        while not self._stop.is_set():
            try:
                reply = await self.dispatcher.StreamRiderPositions(rounds(), metadata=self.ops_md)
                self.fixes_accepted.append((time.monotonic(), reply.accepted_count))
            except grpc.aio.AioRpcError as err:
                self.stream_errors[err.code().name] += 1
                await asyncio.sleep(0.1)

    def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.money_worker()) for _ in range(self.workers)]
        if self.dispatch:
            self._tasks += [asyncio.create_task(self.assign_worker()), asyncio.create_task(self.rider_apps())]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def first_ok_after(self, t: float) -> float | None:
        """When the first successful call started at or after `t` completed."""
        done = [o.started + o.latency_s for o in self.outcomes if o.code == "OK" and o.started >= t]
        return min(done) if done else None

    async def lost(self) -> int:
        """Acknowledged creations, payments and refunds not found as acknowledged: read back one by one."""
        lost = 0
        sem = asyncio.Semaphore(32)

        async def check(oid: str) -> None:
            nonlocal lost
            async with sem:
                try:
                    order = (await self.orders.GetOrder(opb.GetOrderRequest(order_id=oid), metadata=self.ops_md)).order
                except grpc.aio.AioRpcError as err:
                    if err.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    lost += 1
                    return
                if oid in self.paid:
                    split = await self.settlement.GetSplit(spb.GetSplitRequest(order_id=oid), metadata=self.ops_md)
                    split_fen = sum(e.amount_fen for e in split.entries if e.cause == "split")
                    lost += order.paid_fen != ITEMS_FEN + DELIVERY_FEN or split_fen != ITEMS_FEN + DELIVERY_FEN
                    if oid in self.refunded:
                        back_fen = sum(e.amount_fen for e in split.entries if e.cause == "refund:r1")
                        lost += order.refunded_fen != REFUND_FEN or back_fen != -REFUND_FEN

        await asyncio.gather(*(check(oid) for oid in self.created))
        return lost

    async def retry_failed(self) -> None:
        """What a client does with calls that failed: the same calls again (all three are idempotent)."""
        for oid in sorted(self.failed):
            await self.orders.CreateOrder(money_order(oid), metadata=self.ops_md)
            await self.orders.PayOrder(
                opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=ITEMS_FEN + DELIVERY_FEN),
                metadata=self.ops_md,
            )
            await self.orders.RefundOrder(
                opb.RefundOrderRequest(order_id=oid, idempotency_key="r1", amount_fen=REFUND_FEN), metadata=self.ops_md
            )


def since(t: float | None, t0: float) -> float:
    return math.nan if t is None else t - t0


async def kill_phase(server: ServerProcess, load: Load, health: HealthLog, warm_s: float) -> dict[str, float]:
    load.start()
    # A random part, so the failure does not fall at the same point of the monitor's ping period every run.
    await asyncio.sleep(warm_s + random.random())
    pid = redis_pid(server.log_path)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    down = await health.wait(NOT_SERVING, killed, within_s=3)
    back = await health.wait(SERVING, down or killed, within_s=10)
    await asyncio.sleep(2)  # service after the restart, under the same load
    await load.stop()
    after = [o for o in load.outcomes if o.started >= killed]
    lost = await load.lost()
    report = await load.settlement.Reconcile(spb.ReconcileRequest(), metadata=load.ops_md)
    # An acknowledged payment was split in the same call, and a refund is one script: any difference on
    # such an order is a lost entry. Orders whose payment failed may differ (paid, split never ran).
    on_acked = [d for d in report.differences if d.order_id in load.paid]
    await load.retry_failed()
    final = await load.settlement.Reconcile(spb.ReconcileRequest(), metadata=load.ops_md)
    restarted = time.monotonic() if back is None else back
    dispatch_after = Counter(s for t, s in load.assigned_status if t >= restarted)
    fixes_after = sum(n for t, n in load.fixes_accepted if t >= restarted)
    print(
        f"kill -9 of redis-server pid {pid}: NOT_SERVING after {since(down, killed):.2f} s"
        f"{'' if down else ' (not seen: Redis answered again before the monitor pinged)'}, SERVING again after"
        f" {since(back, killed):.2f} s; first successful call {since(load.first_ok_after(killed), killed):.2f} s"
        f" after the kill"
    )
    print(
        f"  acknowledged: {len(load.created)} created, {len(load.paid)} paid, {len(load.refunded)} refunded;"
        f" {len(load.failed)} orders with a failed call ({dict(Counter(o.code for o in after if o.code != 'OK'))});"
        f" lost {lost}"
    )
    print(
        f"  Reconcile: {len(report.differences)} differences ({len(on_acked)} on acknowledged payments) before the"
        f" failed calls are retried, {len(final.differences)} after; {final.orders_checked} orders,"
        f" ledger {final.ledger_net_fen} fen = orders {final.order_net_fen} fen"
    )
    if load.dispatch:
        print(
            f"  dispatch after the restart: AssignRiders answered {dict(dispatch_after)}; position streams accepted"
            f" {fixes_after} fixes (stream errors during the outage {dict(load.stream_errors)})"
        )
    return {
        "not_serving_s": since(down, killed),
        "serving_s": since(back, killed),
        "first_ok_s": since(load.first_ok_after(killed), killed),
        "acknowledged": len(load.created) + len(load.paid) + len(load.refunded),
        "lost": lost,
        "differences_acked": len(on_acked),
        "differences_after_retry": len(final.differences),
    }


async def stall_phase(
    server: ServerProcess, load: Load, health: HealthLog, warm_s: float, stall_s: float
) -> dict[str, float]:
    load.outcomes.clear()
    load.start()
    await asyncio.sleep(warm_s + random.random())
    pid = redis_pid(server.log_path)
    stopped = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        down = await health.wait(NOT_SERVING, stopped, within_s=stall_s)
        await asyncio.sleep(max(0.0, stopped + stall_s - time.monotonic()))
    finally:
        resumed = time.monotonic()
        os.kill(pid, signal.SIGCONT)
    back = await health.wait(SERVING, resumed, within_s=10)
    await asyncio.sleep(3)
    await load.stop()
    during = [o for o in load.outcomes if stopped <= o.started < resumed]
    if not during:
        raise RuntimeError("no call was made during the stall")
    codes = Counter(o.code for o in during)
    worst = max(during, key=lambda o: o.latency_s)
    worst_by_method = {m: max(o.latency_s for o in during if o.method == m) for m in sorted({o.method for o in during})}
    print(
        f"SIGSTOP of redis-server pid {pid} for {stall_s:.0f} s: NOT_SERVING after {since(down, stopped):.2f} s;"
        f" {len(during)} calls started during the stall: {dict(codes)}; longest {worst.latency_s:.3f} s"
        f" ({worst.method}) against a {load.deadline_s:g}-s deadline"
    )
    print(f"  longest per method: {', '.join(f'{m} {s:.3f} s' for m, s in worst_by_method.items())}")
    print(
        f"  SIGCONT: SERVING again after {since(back, resumed):.2f} s; first successful call"
        f" {since(load.first_ok_after(resumed), resumed):.2f} s after it"
    )
    return {
        "stall_not_serving_s": since(down, stopped),
        "stall_calls": len(during),
        "stall_past_deadline": sum(o.latency_s >= load.deadline_s for o in during),
        "stall_max_latency_s": worst.latency_s,
        "stall_serving_s": since(back, resumed),
        "stall_first_ok_s": since(load.first_ok_after(resumed), resumed),
    }


async def one_run(ns: argparse.Namespace, server: ServerProcess, run: str) -> dict[str, float]:
    md = (("authorization", f"Bearer {server.token(Role.OPS)}"),)
    async with grpc.aio.insecure_channel(server.address) as channel:
        health = HealthLog(channel)
        if await health.wait(SERVING, 0.0, within_s=10) is None:
            raise RuntimeError("the server never reported SERVING")
        settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
        for m in range(10):
            rule = spb.SplitRule(
                merchant_id=f"m{m}", platform_commission=spb.Share(basis_points=500),
                rider_delivery_fee=spb.Share(basis_points=800, fixed_fen=100),
            )  # fmt: skip
            rule.effective_from.FromMilliseconds(EARLIEST_MS)  # every order: the oldest instant a request may name
            await settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=md)
        dispatch = "dispatch" in ns.services.split(",")
        load = Load(channel, md, ns.deadline_s, dispatch, run, ns.workers)
        figures = await kill_phase(server, load, health, warm_s=2.0)
        figures |= await stall_phase(server, load, health, warm_s=2.0, stall_s=ns.stall_s)
        restarts = log_messages(server.log_path, r"^embedded redis-server restarted")
        print(
            f"  server log: {len(restarts)} restart(s) of redis-server; {len(log_messages(server.log_path, '^tick failed'))} failed ticks"
        )
        await health.close()
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=1, help="fresh servers, one after the other; medians printed")
    p.add_argument("--workers", type=int, default=16, help="order services creating, paying and refunding")
    p.add_argument("--deadline-s", type=float, default=1.0, help="every call's deadline")
    p.add_argument("--stall-s", type=float, default=10.0, help="how long Redis stays stopped (SIGSTOP)")
    p.add_argument("--services", default="dispatch,orders,settlement", help="the server's --services")
    ns = p.parse_args()
    if ns.runs < 1 or ns.workers < 1 or ns.deadline_s <= 0 or ns.stall_s <= 0:
        p.error("--runs, --workers, --deadline-s and --stall-s must be positive")
    rows = []
    for run in range(ns.runs):
        data = Path(tempfile.mkdtemp(prefix="tc-bench-redis-failures-"))
        args = ["--services", ns.services, "--redis-appendfsync", "always", "--tick-s", "0.5", "--policy", "greedy"]
        server = ServerProcess(data, *args).start()
        try:
            print(f"run {run + 1}: server pid {server.proc.pid if server.proc else '?'}, {ns.services}, data {data}")
            rows.append(asyncio.run(one_run(ns, server, f"run{run}")))
        finally:
            code = server.stop()
        if code != 0:
            print(f"server exited with {code}: see {server.log_path}")
            return 1
    if ns.runs > 1:
        print(f"medians of {ns.runs} runs:")
        for key in rows[0]:
            print(f"  {key:<26} {statistics.median(r[key] for r in rows):g}")
    bad = any(
        r["lost"] or r["differences_acked"] or r["differences_after_retry"] or r["stall_past_deadline"] for r in rows
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
