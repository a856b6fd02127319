"""`python -m bench.mdrp.suite [INSTANCE_DIR ...] --policy ortools,rolling --variant drop1 --seeds 1,2,3`

Replays every instance (default: all under ../shared/data/mdrp) once per seed and policy, as perturbed
copies (`--variant`, default `drop1`: 1% of the orders left out), and prints per instance and policy the
mean gap to the lower bound, its range over the seeds and the mean share undelivered.

Why: one replay of an instance is one draw. Dropping 1% of the orders moves a dev instance's gap by
+-0.5 points (4o100t100s2p100) to +-2 points (1o50t100s1p125), more than most single changes to a
policy. A change is judged here on the mean over seeds, instance by instance.

Each replay is its own `python -m bench.mdrp` process (its own embedded Redis), `--jobs` at a time;
their solution files and metrics land under `--out`, as `bench.mdrp` writes them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.mdrp.instance import load_instance
from bench.mdrp.runner import PREP_MODES, check_forecast_sd
from bench.mdrp.variants import variant_name, vary
from dispatch.policies import make_policy

DEFAULT_INSTANCES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mdrp"


def replay_once(
    instance_dir: Path, policy: str, factors: list[str], seed: int, prep: str, out: Path, forecast_sd: float = 8.0
) -> dict:
    """One `bench.mdrp` replay in its own process; its metrics. Raises RuntimeError with its output on failure."""
    if not factors:  # a variant's name carries its seed; without one, each seed gets its own folder
        out = out / f"seed{seed}"
    cmd = [sys.executable, "-m", "bench.mdrp", str(instance_dir), "--policy", policy, "--prep", prep,
           "--out", str(out), "--seed", str(seed), "--forecast-sd", repr(forecast_sd)]  # fmt: skip
    if factors:
        cmd += ["--variant", ",".join(factors)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    name = variant_name(instance_dir.name, factors, seed)  # an instance is named after its folder
    return json.loads((out / name / policy / "metrics.json").read_text())  # type: ignore[no-any-return]


def summarise(results: dict[tuple[str, str], list[dict]]) -> list[str]:
    """Per (instance, policy): mean gap, its range over the seeds, mean undelivered; then each policy's mean."""
    lines = [f"{'instance':<22} {'policy':<10} {'gap mean':>9} {'range':>17} {'undelivered':>12} {'runs':>5}"]
    by_policy: dict[str, list[float]] = {}
    for (instance, policy), runs in sorted(results.items()):
        gaps = [100 * m["gap_to_lower_bound"] for m in runs]
        lost = [m["undelivered_pct"] for m in runs]
        by_policy.setdefault(policy, []).append(statistics.fmean(gaps))
        lines.append(
            f"{instance:<22} {policy:<10} {statistics.fmean(gaps):>8.2f}% {min(gaps):>7.2f}-{max(gaps):.2f}% "
            f"{statistics.fmean(lost):>11.2f}% {len(runs):>5}"
        )
    for policy, means in sorted(by_policy.items()):
        lines.append(f"{'mean of instances':<22} {policy:<10} {statistics.fmean(means):>8.2f}%")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mdrp.suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "instances", type=Path, nargs="*", help=f"instance folders (default: all in {DEFAULT_INSTANCES})"
    )
    parser.add_argument("--policy", default="ortools", help="comma list of policies")
    parser.add_argument("--variant", default="drop1", help="factors applied to every instance (see bench.mdrp)")
    parser.add_argument("--seeds", default="1,2,3", help="comma list of seeds")
    parser.add_argument("--prep", choices=PREP_MODES, default="known")
    parser.add_argument("--forecast-sd", type=float, default=8.0, help="minutes (with --prep forecast)")
    parser.add_argument("--jobs", type=int, default=2, help="replays at once (one core each)")
    parser.add_argument("--out", type=Path, default=Path("out/mdrp-suite"))
    ns = parser.parse_args(argv)
    policies = [p.strip() for p in ns.policy.split(",") if p.strip()]
    factors = [f.strip() for f in ns.variant.split(",") if f.strip()]
    try:
        instances = ns.instances or sorted(p for p in DEFAULT_INSTANCES.iterdir() if (p / "orders.txt").exists())
        seeds = [int(s) for s in ns.seeds.split(",") if s.strip()]
        if not seeds or not policies or not instances or ns.jobs < 1:
            raise ValueError("--seeds, --policy and the instances must name at least one each; --jobs at least 1")
        check_forecast_sd(ns.forecast_sd)
        for name in policies:
            make_policy(name)
        for folder in instances:
            vary(load_instance(folder), factors, seeds[0])  # every factor known, every instance readable
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    runs = [(folder, policy, seed) for folder in instances for policy in policies for seed in seeds]
    with ThreadPoolExecutor(max_workers=ns.jobs) as pool:
        metrics = list(
            pool.map(lambda r: replay_once(r[0], r[1], factors, r[2], ns.prep, ns.out, ns.forecast_sd), runs)
        )
    results: dict[tuple[str, str], list[dict]] = {}
    for (folder, policy, _), m in zip(runs, metrics, strict=True):
        results.setdefault((folder.name, policy), []).append(m)
    prep = f"forecast (sd {ns.forecast_sd:g} min)" if ns.prep == "forecast" else ns.prep
    print(f"{len(runs)} replays ({prep} ready times, variant {'+'.join(factors) or 'none'}, seeds {ns.seeds}):")
    print("\n".join(summarise(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
