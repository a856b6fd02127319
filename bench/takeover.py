"""Worker take-over soak: kill -9 (or SIGSTOP) the worker that ticks, again and again, under a flow of orders.

`python -m bench.takeover --kills 20` runs `server.py --workers 2` (two workers, one holding the zone's
lease; the parent restarts a killed one as the new standby), streams rider positions and submits orders
without waiting, and every few seconds kills the lease holder with SIGKILL. For each kill it measures how
long until another worker holds the lease and until the zone's next decision; at the end it reads back
every accepted order (lost: not found) and its history (double-assigned: offered while another offer of it
was still held). Offers time out after 5 s, so orders are offered, lapse and are offered again across the
take-overs: the commits a take-over could double.

`--target intake` kills an intake process instead (the parent starts it again), while the order flow
retries each refused or broken call with the same ids until it is answered: afterwards every order is
found once, none lost or offered twice, and the calls that failed per kill are reported.

`--signal stop` pauses the holder with SIGSTOP instead, until another worker has taken the zone (after the
lease's TTL: the parent sees nothing die), then resumes it with SIGCONT: its tick under way resumes with
a stale fencing token, and its commits must be refused (it logs "lease lost"); double-assigned must
stay 0. The zone watched is the one holding the city's centre (`--zones`, as the server is started).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from bench._server import ServerProcess
from bench.load import is_double_assigned, point_in
from dispatch.api.convert import ms_to_ts
from dispatch.keys import ZoneKeys
from dispatch.zones import ZoneSpec, make_zoning
from routing_data.cities import load_area
from serving.auth import Role
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc

LEASE_TTL_S = 6.0  # dispatch.lease.LeaseConfig's default, which the server runs with


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def lease_owner(client: aioredis.Redis, keys: ZoneKeys) -> tuple[int, str] | None:
    held = await client.get(keys.lease)
    if not held:
        return None
    token, _, owner = held.partition("|")
    return int(token), owner


def intake_pids(log: str) -> dict[str, int]:
    """The intake processes the parent started last, by name (from its log)."""
    return {name: int(pid) for name, pid in re.findall(r"started (intake-\d+) \(pid (\d+)\)", log)}


async def run_intake_kills(ns: argparse.Namespace) -> int:
    city = load_area(ns.city)
    rng = random.Random(ns.seed)
    with tempfile.TemporaryDirectory(prefix="tongcheng-intake-kills-") as tmp:
        server = ServerProcess(
            Path(tmp), "--tick-s", str(ns.tick_s), "--city", ns.city, "--metrics-port", "-1", "--zones", ns.zones,
            "--dispatch-setting", "offer_timeout_s=5", "--policy", "greedy",
        ).start(timeout_s=120)  # fmt: skip
        failed_calls: list[int] = []
        try:
            ops = (("authorization", f"Bearer {server.token(Role.OPS)}"),)
            stop = asyncio.Event()
            accepted: set[str] = set()
            failures = 0
            retries_max = 0

            async def orders(worker: int) -> None:
                # Each flow keeps its own channel; a channel whose connection went to the killed process
                # reconnects (the kernel hands the new connection to a live one).
                nonlocal failures, retries_max
                async with grpc.aio.insecure_channel(server.address) as ch:
                    stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
                    seq = 0
                    while not stop.is_set():
                        batch = [
                            pb.Order(order_id=f"ik-{worker}-{seq}-{k}", merchant_id=f"m{rng.randrange(50)}",
                                     pickup=point_in(city, rng, 0.6), dropoff=point_in(city, rng),
                                     placed_at=ms_to_ts(now_ms()), item_count=1)
                            for k in range(10)
                        ]  # fmt: skip
                        seq += 1
                        for attempt in range(200):  # the same ids until answered
                            try:
                                reply = await stub.AssignRiders(
                                    pb.AssignRidersRequest(orders=batch, no_wait=True), metadata=ops, timeout=5
                                )
                                accepted.update(r.order_id for r in reply.results)
                                retries_max = max(retries_max, attempt)
                                break
                            except grpc.aio.AioRpcError:
                                failures += 1
                                await asyncio.sleep(0.05)
                        await asyncio.sleep(10 * ns.flows / ns.orders_per_s)

            flows = [asyncio.create_task(orders(w)) for w in range(ns.flows)]
            await asyncio.sleep(3.0)
            for kill in range(ns.kills):
                pids = intake_pids(server.log_path.read_text())
                name = sorted(pids)[kill % len(pids)]
                before = failures
                os.kill(pids[name], signal.SIGKILL)
                deadline = time.monotonic() + 30
                while intake_pids(server.log_path.read_text()).get(name) == pids[name]:
                    assert time.monotonic() < deadline, f"{name} was not started again"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(ns.every_s)
                failed_calls.append(failures - before)
                print(f"kill {kill + 1:>2}: {name} (pid {pids[name]}) -> {failed_calls[-1]} calls failed and were "
                      "retried", flush=True)  # fmt: skip
            stop.set()
            await asyncio.gather(*flows)
            lost = doubled = 0
            async with grpc.aio.insecure_channel(server.address) as ch:
                stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
                sem = asyncio.Semaphore(64)

                async def check(order_id: str) -> None:
                    nonlocal lost, doubled
                    async with sem:
                        try:
                            got = await stub.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=ops, timeout=30)
                            doubled += is_double_assigned(got.order.history)
                        except grpc.aio.AioRpcError as err:
                            lost += err.code() == grpc.StatusCode.NOT_FOUND

                await asyncio.gather(*(check(o) for o in accepted))
        finally:
            server.stop()
    print(f"\n{ns.kills} kills of an intake process (SIGKILL; {ns.flows} order flows retrying with the same ids)")
    print(f"failed calls per kill  median {statistics.median(failed_calls):g}, max {max(failed_calls)}; most retries "
          f"of one batch {retries_max}")  # fmt: skip
    print(f"orders                 {len(accepted):,} accepted; lost {lost}; double-assigned {doubled}")
    return 0 if lost == 0 and doubled == 0 else 1


async def run(ns: argparse.Namespace) -> int:
    if ns.target == "intake":
        return await run_intake_kills(ns)
    city = load_area(ns.city)
    # Orders are placed around the centre (within 60% of the service radius): in Helsinki, one zone of
    # resolution 6 holds them all; elsewhere the centre's zone is the one watched.
    keys = ZoneKeys(make_zoning(city, ZoneSpec.parse(ns.zones)).zone_of(city.center))
    rng = random.Random(ns.seed)
    with tempfile.TemporaryDirectory(prefix="tongcheng-takeover-") as tmp:
        server = ServerProcess(
            Path(tmp), "--workers", "2", "--tick-s", str(ns.tick_s), "--city", ns.city, "--metrics-port", "-1",
            "--zones", ns.zones,
            "--dispatch-setting", "offer_timeout_s=5", "--policy", "greedy",
        ).start(timeout_s=120)  # fmt: skip
        try:
            log = server.log_path.read_text()
            redis_port = int(re.search(r"redis-server on port (\d+)", log).group(1))  # type: ignore[union-attr]
            client = aioredis.Redis(port=redis_port, decode_responses=True)
            ops = (("authorization", f"Bearer {server.token(Role.OPS)}"),)
            async with grpc.aio.insecure_channel(server.address) as ch:
                stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
                stop = asyncio.Event()
                accepted: list[str] = []

                async def riders() -> None:
                    where = {f"r{i}": point_in(city, rng) for i in range(ns.riders)}
                    while not stop.is_set():
                        t = ms_to_ts(now_ms())
                        fixes = [pb.PositionFix(rider_id=r, position=p, recorded_at=t) for r, p in where.items()]

                        async def one(batch: list[pb.PositionFix] = fixes) -> None:
                            yield pb.StreamRiderPositionsRequest(fixes=batch)  # type: ignore[misc]

                        try:
                            await stub.StreamRiderPositions(one(), metadata=ops, timeout=5)
                        except grpc.aio.AioRpcError:
                            pass
                        await asyncio.sleep(2.0)

                async def orders() -> None:
                    seq = 0
                    while not stop.is_set():
                        batch = [
                            pb.Order(order_id=f"to-{seq}-{k}", merchant_id=f"m{rng.randrange(50)}",
                                     pickup=point_in(city, rng, 0.6), dropoff=point_in(city, rng),
                                     placed_at=ms_to_ts(now_ms()), item_count=1)
                            for k in range(10)
                        ]  # fmt: skip
                        seq += 1
                        try:
                            reply = await stub.AssignRiders(
                                pb.AssignRidersRequest(orders=batch, no_wait=True), metadata=ops, timeout=5
                            )
                            accepted.extend(r.order_id for r in reply.results)
                        except grpc.aio.AioRpcError:
                            pass  # shed or unavailable: not accepted, nothing to check
                        await asyncio.sleep(10 / ns.orders_per_s)

                flows = [asyncio.create_task(riders()), asyncio.create_task(orders())]
                await asyncio.sleep(3.0)
                takeovers: list[float] = []
                resumed: list[float] = []
                for kill in range(ns.kills):
                    held = await lease_owner(client, keys)
                    while held is None:
                        await asyncio.sleep(0.05)
                        held = await lease_owner(client, keys)
                    token, owner = held
                    pid = int(owner.split(":")[1])
                    last_event = (await client.xrevrange(keys.orders_events, count=1) or [("0-0", {})])[0][0]
                    killed_at = time.monotonic()
                    os.kill(pid, signal.SIGSTOP if ns.signal == "stop" else signal.SIGKILL)
                    while True:
                        now = await lease_owner(client, keys)
                        if now is not None and now[0] > token:
                            takeovers.append(time.monotonic() - killed_at)
                            break
                        if time.monotonic() - killed_at > 60:
                            print(f"kill {kill + 1}: no take-over within 60 s", file=sys.stderr)
                            return 1
                        await asyncio.sleep(0.02)
                    if ns.signal == "stop":
                        os.kill(pid, signal.SIGCONT)  # with a stale token: its commits must be refused
                    while True:
                        newest = await client.xrevrange(keys.orders_events, count=1)
                        if newest and newest[0][0] != last_event and time.monotonic() - killed_at > takeovers[-1]:
                            resumed.append(time.monotonic() - killed_at)
                            break
                        await asyncio.sleep(0.02)
                    print(f"kill {kill + 1:>2}: pid {pid} (token {token}) -> lease taken over in {takeovers[-1]:.2f} s, "
                          f"next decision after {resumed[-1]:.2f} s", flush=True)  # fmt: skip
                    await asyncio.sleep(ns.every_s)
                stop.set()
                await asyncio.gather(*flows)
                lost = doubled = 0
                sem = asyncio.Semaphore(64)

                async def check(order_id: str) -> None:
                    nonlocal lost, doubled
                    async with sem:
                        try:
                            got = await stub.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=ops, timeout=30)
                            doubled += is_double_assigned(got.order.history)
                        except grpc.aio.AioRpcError as err:
                            lost += err.code() == grpc.StatusCode.NOT_FOUND

                await asyncio.gather(*(check(o) for o in accepted))
            await client.aclose()
        finally:
            server.stop()
        log = server.log_path.read_text()
    bound = LEASE_TTL_S + 2 * ns.tick_s
    what = "SIGSTOP/SIGCONT pauses" if ns.signal == "stop" else "kills"
    print(f"\n{ns.kills} {what} of the ticking worker (lease TTL {LEASE_TTL_S:g} s, tick {ns.tick_s:g} s)")
    print(f"lease taken over   median {statistics.median(takeovers):.2f} s, max {max(takeovers):.2f} s")
    print(f"next decision      median {statistics.median(resumed):.2f} s, max {max(resumed):.2f} s "
          f"(bound: TTL + 2 ticks = {bound:g} s; over it: {sum(r > bound for r in resumed)})")  # fmt: skip
    print(f"orders             {len(accepted):,} accepted; lost {lost}; double-assigned {doubled}")
    if ns.signal == "stop":
        print(f"resumed workers    'lease lost' logged {log.count('lease lost')} times; ticks with commits refused "
              f"for a stale fencing token: {log.count('commits refused')}")  # fmt: skip
    return 0 if lost == 0 and doubled == 0 and max(resumed) <= bound else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.takeover", description=__doc__)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--every-s", type=float, default=3.0, help="pause between a take-over and the next kill")
    p.add_argument("--tick-s", type=float, default=1.0)
    p.add_argument("--riders", type=int, default=200)
    p.add_argument("--orders-per-s", type=float, default=50.0)
    p.add_argument("--city", default="helsinki")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--signal", choices=("kill", "stop"), default="kill", help="for the worker: SIGKILL or SIGSTOP")
    p.add_argument("--target", choices=("worker", "intake"), default="worker")
    p.add_argument("--flows", type=int, default=8, help="with --target intake: concurrent order flows")
    p.add_argument("--zones", default="6", help="as server.py --zones")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
