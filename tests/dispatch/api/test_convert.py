"""Proto <-> domain conversion, both ways (the server reads what Python clients such as replays write)."""

from __future__ import annotations

from dataclasses import replace

from core.geo import LatLng
from dispatch.api import convert
from dispatch.models import Availability, OrderRequest, OrderStatus, PositionFix, TaskAction
from serving.timestamps import ts_to_ms
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


def test_fix_to_pb_keeps_every_field_and_leaves_unknowns_unset() -> None:
    """Optional fields stay unset when the fix has none; availability and shift end carry over."""
    full = PositionFix("r1", 60.17, 24.94, 1_781_078_400_123, 4.5, 90.0, 8.0, Availability.BUSY, 1_781_082_000_000)
    msg = convert.fix_to_pb(full)
    assert (msg.rider_id, msg.position.lat, msg.position.lng) == ("r1", 60.17, 24.94)
    assert ts_to_ms(msg.recorded_at) == full.recorded_at_ms
    assert (msg.speed_mps, msg.heading_deg, msg.accuracy_m) == (4.5, 90.0, 8.0)
    assert convert.AVAILABILITY_FROM_PB[msg.availability] is Availability.BUSY
    assert ts_to_ms(msg.shift_ends_at) == full.shift_ends_at_ms
    bare = convert.fix_to_pb(PositionFix("r2", 60.0, 24.0, 1_781_078_400_000))
    assert not any(bare.HasField(f) for f in ("speed_mps", "heading_deg", "accuracy_m", "shift_ends_at"))


def test_orders_statuses_and_actions_round_trip() -> None:
    """An order written by a client reads back equal; every status and action maps back to itself."""
    order = OrderRequest("o1", "m1", LatLng(60.1, 24.9), LatLng(60.2, 24.8), 1_781_078_400_000, 3,
                         promised_at_ms=1_781_080_800_000, ready_at_hint_ms=1_781_079_000_000)  # fmt: skip
    assert convert.order_from_pb(convert.order_to_pb(order)) == order
    forecast = replace(order, ready_hint_sd_s=240.0)
    assert convert.order_from_pb(convert.order_to_pb(forecast)) == forecast
    assert all(convert.STATUS_FROM_PB[convert.STATUS_TO_PB[s]] is s for s in OrderStatus)
    assert all(convert.ACTION_FROM_PB[convert.ACTION_TO_PB[a]] is a for a in TaskAction)
    assert pb.TASK_ACTION_UNSPECIFIED not in convert.ACTION_TO_PB.values()
