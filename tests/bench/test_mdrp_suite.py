"""The MDRP suite: replays per seed and policy in their own processes, summarised per instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.mdrp.suite import main, summarise
from tests.bench.test_mdrp_checker import write_instance


def test_the_summary_gives_each_instances_mean_range_and_losses() -> None:
    """Per instance and policy: mean gap over the seeds, its range, mean undelivered; then the mean of instances."""
    runs = {
        ("a", "ortools"): [{"gap_to_lower_bound": 0.04, "undelivered_pct": 0.0},
                           {"gap_to_lower_bound": 0.06, "undelivered_pct": 1.0}],
        ("b", "ortools"): [{"gap_to_lower_bound": 0.10, "undelivered_pct": 2.0}],
    }  # fmt: skip
    lines = summarise(runs)
    assert lines[1].split() == ["a", "ortools", "5.00%", "4.00-6.00%", "0.50%", "2"]
    assert lines[2].split() == ["b", "ortools", "10.00%", "10.00-10.00%", "2.00%", "1"]
    assert lines[3].split()[-1] == "7.50%"  # (5 + 10) / 2: instances weigh alike, whatever their runs


def test_a_suite_runs_each_seed_in_its_own_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two seeds of the tiny instance, two at a time: both replays run, feasibly, and are summarised."""
    folder = write_instance(tmp_path / "tiny")
    out = tmp_path / "out"
    assert main([str(folder), "--policy", "rolling", "--variant", "drop34", "--seeds", "1,2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 replays (known ready times, variant drop34, seeds 1,2)" in text
    assert {p.parent.parent.name for p in out.glob("*/rolling/metrics.json")} == {"tiny+drop34@1", "tiny+drop34@2"}
    [row] = [line for line in text.splitlines() if line.startswith("tiny ")]
    assert row.split()[1:2] == ["rolling"] and row.split()[-1] == "2"


def test_seeds_without_a_variant_keep_their_own_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With forecasts the seed draws the restaurants' errors even without a variant: each seed's replay
    lands in its own folder and its metrics say which seed it was."""
    folder = write_instance(tmp_path / "tiny")
    out = tmp_path / "out"
    args = [
        str(folder),
        "--policy",
        "ortools",
        "--variant",
        "",
        "--seeds",
        "1,2",
        "--prep",
        "forecast",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert "2 replays (forecast (sd 8 min) ready times, variant none, seeds 1,2)" in capsys.readouterr().out
    seeds = {json.loads(p.read_text())["seed"]: p for p in out.glob("seed*/tiny/ortools/metrics.json")}
    assert sorted(seeds) == [1, 2] and seeds[1].parts[-4] == "seed1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "gredy"], "unknown policy"),
        (["--seeds", "x"], "invalid literal"),
        (["--seeds", ""], "at least one"),
        (["--variant", "t50"], "unknown variant factor"),
        (["--prep", "forecast", "--forecast-sd", "0"], "--forecast-sd"),
        (["--prep", "guessed"], "invalid choice"),
    ],
)
def test_bad_arguments_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Each is refused with exit 2, naming the problem, before any replay runs."""
    folder = write_instance(tmp_path / "tiny")
    with pytest.raises(SystemExit) as exc:
        main([str(folder), "--out", str(tmp_path / "out"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
