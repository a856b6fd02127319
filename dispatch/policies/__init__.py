"""Dispatch policies: one per module, all behind the `DispatchPolicy` protocol."""

from dispatch.policies.base import Candidate, Decision, DispatchBatch, DispatchPolicy, PendingOrder, estimate
from dispatch.policies.greedy import GreedyPolicy
from dispatch.policies.hungarian import HungarianPolicy

POLICIES: dict[str, type] = {GreedyPolicy.name: GreedyPolicy, HungarianPolicy.name: HungarianPolicy}


def make_policy(name: str) -> DispatchPolicy:
    try:
        return POLICIES[name]()  # type: ignore[no-any-return]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(POLICIES))})") from None


__all__ = [
    "POLICIES",
    "Candidate",
    "Decision",
    "DispatchBatch",
    "DispatchPolicy",
    "GreedyPolicy",
    "HungarianPolicy",
    "PendingOrder",
    "estimate",
    "make_policy",
]
