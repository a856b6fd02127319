"""Instance variants along the family's axes: what each factor changes, seeded and reproducible."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.mdrp.__main__ import main
from bench.mdrp.instance import Instance, Restaurant, load_instance
from bench.mdrp.variants import vary
from tests.bench.test_mdrp_checker import write_instance


@pytest.fixture
def tiny(tmp_path: Path) -> Instance:
    return load_instance(write_instance(tmp_path / "tiny"))


def test_speed_and_prep_factors_scale_travel_and_prep(tiny: Instance) -> None:
    """t75 makes every ride take 0.75 of its metres-per-minute time; p125 stretches prep by 1.25, in whole minutes."""
    fast = vary(tiny, ["t75"], 1)
    assert fast.params.meters_per_minute == pytest.approx(100 / 0.75)
    assert fast.travel_min((0, 0), (0, 800)) == 6  # ceil(800 / 133.3), against 8
    slow = vary(tiny, ["p125"], 1)
    assert {k: o.ready_min - o.placement_min for k, o in slow.orders.items()} == {"o1": 6, "o2": 8, "o3": 12}
    assert vary(slow, ["p80"], 1).orders == tiny.orders  # p80 undoes p125 here
    assert vary(fast, ["t133"], 1).params.meters_per_minute == pytest.approx(100)


def test_sampling_factors_are_seeded_halves(tiny: Instance) -> None:
    """o50 keeps half the orders and half the couriers, the same for the same seed; dropN leaves N% out."""
    half = vary(tiny, ["o50"], 7)
    assert len(half.orders) == 1 and len(half.couriers) == 1
    assert vary(tiny, ["o50"], 7) == half
    assert {frozenset(vary(tiny, ["o50"], s).orders) for s in range(20)} == {frozenset({k}) for k in tiny.orders}
    by_restaurant = vary(tiny, ["r50"], 2)
    assert len({o.restaurant for o in by_restaurant.orders.values()}) == 1
    assert len(vary(tiny, ["drop34"], 1).orders) == 2
    assert half.name == "tiny+o50@7" and vary(tiny, [], 7).name == "tiny"


def test_unknown_factors_and_empty_variants_are_refused(tiny: Instance) -> None:
    """A factor outside the list, a drop share outside 1-50 and a variant left without orders raise, naming them."""
    with pytest.raises(ValueError, match="'t50'"):
        vary(tiny, ["t50"], 1)
    with pytest.raises(ValueError, match="'drop90'"):
        vary(tiny, ["drop90"], 1)
    # With a third restaurant that has no orders, r50 keeps one restaurant: for some seeds that one.
    idle = replace(tiny, restaurants={**tiny.restaurants, "r3": Restaurant("r3", 500, 500)})
    refused = 0
    for seed in range(30):
        try:
            vary(idle, ["r50"], seed)
        except ValueError as exc:
            assert "leaves no orders" in str(exc)
            refused += 1
    assert 0 < refused < 30


def test_the_command_line_refuses_an_unknown_factor(
    tiny: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--variant` with an unknown factor is a usage error (exit 2) before any replay runs."""
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "tiny"), "--variant", "x9", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "unknown variant factor 'x9'" in capsys.readouterr().err
