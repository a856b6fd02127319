"""Slots of a resource from its weekly schedule, exact across DST.

Slots start at each period's start and every `slot_minutes` of wall-clock time after it, while the slot
fits in the period; each lasts `slot_minutes` of real time. A wall time in the night's DST gap (Helsinki,
2026-03-29 03:00-04:00) names no instant, so it gives no slot; one in the overlap (Helsinki, 2026-10-25
03:00-04:00) names two instants, so it gives two slots an hour apart. Nothing is computed with fixed UTC
offsets: every instant comes from the zone's rules (`core.schedule.local_instants`), the cause of the slot
errors Cal.com's users reported (#1092, #6217, #10517, #12137).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bookings.models import Resource, Slot
from core.zones import load_zone


def slots_between(resource: Resource, first: dt.date, last: dt.date) -> Iterator[Slot]:
    """Every slot of the local dates first..last, in time order."""
    schedule = resource.schedule
    length_ms = resource.slot_minutes * 60_000
    day = first
    while day <= last:
        found: list[Slot] = []
        for period in schedule.periods_on(day):
            minute = period.start_minute
            while minute + resource.slot_minutes <= period.end_minute:
                for start_ms in schedule.local_instants(day, minute):
                    found.append(Slot(resource.resource_id, start_ms, start_ms + length_ms, day, minute))
                minute += resource.slot_minutes
        yield from sorted(found, key=lambda s: s.start_ms)
        day += dt.timedelta(days=1)


def slot_at(resource: Resource, start_ms: int) -> Slot | None:
    """The resource's slot starting at the instant, if there is one."""
    local = dt.datetime.fromtimestamp(start_ms / 1000, load_zone(resource.time_zone)).date()
    for slot in slots_between(resource, local, local):
        if slot.start_ms == start_ms:
            return slot
    return None
