"""The dispatch engine: rider index, order flow, batch decisions. No gRPC below `dispatch.api`."""

from core.geo import City
from dispatch.bundles import BundleConfig
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher, TickReport
from dispatch.guidance import GuidanceConfig
from dispatch.models import (
    Availability,
    IngestResult,
    LatLng,
    NearbyRider,
    OrderEvent,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    PositionFix,
    TaskAction,
    TaskEvent,
    TaskEventType,
)
from dispatch.policies import DEFAULT_POLICY, DispatchPolicy, make_policy
from dispatch.prep import PrepEstimate, PrepModel
from dispatch.rider_index import RiderIndex
from dispatch.travel import LiveTraffic, StraightLineOracle, TravelTimeOracle

__all__ = [
    "DEFAULT_POLICY",
    "Availability",
    "BundleConfig",
    "City",
    "DispatchConfig",
    "DispatchPolicy",
    "Dispatcher",
    "GuidanceConfig",
    "IngestResult",
    "LatLng",
    "LiveTraffic",
    "NearbyRider",
    "OrderEvent",
    "OrderRecord",
    "OrderRequest",
    "OrderStatus",
    "PositionFix",
    "PrepEstimate",
    "PrepModel",
    "RiderIndex",
    "StraightLineOracle",
    "TaskAction",
    "TaskEvent",
    "TaskEventType",
    "TickReport",
    "TravelTimeOracle",
    "make_policy",
]
