"""server.py's flags: the dev-only scaled clock and engine settings are checked before anything starts."""

from __future__ import annotations

import pytest

from dispatch.guidance import GuidanceConfig
from forecast import ForecastConfig
from server import parse_args
from serving.app import App


def test_scaled_clock_flags_build_a_scaled_clock() -> None:
    """--clock-speed with an ISO start and an anchor gives a clock reading that start at that anchor."""
    config, *_ = parse_args(
        ["--clock-speed", "60", "--clock-start", "2026-06-10T11:00:00+03:00", "--clock-anchor-ms", "1781078400000"]
    )
    assert config.clock_speed == 60 and config.clock_start_ms == 1_781_078_400_000
    clock = config.make_clock()
    assert clock.speed == 60 and clock.anchor_unix_ms == 1_781_078_400_000  # type: ignore[attr-defined]
    assert App(config).clock is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--clock-speed", "0"], "positive number"),
        (["--clock-speed", "-5"], "positive number"),
        (["--clock-speed", "nan"], "positive number"),
        (["--clock-speed", "1000"], "cannot keep pace"),
        (["--clock-start", "2026-06-10T11:00:00+03:00"], "need --clock-speed"),
        (["--clock-speed", "60", "--clock-start", "2026-06-10T11:00"], "UTC offset"),
        (["--clock-speed", "60", "--clock-start", "lunchtime"], "neither ISO 8601"),
        (["--dispatch-setting", "offer_timeout_s"], "NAME=VALUE"),
        (["--dispatch-setting", "tick_s=1"], "NAME=VALUE"),
        (["--dispatch-setting", "max_pending_s=soon"], "takes a number"),
        (["--dispatch-setting", "offer_timeout_s=-1"], "must be positive"),
        (["--dispatch-setting", "candidates_per_order=1.5"], "candidates_per_order takes a whole number"),
        (["--dispatch-setting", "join_at_counter=maybe"], "join_at_counter takes true or false"),
        (["--dispatch-setting", "max_click_to_door_s=soon"], "max_click_to_door_s takes a number, or none"),
        (["--dispatch-setting", "max_click_to_door_s=0"], "max_click_to_door_s must be positive"),
        (["--dispatch-setting", "bundles=3"], "NAME=VALUE"),
        (["--dispatch-setting", "guidance=3"], "guidance takes none, recent, forecast, on or off"),
        (["--dispatch-setting", "forecast=sometimes"], "forecast takes on or off"),
    ],
)
def test_nonsense_is_refused_with_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad combination exits with a usage error naming the problem."""
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_dispatch_settings_reach_the_engine_config() -> None:
    """--dispatch-setting NAME=VALUE is converted to the field's type."""
    config, *_ = parse_args(
        ["--dispatch-setting", "max_pending_s=2400", "--dispatch-setting", "candidates_per_order=4",
         "--dispatch-setting", "join_at_counter=off", "--dispatch-setting", "max_click_to_door_s=5400"]
    )  # fmt: skip
    assert config.dispatch_overrides == {
        "max_pending_s": 2400.0, "candidates_per_order": 4, "join_at_counter": False, "max_click_to_door_s": 5400.0,
    }  # fmt: skip
    config, *_ = parse_args(["--dispatch-setting", "max_click_to_door_s=none"])
    assert config.dispatch_overrides == {"max_click_to_door_s": None}
    # Idle-rider guidance is on unless turned off (its settings are its defaults).
    config, *_ = parse_args(["--dispatch-setting", "guidance=off"])
    assert config.dispatch_overrides == {"guidance": None}
    config, *_ = parse_args(["--dispatch-setting", "guidance=on"])
    assert config.dispatch_overrides == {"guidance": GuidanceConfig()}
    # Its modes by name (none: off), and the demand forecast on or off.
    config, *_ = parse_args(["--dispatch-setting", "guidance=forecast", "--dispatch-setting", "forecast=off"])
    assert config.dispatch_overrides == {"guidance": GuidanceConfig(mode="forecast"), "forecast": None}
    config, *_ = parse_args(["--dispatch-setting", "guidance=none", "--dispatch-setting", "forecast=on"])
    assert config.dispatch_overrides == {"guidance": None, "forecast": ForecastConfig()}
