"""bench.forecast on a short run: the forecast, the naive forecasts and the oracles measured side by side."""

from __future__ import annotations

from bench.forecast import measure
from forecast import ForecastConfig
from serving.embedded_redis import EmbeddedRedis


async def test_the_oracles_bound_the_forecast(redis_server: EmbeddedRedis) -> None:
    """Two weeks of Helsinki's replayed demand, the second measured: no forecast beats the true rates' Poisson
    median, the forecast beats both naive forecasts, and every ratio is its MAE over the baseline's."""
    got = await measure("helsinki", 2, 1, 11, redis_server.url, ForecastConfig())
    assert got["orders"] > 10_000 and got["read_ms_p50"] > 0
    r = got["res8"]
    assert r["mae_oracle_median"] < r["mae_forecast_median"] < r["mae_forecast_mean"]
    assert r["mae_oracle_median"] < r["mae_oracle_mean"]
    assert r["mae_forecast_mean"] < min(r["mae_same_slot_last_week"], r["mae_last_hour"])
    assert r["ratio_oracle_median_vs_last_hour"] == r["mae_oracle_median"] / r["mae_last_hour"]
    assert r["ratio_seasonal_oracle_mean_vs_same_slot_last_week"] == (
        r["mae_seasonal_oracle_mean"] / r["mae_same_slot_last_week"]
    )
    assert got["res7"]["cells"] <= r["cells"]
