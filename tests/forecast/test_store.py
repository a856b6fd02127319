"""The demand forecast against a real Redis: it learns a weekly profile online, forecasts only from orders
before the slot, shrinks sparse cells toward the zone, follows the day's level, and stays bounded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import h3
import pytest
import redis
import redis.asyncio as aioredis

from core.geo import LatLng
from forecast import DemandForecast, ForecastConfig, PlacedOrder
from forecast.slots import SLOT_MS

TZ = ZoneInfo("Asia/Shanghai")
A = LatLng(31.2304, 121.4737)
B = LatLng(31.2000, 121.5200)
MONDAY = dt.datetime(2026, 6, 1, tzinfo=TZ)  # a Monday
WEEK_MS = 7 * 86_400_000


def at(week: int, hour: float) -> int:
    return int((MONDAY + dt.timedelta(weeks=week, hours=hour)).timestamp() * 1000)


def steady(week: int, per_slot: int, start_h: float = 10.0, end_h: float = 14.0, where: LatLng = A,
           merchant: str = "m1", tag: str = "") -> list[PlacedOrder]:  # fmt: skip
    """`per_slot` orders in every 15-minute slot from start_h to end_h of the week's Monday."""
    out = []
    t, k = at(week, start_h), 0
    while t < at(week, end_h):
        for i in range(per_slot):
            out.append(PlacedOrder(f"{tag}w{week}-{k}-{i}", merchant, where, t + 60_000 * i))
        t += SLOT_MS
        k += 1
    return out


async def learnt(client: aioredis.Redis, weeks: int = 3, per_slot: int = 4, **config: object) -> DemandForecast:
    fc = DemandForecast(client, "fz", ForecastConfig(**config), TZ)  # type: ignore[arg-type]
    for w in range(weeks):
        await fc.record(steady(w, per_slot), at(w, 23))
    return fc


async def test_a_weekly_profile_is_learnt_and_a_slot_never_forecasts_itself(client: aioredis.Redis) -> None:
    """Three Mondays of 4 orders a slot give 4 for the fourth Monday's noon; orders of that noon itself do
    not move its forecast, and move the next Monday's."""
    fc = await learnt(client)
    await fc.record(steady(3, 4, end_h=12.0), at(3, 12))  # this Monday's morning, as usual
    [cell] = await fc.cells(at(3, 12), 1)
    assert cell.unit == h3.latlng_to_cell(A.lat, A.lng, 8) and cell.place == A
    # (The morning's first slot is smoothed with the empty 09:45: its forecast is a little under its orders.)
    assert cell.expected[0] == pytest.approx(4.0, rel=0.01)
    await fc.record([PlacedOrder(f"x{i}", "m1", A, at(3, 12) + 1_000) for i in range(20)], at(3, 12.1))
    assert (await fc.cells(at(3, 12), 1))[0].expected[0] == cell.expected[0]
    assert (await fc.zone(at(3, 12), 1))[0] == pytest.approx(4.0, rel=0.01)
    await fc.record(steady(4, 4, end_h=12.0, tag="n"), at(4, 12))  # next Monday's usual morning
    next_week = (await fc.cells(at(4, 12), 1))[0].expected[0]
    assert next_week > cell.expected[0] + 2


async def test_an_order_is_counted_once(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """Recording the same order again (a retried intake) changes nothing."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    order = PlacedOrder("o1", "m1", A, at(0, 12))
    assert await fc.record([order, order], at(0, 12)) == 1
    before = {k: redis_sync.dump(k) for k in redis_sync.keys("*")}
    assert await fc.record([order], at(0, 12)) == 0
    assert {k: redis_sync.dump(k) for k in redis_sync.keys("*")} == before
    assert all(k.startswith("tc:{fz}:fc:") for k in before)


async def test_a_sparse_cell_is_shrunk_toward_its_share_of_the_zone(client: aioredis.Redis) -> None:
    """A cell with one order a week at 13:00 gets a little of the zone's noon (its share) and more at 13:00."""
    fc = await learnt(client)
    for w in range(3):
        await fc.record([PlacedOrder(f"b{w}", "m2", B, at(w, 13))], at(w, 23))
    got = {f.unit: f for f in await fc.cells(at(3, 12), 5)}
    sparse = got[h3.latlng_to_cell(B.lat, B.lng, 8)]
    assert 0 < sparse.expected[0] < 0.1
    assert sparse.expected[4] > 3 * sparse.expected[0]  # 13:00


def daily(week: int, days: range, start_h: float, end_h: float, per_slot: int, where: LatLng, merchant: str,
          tag: str) -> list[PlacedOrder]:  # fmt: skip
    """`per_slot` orders in every slot from start_h to end_h of those days (0 = Monday) of the week."""
    out = []
    for d in days:
        out += steady(week, per_slot, start_h + 24 * d, end_h + 24 * d, where, merchant, f"{tag}d{d}")
    return out


async def test_a_sparse_cell_borrows_its_own_hours_of_the_day(client: aioredis.Redis) -> None:
    """A lunch shop's cell that never ordered on a Monday is forecast the Monday lunch the zone has, not its
    dinner: its share of the zone at lunch on the other days (pooled) says where its orders fall in a day."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    c = LatLng(31.1800, 121.4000)
    for w in range(3):
        await fc.record(
            daily(w, range(1, 7), 12, 13, 2, A, "lunch", f"a{w}")  # Tuesday-Sunday lunch in A
            + daily(w, range(1, 7), 19, 20, 2, B, "dinner", f"b{w}")  # Tuesday-Sunday dinner in B
            + daily(w, range(1), 12, 13, 2, c, "canteen", f"c{w}")  # Monday lunch and dinner in C
            + daily(w, range(1), 19, 20, 2, c, "canteen", f"e{w}"),
            at(w + 1, 0),
        )
    got = {f.unit: f.expected for f in await fc.cells(at(3, 0), 96)}
    lunch_shop = got[h3.latlng_to_cell(A.lat, A.lng, 8)]
    # 12:15-12:45 (inside the hour: its edges are smoothed with the empty slots beside them): most of the zone's 2
    # orders a slot, by A's share at lunch (6 of 7 lunches) weighing 12 weeks against its own 3 empty Mondays;
    # at 19:15-19:45 next to nothing.
    lunch, dinner = sum(lunch_shop[49:51]) / 2, sum(lunch_shop[77:79]) / 2
    assert 1.0 < lunch < 2.0
    assert dinner < 0.15 < 10 * dinner < lunch


async def test_an_office_cell_is_quiet_at_the_weekend(client: aioredis.Redis) -> None:
    """Offices order at weekday lunch, homes at weekend lunch: an office cell's share of a Saturday lunch is
    read from weekends (pulled toward every day's), so its Saturday forecast stays well under its weekday one."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    for w in range(3):
        await fc.record(
            daily(w, range(5), 12, 13, 10, A, "office", f"o{w}")
            + daily(w, range(5, 7), 12, 13, 10, B, "home", f"h{w}"),
            at(w + 1, 0),
        )
    office = h3.latlng_to_cell(A.lat, A.lng, 8)
    monday = {f.unit: f.expected for f in await fc.cells(at(3, 0), 96)}[office]
    saturday = {f.unit: f.expected for f in await fc.cells(at(3, 5 * 24), 96)}[office]
    # 12:15-12:45 (inside the lunch hour: its edges are smoothed with the empty slots beside them). Monday: its
    # own 10 a slot (3 weeks) and the zone's 10 times its weekday share, 1 pulled toward its every-day 0.68 by
    # 200 of the zone's orders against ~310 (decayed): 0.87 (12 weeks).
    monday_lunch, saturday_lunch = sum(monday[49:51]) / 2, sum(saturday[49:51]) / 2
    assert 8.5 < monday_lunch < 10.0
    # Saturday: its own 0 and the zone's 10 times its weekend share, 0 pulled toward 0.68 by 200 orders against
    # ~150: 0.39, so about 3.1; pooled over every day alone it would be 12/15 x 0.68 x 10 = 5.4.
    assert 2.0 < saturday_lunch < 4.5 and saturday_lunch < 0.45 * monday_lunch


async def test_a_store_without_hour_shares_reads_as_before(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """Counts written before the hour shares existed (no `fc:*:h:*` keys) read with each unit's share of all
    hours: the forecast is the old blend until the hours fill (no migration needed)."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    for w in range(3):
        await fc.record(
            daily(w, range(7), 12, 13, 2, A, "lunch", f"a{w}") + daily(w, range(7), 19, 20, 2, B, "dinner", f"b{w}"),
            at(w + 1, 0),
        )
    hour_keys = redis_sync.keys("tc:{fz}:fc:*:h:*")
    assert len(hour_keys) == 2 * 2 * 2 and all(redis_sync.hlen(k) >= 1 for k in hour_keys)  # 2 families, 2 x 2 hours
    redis_sync.delete(*hour_keys)
    lunch_shop = {f.unit: f.expected for f in await fc.cells(at(3, 0), 96)}[h3.latlng_to_cell(A.lat, A.lng, 8)]
    # Own profile (2 a slot at lunch, 0 at dinner, 3 weeks) against half the zone's 2 a slot (12 weeks).
    assert sum(lunch_shop[49:51]) / 2 == pytest.approx((3 * 2 + 12 * 1) / 15, rel=0.02)
    assert sum(lunch_shop[77:79]) / 2 == pytest.approx((3 * 0 + 12 * 1) / 15, rel=0.02)


async def test_a_busy_morning_raises_the_forecast(client: aioredis.Redis) -> None:
    """A Monday morning at twice the usual orders lifts noon's forecast above the profile, within the cap."""
    fc = await learnt(client)
    await fc.record(steady(3, 8, end_h=12.0), at(3, 12))
    got = (await fc.cells(at(3, 12), 1))[0].expected[0]
    assert 5.5 < got <= 8.0


async def test_coarser_cells_sum_their_children_and_merchants_are_forecast(client: aioredis.Redis) -> None:
    """Resolution 7 cells are the sums of their res-8 children; a merchant gets its own forecast."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    for w in range(3):  # in time order: a week's orders recorded after a later week's count for shares only
        await fc.record(steady(w, 4) + steady(w, 2, where=B, merchant="m2", tag="b"), at(w, 23))
    await fc.record(steady(3, 4, end_h=12.0) + steady(3, 2, end_h=12.0, where=B, merchant="m2", tag="b"), at(3, 12))
    fine = await fc.cells(at(3, 12), 2)
    coarse = await fc.cells(at(3, 12), 2, resolution=7)
    assert sum(f.total for f in coarse) == pytest.approx(sum(f.total for f in fine))
    assert all(h3.get_resolution(f.unit) == 7 for f in coarse)
    [m2] = await fc.merchants(["m2"], at(3, 12), 1)
    assert m2.expected[0] == pytest.approx(2.0, rel=0.02)
    assert await fc.expected_orders(coarse[0].unit, at(3, 12)) == pytest.approx(coarse[0].expected[0])


async def test_units_per_zone_are_bounded(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """Past max_units cells, a new cell's orders count for the zone only."""
    fc = DemandForecast(client, "fz", ForecastConfig(max_units=1), TZ)
    await fc.record([PlacedOrder("o1", "m1", A, at(0, 12)), PlacedOrder("o2", "m2", B, at(0, 12))], at(0, 12))
    cells = redis_sync.hkeys("tc:{fz}:fc:c:tot")
    assert sorted(cells) == sorted(["*", h3.latlng_to_cell(A.lat, A.lng, 8)])
    assert redis_sync.hget("tc:{fz}:fc:c:48", "*").endswith("|2")


async def test_before_a_week_of_history_the_forecast_is_the_last_hours_rate(client: aioredis.Redis) -> None:
    """With no week seen, a cell's forecast is its rate over the last four slots."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    await fc.record(steady(0, 3, start_h=11.0, end_h=12.0), at(0, 12))
    assert (await fc.cells(at(0, 12), 1))[0].expected[0] == pytest.approx(3.0)
    assert await fc.cells(at(0, 12), 1, resolution=7)


def test_bad_settings_are_refused() -> None:
    for bad in ({"alpha": 0}, {"resolution": 16}, {"level_cap": 0.5}, {"max_units": 0}, {"level_slots": 0},
                {"hour_share_prior_orders": 0}, {"day_type_prior_orders": -1}):  # fmt: skip
        with pytest.raises(ValueError, match="forecast"):
            ForecastConfig(**bad)  # type: ignore[arg-type]


async def test_a_cells_busiest_counter_is_its_merchant_with_most_orders(client: aioredis.Redis) -> None:
    """Two shops 100 m apart in one res-7 cell: the one with three orders is the cell's point, not the one
    with the latest order."""
    fc = DemandForecast(client, "fz", ForecastConfig(), TZ)
    near = LatLng(A.lat + 0.001, A.lng)
    orders = [PlacedOrder(f"a{k}", "busy", A, at(0, 12) + k) for k in range(3)]
    await fc.record([*orders, PlacedOrder("n1", "quiet", near, at(0, 12) + 10)], at(0, 12))
    assert (await fc.busiest_counters(at(0, 12), 7)) == {h3.latlng_to_cell(A.lat, A.lng, 7): A}
