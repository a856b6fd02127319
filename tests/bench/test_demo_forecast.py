"""The demo's forecast section against the real server: it prints the busiest cells and a restock hint."""

from __future__ import annotations

import grpc

from bench.demo_forecast import run_forecast_demo
from serving.app import App
from serving.auth import TokenIssuer


async def test_the_forecast_section_shows_cells_and_a_restock_hint(app: App, channel: grpc.aio.Channel,
                                                                   issuer: TokenIssuer) -> None:  # fmt: skip
    """Ten orders at the night store: its cell leads the forecast, and noodles (5 cups in 3 orders, 7 left)
    fall short of the next four hours."""
    lines = await run_forecast_demo(channel, issuer)
    text = "\n".join(lines)
    assert "forecast, zone" in lines[0]
    assert "restock hint: instant_food" in text and "drinks" not in text.split("restock hint")[1]
