"""Dispatch policies: one per module, all behind the `DispatchPolicy` protocol."""

from dispatch.policies.base import Candidate, Decision, DispatchBatch, DispatchPolicy, PendingOrder
from dispatch.policies.nearest import NearestAvailablePolicy

POLICIES: dict[str, type] = {NearestAvailablePolicy.name: NearestAvailablePolicy}


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
    "NearestAvailablePolicy",
    "PendingOrder",
    "make_policy",
]
