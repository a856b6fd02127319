"""A zone's demand forecast in Redis: orders counted per H3 cell and per merchant as they arrive, read back
as expected orders per 15-minute slot (`forecast.model` has the arithmetic and why)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import h3
import redis.asyncio as aioredis

from core.geo import LatLng
from forecast.model import ForecastConfig, Profile, hour_bins, profile_value
from forecast.slots import SLOT_MS, SLOTS_PER_DAY, Slot, slot_at, slots_from

__all__ = ["CELLS", "MERCHANTS", "ZONE", "DemandForecast", "ForecastKeys", "PlacedOrder", "UnitForecast"]

# Families of units: H3 cells of the counter, and merchants. The zone's total is the unit "*" of cells.
CELLS = "c"
MERCHANTS = "m"
ZONE = "*"
# Without a week of history, a unit's forecast is its rate over this many complete slots (the last hour).
RATE_SLOTS = 4
# Orders per record script call: each is 8 arguments and a few writes, so a call stays well under a
# millisecond of Redis time however long the list recorded.
RECORD_BATCH = 1_000
# Day types of the hour shares: Monday to Friday, and the weekend.
WEEKDAY, WEEKEND = "wd", "we"


def day_type(s: Slot) -> str:
    return WEEKEND if s.of_week >= 5 * SLOTS_PER_DAY else WEEKDAY


class ForecastKeys:
    """Keys of one zone's forecast, under the zone's hash tag (`tc:{zone}:fc:…`)."""

    def __init__(self, zone: str) -> None:
        self.prefix = f"tc:{{{zone}}}:"

    def profile(self, family: str, of_week: int) -> str:
        """Hash: unit -> "mean|week|count" for one slot of the week."""
        return f"{self.prefix}fc:{family}:{of_week}"

    def hourly(self, family: str, day_type: str, hour: int) -> str:
        """Hash: unit -> "decayed orders|at ms" placed in this hour of the day on days of this type (`wd`
        Monday-Friday, `we` the weekend): its share of the zone at that hour."""
        return f"{self.prefix}fc:{family}:h:{day_type}:{hour}"

    def totals(self, family: str) -> str:
        """Hash: unit -> "decayed orders|at ms|lat|lng" (its share of the zone; the latest counter)."""
        return f"{self.prefix}fc:{family}:tot"

    @property
    def meta(self) -> str:
        """Hash: start_week (the first week counted)."""
        return f"{self.prefix}fc:meta"

    @property
    def seen(self) -> str:
        """Sorted set: order id -> placement ms, the orders counted (idempotency), trimmed to `seen_s`."""
        return f"{self.prefix}fc:seen"


# KEYS[1] = the zone's prefix (routes the script to the zone's slot; keys are built from it).
# ARGV: alpha, max_units, now_ms, half_life_ms, seen_ms, then per order 8 values:
#   order id, placed ms, week, slot of week, cell, merchant, "lat|lng" of the counter, "day type:hour".
# Nothing to check: the caller validated every value, so no write is ever followed by a refusal.
_RECORD_LUA = """
local p = KEYS[1]
local alpha, max_units = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, half, seen_ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local counted = 0
local function bump(key, unit, week)
  local raw = redis.call('HGET', key, unit)
  local mean, w, c = 0, week, 0
  if raw then
    local a, b, d = string.match(raw, '^([^|]+)|([^|]+)|([^|]+)$')
    mean, w, c = tonumber(a), tonumber(b), tonumber(d)
    if week > w then
      mean = ((1 - alpha) * mean + alpha * c) * (1 - alpha) ^ (week - w - 1)
      w, c = week, 0
    elseif week < w then
      return  -- an order of a week already folded: it counts in the shares only
    end
  end
  redis.call('HSET', key, unit, string.format('%.17g|%d|%d', mean, w, c + 1))
end
-- A decayed count "v|t|..." plus one order at `at`, as of the later of t and at.
local function plus_one(raw, at)
  local v, t = 0, at
  if raw then
    local a, b = string.match(raw, '^([^|]+)|([^|]+)')
    v, t = tonumber(a), tonumber(b)
  end
  if at >= t then
    return v * 0.5 ^ ((at - t) / half) + 1, at
  end
  return v + 0.5 ^ ((t - at) / half), t  -- a late order: its weight as of the stored time
end
local function total(key, unit, at, place)
  local raw = redis.call('HGET', key, unit)
  if not raw and unit ~= '*' and redis.call('HLEN', key) > max_units then
    return false
  end
  local v, t = plus_one(raw, at)
  redis.call('HSET', key, unit, string.format('%.17g|%d|%s', v, t, place))
  return true
end
local function hourly(key, unit, at)
  local v, t = plus_one(redis.call('HGET', key, unit), at)
  redis.call('HSET', key, unit, string.format('%.17g|%d', v, t))
end
redis.call('ZREMRANGEBYSCORE', p .. 'fc:seen', '-inf', '(' .. (now - seen_ms))
for i = 6, #ARGV, 8 do
  local at, week = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local of_week, cell, merchant, place = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local hour = ARGV[i + 7]
  if redis.call('ZADD', p .. 'fc:seen', 'NX', at, ARGV[i]) == 1 then
    counted = counted + 1
    redis.call('HSETNX', p .. 'fc:meta', 'start_week', week)
    total(p .. 'fc:c:tot', '*', at, place)
    bump(p .. 'fc:c:' .. of_week, '*', week)
    hourly(p .. 'fc:c:h:' .. hour, '*', at)
    if total(p .. 'fc:c:tot', cell, at, place) then
      bump(p .. 'fc:c:' .. of_week, cell, week)
      hourly(p .. 'fc:c:h:' .. hour, cell, at)
    end
    if total(p .. 'fc:m:tot', merchant, at, place) then
      bump(p .. 'fc:m:' .. of_week, merchant, week)
      hourly(p .. 'fc:m:h:' .. hour, merchant, at)
    end
  end
end
return counted
"""


@dataclass(frozen=True)
class PlacedOrder:
    """An order as the forecast counts it: when, at which counter, of which merchant."""

    order_id: str
    merchant_id: str
    pickup: LatLng
    placed_at_ms: int


@dataclass(frozen=True)
class UnitForecast:
    """Expected orders of one unit (an H3 cell or a merchant) per slot, from `slots[0]`; `place` is the
    unit's latest counter (a real place on the road network)."""

    unit: str
    expected: tuple[float, ...]
    place: LatLng | None

    @property
    def total(self) -> float:
        return sum(self.expected)


class DemandForecast:
    """Learns a zone's demand from its orders and forecasts it per cell or merchant and 15-minute slot."""

    def __init__(
        self, client: aioredis.Redis, zone: str, config: ForecastConfig | None = None, tz: ZoneInfo | None = None
    ) -> None:
        self.client = client
        self.keys = ForecastKeys(zone)
        self.config = config or ForecastConfig()
        self.tz = tz or ZoneInfo("UTC")
        self._record = client.register_script(_RECORD_LUA)

    def cell_of(self, point: LatLng) -> str:
        return h3.latlng_to_cell(point.lat, point.lng, self.config.resolution)

    async def record(self, orders: Sequence[PlacedOrder], now_ms: int) -> int:
        """Counts orders at their counters' cells and their merchants (once per order id); returns how many
        were new. One script call per RECORD_BATCH orders (a backfill of weeks is many calls, each short)."""
        cfg = self.config
        head: list[object] = [cfg.alpha, cfg.max_units, now_ms, round(cfg.share_half_life_s * 1000),
                              round(cfg.seen_s * 1000)]  # fmt: skip
        seen: set[str] = set()
        unique = []  # the first of each id, in the order given
        for o in orders:
            if o.order_id not in seen:
                seen.add(o.order_id)
                unique.append(o)
        counted = 0
        for k in range(0, len(unique), RECORD_BATCH):
            args = list(head)
            for o in unique[k : k + RECORD_BATCH]:
                s = slot_at(o.placed_at_ms, self.tz)
                args += [o.order_id, o.placed_at_ms, s.week, s.of_week, self.cell_of(o.pickup), o.merchant_id,
                         f"{o.pickup.lat!r}|{o.pickup.lng!r}", f"{day_type(s)}:{s.of_week % SLOTS_PER_DAY // 4}"]  # fmt: skip
            counted += int(await self._record(keys=[self.keys.prefix], args=args))
        return counted

    async def cells(self, from_ms: int, slots: int = 1, resolution: int | None = None) -> list[UnitForecast]:
        """Expected orders of every cell with orders on record, per slot from the slot holding `from_ms`
        (at `resolution`, coarser than the stored one: the sums of the children)."""
        got = await self._forecast(CELLS, None, from_ms, slots)
        res = self.config.resolution if resolution is None else resolution
        if res >= self.config.resolution:
            return got
        merged: dict[str, tuple[list[float], LatLng | None, float]] = {}
        for f in got:
            parent = h3.cell_to_parent(f.unit, res)
            sums, place, best = merged.get(parent, ([0.0] * slots, None, -1.0))
            sums = [a + b for a, b in zip(sums, f.expected, strict=True)]
            # The parent's place: the counter of its busiest child.
            if f.total > best:
                place, best = f.place, f.total
            merged[parent] = (sums, place, best)
        return [UnitForecast(c, tuple(v), p) for c, (v, p, _) in sorted(merged.items())]

    async def merchants(self, merchant_ids: Sequence[str], from_ms: int, slots: int = 1) -> list[UnitForecast]:
        """Expected orders of the merchants per slot from the slot holding `from_ms`."""
        return await self._forecast(MERCHANTS, list(merchant_ids), from_ms, slots)

    async def expected_orders(self, cell: str, at_ms: int) -> float:
        """Expected orders in `cell` (at the forecast's resolution or coarser) in the 15-minute slot holding
        `at_ms`: what pricing reads as expected demand."""
        res = h3.get_resolution(cell)
        return sum(f.total for f in await self.cells(at_ms, 1, res) if f.unit == cell)

    async def busiest_counters(self, now_ms: int, resolution: int) -> dict[str, LatLng]:
        """Per H3 cell at `resolution`, the counter of the merchant with the most (decayed) orders in it: where
        riders waiting for the cell's orders are best placed."""
        raw = await self.client.hgetall(self.keys.totals(MERCHANTS))
        best: dict[str, tuple[float, LatLng]] = {}
        for value in raw.values():
            _, _, lat, lng = value.split("|")
            at = LatLng(float(lat), float(lng))
            weight = _decayed(value, now_ms, self.config.share_half_life_s)
            cell = h3.latlng_to_cell(at.lat, at.lng, resolution)
            if cell not in best or weight > best[cell][0]:
                best[cell] = (weight, at)
        return {cell: at for cell, (_, at) in best.items()}

    async def zone(self, from_ms: int, slots: int = 1) -> tuple[float, ...]:
        got = await self._forecast(CELLS, [ZONE], from_ms, slots)
        return got[0].expected if got else tuple(0.0 for _ in range(slots))

    async def _forecast(self, family: str, units: list[str] | None, from_ms: int, count: int) -> list[UnitForecast]:
        cfg = self.config
        ahead = slots_from(from_ms, self.tz, count)
        past = [slot_at(ahead[0].start_ms - k * SLOT_MS, self.tz) for k in range(cfg.level_slots, 0, -1)]
        # Each slot is smoothed with its neighbours: read every slot of week from the first past one's
        # previous to the last ahead one's next.
        needed = [slot_at(past[0].start_ms - SLOT_MS, self.tz), *past, *ahead, slot_at(ahead[-1].end_ms, self.tz)]
        of_weeks = sorted({s.of_week for s in needed})
        fields = None if units is None else sorted({*units, ZONE})
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.keys.meta, "start_week")
        for family_of in (family, CELLS) if family != CELLS else (family,):
            if fields is None:
                pipe.hgetall(self.keys.totals(family_of))
            else:
                pipe.hmget(self.keys.totals(family_of), fields)
        for w in of_weeks:
            if fields is None:
                pipe.hgetall(self.keys.profile(family, w))
            else:
                pipe.hmget(self.keys.profile(family, w), fields)
        if family != CELLS:
            for w in of_weeks:
                pipe.hget(self.keys.profile(CELLS, w), ZONE)
        # The hours of the day the shares of the past and ahead slots are read from, of both day types.
        hours = sorted({(t, h) for s in (*past, *ahead) for h, _ in hour_bins(s.of_week % SLOTS_PER_DAY)
                        for t in (WEEKDAY, WEEKEND)})  # fmt: skip
        for t, h in hours:
            if fields is None:
                pipe.hgetall(self.keys.hourly(family, t, h))
            else:
                pipe.hmget(self.keys.hourly(family, t, h), fields)
        if family != CELLS:
            for t, h in hours:
                pipe.hget(self.keys.hourly(CELLS, t, h), ZONE)
        replies = await pipe.execute()
        start_raw, replies = replies[0], replies[1:]
        if start_raw is None:
            return []
        start_week = int(start_raw)
        as_dict = (lambda r: r) if fields is None else (lambda r: {f: v for f, v in zip(fields, r, strict=True) if v})
        totals = as_dict(replies[0])
        zone_total_raw = totals.get(ZONE)
        if family != CELLS:
            zone_totals = replies[1]
            zone_total_raw = zone_totals.get(ZONE) if fields is None else zone_totals[fields.index(ZONE)]
            replies = replies[2:]
        else:
            replies = replies[1:]
        profiles = {w: as_dict(r) for w, r in zip(of_weeks, replies[: len(of_weeks)], strict=True)}
        replies = replies[len(of_weeks) :]
        if family != CELLS:
            for w, raw in zip(of_weeks, replies[: len(of_weeks)], strict=True):
                if raw:
                    profiles[w][ZONE] = raw
            replies = replies[len(of_weeks) :]
        hourly = {th: as_dict(r) for th, r in zip(hours, replies[: len(hours)], strict=True)}
        if family != CELLS:
            for th, raw in zip(hours, replies[len(hours) :], strict=True):
                if raw:
                    hourly[th][ZONE] = raw
        zone_share_total = _decayed(zone_total_raw, from_ms, cfg.share_half_life_s) if zone_total_raw else 0.0
        if units is None:
            wanted = [u for u in totals if u != ZONE]
        else:
            wanted = [u for u in units if u != ZONE or family == CELLS]
        ctx = _Context(self, profiles, hourly, start_week, past, ahead, from_ms)
        return [self._unit(u, family, totals.get(u), ctx, zone_share_total, from_ms) for u in sorted(wanted)]

    def _unit(
        self, unit: str, family: str, total_raw: str | None, ctx: _Context, zone_share_total: float, now_ms: int
    ) -> UnitForecast:
        cfg = self.config
        is_zone = unit == ZONE and family == CELLS
        if is_zone:
            share = 1.0
        elif total_raw and zone_share_total > 0:
            share = _decayed(total_raw, now_ms, cfg.share_half_life_s) / zone_share_total
        else:
            share = 0.0

        def seasonal(s: Slot) -> float | None:
            own = [ctx.value(unit, x) for x in ctx.around[s.start_ms]]
            if own[1] is None:
                return None
            if is_zone:
                return _smooth(own)
            seen = min(s.week - ctx.start_week, cfg.effective_weeks)
            prior = ctx.hour_share(unit, s, share) * ctx.zone[s.start_ms]  # type: ignore[operator]
            return (seen * _smooth(own) + cfg.prior_weeks * prior) / (seen + cfg.prior_weeks)

        # The last hour: this unit's and the zone's orders against their forecasts.
        counts = [ctx.actual(unit, s) for s in ctx.past]
        a_unit = sum(w * a for w, a in zip(ctx.weights, counts, strict=True))
        level = 1.0
        if ctx.zone_level is not None:
            if is_zone:
                level = ctx.zone_level
            else:
                f_unit = sum(w * (seasonal(s) or 0.0) for w, s in zip(ctx.weights, ctx.past, strict=True))
                b = cfg.unit_level_prior_orders
                level = _clamp((a_unit + b * ctx.zone_level) / (f_unit + b), cfg.level_cap)
        expected = []
        for k, s in enumerate(ctx.ahead):
            base = seasonal(s)
            # No week seen yet: the last hour's rate.
            rate = sum(counts[-RATE_SLOTS:]) / RATE_SLOTS
            expected.append(rate if base is None else base * level ** (cfg.level_fade**k))
        place = None
        if total_raw:
            parts = total_raw.split("|")
            place = LatLng(float(parts[2]), float(parts[3]))
        return UnitForecast(unit, tuple(expected), place)


class _Context:
    """What every unit of one forecast shares: the slots, their neighbours, the zone's profile and level."""

    def __init__(self, fc: DemandForecast, profiles: dict[int, dict[str, str]],
                 hourly: dict[tuple[str, int], dict[str, str]], start_week: int, past: list[Slot],
                 ahead: list[Slot], now_ms: int) -> None:  # fmt: skip
        self.cfg = fc.config
        self.profiles = profiles
        self.hourly = hourly
        self.now_ms = now_ms
        self._unit_hours: dict[str, dict[tuple[str, int], float]] = {}
        self._values: dict[tuple[str, int], float | None] = {}
        # Per slot: each (day type, hour) read, with its weight in the every-day and in the day type's count.
        self._mix = {
            s.start_ms: tuple(((t, h), w, w if t == day_type(s) else 0.0)
                              for h, w in hour_bins(s.of_week % SLOTS_PER_DAY) for t in (WEEKDAY, WEEKEND))
            for s in (*past, *ahead)
        }  # fmt: skip
        self.start_week = start_week
        self.past = past
        # The newest slot weighs 1, each older one `level_decay` times the one after it.
        self.weights = [self.cfg.level_decay ** (len(past) - 1 - k) for k in range(len(past))]
        self.ahead = ahead
        self.around = {
            s.start_ms: (slot_at(s.start_ms - SLOT_MS, fc.tz), s, slot_at(s.end_ms, fc.tz)) for s in (*past, *ahead)
        }
        self.zone: dict[int, float | None] = {}
        for s in (*past, *ahead):
            vals = [self.value(ZONE, x) for x in self.around[s.start_ms]]
            self.zone[s.start_ms] = None if vals[1] is None else _smooth(vals)
        # The zone's orders at each slot's time of day, every day and on the slot's day type.
        self._zone_hours = {s.start_ms: self.hour_count(ZONE, s) for s in (*past, *ahead)}
        self.zone_level: float | None = None
        past_f = [self.zone[s.start_ms] for s in past]
        if all(f is not None for f in past_f):
            b0 = self.cfg.level_prior_orders
            a_zone = sum(w * self.actual(ZONE, s) for w, s in zip(self.weights, past, strict=True))
            f_zone = sum(w * f for w, f in zip(self.weights, past_f, strict=True))  # type: ignore[misc]
            self.zone_level = _clamp((a_zone + b0) / (f_zone + b0), self.cfg.level_cap)

    def _hour_counts(self, unit: str) -> dict[tuple[str, int], float]:
        """The unit's decayed orders per (day type, hour of the day) read (computed once per unit)."""
        got = self._unit_hours.get(unit)
        if got is None:
            got = {}
            for th, raw_by_unit in self.hourly.items():
                raw = raw_by_unit.get(unit)
                got[th] = _decayed(raw, self.now_ms, self.cfg.share_half_life_s) if raw else 0.0
            self._unit_hours[unit] = got
        return got

    def hour_count(self, unit: str, s: Slot) -> tuple[float, float]:
        """The unit's decayed orders at the slot's time of day (between two hours' counts): on every day, and
        on days of the slot's type."""
        counts = self._hour_counts(unit)
        every_day = on_type = 0.0
        for key, w_every_day, w_on_type in self._mix[s.start_ms]:
            every_day += w_every_day * counts[key]
            on_type += w_on_type * counts[key]
        return every_day, on_type

    def hour_share(self, unit: str, s: Slot, share: float) -> float:
        """The unit's share of the zone's orders at the slot's time of day on days of its type, pulled toward
        that of every day, and that toward `share` (of all hours), each by its prior's zone orders."""
        cfg = self.cfg
        unit_every_day, unit_on_type = self.hour_count(unit, s)
        zone_every_day, zone_on_type = self._zone_hours[s.start_ms]
        every_day = (unit_every_day + cfg.hour_share_prior_orders * share) / (
            zone_every_day + cfg.hour_share_prior_orders
        )
        return (unit_on_type + cfg.day_type_prior_orders * every_day) / (zone_on_type + cfg.day_type_prior_orders)

    def value(self, unit: str, s: Slot) -> float | None:
        # Each slot is read again as its neighbours' neighbour: parsed once.
        key = (unit, s.start_ms)
        if key not in self._values:
            got = self.profiles.get(s.of_week, {}).get(unit)
            p = Profile.parse(got) if got else None
            self._values[key] = profile_value(p, s.week, self.start_week, self.cfg.alpha)
        return self._values[key]

    def actual(self, unit: str, s: Slot) -> int:
        got = self.profiles.get(s.of_week, {}).get(unit)
        if not got:
            return 0
        p = Profile.parse(got)
        return p.count if p.week == s.week else 0


def _smooth(values: Iterable[float | None]) -> float:
    """(1/4, 1/2, 1/4) over a slot and its neighbours; a neighbour without history gives its weight to the
    slot."""
    prev, mid, nxt = values
    assert mid is not None
    out, weight = 0.5 * mid, 0.5
    for v in (prev, nxt):
        if v is None:
            out, weight = out + 0.25 * mid, weight + 0.25
        else:
            out, weight = out + 0.25 * v, weight + 0.25
    return out / weight


def _clamp(x: float, cap: float) -> float:
    return min(cap, max(1 / cap, x))


def _decayed(raw: str, now_ms: int, half_life_s: float) -> float:
    value, at = raw.split("|")[:2]
    return float(value) * math.pow(0.5, max(0, now_ms - int(at)) / (half_life_s * 1000))
