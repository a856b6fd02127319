"""The pricing engine: delivery areas, conditions, rules, promotions and quotes (no gRPC here).

A quote is two Redis round trips: the merchant's record (its own hash tag) and one script under
`{pricing}` reading the rules, the drop-off's area cell and the merchant's rings dropped, the surge of
the merchant's cell, the drop-off's conditions and the merchant's promotions. The route comes from the
road graph in this process. Nothing is written: a quote is its signed token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import secrets
from dataclasses import dataclass, replace

import h3
import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from core.geo import LatLng, haversine_m
from core.localtime import local_datetime
from core.validation import id_violation, ids_violations
from dispatch.validation import latlng_violations
from merchants import Directory, Merchant, MerchantKeys, MerchantStatus
from pricing import keys
from pricing.areas import AREA_RESOLUTION, SURGE_RESOLUTION, AreaBook, CityEdge, compile_area
from pricing.models import (
    MAX_ITEM_COUNT,
    MAX_PROMOTIONS,
    Area,
    AreaSpec,
    PricingRules,
    Promotion,
    Quote,
    QuoteLine,
    Weather,
)
from pricing.signing import QuoteSigner, QuoteTerms
from pricing.surge import CellState, DemandForecast, SupplyDemand, SurgeBoard

log = logging.getLogger("tongcheng.pricing")

MAX_ITEMS_FEN = 1_000_000_000
# A quote may be for a delivery up to a week ahead (scheduled orders), and not for the past.
MAX_QUOTE_AHEAD_MS = 7 * 86_400_000
QUOTE_PAST_SKEW_MS = 300_000
DEFAULT_CONDITIONS_MS = 3 * 3_600_000
MAX_CONDITIONS_MS = 2 * 86_400_000
# Without a road route (no graph in this process, or no path), road distance is the straight line times
# this detour factor (road distance over great-circle distance in cities is about 1.2-1.4; Boscoe et al. 2012).
DETOUR_FACTOR = 1.3
EBIKE_MPS = 4.5  # ~16 km/h, the e-bike mode's typical urban speed, for the fallback ride time

# "Which merchants deliver here" pages (FindMerchantsDelivering): AIP-158's page_size with a default and a
# cap. 50 fills a phone's list a few screens deep; 500 keeps a reply under ~10 KB.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Each call examines at most this many x page_size merchants of the cell, so a page costs a bounded number
# of round trips (3 of the index, 3 of the merchants' records) however many of them are closed.
PAGE_ROUNDS = 3
# "Which merchants deliver here" reads a merchant's status and hours, and evaluates the hours, at most this
# often per process. Reading 50 merchants' records (one per hash tag) costs ~2 ms of client time in
# redis-py, and evaluating 150 merchants' hours in their time zones a tenth of the call (py-spy of
# bench.pricing); a listing may show a merchant closed (by status or by its hours) within the last 10 s
# (its menu then says so), while QuoteDelivery and CreateOrder read the record itself.
OPEN_STATE_TTL_MS = 10_000
OPEN_STATE_CACHE_SIZE = 50_000  # merchants whose open state is kept

# KEYS: rules, area, areacell, shrink, surge, conditions, promotions. ARGV: merchant, surge cell, zone.
_QUOTE_READ_LUA = """
local has_area = redis.call('EXISTS', KEYS[2])
local depth = redis.call('HGET', KEYS[3], ARGV[1]) or '-1'
local shrink = redis.call('HGET', KEYS[4], ARGV[1]) or '0'
return {redis.call('GET', KEYS[1]) or '', has_area, depth, shrink, redis.call('HGET', KEYS[5], ARGV[2]) or '',
        redis.call('HGET', KEYS[6], ARGV[3]) or '', redis.call('GET', KEYS[7]) or ''}
"""

# KEYS: area, areacell, shrink. ARGV: merchant. Returns {has area, depth (-1: not in it), rings dropped}.
_DROPOFF_LUA = """
return {redis.call('EXISTS', KEYS[1]), redis.call('HGET', KEYS[2], ARGV[1]) or '-1',
        redis.call('HGET', KEYS[3], ARGV[1]) or '0'}
"""


@dataclass(frozen=True)
class Conditions:
    area_id: str
    weather: Weather
    until_ms: int


@dataclass(frozen=True)
class MerchantsPage:
    """One page of the merchants delivering to a place: their ids, the H3 cell looked up, the next page's
    token ("" at the end)."""

    cell: str
    merchant_ids: list[str]
    next_page_token: str


class Pricing:
    """Areas, conditions, rules, promotions and quotes over Redis, for one city."""

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        signer: QuoteSigner,
        zoning: object | None = None,
        oracle: object | None = None,
        edge: CityEdge | None = None,
        supply_demand: SupplyDemand | None = None,
        forecast: DemandForecast | None = None,
    ) -> None:
        self._redis = client
        self.clock = clock
        self.signer = signer
        self.pages = signer.page_tokens()
        self.zoning = zoning  # the city's zones: condition areas (dispatch.zones.Zoning); None: one, "city"
        self.oracle = oracle  # routing_data.RoadNetworkOracle or None
        self.edge = edge
        self.supply_demand = supply_demand
        self.forecast = forecast  # expected demand (issue 21 §4, `forecast/`); None: live demand only
        self.directory = Directory(client, clock)
        self.areas = AreaBook(client)
        self.surge = SurgeBoard(client)
        self._quote_read = client.register_script(_QUOTE_READ_LUA)
        self._dropoff = client.register_script(_DROPOFF_LUA)
        # merchant -> (ms read, open then by status and hours): "which merchants deliver here"
        self._open_state: dict[str, tuple[int, bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # Condition areas ---------------------------------------------------------------------------

    @property
    def condition_areas(self) -> tuple[str, ...]:
        return tuple(self.zoning.ids) if self.zoning is not None else ("city",)  # type: ignore[attr-defined]

    def area_of(self, at: LatLng) -> str:
        return self.zoning.zone_of(at) if self.zoning is not None else "city"  # type: ignore[attr-defined]

    # Delivery areas ----------------------------------------------------------------------------

    async def set_area(self, merchant_id: str, spec: AreaSpec) -> Area:
        if bad := id_violation("merchant_id", merchant_id):
            raise InvalidArgument(bad)
        merchant = await self.directory.known(merchant_id)
        at = LatLng(merchant.lat, merchant.lng)
        reach = _OracleReach(self.oracle) if self.oracle is not None else None
        cells = await asyncio.to_thread(compile_area, spec, at, reach, self.edge)
        await self.areas.store(merchant_id, spec, at, cells)
        return await self.areas.get(merchant_id)

    async def get_area(self, merchant_id: str) -> Area:
        if bad := id_violation("merchant_id", merchant_id):
            raise InvalidArgument(bad)
        return await self.areas.get(merchant_id)

    async def merchants_delivering(
        self, at: LatLng, page_size: int = 0, page_token: str = "", include_closed: bool = False
    ) -> MerchantsPage:
        """A page of the merchants whose area covers `at` now, by id, and unless include_closed only those
        open now (status and hours, `Merchant.is_open_at`). The cell's index is read a page at a time from the
        token's last id and each page's merchants filtered with one pipelined read of their records, so a
        call costs at most PAGE_ROUNDS x page_size merchants examined whatever the city holds; a page may
        hold fewer than page_size (even none) while a next token is given."""
        bad = _place_violations("location", at)
        size = page_size or DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            bad.append(FieldViolation("page_size", f"must be within [1, {MAX_PAGE_SIZE}] (0: {DEFAULT_PAGE_SIZE})"))
        cell = "" if bad else h3.latlng_to_cell(at.lat, at.lng, AREA_RESOLUTION)
        last = ""
        if page_token and cell:
            try:
                last = self.pages.open(page_token, cell, include_closed)
            except InvalidArgument as err:
                bad += err.violations
        if bad:
            raise InvalidArgument(bad)
        now_ms = self.clock.now_ms()
        found: list[str] = []
        more = True
        for _ in range(PAGE_ROUNDS):
            ids, examined, more = await self.areas.page_at(cell, last, size)
            if ids and not include_closed:
                ids = await self._open_now(ids, now_ms)
            room = size - len(found)
            if len(ids) > room:  # the page is full before this part's end: the next page starts after it
                found += ids[:room]
                last, more = ids[room - 1], True
                break
            found += ids
            last = examined or last
            if not more or len(found) == size:
                break
        return MerchantsPage(cell, found, self.pages.sign(cell, include_closed, last) if more else "")

    async def _open_now(self, merchant_ids: list[str], now_ms: int) -> list[str]:
        """The merchants open now (status and hours), in the order given. Each merchant's status and hours
        are read from its record (one pipelined read of those not read in the last OPEN_STATE_TTL_MS, each
        under its own hash tag), its hours evaluated at that read; a merchant with an area but no record is
        left out."""
        stale = [
            m for m in merchant_ids if (c := self._open_state.get(m)) is None or now_ms - c[0] >= OPEN_STATE_TTL_MS
        ]
        if stale:
            async with self._redis.pipeline(transaction=False) as pipe:
                for m in stale:
                    pipe.hmget(MerchantKeys(m).merchant, ["status", "body"])
                rows = await pipe.execute()
            for m, (status, body) in zip(stale, rows, strict=True):
                schedule = None
                if status == MerchantStatus.OPEN.value and body is not None:
                    schedule = Merchant.from_redis({"status": status, "version": "0", "body": body}).schedule
                self._open_state.pop(m, None)  # re-inserted last: the oldest entries are evicted first
                if len(self._open_state) >= OPEN_STATE_CACHE_SIZE:
                    self._open_state.pop(next(iter(self._open_state)))
                self._open_state[m] = (now_ms, schedule is not None and schedule.is_open_at(now_ms))
        return [m for m in merchant_ids if self._open_state[m][1]]

    async def check_dropoff(self, merchant_id: str, dropoff: LatLng, field: str = "dropoff") -> None:
        """INVALID_ARGUMENT naming `field` when the merchant has an area and the drop-off is outside it now."""
        cell = h3.latlng_to_cell(dropoff.lat, dropoff.lng, AREA_RESOLUTION)
        has, depth, shrink = await self._dropoff(
            keys=[keys.area_key(merchant_id), keys.area_cell_key(cell), keys.SHRINK], args=[merchant_id]
        )
        _check_in_area(merchant_id, int(has), int(depth), int(shrink), field)

    # Rules, conditions, promotions -------------------------------------------------------------

    async def rules(self) -> PricingRules:
        return PricingRules.from_json(await self._redis.get(keys.RULES))

    async def set_rules(self, rules: PricingRules) -> PricingRules:
        rules.check()
        await self._redis.set(keys.RULES, rules.to_json())
        return rules

    async def set_conditions(self, area_id: str, weather: Weather | None, until_ms: int | None) -> Conditions:
        now_ms = self.clock.now_ms()
        bad: list[FieldViolation] = []
        if area_id not in self.condition_areas:
            shown = ", ".join(self.condition_areas[:5])
            bad.append(FieldViolation("area_id", f"unknown area {area_id[:40]!r}: one of {shown}..."))
        if weather is None:
            bad.append(FieldViolation("weather", "required"))
        until = now_ms + DEFAULT_CONDITIONS_MS if until_ms is None else until_ms
        if not now_ms < until <= now_ms + MAX_CONDITIONS_MS:
            bad.append(FieldViolation("valid_until", "must lie after now and within 2 days"))
        if bad:
            raise InvalidArgument(bad)
        assert weather is not None
        await self._redis.hset(keys.CONDITIONS, area_id, f"{weather.value}|{until}")
        return Conditions(area_id, weather, until)

    async def set_promotions(self, merchant_id: str, promotions: list[Promotion]) -> list[Promotion]:
        bad = [v for v in [id_violation("merchant_id", merchant_id)] if v]
        if len(promotions) > MAX_PROMOTIONS:
            bad.append(FieldViolation("promotions", f"at most {MAX_PROMOTIONS} entries"))
        seen: set[str] = set()
        for i, p in enumerate(promotions[:MAX_PROMOTIONS]):
            if v := id_violation(f"promotions[{i}].promotion_id", p.promotion_id):
                bad.append(v)
            elif p.promotion_id in seen:
                bad.append(FieldViolation(f"promotions[{i}].promotion_id", "repeats an earlier entry"))
            seen.add(p.promotion_id)
            if not 1 <= p.percent_off <= 100:
                bad.append(FieldViolation(f"promotions[{i}].percent_off", "must be within [1, 100]"))
            if not 0 <= p.start_minute < p.end_minute <= 1440:
                bad.append(
                    FieldViolation(f"promotions[{i}].start_minute", "need 0 <= start_minute < end_minute <= 1440")
                )
        if bad:
            raise InvalidArgument(bad)
        await self.directory.known(merchant_id)
        await self._redis.set(keys.promotions_key(merchant_id), json.dumps([p.to_list() for p in promotions]))
        return promotions

    # Quotes ------------------------------------------------------------------------------------

    async def quote(
        self, merchant_id: str, dropoff: LatLng, item_count: int, items_fen: int, at_ms: int | None
    ) -> Quote:
        now_ms = self.clock.now_ms()
        at = now_ms if at_ms is None else at_ms
        bad = ids_violations(merchant_id=merchant_id) + _place_violations("dropoff", dropoff)
        if not 1 <= item_count <= MAX_ITEM_COUNT:
            bad.append(FieldViolation("item_count", f"must be within [1, {MAX_ITEM_COUNT}]"))
        if not 0 <= items_fen <= MAX_ITEMS_FEN:
            bad.append(FieldViolation("items_fen", f"must be within [0, {MAX_ITEMS_FEN}] fen"))
        if not now_ms - QUOTE_PAST_SKEW_MS <= at <= now_ms + MAX_QUOTE_AHEAD_MS:
            bad.append(FieldViolation("at", "must lie between now and 7 days ahead"))
        if bad:
            raise InvalidArgument(bad)
        merchant = await self.directory.known(merchant_id)
        if not merchant.is_open_at(at):
            raise FailedPrecondition(f"merchant {merchant_id} is {merchant.status.value} or outside its hours then")
        pickup = LatLng(merchant.lat, merchant.lng)
        cell = h3.latlng_to_cell(dropoff.lat, dropoff.lng, AREA_RESOLUTION)
        surge_cell = h3.latlng_to_cell(pickup.lat, pickup.lng, SURGE_RESOLUTION)
        raw = await self._quote_read(
            keys=[keys.RULES, keys.area_key(merchant_id), keys.area_cell_key(cell), keys.SHRINK, keys.SURGE,
                  keys.CONDITIONS, keys.promotions_key(merchant_id)],
            args=[merchant_id, surge_cell, self.area_of(dropoff)],
        )  # fmt: skip
        rules_raw, has_area, depth, shrink, surge_raw, cond_raw, promo_raw = raw
        _check_in_area(merchant_id, int(has_area), int(depth), int(shrink), "dropoff")
        rules = PricingRules.from_json(rules_raw)
        if items_fen < rules.min_basket_fen:
            raise InvalidArgument.field(
                "items_fen", f"the basket of {items_fen} fen is below the minimum basket of {rules.min_basket_fen} fen"
            )
        factor = min(CellState.from_redis(surge_cell, surge_raw).factor, rules.surge_cap) if surge_raw else 1.0
        weather = None
        if cond_raw:
            w, _, until = cond_raw.partition("|")
            weather = Weather(w) if at < int(until) else None
        promotions = [Promotion.from_list(x) for x in json.loads(promo_raw)] if promo_raw else []
        distance_m, ride_s = self._ride(pickup, dropoff, at)
        local = local_datetime(at, merchant.time_zone)
        lines, surge_fen = price_lines(
            rules, distance_m, item_count, factor, local.hour, local.hour * 60 + local.minute, weather, promotions,
            items_fen,
        )  # fmt: skip
        fee = max(0, sum(x.amount_fen for x in lines))
        rider_surge = surge_fen * rules.rider_surge_share_bp // 10_000
        q = Quote(
            quote_id=secrets.token_hex(8), merchant_id=merchant_id, dropoff_lat=dropoff.lat, dropoff_lng=dropoff.lng,
            fee_fen=fee, lines=tuple(lines), surge_factor=factor, surge_fen=surge_fen, rider_surge_fen=rider_surge,
            road_distance_m=distance_m, ride_time_s=ride_s, issued_ms=now_ms, expires_ms=now_ms + rules.quote_ttl_s * 1000,
        )  # fmt: skip
        terms = QuoteTerms(q.quote_id, merchant_id, dropoff.lat, dropoff.lng, fee, surge_fen, rider_surge, now_ms,
                           q.expires_ms, items_fen)  # fmt: skip
        return replace(q, token=self.signer.sign(terms))

    def _ride(self, pickup: LatLng, dropoff: LatLng, at_ms: int) -> tuple[float, float]:
        """Road distance (m) and e-bike ride time (s) from the road graph, else the straight line x detour."""
        if self.oracle is not None:
            try:
                route = self.oracle.route(pickup, dropoff, at_ms)  # type: ignore[attr-defined]
                g = route.geometry
                d = sum(haversine_m(a.lat, a.lng, b.lat, b.lng) for a, b in itertools.pairwise(g))
                d += route.source_snap.distance_m + route.target_snap.distance_m
                return d, float(route.travel_time_s)
            except ValueError:
                pass  # no path between the snapped nodes
        d = DETOUR_FACTOR * haversine_m(pickup.lat, pickup.lng, dropoff.lat, dropoff.lng)
        return d, d / EBIKE_MPS

    def check_quote(self, token: str, merchant_id: str, lat: float, lng: float, now_ms: int | None) -> QuoteTerms:
        return self.signer.check(token, merchant_id, lat, lng, now_ms)

    # Surge -------------------------------------------------------------------------------------

    async def refresh_surge(self) -> tuple[list[CellState], int]:
        if self.supply_demand is None:
            raise FailedPrecondition("this process does not run dispatch: no live supply and demand to read")
        return await self.surge.refresh(self.supply_demand, await self.rules(), self.clock.now_ms(), self.forecast)

    def start(self, every_s: float) -> None:
        if self.supply_demand is not None and every_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._refresh_loop(every_s), name="pricing-surge")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _refresh_loop(self, every_s: float) -> None:
        while not self._stopping.is_set():
            try:
                await self.refresh_surge()
            except Exception as exc:  # the loop must outlive a Redis outage
                log.warning("surge refresh failed: %s", exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=every_s)
            except TimeoutError:
                pass


def price_lines(
    rules: PricingRules,
    distance_m: float,
    item_count: int,
    factor: float,
    hour: int,
    minute_of_day: int,
    weather: Weather | None,
    promotions: list[Promotion],
    items_fen: int,
) -> tuple[list[QuoteLine], int]:
    """The quote's lines (label, fen) and the fen the surge added. The small-order line comes last: it is
    not delivery work, so the surge does not multiply it and a delivery promotion does not discount it (as
    Uber Eats' delivery-fee offers leave its small order fee)."""
    km = distance_m / 1000
    lines = [QuoteLine(f"base (first {rules.included_m / 1000:g} km)", rules.base_fen)]
    extra_m = max(0.0, distance_m - rules.included_m)
    if extra_m > 0:
        lines.append(QuoteLine(f"distance {km:.1f} km by road", round(rules.per_km_fen * extra_m / 1000)))
    if item_count > rules.free_items:
        extra = item_count - rules.free_items
        lines.append(QuoteLine(f"{extra} items over {rules.free_items}", extra * rules.extra_item_fen))
    subtotal = sum(x.amount_fen for x in lines)
    surge_fen = 0
    if factor > 1.0:
        surge_fen = round(subtotal * (factor - 1.0))
        lines.append(QuoteLine(f"busy area x{factor:.1f}", surge_fen))
    for band in rules.hour_bands:
        if band.covers(hour) and band.fee_fen:
            lines.append(
                QuoteLine(f"{band.label or 'time of day'} ({band.start_hour:02d}-{band.end_hour:02d}h)", band.fee_fen)
            )
    if weather is not None and (fee := rules.weather_fee(weather)):
        lines.append(QuoteLine(weather.value.replace("_", " "), fee))
    best = max((p for p in promotions if p.applies(minute_of_day, weather)), key=lambda p: p.percent_off, default=None)
    if best is not None:
        before = max(0, sum(x.amount_fen for x in lines))
        lines.append(QuoteLine(best.label, -math.floor(before * best.percent_off / 100)))
    if small := rules.small_order_fee(items_fen):
        lines.append(
            QuoteLine(
                f"small order (basket {items_fen / 100:.2f} under {rules.small_order_below_fen / 100:.2f})", small
            )
        )
    return lines, surge_fen


def _check_in_area(merchant_id: str, has_area: int, depth: int, shrunk: int, field: str) -> None:
    if not has_area:
        return
    if depth < 0:
        raise InvalidArgument.field(field, f"outside merchant {merchant_id}'s delivery area")
    if depth < shrunk:
        raise InvalidArgument.field(
            field,
            f"outside merchant {merchant_id}'s delivery area while its riders are busy ({shrunk} outer rings off)",
        )


def _place_violations(field: str, p: LatLng) -> list[FieldViolation]:
    if (p.lat, p.lng) == (0.0, 0.0):
        return [FieldViolation(field, "required")]
    return latlng_violations(field, p)


class _OracleReach:
    """Reachability on the road graph by e-bike (the oracle's default mode)."""

    def __init__(self, oracle: object) -> None:
        self._oracle = oracle

    def reachable_points(self, origin: LatLng, within_s: float) -> list[LatLng]:
        from pricing.areas import ISOCHRONE_HOUR

        return self._oracle.reachable_within(origin, within_s, ISOCHRONE_HOUR)  # type: ignore[attr-defined]
