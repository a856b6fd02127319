"""`python -m bench.fuzz --examples 100000`: a long fuzz run against the real server; prints a table of
calls by RPC and status code, and every finding."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.fuzz import FuzzTarget, Report, fuzz


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--examples", type=int, default=10_000, help="requests to generate, over all RPCs")
    p.add_argument("--seed", type=int, default=None, help="Hypothesis seed, for a reproducible run")
    p.add_argument("--batch", type=int, default=40, help="calls of one RPC before the next RPC's turn")
    p.add_argument("--city", default="helsinki")
    p.add_argument("--show", type=int, default=30, help="findings printed in full")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the server logs every refused call; the table says it all
    started = time.monotonic()

    def progress(r: Report) -> None:
        rate = r.requests / max(1e-9, time.monotonic() - started)
        print(f"  {r.requests:>8} requests  {len(r.findings):>4} findings  {rate:6.0f}/s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="tongcheng-fuzz-") as tmp, FuzzTarget(Path(tmp), city=ns.city) as target:
        print(f"fuzzing {len(target.methods)} RPCs: {', '.join(m.name.split('.')[-1] for m in target.methods)}")
        report = fuzz(target, ns.examples, seed=ns.seed, batch=ns.batch, progress=progress)
    codes: dict[str, int] = {}
    for counts in report.by_method.values():
        for code, n in counts.items():
            codes[code] = codes.get(code, 0) + n
    print(report.table())
    print(
        f"\n{report.requests} requests over {len(report.by_method)} RPCs in {report.seconds:.0f} s "
        f"({report.requests / max(report.seconds, 1e-9):.0f}/s); {report.background_steps} background steps; "
        f"{report.restarts} restarts; {report.oversize} drawn requests over the server's 16 MB message limit not sent"
    )
    print(f"status codes: {dict(sorted(codes.items()))}")
    kinds: dict[str, int] = {}
    for f in report.findings:
        kind = re.sub(r"'.*|\(.*| [0-9]+ bytes", "", f.problem.split(":")[0]).strip()
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"findings: {len(report.findings)} {kinds if kinds else ''}")
    for f in report.findings[: ns.show]:
        print(f"- {f}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
