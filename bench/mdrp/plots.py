"""PNG plots of MDRP replays: click-to-door per policy, orders and couriers over the day, solve time per tick."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench._report import new_plot, save_plot
from bench.mdrp.instance import Instance
from bench.mdrp.runner import ReplayStats
from bench.mdrp.solution import Solution


def plot_replays(instance: Instance, runs: dict[str, tuple[Solution, ReplayStats]], out: Path) -> list[Path]:
    """Writes three PNGs under `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "click_to_door.png", out / "orders_and_couriers.png", out / "solve_time.png"]

    fig, ax = new_plot()
    bins = np.arange(0, instance.params.max_click_to_door_min + 31, 5)
    lb = np.mean([instance.lower_bound_min(o) for o in instance.orders])
    for policy, (solution, _) in runs.items():
        ctd = [o.dropoff_min - o.placement_min for o in solution.orders if o.dropoff_min is not None]
        ax.hist(ctd, bins=bins, histtype="step", linewidth=2, label=f"{policy} (mean {np.mean(ctd):.1f} min)")
    ax.axvline(lb, color="grey", linestyle="--", label=f"mean lower bound {lb:.1f} min")
    ax.axvline(instance.params.target_click_to_door_min, color="red", linestyle=":", label="target")
    save_plot(fig, ax, paths[0], xlabel="click-to-door (min)", ylabel="orders",
              title=f"{instance.name}: click-to-door by policy")  # fmt: skip

    fig, ax = new_plot()
    hours = np.arange(0, 25)
    placed = np.histogram([o.placement_min / 60 for o in instance.orders.values()], bins=hours)[0]
    on_duty = [sum(c.on_min <= h * 60 < c.off_min for c in instance.couriers.values()) for h in hours[:-1]]
    ax.bar(hours[:-1], placed, width=0.8, alpha=0.5, label="orders placed per hour")
    for policy, (solution, _) in runs.items():
        delivered = np.histogram(
            [o.dropoff_min / 60 for o in solution.orders if o.dropoff_min is not None], bins=hours
        )[0]
        ax.step(hours[:-1], delivered, where="mid", label=f"delivered per hour ({policy})")
    ax.plot(hours[:-1], on_duty, color="black", marker="o", label="couriers on duty")
    save_plot(fig, ax, paths[1], xlabel="hour of day", ylabel="count",
              title=f"{instance.name}: orders and couriers over the day")  # fmt: skip

    fig, ax = new_plot()
    for policy, (_, stats) in runs.items():
        ax.plot(np.array(stats.tick_min) / 60, stats.solve_ms, linewidth=0.8, label=policy)
    save_plot(
        fig,
        ax,
        paths[2],
        xlabel="hour of day",
        ylabel="policy solve time per tick (ms)",
        title=f"{instance.name}: solve time per tick",
    )
    return paths
