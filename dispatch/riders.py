"""Riders in a city of several zones: each belongs to exactly one zone at a time, and changes zone only with
empty hands, so every assignment stays a single-slot transaction of one zone.

The hand-over of a rider from zone A to zone B, as the process receiving its positions runs it:

1. **Leave A** (`RiderIndex.depart`, one script in A's slot): refused while the rider holds or is offered
   work in A (it stays in A, its positions are stored there, A may keep offering it work — guidance may
   send an idle rider across a border, and a busy one finishes what it holds). Otherwise it drops out of
   A's index and a `~` in its task set makes every later offer of A's ticks fail (each assignment checks
   the task set is empty under WATCH), and A records the directory epoch it left at.
2. **Move the directory entry** (`Directory.move_rider`): a compare-and-set from (A, e) to (B, e+1). Of two
   processes moving the same rider (its app reconnected to another intake process), one wins; the other
   re-reads and starts over.
3. **Enter B** (`RiderIndex.ingest` in arrival mode): B takes it only under an epoch newer than the one
   it last left B at, so a process that won an old move and paused cannot bring it back into B after a
   newer move took it elsewhere.

So at every moment a rider can be offered work in at most one zone: the one it entered last and has not
left. A crash between the steps leaves it in no zone (safe: nobody offers it work) until its next
position, which finds it missing (`m`) and completes a move from wherever the directory says it is. A
process that routed a fix by a stale cache gets `m` from the zone the rider left and re-reads the
directory. A rider silent past the TTL drops out of its zone's index as before and enters again with
its next position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from core.geo import LatLng
from dispatch.directory import Directory
from dispatch.models import PositionFix
from dispatch.rider_index import RiderIndex
from dispatch.zones import Zoning

log = logging.getLogger("tongcheng.riders")

# A busy rider across a border is asked to leave its zone at most this often (each try is a script call).
RETRY_LEAVE_S = 5.0
# Riders moved at once within one batch of positions.
MOVE_CONCURRENCY = 32
# Tries of one move that lost races before the fix is given up as stale (the next fix tries again).
MOVE_TRIES = 4


class ZonedRiders:
    """Routes riders' positions to their zones' indexes and hands riders over between zones."""

    def __init__(
        self,
        zoning: Zoning,
        directory: Directory,
        index_of: Callable[[str], RiderIndex],
        on_move: Callable[[str, str], None] | None = None,
    ) -> None:
        self._zoning = zoning
        self._directory = directory
        self._index_of = index_of
        self._on_move = on_move
        self._zone_of: dict[str, tuple[str, int]] = {}  # this process's cache of the directory
        self._leave_tried: dict[str, int] = {}  # rider -> when (clock ms) it last could not leave its zone
        self.moves = 0

    def cached_zone(self, rider_id: str) -> str | None:
        entry = self._zone_of.get(rider_id)
        return entry[0] if entry else None

    async def zone_of_rider(self, rider_id: str) -> str | None:
        """The rider's zone per the directory (refreshing this process's cache), None if never seen."""
        entry = await self._directory.rider_zone(rider_id)
        if entry is None:
            self._zone_of.pop(rider_id, None)
            return None
        self._zone_of[rider_id] = entry
        return entry[0]

    async def ingest(self, fixes: Sequence[PositionFix], now_ms: int) -> str:
        """Stores fixes in their riders' zones; one flag per fix, as `RiderIndex.ingest`."""
        flags = ["s"] * len(fixes)
        unknown = sorted({f.rider_id for f in fixes if f.rider_id not in self._zone_of})
        if unknown:
            for rid, entry in zip(unknown, await self._directory.rider_zones(unknown), strict=True):
                if entry is not None:
                    self._zone_of[rid] = entry
        by_zone: dict[str, list[int]] = {}
        latest: dict[str, int] = {}
        of_rider: dict[str, list[int]] = {}
        for i, f in enumerate(fixes):
            of_rider.setdefault(f.rider_id, []).append(i)
            j = latest.get(f.rider_id)
            if j is None or f.recorded_at_ms >= fixes[j].recorded_at_ms:
                latest[f.rider_id] = i
            entry = self._zone_of.get(f.rider_id)
            if entry is not None:
                by_zone.setdefault(entry[0], []).append(i)
        to_move: set[str] = set()
        newcomers = [rid for rid in of_rider if rid not in self._zone_of]
        if newcomers:
            await self._first_arrivals(newcomers, fixes, of_rider, latest, flags, now_ms)
            to_move.update(rid for rid in newcomers if rid not in self._zone_of)  # lost a race: the slow path

        async def write(zone: str, idx: list[int]) -> None:
            zone_flags = await self._index_of(zone).ingest([fixes[i] for i in idx], now_ms, mode="s")
            for i, flag in zip(idx, zone_flags, strict=True):
                flags[i] = flag
                if flag == "m":
                    to_move.add(fixes[i].rider_id)

        await asyncio.gather(*(write(z, idx) for z, idx in by_zone.items()))
        for rid, i in latest.items():
            f = fixes[i]
            entry = self._zone_of.get(rid)
            if rid in to_move or entry is None or flags[i] != "a":
                continue
            if (
                self._zoning.zone_of(LatLng(f.lat, f.lng)) != entry[0]
                and now_ms - self._leave_tried.get(rid, 0) > RETRY_LEAVE_S * 1000
            ):
                to_move.add(rid)  # across a border: leaves its zone if its hands are empty
        limiter = asyncio.Semaphore(MOVE_CONCURRENCY)

        async def move(rid: str) -> None:
            # The rider's fixes not stored yet, oldest first (as one zone's script would take them); if all are
            # stored (a rider crossing a border), its latest is written again in the zone it enters.
            mine = sorted((j for j in of_rider[rid] if flags[j] != "a"), key=lambda j: fixes[j].recorded_at_ms)
            async with limiter:
                try:
                    got = await self._move([fixes[j] for j in mine] or [fixes[latest[rid]]], fixes[latest[rid]], now_ms)
                except Exception as exc:  # the fixes are reported stale; the rider's next fix tries again
                    log.warning("moving rider %s failed: %s", rid, exc)
                    got = ["s"] * len(mine)
            for j, flag in zip(mine, got, strict=False):
                flags[j] = "s" if flag in ("m", "x") else flag

        await asyncio.gather(*(move(rid) for rid in to_move))
        return "".join(flags)

    async def _first_arrivals(
        self,
        riders: list[str],
        fixes: Sequence[PositionFix],
        of_rider: dict[str, list[int]],
        latest: dict[str, int],
        flags: list[str],
        now_ms: int,
    ) -> None:
        """Riders the directory has never seen enter the zones of their latest fixes, in bulk: one pipeline of
        directory compare-and-sets (from no entry), then one arrival write per zone (epoch 1 for all). A rider
        another process placed meanwhile is left out (not cached), for the one-by-one path."""
        zones = {rid: self._zoning.zone_of(LatLng(fixes[latest[rid]].lat, fixes[latest[rid]].lng)) for rid in riders}
        epochs = await self._directory.place_riders(zones)
        by_zone: dict[str, list[int]] = {}
        for rid, epoch in epochs.items():
            if epoch == 1:
                by_zone.setdefault(zones[rid], []).extend(sorted(of_rider[rid], key=lambda j: fixes[j].recorded_at_ms))

        async def enter(zone: str, idx: list[int]) -> None:
            got = await self._index_of(zone).ingest([fixes[j] for j in idx], now_ms, mode="a1")
            for j, flag in zip(idx, got, strict=True):
                flags[j] = flag
            for rid in {fixes[j].rider_id for j, flag in zip(idx, got, strict=True) if flag != "x"}:
                self._zone_of[rid] = (zone, 1)
                self.moves += 1

        await asyncio.gather(*(enter(z, idx) for z, idx in by_zone.items()))

    async def _move(self, write: list[PositionFix], latest: PositionFix, now_ms: int) -> list[str]:
        """Puts the rider in the zone of its `latest` fix (or keeps it where it holds work) and stores `write`
        there; their flags."""
        rid = latest.rider_id
        target = self._zoning.zone_of(LatLng(latest.lat, latest.lng))
        for _ in range(MOVE_TRIES):
            entry = await self._directory.rider_zone(rid)
            zone = target
            if entry is not None:
                here, epoch = entry
                if here != target and not await self._index_of(here).depart(rid, epoch):
                    # It holds work in its zone: it stays there until its hands are empty.
                    self._zone_of[rid] = entry
                    self._leave_tried[rid] = now_ms
                    flags = await self._index_of(here).ingest(write, now_ms, mode="s")
                    if "m" not in flags:
                        return list(flags)
                    zone = here  # missing from it (silent past the TTL): enters it again
            new_epoch = await self._directory.move_rider(rid, entry, zone)
            if not new_epoch:
                continue  # another process moved it first: start over from the directory
            flags = await self._index_of(zone).ingest(write, now_ms, mode=f"a{new_epoch}")
            if "x" in flags:
                continue
            self._zone_of[rid] = (zone, new_epoch)
            self._leave_tried.pop(rid, None)
            if entry is None or entry[0] != zone:
                self.moves += 1
                if self._on_move is not None:
                    self._on_move(rid, zone)
            return list(flags)
        return ["s"] * len(write)
