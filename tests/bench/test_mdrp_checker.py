"""MDRP instances, solution files, the feasibility checker and the metrics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.mdrp.checker import InfeasibleSolution, check_feasible, find_violations
from bench.mdrp.instance import Instance, load_instance
from bench.mdrp.metrics import idle_spells, late_departures, solution_metrics, unreachable_waits
from bench.mdrp.solution import Assignment, Move, OrderOutcome, Solution, read_solution, write_solution
from tests.conftest import require_shared


def write_instance(folder: Path, couriers_off: float = 100) -> Path:
    """A tiny instance: 100 m/min, 4-minute services, two restaurants, three orders, two couriers."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance_parameters.txt").write_text(
        "meters_per_minute\tpickup service minutes\tdropoff service minutes\ttarget click-to-door\t"
        "maximum click-to-door\tpay per order\tguaranteed pay per hour\n100\t4\t4\t40\t90\t10\t15\n"
    )
    (folder / "restaurants.txt").write_text("restaurant\tx\ty\nr1\t0\t0\nr2\t1000\t0\n")
    (folder / "orders.txt").write_text(
        "order\tx\ty\tplacement_time\trestaurant\tready_time\n"
        "o1\t0\t800\t5\tr1\t10\no2\t300\t800\t6\tr1\t12\no3\t1000\t1000\t20\tr2\t30\n"
    )
    (folder / "couriers.txt").write_text(
        f"courier\tx\ty\ton_time\toff_time\nc1\t0\t300\t0\t100\nc2\t1000\t500\t0\t{couriers_off}\n"
    )
    return folder


def feasible() -> Solution:
    """Worked by hand: c1 bundles o1, o2 at r1; c2 takes o3 from r2."""
    return Solution(
        assignments=[Assignment(6, 12, "c1", ("o1", "o2")), Assignment(20, 30, "c2", ("o3",))],
        orders=[
            OrderOutcome("o1", 5, 10, 12, 24, "c1"),
            OrderOutcome("o2", 6, 12, 12, 31, "c1"),
            OrderOutcome("o3", 20, 30, 30, 44, "c2"),
        ],
        moves=[
            Move("c1", 6, "0", "r1"),
            Move("c1", 14, "r1", "o1"),
            Move("c1", 26, "o1", "o2"),
            Move("c2", 20, "0", "r2"),
            Move("c2", 32, "r2", "o3"),
        ],
    )


@pytest.fixture
def tiny(tmp_path: Path) -> Instance:
    return load_instance(write_instance(tmp_path / "tiny"))


def test_hand_worked_solution_is_feasible_and_round_trips(tiny: Instance, tmp_path: Path) -> None:
    """The worked solution passes, and survives writing and reading its three files."""
    check_feasible(tiny, feasible())
    write_solution(tmp_path / "sol", feasible())
    again = read_solution(tmp_path / "sol")
    assert again == feasible()
    check_feasible(tiny, again)


def replace_order(sol: Solution, order: str, **changes: object) -> Solution:
    sol.orders = [dataclasses.replace(o, **changes) if o.order == order else o for o in sol.orders]  # type: ignore[arg-type]
    return sol


def mutate_assignment(sol: Solution, index: int, **changes: object) -> Solution:
    sol.assignments[index] = dataclasses.replace(sol.assignments[index], **changes)  # type: ignore[arg-type]
    return sol


def mutate_move(sol: Solution, index: int, **changes: object) -> Solution:
    sol.moves[index] = dataclasses.replace(sol.moves[index], **changes)  # type: ignore[arg-type]
    return sol


CASES = {
    "order-once": lambda s: (s.assignments.append(Assignment(21, 30, "c2", ("o1",))), s)[1],
    "before-placement": lambda s: mutate_assignment(s, 1, time_min=19),
    "pickup-before-ready": lambda s: replace_order(mutate_assignment(s, 1, pickup_min=28), "o3", pickup_min=28),
    "moves-chain": lambda s: mutate_move(s, 1, origin="r2"),
    "pickup-presence": lambda s: mutate_move(s, 0, departure_min=10),  # reaches r1 at 13 > 12 - 2
    "dropoff-presence": lambda s: replace_order(s, "o3", dropoff_min=40),
    "dropoff-sequence": lambda s: replace_order(s, "o2", dropoff_min=26),
    "assigned-undelivered": lambda s: replace_order(s, "o3", pickup_min=None, dropoff_min=None, courier=None),
    "unassigned-delivered": lambda s: (s.assignments.pop(1), s)[1],
    "orders-file": lambda s: (s.orders.pop(0), s)[1],
    "outcome-mismatch": lambda s: replace_order(s, "o1", courier="c2"),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_violation_is_caught(tiny: Instance, rule: str) -> None:
    """A solution broken in one way fails loudly, naming that rule."""
    broken = CASES[rule](feasible())
    with pytest.raises(InfeasibleSolution) as err:
        check_feasible(tiny, broken)
    assert rule in {v.rule for v in err.value.violations}, err.value


def test_pickup_after_off_time(tmp_path: Path) -> None:
    """A courier whose shift ends at 25 may not pick up at 30."""
    instance = load_instance(write_instance(tmp_path / "short", couriers_off=25))
    assert "pickup-after-off" in {v.rule for v in find_violations(instance, feasible())}


def test_metrics_of_the_worked_solution(tiny: Instance) -> None:
    """Click-to-door, lower bound and gap, computed by hand."""
    m = solution_metrics(tiny, feasible())
    assert m["delivered"] == 3 and m["undelivered_pct"] == 0
    assert m["click_to_door_mean"] == pytest.approx((19 + 25 + 24) / 3)
    # Bounds: o1 5+2+8+2, o2 6+2+ceil(854.4/100)+2, o3 10+2+10+2.
    assert m["lower_bound_mean"] == pytest.approx((17 + 19 + 24) / 3)
    assert m["gap_to_lower_bound"] == pytest.approx((68 / 3) / 20 - 1)
    assert m["ready_to_pickup_mean"] == pytest.approx((2 + 0 + 0) / 3)
    assert m["orders_per_bundle"] == 1.5
    # o1's 2 minutes were its bundle's: o2 (ready at 12) is picked up with it. Alone, c1 could have met
    # o1's food.
    assert m["ready_to_pickup_unreachable_mean"] == 0
    assert m["ready_to_pickup_left_late_mean"] == 0


def test_free_spells_and_unreachable_waits_worked_by_hand(tiny: Instance, tmp_path: Path) -> None:
    """Couriers are free between bundles (not at a restaurant waiting for food, not between one bundle's
    drop-offs), a courier given its next bundle at once is free for a moment, and an order's wait counts
    as unreachable only as far as no courier free after its placement could have shortened it."""
    assert idle_spells(tiny, feasible()) == [
        ("c1", 0, 6, (0, 300)), ("c1", 33, 100, (300, 800)), ("c2", 0, 20, (1000, 500)), ("c2", 46, 100, (1000, 1000)),
    ]  # fmt: skip
    assert unreachable_waits(tiny, feasible()) == [0, 0, 0]
    # c1 left for the bundle of o1 and o2 at 6, when o2 was placed: the pickup waits for o2's food (12),
    # so o1's 2 minutes are the bundle's, not a late departure.
    assert late_departures(tiny, feasible()) == [0, 0, 0]
    # One courier 20 minutes from r1: o1 (ready at 5) cannot be picked up before 22, however dispatched.
    far = write_instance(tmp_path / "far")
    (far / "orders.txt").write_text("order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t0\t800\t0\tr1\t5\n")
    (far / "couriers.txt").write_text("courier\tx\ty\ton_time\toff_time\nc1\t0\t2000\t0\t100\n")
    instance = load_instance(far)
    for leaves, pickup in ((0, 22), (3, 25)):
        solution = Solution(
            assignments=[Assignment(leaves, pickup, "c1", ("o1",))],
            orders=[OrderOutcome("o1", 0, 5, pickup, pickup + 2 + 8 + 2, "c1")],
            moves=[Move("c1", leaves, "0", "r1"), Move("c1", pickup + 2, "r1", "o1")],
        )
        assert not find_violations(instance, solution)
        assert idle_spells(instance, solution) == [("c1", 0, leaves, (0, 2000)), ("c1", pickup + 14, 100, (0, 800))]
        # The 17 minutes are the courier's ride; leaving 3 minutes late adds 3 that were reachable.
        assert unreachable_waits(instance, solution) == [17]
        assert late_departures(instance, solution) == [leaves]


@pytest.mark.parametrize("name", ["0o100t100s1p100", "1o50t100s1p125", "4o100t100s2p100", "7o100t75s1p125"])
def test_dev_instances_load(name: str) -> None:
    """The four dev instances load with the counts their characteristics file states."""
    folder = require_shared("data", "mdrp", name)
    instance = load_instance(folder)
    text = (folder / "instance_characteristics.txt").read_text()
    stated = {line.split(":")[0].strip(): line.split(":")[1].strip() for line in text.splitlines() if ":" in line}
    assert len(instance.orders) == int(stated["number of orders"])
    assert len(instance.restaurants) == int(stated["number of restaurants"])
    assert len(instance.couriers) == int(stated["number of couriers"])
    assert all(instance.lower_bound_min(o) > 0 for o in instance.orders)


def test_malformed_instance_is_refused(tmp_path: Path) -> None:
    """A missing file or an order of an unknown restaurant is a clear error."""
    folder = write_instance(tmp_path / "bad")
    (folder / "couriers.txt").unlink()
    with pytest.raises(ValueError, match=r"couriers\.txt"):
        load_instance(folder)
    folder = write_instance(tmp_path / "bad2")
    (folder / "orders.txt").write_text("order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t0\t0\t1\tr9\t2\n")
    with pytest.raises(ValueError, match="r9"):
        load_instance(folder)
