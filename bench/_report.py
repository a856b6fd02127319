"""What every replay report shares: per-tick figures and the way a plot is finished and saved."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

FIGSIZE = (8, 4.5)


def quantile(xs: Sequence[float], q: int) -> float:
    """The q-th percentile (inclusive method), NaN for no data."""
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else float(xs[0])


def tick_metrics(solve_ms: Sequence[float], pending_per_tick: Sequence[int]) -> dict[str, float]:
    """The policy's solve time per tick (p50, p99) and the orders a tick looked at, on average."""
    return {
        "solve_ms_p50": quantile(solve_ms, 50),
        "solve_ms_p99": quantile(solve_ms, 99),
        "orders_per_tick_mean": statistics.fmean(pending_per_tick) if pending_per_tick else 0.0,
    }


def new_plot() -> tuple[Any, Any]:
    return plt.subplots(figsize=FIGSIZE)


def save_plot(fig: Any, ax: Any, path: Path, *, xlabel: str, ylabel: str, title: str) -> Path:
    """Labels, legend, layout, a 110-dpi PNG at `path`, and the figure freed."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
