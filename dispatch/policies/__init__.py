"""Dispatch policies: one per module, all behind the `DispatchPolicy` protocol."""

from dispatch.policies.base import (
    BundleOption,
    Candidate,
    Decision,
    DispatchBatch,
    DispatchPolicy,
    PendingOrder,
    Stop,
    estimate,
    plan_route,
)
from dispatch.policies.greedy import GreedyPolicy
from dispatch.policies.hungarian import HungarianPolicy
from dispatch.policies.optimiser import OptimiserConfig, OptimiserPolicy, OptimiserWeights
from dispatch.policies.rolling import RollingPolicy

POLICIES: dict[str, type] = {
    GreedyPolicy.name: GreedyPolicy,
    HungarianPolicy.name: HungarianPolicy,
    OptimiserPolicy.name: OptimiserPolicy,
    RollingPolicy.name: RollingPolicy,
}
# The server's and the replays' policy.
DEFAULT_POLICY = OptimiserPolicy.name


def make_policy(name: str) -> DispatchPolicy:
    try:
        return POLICIES[name]()  # type: ignore[no-any-return]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(POLICIES))})") from None


__all__ = [
    "DEFAULT_POLICY",
    "POLICIES",
    "BundleOption",
    "Candidate",
    "Decision",
    "DispatchBatch",
    "DispatchPolicy",
    "GreedyPolicy",
    "HungarianPolicy",
    "OptimiserConfig",
    "OptimiserPolicy",
    "OptimiserWeights",
    "PendingOrder",
    "RollingPolicy",
    "Stop",
    "estimate",
    "make_policy",
    "plan_route",
]
