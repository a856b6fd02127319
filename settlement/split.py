"""The split arithmetic: an order's legs from a rule, and a refund's reversal from the legs. Pure, integer fen.

Rounding is the largest-remainder (Hamilton) method: every receiver first gets the floor of its exact
share, then the fen left over go one each to the largest fractional remainders. Ties are broken by
a fixed receiver rank — merchant, head office, platform, rider fleet, group leader — so the same
inputs always give the same legs (the tie-break favours the merchant, who carries the order's risk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from settlement.rules import BASIS_POINTS, PLATFORM_ID, SplitRule

# Tie-break rank of receiver kinds (lower first).
RANK = {"merchant": 0, "head_office": 1, "platform": 2, "rider": 3, "group_leader": 4}


@dataclass(frozen=True)
class Parties:
    """Who an order's money can go to."""

    merchant_id: str
    chain_id: str = ""
    group_leader_id: str = ""
    # Fen of a quoted busy-area (surge) fee that the delivery quote gives riders (issue 21): moved from the
    # merchant's leg to the rider fleet's, like a fixed fee.
    rider_surge_fen: int = 0
    # False for an order nobody delivers (a booking's payment, issue 20): no rider leg.
    delivered: bool = True


@dataclass(frozen=True)
class LegAmount:
    """One receiver's part of one posting (positive for a split, the amount given back for a refund)."""

    receiver: str
    amount_fen: int


class SplitHalt(Exception):
    """The rule cannot be applied to this order: the legs would not sum to the paid amount or a leg
    would break the cap. Nothing may be posted; the caller raises an alert."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def receiver_rank(receiver: str) -> tuple[int, str]:
    kind, _, _ = receiver.partition(":")
    return RANK.get(kind, len(RANK)), receiver


def largest_remainder(total_fen: int, weights: Sequence[int], ranks: Sequence[tuple[int, str]]) -> list[int]:
    """Splits total_fen in proportion to integer weights: floors first, then one fen each to the largest
    remainders, ties by rank. The parts sum to total_fen exactly."""
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must sum to a positive number")
    quotas = [total_fen * w for w in weights]
    parts = [q // weight_sum for q in quotas]
    remainders = [q % weight_sum for q in quotas]
    left = total_fen - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], ranks[i]))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split_legs(paid_fen: int, rule: SplitRule, parties: Parties) -> list[LegAmount]:
    """The legs of an order paid `paid_fen` under `rule`, merchant first; zero legs are left out.

    Percentages are of the paid amount (largest remainder); fixed fees then move from the merchant to
    their receivers. Raises SplitHalt when the merchant's leg would go negative (the rule asks more
    than was paid) or a receiver would get more than the rule's cap.
    """
    shares: list[tuple[str, int, int]] = [
        (f"platform:{PLATFORM_ID}", rule.platform_commission.basis_points, rule.platform_commission.fixed_fen),
    ]
    if parties.delivered:
        r = rule.rider_delivery_fee
        shares.append((f"rider:{rule.rider_fleet_id}", r.basis_points, r.fixed_fen))
    if parties.group_leader_id:
        g = rule.group_leader_commission
        shares.append((f"group_leader:{parties.group_leader_id}", g.basis_points, g.fixed_fen))
    if parties.chain_id:
        h = rule.head_office_share
        shares.append((f"head_office:{parties.chain_id}", h.basis_points, h.fixed_fen))
    merchant = f"merchant:{parties.merchant_id}"
    receivers = [merchant] + [s[0] for s in shares]
    weights = [BASIS_POINTS - sum(s[1] for s in shares)] + [s[1] for s in shares]
    parts = largest_remainder(paid_fen, weights, [receiver_rank(r) for r in receivers])
    for i, (_, _, fixed) in enumerate(shares, start=1):
        parts[i] += fixed
        parts[0] -= fixed
    if parties.delivered and parties.rider_surge_fen:
        parts[2] += parties.rider_surge_fen  # the rider fleet's leg (shares[1]: there only when delivered)
        parts[0] -= parties.rider_surge_fen
    if parts[0] < 0:
        demanded = paid_fen - parts[0]
        raise SplitHalt(
            "legs_exceed_paid",
            f"rule {rule.name} asks {demanded} fen of an order paid {paid_fen} fen: the legs cannot sum to the "
            f"paid amount ({-parts[0]} fen over)",
        )
    for receiver, amount in zip(receivers[1:], parts[1:], strict=True):
        if amount * BASIS_POINTS > paid_fen * rule.max_receiver_share_bp:
            raise SplitHalt(
                "receiver_over_cap",
                f"rule {rule.name} gives {receiver} {amount} fen of {paid_fen} fen, over the cap of "
                f"{rule.max_receiver_share_bp} bp",
            )
    return [LegAmount(r, a) for r, a in zip(receivers, parts, strict=True) if a > 0]


def refund_reversal(refund_fen: int, received: dict[str, int], reversed_: dict[str, int]) -> list[LegAmount]:
    """What each leg gives back for a refund of refund_fen, in proportion to what it received.

    Proportion is kept cumulatively. With T the total given back after this refund, each leg first gives
    back up to its lower quota, floor(T x received / split total) (never less than before: reversals are
    never taken back). The few fen left (fewer than the legs) go one at a time by the rule of the quota
    method of Balinski and Young (1975): among the legs still within their upper quota after one more fen,
    the one with the largest received / (given back + 1), ties by rank. Favouring the large legs for
    the odd fen is what keeps every small leg from running ahead of its share, so that a later refund
    can still bring every leg to within a fen of its exact share (re-rounding by largest remainder, the
    earlier rule here, left a leg 1.01 fen behind after three refunds: hypothesis found it). A full
    refund gives back every leg exactly; the reversal sums to refund_fen. Raises ValueError if
    refund_fen exceeds what the legs still hold.
    """
    receivers = sorted(received, key=receiver_rank)
    before = [reversed_.get(r, 0) for r in receivers]
    got = [received[r] for r in receivers]
    room = sum(g - a for g, a in zip(got, before, strict=True))
    if refund_fen > room:
        raise ValueError(f"refund of {refund_fen} fen exceeds the {room} fen the legs still hold")
    total = sum(got)
    after = sum(before) + refund_fen
    given = [min(g, max(a, g * after // total)) for g, a in zip(got, before, strict=True)]
    legs = range(len(receivers))
    cumulative = sum(given)
    while cumulative < after:
        cumulative += 1
        best = -1
        for r in legs:
            if given[r] < got[r] and given[r] * total < got[r] * after:  # stays within its upper quota
                if best < 0 or got[r] * (given[best] + 1) > got[best] * (given[r] + 1):
                    best = r
        if best < 0:  # no leg below its exact share can take it: the one furthest below, with room
            best = max((r for r in legs if given[r] < got[r]), key=lambda r: got[r] * after - given[r] * total)
        given[best] += 1
    while cumulative > after:  # earlier reversals hold some legs above their floor: the largest surplus yields
        cumulative -= 1
        best = max((r for r in legs if given[r] > before[r]), key=lambda r: given[r] * total - got[r] * after)
        given[best] -= 1
    return [LegAmount(r, given[k] - before[k]) for k, r in enumerate(receivers) if given[k] > before[k]]


# Subsidies -------------------------------------------------------------------------------------------
#
# A discount someone other than the merchant funds (a platform- or partner-funded coupon) is a subsidy: the
# split adds it back to the base its legs are computed on (so the merchant's share is not cut) and the funder
# pays it, as an entry of its own (cause SUBSIDY); the legs then sum to paid + subsidy and the order's entries
# still sum to what the customer paid. Refunds give the subsidy back in proportion to the paid amount
# refunded, cumulatively rounded down, so a full refund gives back exactly all of it.

SUBSIDY = "subsidy"
SUBSIDY_REFUND = "subsidy_refund"  # the cause of a refund's give-back: "subsidy_refund:<refund key>"


def subsidy_kept_fen(subsidy_fen: int, paid_fen: int, refunded_fen: int) -> int:
    """What a subsidy still funds of an order paid paid_fen of which refunded_fen went back."""
    return subsidy_fen - subsidy_fen * refunded_fen // paid_fen


def subsidy_back_fen(subsidy_fen: int, paid_fen: int, refunded_fen: int, refund_fen: int) -> int:
    """What a refund of refund_fen (after refunded_fen already) gives back to the subsidy's funder."""
    return subsidy_fen * (refunded_fen + refund_fen) // paid_fen - subsidy_fen * refunded_fen // paid_fen


def is_subsidy(cause: str) -> bool:
    """Whether an entry's cause is a subsidy or its give-back."""
    return cause == SUBSIDY or cause.startswith(f"{SUBSIDY_REFUND}:")
