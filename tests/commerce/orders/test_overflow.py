"""The chain overflow rule (`commerce.orders.overflow.choose_branches`) on its own: when a branch counts as
swamped, which siblings qualify, in which order, and what the history note says."""

from __future__ import annotations

from commerce.orders.overflow import BranchPromise, choose_branches
from core.geo import LatLng
from merchants import OverflowPolicy

NOW = 1_780_000_000_000
MIN = 60_000
HERE = LatLng(47.14, 9.52)


def branch(mid: str, ready_min: float, backlog: int = 0, ride_min: float = 10.0, covers: bool = True) -> BranchPromise:
    return BranchPromise(mid, HERE, NOW + round(ready_min * MIN), backlog, ride_min * 60, covers)


def test_a_swamped_branch_gives_way_to_the_earliest_promise_beyond_the_margin() -> None:
    """b1 (backlog 9) promises 14 + 10 min; b2 ready at 10 + 4 ride beats b3 at 12 + 3 and both beat the margin."""
    policy = OverflowPolicy(True, backlog_orders=8, late_prep_s=0, margin_s=300)
    moves = choose_branches(branch("b1", 14, backlog=9), [branch("b3", 12, ride_min=3), branch("b2", 5, ride_min=4)],
                            policy, NOW)  # fmt: skip
    assert [m.merchant_id for m in moves] == ["b2", "b3"]
    assert moves[0].note == (
        "overflow from b1 (backlog 9 orders): predicted ready 9 min later than b2, drop-off promised 15 min earlier"
    )


def test_no_move_under_the_threshold_the_margin_or_without_reach() -> None:
    """Not swamped, a promise under the margin (by one ms too), a sibling that does not cover the door, overflow
    off: no move."""
    on = OverflowPolicy(True, backlog_orders=8, late_prep_s=0, margin_s=300)
    assert choose_branches(branch("b1", 30, backlog=7), [branch("b2", 5)], on, NOW) == []
    placed = branch("b1", 20, backlog=8)
    just_under = BranchPromise("b2", HERE, placed.promise_ms - 300_000 + 1 - 600_000, 0, 600.0)
    assert choose_branches(placed, [just_under], on, NOW) == []
    exactly = BranchPromise("b2", HERE, placed.promise_ms - 300_000 - 600_000, 0, 600.0)
    assert [m.merchant_id for m in choose_branches(placed, [exactly], on, NOW)] == ["b2"]
    assert choose_branches(placed, [branch("b2", 5, covers=False)], on, NOW) == []
    assert choose_branches(placed, [branch("b2", 5)], OverflowPolicy(False), NOW) == []


def test_a_late_prediction_alone_makes_a_branch_swamped() -> None:
    """With the backlog test off (0), a predicted prep of 25 min past a 20-min threshold triggers; 19 does not."""
    policy = OverflowPolicy(True, backlog_orders=0, late_prep_s=20 * 60, margin_s=60)
    moves = choose_branches(branch("b1", 25, backlog=50), [branch("b2", 8)], policy, NOW)
    assert [m.merchant_id for m in moves] == ["b2"] and "(predicted prep 25 min)" in moves[0].note
    assert choose_branches(branch("b1", 19, backlog=50), [branch("b2", 8)], policy, NOW) == []


def test_ties_go_to_the_lower_id_and_the_placed_branch_is_never_its_own_sibling() -> None:
    """Equal promises are ordered by id; a sibling list naming the placed branch does not offer it."""
    policy = OverflowPolicy(True, backlog_orders=1, late_prep_s=0, margin_s=0)
    moves = choose_branches(branch("b1", 30, backlog=1), [branch("b9", 5), branch("b1", 5), branch("b4", 5)], policy,
                            NOW)  # fmt: skip
    assert [m.merchant_id for m in moves] == ["b4", "b9"]
