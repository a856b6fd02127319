"""What a city replay measured: metrics JSON, a human report, PNG plots and an HTML heat map."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import h3
import numpy as np

from bench._report import new_plot, quantile, save_plot, tick_metrics
from bench.replay.simulator import ReplayResult


def metrics(r: ReplayResult) -> dict[str, float]:
    done = [o for o in r.orders if o.dropoff_s is not None]
    ctd = [(o.dropoff_s - o.placed_s) / 60 for o in done]  # type: ignore[operator]
    late = [max(0.0, (o.dropoff_s - o.promised_s) / 60) for o in done]  # type: ignore[operator]
    food_wait = [max(0.0, (o.pickup_s - o.ready_s) / 60) for o in done]  # type: ignore[operator]
    rider_wait = [max(0.0, (o.ready_s - o.arrived_s) / 60) for o in done if o.arrived_s is not None]

    def after_placement(at: str) -> float:
        """Mean minutes from placement to a milestone of the delivered orders (those that passed it)."""
        xs = [(t - o.placed_s) / 60 for o in done if (t := getattr(o, at)) is not None]
        return statistics.fmean(xs) if xs else float("nan")

    shift_h = sum(rd.off_s - rd.on_s for rd in r.riders) / 3600
    busy_h = sum(rd.busy_s for rd in r.riders) / 3600
    rejected = sum(1 for o in r.orders if o.final_status == "rejected")
    return {
        "orders": len(r.orders),
        "delivered": len(done),
        # The engine's word at the end: refused orders (with a reason each), and orders neither
        # delivered nor refused when the replay stopped (still open: none is ever silently lost).
        "rejected": rejected,
        "still_open": len(r.orders) - len(done) - rejected,
        "undelivered_pct": 100 * (len(r.orders) - len(done)) / len(r.orders) if r.orders else 0.0,
        "click_to_door_mean_min": statistics.fmean(ctd) if ctd else float("nan"),
        "click_to_door_p50_min": quantile(ctd, 50),
        "click_to_door_p90_min": quantile(ctd, 90),
        "late_share_pct": 100 * sum(1 for x in late if x > 0) / len(late) if late else float("nan"),
        "lateness_mean_min": statistics.fmean(late) if late else float("nan"),
        # Where click-to-door goes: each milestone's mean time after placement (prep: the food's).
        "prep_mean_min": after_placement("ready_s"),
        "offered_after_mean_min": after_placement("assigned_s"),
        "at_counter_after_mean_min": after_placement("arrived_s"),
        "picked_up_after_mean_min": after_placement("pickup_s"),
        "rider_waiting_mean_min": statistics.fmean(rider_wait) if rider_wait else float("nan"),
        "food_waiting_mean_min": statistics.fmean(food_wait) if food_wait else float("nan"),
        "orders_per_rider_hour": len(done) / shift_h if shift_h else float("nan"),
        "utilisation_pct": 100 * busy_h / shift_h if shift_h else float("nan"),
        "offers_rejected": r.offers_rejected,
        "riders_guided": r.guided,
        # The demand forecast over the period, summed over the counters' cells: the mean absolute error per
        # cell of the period's total, and the forecast's total against the orders placed.
        **_forecast_metrics(r),
        **fee_metrics(r),
        **tick_metrics(r.solve_ms, r.pending_per_tick),
        "wall_s": r.wall_s,
    }


def write_report(results: dict[str, ReplayResult], out: Path) -> dict[str, dict[str, float]]:
    """metrics.json and report.txt per policy, shared PNGs and heat maps; returns the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    table = {policy: metrics(r) for policy, r in results.items()}
    for policy, r in results.items():
        folder = out / policy.replace("/", "-")
        folder.mkdir(exist_ok=True)
        (folder / "metrics.json").write_text(
            json.dumps(
                {
                    "city": r.city,
                    "policy": r.policy,
                    "guidance": r.guidance,
                    "via": r.via,
                    **table[policy],
                    "api": r.api,
                },
                indent=2,
            )
        )
        (folder / "scenario.json").write_text(r.scenario.to_json())
        _heat_map(r, folder / "heatmap.html")
        if r.forecast_vs_actual:
            _forecast_map(r, folder / "forecast.html")
    first = next(iter(results.values()))
    vias = list(dict.fromkeys(r.via for r in results.values()))
    lines = [f"Replay of {first.city}, scenario {first.scenario.name}, {' and '.join(vias)}"]
    policies = list(table)
    lines.append(f"{'metric':>26} " + " ".join(f"{p:>12}" for p in policies))
    # Every metric any run has (a run through the API has no forecast): one missing is shown as nan.
    keys = list(dict.fromkeys(k for row in table.values() for k in row))
    for key in keys:
        lines.append(f"{key:>26} " + " ".join(f"{table[p].get(key, float('nan')):>12.2f}" for p in policies))
    for policy, r in results.items():
        if r.api:
            lines.append(f"\nthrough the API ({policy}):")
            lines += [f"{key:>38} {value:>10.1f}" for key, value in r.api.items()]
    (out / "report.txt").write_text("\n".join(lines) + "\n")
    _plots(results, out)
    return table


def _plots(results: dict[str, ReplayResult], out: Path) -> None:
    fig, ax = new_plot()
    for policy, r in results.items():
        ctd = [(o.dropoff_s - o.placed_s) / 60 for o in r.orders if o.dropoff_s is not None]  # type: ignore[operator]
        ax.hist(
            ctd, bins=np.arange(0, 91, 3), histtype="step", linewidth=2, label=f"{policy} (mean {np.mean(ctd):.1f})"
        )
    save_plot(fig, ax, out / "click_to_door.png", xlabel="click-to-door (min)", ylabel="orders",
              title="click-to-door by policy")  # fmt: skip

    r = next(iter(results.values()))
    minutes = np.arange(0, r.scenario.duration_h * 60 + 1, 5)
    fig, ax = new_plot()
    ax.hist([o.placed_s / 60 for o in r.orders], bins=minutes, alpha=0.5, label="orders placed per 5 min")
    on = [sum(rd.on_s <= m * 60 < rd.off_s for rd in r.riders) for m in minutes]
    ax.plot(minutes, on, color="black", label="riders on shift")
    save_plot(fig, ax, out / "orders_and_riders.png", xlabel=f"minutes after {r.scenario.start_hour:g}:00",
              ylabel="count", title="orders and riders")  # fmt: skip

    fig, ax = new_plot()
    for policy, res in results.items():
        ax.plot(np.array(res.tick_s) / 60, res.solve_ms, linewidth=0.8, label=policy)
    save_plot(fig, ax, out / "solve_time.png", xlabel="minutes", ylabel="policy solve time per tick (ms)",
              title="solve time per tick")  # fmt: skip


def _forecast_metrics(r: ReplayResult) -> dict[str, float]:
    if not r.forecast_vs_actual:
        return {}
    pairs = list(r.forecast_vs_actual.values())
    return {
        "forecast_orders": sum(f for f, _ in pairs),
        "forecast_cell_mae": statistics.fmean(abs(f - n) for f, n in pairs),
    }


def fee_metrics(r: ReplayResult) -> dict[str, float]:
    """The quoted delivery fees (in-process replays quote every order at placement, `fees.py`): mean and p90
    fee of the orders quoted, the share with a busy-area line, the mean surge factor, the riders' share of
    the surge's fen, the share paying a small-order line, and the quotes refused (doors in a dropped ring)."""
    quoted = [o for o in r.orders if o.fee_fen is not None]
    refused = sum(1 for o in r.orders if o.quote_refused)
    if not quoted and not refused:
        return {}
    fees = [o.fee_fen / 100 for o in quoted]  # type: ignore[operator]
    surge_fen = sum(o.surge_fen for o in quoted)
    return {
        "fee_mean_yuan": statistics.fmean(fees) if fees else float("nan"),
        "fee_p90_yuan": quantile(fees, 90) if fees else float("nan"),
        "surge_line_pct": 100 * sum(1 for o in quoted if o.surge_fen > 0) / len(quoted) if quoted else float("nan"),
        "surge_factor_mean": statistics.fmean(o.surge_factor for o in quoted) if quoted else float("nan"),
        "rider_surge_share_pct": 100 * sum(o.rider_surge_fen for o in quoted) / surge_fen if surge_fen else 0.0,
        "small_order_pct": 100 * sum(1 for o in quoted if o.small_order_fen) / len(quoted) if quoted else float("nan"),
        "quotes_refused": refused,
    }


def _leaflet(title: str, lat: float, lng: float, geo: str, style: str, tooltip: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="https://unpkg.com/leaflet@1.9.4/dist/leaflet.css"/>
<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"></script>
<style>html,body,#map{{height:100%;margin:0}}</style></head><body><div id="map"></div><script>
const map = L.map('map').setView([{lat}, {lng}], 13);
L.tileLayer('https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', {{maxZoom: 19,
  attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL)'}}).addTo(map);
L.geoJSON({geo}, {{style: {style}, onEachFeature: (f, l) => l.bindTooltip({tooltip})}}).addTo(map);
</script></body></html>
"""


def _forecast_map(r: ReplayResult, path: Path) -> None:
    """Forecast against actual orders per H3 cell of the counters (the forecast's resolution) over the
    period: red where more orders came than forecast, blue where fewer; opacity by the orders."""
    top = max((max(f, n) for f, n in r.forecast_vs_actual.values()), default=1.0) or 1.0
    features = []
    for cell, (f, n) in sorted(r.forecast_vs_actual.items()):
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"cell": cell, "forecast": round(f, 1), "orders": n, "share": max(f, n) / top,
                           "over": n > f},
        })  # fmt: skip
    lats = [h3.cell_to_latlng(c)[0] for c in r.forecast_vs_actual] or [0.0]
    lngs = [h3.cell_to_latlng(c)[1] for c in r.forecast_vs_actual] or [0.0]
    geo = json.dumps({"type": "FeatureCollection", "features": features})
    style = ("f => ({color: f.properties.over ? '#c0392b' : '#2c7fb8', weight: 1, "
             "fillOpacity: 0.1 + 0.6 * f.properties.share})")  # fmt: skip
    tooltip = "`${f.properties.orders} orders, ${f.properties.forecast} forecast`"
    path.write_text(_leaflet(f"{r.city} {r.policy} ({r.guidance} guidance): forecast against orders",
                             statistics.fmean(lats), statistics.fmean(lngs), geo, style, tooltip))  # fmt: skip


def _heat_map(r: ReplayResult, path: Path) -> None:
    """Demand, late deliveries and the mean quoted fee per H3 cell (res 9) over an OpenStreetMap base map
    (Leaflet)."""
    demand: Counter[str] = Counter()
    late: Counter[str] = Counter()
    fees: dict[str, list[int]] = {}
    for o in r.orders:
        cell = h3.latlng_to_cell(o.dropoff_at.lat, o.dropoff_at.lng, 9)
        demand[cell] += 1
        if o.fee_fen is not None:
            fees.setdefault(cell, []).append(o.fee_fen)
        if o.dropoff_s is None or o.dropoff_s > o.promised_s:
            late[cell] += 1
    top = max(demand.values(), default=1)
    features = []
    for cell, n in demand.items():
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"cell": cell, "orders": n, "late": late[cell], "share": n / top,
                           "fee": round(statistics.fmean(fees[cell]) / 100, 2) if cell in fees else None},
        })  # fmt: skip
    lats = [o.dropoff_at.lat for o in r.orders] or [0.0]
    lngs = [o.dropoff_at.lng for o in r.orders] or [0.0]
    geo = json.dumps({"type": "FeatureCollection", "features": features})
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>{r.city} {r.policy}: demand and lateness</title>
<link rel="stylesheet" href="https://unpkg.com/leaflet@1.9.4/dist/leaflet.css"/>
<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"></script>
<style>html,body,#map{{height:100%;margin:0}}</style></head><body><div id="map"></div><script>
const map = L.map('map').setView([{statistics.fmean(lats)}, {statistics.fmean(lngs)}], 14);
L.tileLayer('https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', {{maxZoom: 19,
  attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL)'}}).addTo(map);
L.geoJSON({geo}, {{style: f => ({{color: f.properties.late ? '#c0392b' : '#2c7fb8', weight: 1,
  fillOpacity: 0.15 + 0.6 * f.properties.share}}),
  onEachFeature: (f, l) => l.bindTooltip(`${{f.properties.orders}} orders, ${{f.properties.late}} late or undelivered` +
    (f.properties.fee === null ? '' : `, mean delivery fee ${{f.properties.fee}} yuan`))}}).addTo(map);
</script></body></html>
""")
