"""A fuzz run: rounds over every discovered RPC, each a batch of Hypothesis-drawn calls, judged one by one."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from bench.fuzz.harness import Caller, Finding, FuzzTarget, Method, describe
from bench.fuzz.seeds import seed_requests
from bench.fuzz.strategies import INDEX, Pools, RequestStrategies
from core.geo import LatLng
from serving.auth import Role

# The default city's centre, for a server that runs no dispatch (and so names no city).
DEFAULT_CENTER = LatLng(60.1699, 24.9384)
CORPUS_PER_METHOD = 64
# The dispatch tick and the order center's follow-up run after every this many calls.
BACKGROUND_EVERY = 25
HEALTH_EVERY = 200
# The server's grpc.max_receive_message_length (serving.app): a larger request never reaches a handler.
MAX_SENT_BYTES = 16 * 1024 * 1024


@dataclass
class Report:
    requests: int = 0
    by_method: dict[str, Counter[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    background_steps: int = 0
    oversize: int = 0  # drawn but not sent: over the server's message limit
    restarts: int = 0
    seconds: float = 0.0

    def count(self, method: str, code: grpc.StatusCode) -> None:
        self.by_method.setdefault(method, Counter())[code.name] += 1
        self.requests += 1

    def table(self) -> str:
        codes = sorted({c for counts in self.by_method.values() for c in counts})
        width = max((len(m) for m in self.by_method), default=10)
        lines = [f"{'rpc':<{width}}  {'calls':>7}  " + "  ".join(f"{c:>19}" for c in codes)]
        for method in sorted(self.by_method):
            counts = self.by_method[method]
            lines.append(
                f"{method:<{width}}  {sum(counts.values()):>7}  " + "  ".join(f"{counts.get(c, 0):>19}" for c in codes)
            )
        return "\n".join(lines)


class Fuzzer:
    """Draws, calls and judges; keeps the pools and the corpus of accepted requests between batches."""

    def __init__(self, target: FuzzTarget, report: Report | None = None) -> None:
        self.target = target
        self.report = report or Report()
        self.pools = Pools(now_ms=lambda: target.clock.now_ms() if target.clock else time.time_ns() // 1_000_000)
        self.strategies = RequestStrategies(self.pools)
        self.corpus: dict[str, list[Message]] = {}
        self._since_background = 0
        self._batches = 0

    # Seeds -----------------------------------------------------------------------------------

    def seed(self) -> None:
        """Runs the seed scenario through the API (each seed judged like any call)."""
        app = self.target.server.app if self.target.server else None
        center = app.dispatcher.config.city.center if app is not None and app.dispatcher is not None else DEFAULT_CENTER
        for name in ("order_id", "merchant_id", "rider_id"):
            self.pools.add_string(name, "o1" if name == "order_id" else name[0] + "1")
        self.pools.add_number("lat", center.lat)
        self.pools.add_number("lng", center.lng)
        assert self.target.clock is not None
        by_name = {m.name: m for m in self.target.methods}
        for method_name, role, subject, bodies in seed_requests(self.target.clock.now_ms(), center):
            method = by_name.get(method_name)
            if method is None:
                continue
            requests = [json_format.ParseDict(b, method.request_cls()) for b in bodies]
            self._call(method, requests, Caller(role, subject))

    # One call --------------------------------------------------------------------------------

    def _call(self, method: Method, requests: list[Message], caller: Caller) -> None:
        if any(r.ByteSize() > MAX_SENT_BYTES for r in requests):
            # The server's transport refuses a message over its limit before any handler sees it; a client
            # spends seconds serializing hundreds of megabytes and runs into its own deadline: not a finding.
            self.report.oversize += 1
            return
        outcome = self.target.call(method, requests, caller)
        self.report.count(method.name, outcome.code)
        for problem in self.target.judge(outcome):
            self.report.findings.append(Finding(method.name, str(caller), describe(requests[0]), problem))
        if outcome.code == grpc.StatusCode.OK:
            if outcome.reply is not None:
                self.pools.harvest(outcome.reply)
            for r in requests:
                self.pools.harvest(r)
            corpus = self.corpus.setdefault(method.name, [])
            if len(corpus) < CORPUS_PER_METHOD:
                corpus.append(requests[0])
            else:
                corpus[self.report.requests % CORPUS_PER_METHOD] = requests[0]
        self._since_background += 1
        if self._since_background >= BACKGROUND_EVERY:
            self._since_background = 0
            self.report.background_steps += 1
            for problem in self.target.background():
                self.report.findings.append(Finding("(background)", "server", f"after {method.name}", problem))
        if self.report.requests % HEALTH_EVERY == 0 and not self.target.health_serving():
            self.report.findings.append(Finding(method.name, str(caller), describe(requests[0]), "health not SERVING"))

    # Drawing ---------------------------------------------------------------------------------

    def _caller(self, draw: st.DrawFn) -> Caller:
        kind = draw(
            st.sampled_from(("ops", "ops", "order_service", "order_service", "rider", "merchant", "member", "none"))
        )
        if kind == "none":
            return Caller(None)
        i = draw(INDEX)  # drawn whatever the role, so that every example draws alike
        if kind in ("rider", "merchant", "member"):
            ids = self.pools.strings_for(f"{kind}_id") or [f"{kind[0]}1"]
            return Caller(Role(kind), ids[i % len(ids)])
        return Caller(Role(kind))

    def _request(self, draw: st.DrawFn, method: Method, mutate: bool) -> Message:
        if mutate:
            corpus = self.corpus[method.name]
            base = corpus[draw(INDEX) % len(corpus)]
            return self.strategies.mutate(draw, base, self.target.message_class)
        return draw(self.strategies.message(method.descriptor.input_type, self.target.message_class))

    def batch(self, method: Method, examples: int, seed: int | None) -> None:
        """`examples` calls of one RPC, drawn by Hypothesis: mutations of accepted requests when the RPC
        has some (half of the batches), else whole requests drawn from the descriptor."""
        mutate = bool(self.corpus.get(method.name)) and self._batches % 2 == 1
        self._batches += 1

        @settings(
            max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
        )  # fmt: skip
        @given(st.data())
        def one(data: st.DataObject) -> None:
            caller = self._caller(data.draw)
            if method.client_streaming:
                n = data.draw(st.integers(1, 3))
                requests = [self._request(data.draw, method, mutate) for _ in range(n)]
            else:
                requests = [self._request(data.draw, method, mutate)]
            self._call(method, requests, caller)

        if seed is not None:
            one = hypothesis_seed(seed)(one)
        one()


def fuzz(
    target: FuzzTarget,
    examples: int,
    seed: int | None = None,
    batch: int = 40,
    restart_every: int = 6_000,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """At least `examples` requests over every RPC the target serves, round by round."""
    started = time.monotonic()
    fuzzer = Fuzzer(target)
    report = fuzzer.report
    fuzzer.seed()
    since_restart = 0
    round_no = 0
    while report.requests < examples:
        for method in target.methods:
            fuzzer.batch(method, batch, None if seed is None else seed * 1_000_003 + round_no * 101 + len(method.name))
            if report.requests >= examples:
                break
        round_no += 1
        if progress is not None:
            progress(report)
        if report.requests - since_restart >= restart_every and report.requests < examples:
            since_restart = report.requests
            target.restart()
            report.restarts += 1
            fuzzer.corpus.clear()
            fuzzer.seed()
    if not target.health_serving():
        report.findings.append(Finding("(end)", "server", "", "health not SERVING at the end of the run"))
    report.seconds = time.monotonic() - started
    return report
