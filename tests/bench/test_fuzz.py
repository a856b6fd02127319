"""The protocol fuzzer: a bounded run over every RPC of the real server finds nothing, and its judge
would have noticed each kind of defect it looks for."""

from __future__ import annotations

import grpc
import pytest

from bench.fuzz import FuzzTarget, fuzz
from bench.fuzz.harness import Outcome
from serving.app import KNOWN_SERVICES

# Enough for every RPC to get drawn requests and mutations of accepted ones; `python -m bench.fuzz`
# runs the 100,000-request version.
EXAMPLES = 1_500


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with FuzzTarget(tmp_path_factory.mktemp("fuzz")) as t:
        yield t


def test_every_service_is_found_by_reflection(target: FuzzTarget) -> None:
    """Each product service the server runs is discovered, with every one of its methods."""
    services = {m.service.split(".")[1] for m in target.methods}
    assert services == set(KNOWN_SERVICES)
    assert len(target.methods) == sum(
        len(target._pool.FindServiceByName(s).methods)  # type: ignore[union-attr]
        for s in {m.service for m in target.methods}
    )


def test_a_bounded_fuzz_run_finds_nothing(target: FuzzTarget) -> None:
    """No INTERNAL or UNKNOWN, no status message over 1 KB, no state change on an error, ticks that run,
    health SERVING throughout; every RPC called, some accepted."""
    # Batches small enough that every method gets two rounds, however many services the server runs.
    batch = max(5, EXAMPLES // (2 * len(target.methods)))
    report = fuzz(target, EXAMPLES, seed=20261205, batch=batch)
    shown = "\n".join(str(f) for f in report.findings[:10])
    assert not report.findings, f"{len(report.findings)} findings, the first:\n{shown}"
    assert report.requests >= EXAMPLES
    assert set(report.by_method) == {m.name for m in target.methods}
    accepted = sum(c.get("OK", 0) for c in report.by_method.values())
    assert accepted > EXAMPLES * 0.03, report.table()


def test_the_judge_sees_each_kind_of_defect(target: FuzzTarget) -> None:
    """A server failure, a long status message, a missed deadline and a state change on a refusal are reported."""
    assert target._redis is not None
    target.digest = target.state_digest()
    assert target.judge(Outcome("m", grpc.StatusCode.INTERNAL, "boom", None, 0.01))
    assert target.judge(Outcome("m", grpc.StatusCode.INVALID_ARGUMENT, "x" * 1025, None, 0.01))
    assert target.judge(Outcome("m", grpc.StatusCode.DEADLINE_EXCEEDED, "", None, 5.0))
    assert not target.judge(Outcome("m", grpc.StatusCode.NOT_FOUND, "no order", None, 0.01))
    target._redis.set("written-by-a-refused-call", "1")
    problems = target.judge(Outcome("m", grpc.StatusCode.INVALID_ARGUMENT, "bad", None, 0.01))
    target._redis.delete("written-by-a-refused-call")
    target.digest = target.state_digest()
    assert any("Redis changed" in p for p in problems)


def test_replies_with_unreadable_times_or_bad_ids_are_findings() -> None:
    """A Timestamp past year 9999 or an id with a trailing newline in a reply is reported."""
    from bench.fuzz.harness import reply_problems
    from tongcheng.dispatch.v1 import dispatch_pb2 as pb

    good = pb.AssignmentResult(order_id="o1", rider_id="r1")
    good.estimated_pickup_at.seconds = 1_800_000_000
    assert reply_problems(pb.AssignRidersResponse(results=[good])) == []
    late = pb.AssignmentResult(order_id="o1")
    late.estimated_pickup_at.seconds = 253_402_300_800
    newline = pb.AssignmentResult(order_id="o1\n")
    problems = reply_problems(pb.AssignRidersResponse(results=[late, newline]))
    assert len(problems) == 2 and "results.estimated_pickup_at" in problems[0] and "results.order_id" in problems[1]
    assert reply_problems(pb.AssignRidersResponse(results=[pb.AssignmentResult(order_id="o1#1.2")])) == []
