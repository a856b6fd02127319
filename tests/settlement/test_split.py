"""The split arithmetic (pure): legs always sum to the paid amount, reversals never exceed a leg, rounding is
deterministic. Property tests over random amounts, rules and refund sequences."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from settlement.rules import Share, SplitRule
from settlement.split import (
    Parties,
    SplitHalt,
    largest_remainder,
    receiver_rank,
    refund_reversal,
    split_legs,
    subsidy_back_fen,
    subsidy_kept_fen,
)

bp = st.integers(0, 3_000)
fixed = st.integers(0, 2_000)
rules = st.builds(
    lambda p, pf, r, rf, g, gf, h, hf, cap: SplitRule(
        "merchant:m1", Share(p, pf), Share(r, rf), Share(g, gf), Share(h, hf), max_receiver_share_bp=cap
    ),
    bp, fixed, bp, fixed, bp, fixed, bp, fixed, st.integers(3_000, 10_000),
)  # fmt: skip
parties = st.builds(Parties, st.just("m1"), st.sampled_from(["", "c1"]), st.sampled_from(["", "g1"]))
paid = st.integers(1, 1_000_000_000)


@settings(max_examples=500, deadline=None)
@given(paid, rules, parties)
def test_legs_sum_to_the_paid_amount_or_halt(paid_fen: int, rule: SplitRule, who: Parties) -> None:
    """Either the legs sum exactly to the paid amount, each non-negative and within the cap, or the split halts."""
    try:
        legs = split_legs(paid_fen, rule, who)
    except SplitHalt as halt:
        assert halt.kind in ("legs_exceed_paid", "receiver_over_cap")
        return
    assert sum(leg.amount_fen for leg in legs) == paid_fen
    assert all(leg.amount_fen > 0 for leg in legs)
    for leg in legs:
        if not leg.receiver.startswith("merchant:"):
            assert leg.amount_fen * 10_000 <= paid_fen * rule.max_receiver_share_bp
    # Each percentage leg is within one fen of its exact share (largest remainder), before fixed fees.
    by = {leg.receiver: leg.amount_fen for leg in legs}
    exact = Fraction(paid_fen * rule.platform_commission.basis_points, 10_000)
    got = by.get("platform:tongcheng", 0) - rule.platform_commission.fixed_fen
    assert abs(got - exact) < 1


def test_one_fen_over_halts() -> None:
    """Fixed fees asking one fen more than was paid: the legs cannot sum to it, so the split halts."""
    rule = SplitRule("merchant:m1", Share(0, 500), Share(0, 500), max_receiver_share_bp=9_000)
    with pytest.raises(SplitHalt, match="1 fen over"):
        split_legs(999, rule, Parties("m1"))
    assert [leg.amount_fen for leg in split_legs(1_000, rule, Parties("m1"))] == [500, 500]  # merchant leg 0 left out


def test_tie_break_is_documented_rank() -> None:
    """Equal remainders go to the merchant first, then head office, platform, rider fleet, group leader."""
    ranks = [receiver_rank(r) for r in ("group_leader:g", "platform:p", "merchant:m")]
    # 1 fen over three equal weights: every remainder is equal, the merchant (rank 0) gets the fen.
    assert largest_remainder(1, [1, 1, 1], ranks) == [0, 0, 1]
    assert largest_remainder(2, [1, 1, 1], ranks) == [0, 1, 1]


@st.composite
def refund_sequences(draw: st.DrawFn) -> tuple[dict[str, int], list[int]]:
    n = draw(st.integers(1, 5))
    received = {
        f"{kind}:x": draw(st.integers(1, 100_000))
        for kind in list(("merchant", "platform", "rider", "group_leader", "head_office"))[:n]
    }
    total = sum(received.values())
    refunds = draw(st.lists(st.integers(1, total), max_size=8))
    out, left = [], total
    for r in refunds:
        if r <= left:
            out.append(r)
            left -= r
    if draw(st.booleans()) and left:
        out.append(left)  # often end with a full refund of the rest
    return received, out


@settings(max_examples=500, deadline=None)
@given(refund_sequences())
# Found by hypothesis: re-rounding the running total by largest remainder left head office 1.01 fen behind.
@example(({"merchant:x": 1452, "platform:x": 2339, "rider:x": 2689, "group_leader:x": 40768, "head_office:x": 40768},
          [1, 283, 1]))  # fmt: skip
def test_reversals_are_proportional_and_never_exceed_a_leg(case: tuple[dict[str, int], list[int]]) -> None:
    """Over any sequence of partial refunds: each reversal sums to its refund, no leg gives back more than it got,
    a full refund gives back every leg exactly, and every leg stays within a fen of its proportional share."""
    received, refunds = case
    total = sum(received.values())
    given_back: dict[str, int] = {}
    refunded = 0
    for amount in refunds:
        legs = refund_reversal(amount, received, given_back)
        assert sum(leg.amount_fen for leg in legs) == amount
        for leg in legs:
            given_back[leg.receiver] = given_back.get(leg.receiver, 0) + leg.amount_fen
            assert given_back[leg.receiver] <= received[leg.receiver]
        refunded += amount
        for r, got in received.items():
            assert abs(given_back.get(r, 0) - Fraction(refunded * got, total)) < 1
    if refunded == total:
        assert given_back == received
    with pytest.raises(ValueError):
        refund_reversal(total - refunded + 1, received, given_back)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 1_000_000),
    st.integers(0, 1_000_000),
    st.lists(st.integers(1, 1_000_000), min_size=1, max_size=6),
    st.booleans(),
)
def test_a_subsidy_goes_back_in_proportion_and_wholly_at_the_end(
    paid_fen: int, subsidy_fen: int, weights: list[int], refund_before_split: bool
) -> None:
    """Refunds in any pieces give the funder back, cumulatively, floor(subsidy x refunded / paid): never more than
    the split took of it, all of it once all is refunded (also when a first refund came before the split); each
    refund's legs then give back the refund plus that, within what the legs hold."""
    total = sum(weights)
    pieces = [paid_fen * w // total for w in weights]
    pieces[-1] += paid_fen - sum(pieces)
    pieces = [p for p in pieces if p > 0]
    refunded = 0
    if refund_before_split and len(pieces) > 1:
        refunded = pieces.pop(0)  # refunded while the split waited: the split takes only what is left of it
    taken = subsidy_kept_fen(subsidy_fen, paid_fen, refunded)
    base = paid_fen - refunded
    legs = {"merchant:m1": (base + taken) * 9 // 10, "platform:tongcheng": (base + taken) - (base + taken) * 9 // 10}
    reversed_: dict[str, int] = {}
    back_total = 0
    for piece in pieces:
        back = subsidy_back_fen(subsidy_fen, paid_fen, refunded, piece)
        assert back >= 0 and back_total + back <= taken
        legs_back = refund_reversal(piece + back, legs, reversed_)
        assert sum(leg.amount_fen for leg in legs_back) == piece + back
        for leg in legs_back:
            reversed_[leg.receiver] = reversed_.get(leg.receiver, 0) + leg.amount_fen
        back_total += back
        refunded += piece
    assert refunded == paid_fen and back_total == taken and reversed_ == {r: a for r, a in legs.items() if a}
