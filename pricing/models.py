"""The pricing package's value types: area specs, rules, promotions, conditions and quotes, each
checked where it is built so that every bad field is named before anything is written."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import asdict, dataclass, field

from core.errors import FieldViolation, InvalidArgument

# A merchant's area by default (issue 21: "an electronic fence that matches demand within 3 km of a shop").
DEFAULT_RADIUS_M = 3_000.0
MAX_RADIUS_M = 50_000.0
MAX_ISOCHRONE_MINUTES = 60
MAX_PROMOTIONS = 20
MAX_FEE_FEN = 100_000  # 1,000 yuan: no single line of a delivery fee is more
MAX_SURGE_CAP = 10.0
MAX_ITEM_COUNT = 200
MAX_BASKET_RULE_FEN = 1_000_000  # 10,000 yuan: no minimum basket or small-order threshold is higher


class Weather(enum.StrEnum):
    CLEAR = "clear"
    RAIN = "rain"
    HEAVY_RAIN = "heavy_rain"
    SNOW = "snow"
    HEAT = "heat"


@dataclass(frozen=True)
class AreaSpec:
    """One kind of delivery area: a radius, an isochrone (minutes by e-bike) or a GeoJSON polygon."""

    kind: str  # "radius", "isochrone", "polygon"
    radius_m: float = 0.0
    isochrone_minutes: int = 0
    polygon_geojson: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> AreaSpec:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Area:
    """A merchant's compiled area and how much of it is dropped now."""

    merchant_id: str
    spec: AreaSpec
    resolution: int
    cells: dict[str, int]  # cell -> depth (0: outer ring)
    shrunk_rings: int = 0

    @property
    def max_depth(self) -> int:
        return max(self.cells.values(), default=0)

    @property
    def active_cells(self) -> list[str]:
        return [c for c, d in self.cells.items() if d >= self.shrunk_rings]


@dataclass(frozen=True)
class HourBand:
    start_hour: int
    end_hour: int
    fee_fen: int
    label: str = ""

    def covers(self, hour: int) -> bool:
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour  # wraps midnight


@dataclass(frozen=True)
class PricingRules:
    """The city's delivery pricing. Defaults are of the order of Meituan's and Ele.me's published fees
    (a 3-5 yuan base within about 1 km, about 1 yuan per further km, night and bad-weather supplements)."""

    base_fen: int = 400
    per_km_fen: int = 100
    included_m: int = 1_000
    free_items: int = 10
    extra_item_fen: int = 20
    # Surge factor 1 + slope x (smoothed open orders per free rider - threshold), in 0.1 steps, capped
    # (Uber caps its busy-area multiplier; 2.0 keeps a fee within twice its calm value).
    surge_cap: float = 2.0
    surge_threshold: float = 1.0
    surge_slope: float = 0.5
    rider_surge_share_bp: int = 0
    # Area shrinking (Meituan and Uber Eats shrink areas when riders are saturated): the hysteresis is
    # the gap between shrink_at and grow_at.
    shrink_at: float = 2.0
    grow_at: float = 1.0
    max_shrink_rings: int = 3
    hour_bands: tuple[HourBand, ...] = (HourBand(22, 6, 200, "night"),)
    weather_fees: tuple[tuple[Weather, int], ...] = (
        (Weather.RAIN, 200), (Weather.HEAVY_RAIN, 400), (Weather.SNOW, 400), (Weather.HEAT, 100),
    )  # fmt: skip
    quote_ttl_s: int = 300
    # The basket (QuoteDelivery's items_fen). A minimum basket (Meituan's 起送价) refuses a quote below it;
    # shops set theirs at about 15-20 yuan, which a city-wide rule cannot know, and a city minimum would
    # refuse errands (an empty basket) and a single coffee, so by default there is none. Below the
    # small-order threshold the basket pays the shortfall, at most the cap (Uber Eats' and DoorDash's
    # "small order fee": about 2-3 dollars under a 10-15 dollar subtotal); charging the shortfall rather than
    # a flat fee leaves no cliff where one fen less costs the whole fee. 20 yuan and at most 3 yuan: a basket
    # of one drink pays about a base fee more, a meal for one (25-40 yuan) nothing.
    min_basket_fen: int = 0
    small_order_below_fen: int = 2_000
    small_order_fee_fen: int = 300

    def violations(self, prefix: str = "rules") -> list[FieldViolation]:
        out: list[FieldViolation] = []

        def bad(name: str, why: str) -> None:
            out.append(FieldViolation(f"{prefix}.{name}", why))

        for name in ("base_fen", "per_km_fen", "extra_item_fen"):
            if not 0 <= getattr(self, name) <= MAX_FEE_FEN:
                bad(name, f"must be within [0, {MAX_FEE_FEN}] fen")
        if not 0 <= self.included_m <= 50_000:
            bad("included_m", "must be within [0, 50000] m")
        if not 0 <= self.free_items <= MAX_ITEM_COUNT:
            bad("free_items", f"must be within [0, {MAX_ITEM_COUNT}]")
        if not (math.isfinite(self.surge_cap) and 1.0 <= self.surge_cap <= MAX_SURGE_CAP):
            bad("surge_cap", f"must be within [1, {MAX_SURGE_CAP:g}] (1: no surge), got {self.surge_cap}")
        if not (math.isfinite(self.surge_threshold) and 0 <= self.surge_threshold <= 100):
            bad("surge_threshold", "must be within [0, 100] open orders per free rider")
        if not (math.isfinite(self.surge_slope) and 0 <= self.surge_slope <= 10):
            bad("surge_slope", "must be within [0, 10]")
        if not 0 <= self.rider_surge_share_bp <= 10_000:
            bad("rider_surge_share_bp", "must be within [0, 10000] basis points")
        if not (math.isfinite(self.shrink_at) and 0 < self.shrink_at <= 100):
            bad("shrink_at", "must be within (0, 100] open orders per free rider")
        if not (math.isfinite(self.grow_at) and 0 <= self.grow_at < self.shrink_at):
            bad("grow_at", "must be at least 0 and below shrink_at (the gap is the hysteresis)")
        if not 0 <= self.max_shrink_rings <= 20:
            bad("max_shrink_rings", "must be within [0, 20]")
        if len(self.hour_bands) > 24:
            bad("hour_bands", "at most 24 entries")
        for i, b in enumerate(self.hour_bands[:24]):
            if not (0 <= b.start_hour <= 23 and 0 <= b.end_hour <= 23) or b.start_hour == b.end_hour:
                bad(f"hour_bands[{i}]", "hours must be within [0, 23] and differ")
            if not -MAX_FEE_FEN <= b.fee_fen <= MAX_FEE_FEN:
                bad(f"hour_bands[{i}].fee_fen", f"must be within [-{MAX_FEE_FEN}, {MAX_FEE_FEN}] fen")
            if len(b.label) > 40 or any(ord(ch) < 32 for ch in b.label):
                bad(f"hour_bands[{i}].label", "at most 40 printable characters")
        seen: set[Weather] = set()
        for i, (w, fee) in enumerate(self.weather_fees):
            if w in seen:
                bad(f"weather_fees[{i}].weather", "repeats an earlier entry")
            seen.add(w)
            if not 0 <= fee <= MAX_FEE_FEN:
                bad(f"weather_fees[{i}].fee_fen", f"must be within [0, {MAX_FEE_FEN}] fen")
        if not 30 <= self.quote_ttl_s <= 3_600:
            bad("quote_ttl_s", "must be within [30, 3600] s")
        for name in ("min_basket_fen", "small_order_below_fen"):
            if not 0 <= getattr(self, name) <= MAX_BASKET_RULE_FEN:
                bad(name, f"must be within [0, {MAX_BASKET_RULE_FEN}] fen")
        if 0 < self.small_order_below_fen < self.min_basket_fen:
            bad("small_order_below_fen", "must be 0 (no small-order fee) or at least min_basket_fen")
        if not 0 <= self.small_order_fee_fen <= MAX_FEE_FEN:
            bad("small_order_fee_fen", f"must be within [0, {MAX_FEE_FEN}] fen")
        return out

    def check(self) -> None:
        if bad := self.violations():
            raise InvalidArgument(bad)

    def small_order_fee(self, items_fen: int) -> int:
        """What a basket of items_fen pays for being small: the shortfall, at most the fee (0 at or above the
        threshold)."""
        return min(self.small_order_fee_fen, max(0, self.small_order_below_fen - items_fen))

    def weather_fee(self, weather: Weather | None) -> int:
        return next((fee for w, fee in self.weather_fees if w == weather), 0)

    def to_json(self) -> str:
        body = asdict(self)
        body["hour_bands"] = [asdict(b) for b in self.hour_bands]
        body["weather_fees"] = [[w.value, fee] for w, fee in self.weather_fees]
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> PricingRules:
        if not raw:
            return cls()
        body = {**_BASKET_DEFAULTS_BEFORE, **json.loads(raw)}
        body["hour_bands"] = tuple(HourBand(**b) for b in body["hour_bands"])
        body["weather_fees"] = tuple((Weather(w), fee) for w, fee in body["weather_fees"])
        return cls(**body)


# Rules stored before the basket fields existed priced no basket: read them so, not with today's defaults.
_BASKET_DEFAULTS_BEFORE = {"min_basket_fen": 0, "small_order_below_fen": 0, "small_order_fee_fen": 0}


@dataclass(frozen=True)
class Promotion:
    """x% off the delivery fee between two local times, optionally only under a weather."""

    promotion_id: str
    percent_off: int
    start_minute: int
    end_minute: int
    weather: Weather | None = None

    def applies(self, minute: int, weather: Weather | None) -> bool:
        return self.start_minute <= minute < self.end_minute and (self.weather is None or self.weather == weather)

    @property
    def label(self) -> str:
        when = f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}-{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"
        weather = f" when {self.weather.value.replace('_', ' ')}" if self.weather else ""
        return f"promotion {self.promotion_id}: {self.percent_off}% off{weather} {when}"

    def to_list(self) -> list[object]:
        return [self.promotion_id, self.percent_off, self.start_minute, self.end_minute,
                self.weather.value if self.weather else ""]  # fmt: skip

    @classmethod
    def from_list(cls, x: list[object]) -> Promotion:
        return cls(str(x[0]), int(x[1]), int(x[2]), int(x[3]), Weather(x[4]) if x[4] else None)  # type: ignore[call-overload]


@dataclass(frozen=True)
class QuoteLine:
    label: str
    amount_fen: int


@dataclass(frozen=True)
class Quote:
    """A priced delivery, and the token that carries its terms signed."""

    quote_id: str
    merchant_id: str
    dropoff_lat: float
    dropoff_lng: float
    fee_fen: int
    lines: tuple[QuoteLine, ...]
    surge_factor: float
    surge_fen: int
    rider_surge_fen: int
    road_distance_m: float
    ride_time_s: float
    issued_ms: int
    expires_ms: int
    token: str = field(default="", compare=False)
