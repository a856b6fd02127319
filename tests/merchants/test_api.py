"""MerchantService through the real gRPC server and Redis: merchants and hours, the catalogue's versions and
POS batches, the stock ledger's order of events, reservations, promotions, bad input."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
import redis

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role
from serving.timestamps import ms_to_ts
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import (
    Supply,
    adjust,
    count,
    create_merchant,
    item,
    level,
    merchant,
    record,
    sync,
)
from tongcheng.merchants.v1 import merchants_pb2 as pb

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def merchant_keys(client: redis.Redis) -> dict[str, object]:
    return {k: v for k, v in redis_snapshot(client).items() if k.startswith(("tc:{m:", "tc:{chain:"))}


async def refused(call, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: dt.tzinfo = SHANGHAI) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=tz).timestamp() * 1000)


# Merchants ---------------------------------------------------------------------------------------


async def test_merchant_hours_in_its_zone_with_exceptions(supply) -> None:  # type: ignore[no-untyped-def]
    """Open 10:00-14:00 and 17:00-22:00 Shanghai time on weekdays, closed on a holiday: open_now follows local time."""
    s: Supply = supply()
    weekly = [
        pb.WeeklyPeriod(day=d, start_minute=start, end_minute=end)
        for d in range(1, 6)
        for start, end in ((600, 840), (1020, 1320))
    ]
    created = await create_merchant(
        s,
        weekly_hours=weekly,
        exceptions=[pb.DateException(date="2026-10-01")],  # National Day: closed
    )
    assert created.version == 1 and created.status == pb.MERCHANT_STATUS_OPEN

    async def open_at(at_ms: int) -> bool:
        reply = await s.merchants.GetMerchant(
            pb.GetMerchantRequest(merchant_id="m1", at=ms_to_ts(at_ms)), metadata=s.md
        )
        return reply.open_now

    assert await open_at(ms(2026, 9, 30, 10, 0))  # a Wednesday, 10:00 in Shanghai (02:00 UTC)
    assert not await open_at(ms(2026, 9, 30, 9, 59))
    assert not await open_at(ms(2026, 9, 30, 14, 0))  # end is exclusive
    assert await open_at(ms(2026, 9, 30, 21, 59))
    assert not await open_at(ms(2026, 10, 1, 12, 0))  # the holiday
    assert not await open_at(ms(2026, 10, 3, 12, 0))  # a Saturday
    await s.merchants.SetMerchantStatus(
        pb.SetMerchantStatusRequest(merchant_id="m1", status=pb.MERCHANT_STATUS_PAUSED), metadata=s.md
    )
    assert not await open_at(ms(2026, 9, 30, 12, 0))  # paused
    # Asked for a time beyond a year ahead, or at the end of a Timestamp's range (no local date in Shanghai):
    # INVALID_ARGUMENT naming `at`.
    for far in (ms(2027, 4, 5), 253_402_300_799_999):  # the clock stands at 2026-03-01
        err = await refused(
            s.merchants.GetMerchant(pb.GetMerchantRequest(merchant_id="m1", at=ms_to_ts(far)), metadata=s.md)
        )
        assert bad_request_fields(err) == ["at"]


async def test_merchant_versions_and_chain_branches(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A create twice or a replace at a stale version is FAILED_PRECONDITION and changes nothing; branches are listed by chain."""
    s: Supply = supply()
    await create_merchant(s, "b1", chain_id="c1")
    await create_merchant(s, "b2", chain_id="c1")
    before = merchant_keys(redis_sync)
    await refused(s.merchants.UpsertMerchant(pb.UpsertMerchantRequest(merchant=merchant("b1")), metadata=s.md),
                  grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    await refused(
        s.merchants.UpsertMerchant(pb.UpsertMerchantRequest(merchant=merchant("b1", version=7)), metadata=s.md),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert merchant_keys(redis_sync) == before
    moved = await s.merchants.UpsertMerchant(
        pb.UpsertMerchantRequest(merchant=merchant("b2", version=1, chain_id="c2", name="new name")), metadata=s.md
    )
    assert moved.merchant.version == 2 and moved.merchant.name == "new name"
    c1 = await s.merchants.ListBranches(pb.ListBranchesRequest(chain_id="c1"), metadata=s.md)
    c2 = await s.merchants.ListBranches(pb.ListBranchesRequest(chain_id="c2"), metadata=s.md)
    assert list(c1.merchant_ids) == ["b1"] and list(c2.merchant_ids) == ["b2"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "China/Beijing"}, "merchant.time_zone"),
        ({"time_zone": "Asia/Shanghai\n"}, "merchant.time_zone"),
        ({"time_zone": ""}, "merchant.time_zone"),
        ({"weekly_hours": [pb.WeeklyPeriod(day=1, start_minute=600, end_minute=540)]}, "merchant.weekly_hours[0].end_minute"),
        (
            {"weekly_hours": [pb.WeeklyPeriod(day=1, start_minute=600, end_minute=900),
                              pb.WeeklyPeriod(day=1, start_minute=840, end_minute=1000)]},
            "merchant.weekly_hours[1]",
        ),
        ({"weekly_hours": [pb.WeeklyPeriod(start_minute=0, end_minute=60)]}, "merchant.weekly_hours[0].day"),
        ({"weekly_hours": [pb.WeeklyPeriod(day=2, start_minute=0, end_minute=1441)]}, "merchant.weekly_hours[0].end_minute"),
        ({"exceptions": [pb.DateException(date="2026-02-30")]}, "merchant.exceptions[0].date"),
        ({"exceptions": [pb.DateException(date="2026-05-01"), pb.DateException(date="2026-05-01")]}, "merchant.exceptions[1].date"),
        ({"category": pb.MERCHANT_CATEGORY_UNSPECIFIED}, "merchant.category"),
        ({"name": " "}, "merchant.name"),
        ({"merchant_id": "m 1"}, "merchant.merchant_id"),
        ({"chain_id": "m1"}, "merchant.chain_id"),
        ({"status": 9}, "merchant.status"),
    ],
)  # fmt: skip
async def test_bad_merchants_are_refused_naming_the_field(supply, redis_sync: redis.Redis, change, field) -> None:  # type: ignore[no-untyped-def]
    """A zone that is not IANA, hours that end before they start or overlap, a bad date...: INVALID_ARGUMENT naming it."""
    s: Supply = supply()
    err = await refused(
        s.merchants.UpsertMerchant(pb.UpsertMerchantRequest(merchant=merchant(**change)), metadata=s.md)
    )
    assert field in bad_request_fields(err)
    assert merchant_keys(redis_sync) == {}


async def test_a_merchant_acts_only_for_itself(supply) -> None:  # type: ignore[no-untyped-def]
    """A merchant's token reads and syncs its own catalogue and nobody else's; a rider has no business here."""
    ops: Supply = supply()
    await create_merchant(ops, "m1")
    await create_merchant(ops, "m2")
    mine: Supply = supply(Role.MERCHANT, "m1")
    await sync(mine, "m1", "k1", item("dish"))
    await refused(sync(mine, "m2", "k1", item("dish")), grpc.StatusCode.PERMISSION_DENIED)
    await refused(sync(supply(Role.RIDER, "r1"), "m1", "k2", item("dish")), grpc.StatusCode.PERMISSION_DENIED)


# Catalogue ---------------------------------------------------------------------------------------


async def test_catalogue_versions_and_a_price_change_visible_at_once(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Items start at version 1; a change needs the version read; a stale one in a batch fails the whole batch."""
    s: Supply = supply()
    await create_merchant(s)
    first = await sync(s, "m1", "k1", item("crayfish", 8_800), item("beer", 1_200))
    assert [(i.item_id, i.version) for i in first.items] == [("crayfish", 1), ("beer", 1)]
    await sync(s, "m1", "k2", item("crayfish", 9_800, version=1))  # the market price moved
    got = await s.merchants.GetCatalog(pb.GetCatalogRequest(merchant_id="m1", item_ids=["crayfish"]), metadata=s.md)
    assert got.items[0].variants[0].price_fen == 9_800 and got.items[0].version == 2
    before = merchant_keys(redis_sync)
    # Version mismatch (Square's VERSION_MISMATCH): beer's change and the new item are not applied either.
    err = await refused(
        sync(s, "m1", "k3", item("beer", 1_500, version=1), item("noodles", 2_000), item("crayfish", 1, version=1)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "items[2]" in (err.details() or "")
    assert merchant_keys(redis_sync) == before


async def test_a_batch_is_idempotent_on_its_key(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """The same key and body returns the stored result; the same key with another body is INVALID_ARGUMENT."""
    s: Supply = supply()
    await create_merchant(s)
    first = await sync(s, "m1", "batch-1", item("a"), item("b"))
    again = await sync(s, "m1", "batch-1", item("a"), item("b"))
    assert again.replayed and list(again.items) == list(first.items)
    before = merchant_keys(redis_sync)
    err = await refused(sync(s, "m1", "batch-1", item("a", 5)))
    assert bad_request_fields(err) == ["idempotency_key"]
    assert merchant_keys(redis_sync) == before


async def test_a_thousand_items_in_one_batch_and_not_one_more(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """1,000 objects are applied together; 1,001 are refused whole."""
    s: Supply = supply()
    await create_merchant(s)
    reply = await sync(s, "m1", "big", *(item(f"sku{i:04d}", 100 + i) for i in range(1_000)))
    assert len(reply.items) == 1_000
    got = await s.merchants.GetCatalog(pb.GetCatalogRequest(merchant_id="m1"), metadata=s.md)
    assert len(got.items) == 1_000
    before = merchant_keys(redis_sync)
    err = await refused(sync(s, "m1", "bigger", *(item(f"x{i:04d}") for i in range(1_001))))
    assert bad_request_fields(err) == ["items"]
    assert merchant_keys(redis_sync) == before


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([item("a"), item("a")], "items[1].item_id"),
        ([item("a", price_fen=-100)], "items[0].variants[0].price_fen"),
        ([item("a", price_fen=0)], "items[0].variants[0].price_fen"),
        ([item("a", variants=0)], "items[0].variants"),
        ([item("a", version=-1)], "items[0].version"),
        ([item("a"), pb.CatalogItem(item_id="b", name="b", variants=[pb.Variant(variant_id="a-v0", name="", price_fen=1)])],
         "items[1].variants[0].variant_id"),
        ([item("a", status=7)], "items[0].status"),
        ([], "items"),
    ],
)  # fmt: skip
async def test_bad_batches_are_refused_whole(supply, redis_sync: redis.Redis, items, field) -> None:  # type: ignore[no-untyped-def]
    """A duplicate id, a negative price, an item without variants...: INVALID_ARGUMENT naming it, nothing applied."""
    s: Supply = supply()
    await create_merchant(s)
    before = merchant_keys(redis_sync)
    err = await refused(sync(s, "m1", "k", *items))
    assert field in bad_request_fields(err)
    assert merchant_keys(redis_sync) == before


async def test_a_variant_of_another_item_is_refused(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Variant ids are unique within the merchant: one already held by another item is refused by the script."""
    s: Supply = supply()
    await create_merchant(s)
    await sync(s, "m1", "k1", item("a"))
    before = merchant_keys(redis_sync)
    thief = pb.CatalogItem(item_id="b", name="b", variants=[pb.Variant(variant_id="a-v0", name="x", price_fen=1)])
    err = await refused(sync(s, "m1", "k2", thief))
    assert bad_request_fields(err) == ["items[0].variants[0].variant_id"]
    assert merchant_keys(redis_sync) == before


async def test_unknown_merchant_is_refused(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A batch for a merchant that does not exist names merchant_id."""
    s: Supply = supply()
    err = await refused(sync(s, "nobody", "k", item("a")))
    assert bad_request_fields(err) == ["merchant_id"]
    assert merchant_keys(redis_sync) == {}


# Stock -------------------------------------------------------------------------------------------


async def _shop(s: Supply) -> None:
    await create_merchant(s, "shop", category=pb.MERCHANT_CATEGORY_CONVENIENCE)
    await sync(s, "shop", "menu", item("milk", 650), item("bread", 900))


async def test_count_then_adjustments_and_late_events_in_their_place(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """On hand = last physical count + changes after it, by the POS's occurred_at, whatever the arrival order."""
    s: Supply = supply()
    await _shop(s)
    t0 = supply_app.clock.now_ms() - 3_600_000
    await record(s, "shop", count("c1", "milk-v0", 20, t0))
    await record(s, "shop", adjust("a1", "milk-v0", -3, t0 + 60_000, "sold at the counter"))
    assert (await level(s, "shop", "milk-v0")).on_hand == 17
    # A late adjustment from before the count: already in the count, ignored for on hand.
    await record(s, "shop", adjust("a0", "milk-v0", -5, t0 - 60_000))
    assert (await level(s, "shop", "milk-v0")).on_hand == 17
    # A count arriving late but taken after a1 and before a2: replaces everything before it.
    await record(s, "shop", adjust("a2", "milk-v0", +10, t0 + 180_000, "delivery"))
    await record(s, "shop", count("c2", "milk-v0", 12, t0 + 120_000))
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.available) == (22, 22)
    assert got.last_count_at.ToMilliseconds() == t0 + 120_000
    # An older count changes nothing.
    await record(s, "shop", count("c0", "milk-v0", 99, t0 - 120_000))
    assert (await level(s, "shop", "milk-v0")).on_hand == 22
    reply = await s.merchants.GetStock(
        pb.GetStockRequest(merchant_id="shop", variant_ids=["milk-v0"], include_ledger=True), metadata=s.md
    )
    assert [e.event_id for e in reply.ledger] == ["c0", "a0", "c1", "a1", "c2", "a2"]


async def test_the_same_events_in_any_order_give_the_same_stock(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Six permutations of counts and adjustments on six variants end at the same on-hand."""
    import itertools

    s: Supply = supply()
    await create_merchant(s, "shop")
    await sync(s, "shop", "menu", *(item(f"p{i}") for i in range(6)))
    t0 = supply_app.clock.now_ms() - 3_600_000
    template = [("c", 10, 0), ("a", -2, 1), ("c", 4, 2), ("a", 3, 3), ("a", -1, -1)]
    for n, order in enumerate(itertools.islice(itertools.permutations(range(len(template))), 0, 120, 20)):
        v = f"p{n}-v0"
        for i in order:
            kind, qty, minute = template[i]
            make = count if kind == "c" else adjust
            await record(s, "shop", make(f"e{n}-{i}", v, qty, t0 + minute * 60_000))
        assert (await level(s, "shop", v)).on_hand == 4 + 3, order  # the count at minute 2, then +3


async def test_event_retries_are_idempotent_and_clashes_refused(
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """An event sent twice counts once; its id with another body is refused, with the whole upload."""
    s: Supply = supply()
    await _shop(s)
    t0 = supply_app.clock.now_ms() - 60_000
    await record(s, "shop", count("c1", "milk-v0", 5, t0), adjust("a1", "milk-v0", 2, t0 + 1))
    again = await record(s, "shop", count("c1", "milk-v0", 5, t0), adjust("a1", "milk-v0", 2, t0 + 1))
    assert again.replayed_count == 2 and again.levels[0].on_hand == 7
    before = merchant_keys(redis_sync)
    err = await refused(record(s, "shop", adjust("a9", "bread-v0", 1, t0), adjust("a1", "milk-v0", 3, t0 + 1)))
    assert bad_request_fields(err) == ["events[1].event_id"]
    assert merchant_keys(redis_sync) == before


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (count("c", "milk-v0", -1, 0), "events[0].quantity"),
        (adjust("a", "milk-v0", 0, 0), "events[0].quantity"),
        (count("c", "ghost-v0", 1, 0), "events[0].variant_id"),
        (count("c", "milk-v0", 1, 10**13), "events[0].occurred_at"),  # the year 2286
        (count("c", "milk-v0", 1, 1_000), "events[0].occurred_at"),  # 1970
        (pb.StockEvent(event_id="x", variant_id="milk-v0", quantity=1), "events[0].kind"),
    ],
)
async def test_bad_stock_events_are_refused(supply_app: App, supply, redis_sync: redis.Redis, event, field) -> None:  # type: ignore[no-untyped-def]
    """A negative count, a zero adjustment, an unknown variant, a time in the future: INVALID_ARGUMENT naming it."""
    s: Supply = supply()
    await _shop(s)
    if event.occurred_at.seconds == 0 and event.kind:
        event.occurred_at.CopyFrom(ms_to_ts(supply_app.clock.now_ms()))
    before = merchant_keys(redis_sync)
    err = await refused(record(s, "shop", event))
    assert field in bad_request_fields(err)
    assert merchant_keys(redis_sync) == before


async def test_reservations_hold_sell_release_and_expire(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """A hold lowers available; a sale lowers on hand; a release gives back; an expired hold stops counting."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await _shop(s)
    await record(s, "shop", count("c1", "milk-v0", 5, clock.now_ms() - 1_000))

    async def reserve(rid: str, qty: int, ttl_s: int = 600) -> pb.Reservation:
        reply = await s.merchants.ReserveStock(
            pb.ReserveStockRequest(merchant_id="shop", reservation_id=rid, ttl_s=ttl_s,
                                   lines=[pb.StockLine(variant_id="milk-v0", quantity=qty)]), metadata=s.md,
        )  # fmt: skip
        return reply.reservation

    assert (await reserve("r1", 2)).state == pb.RESERVATION_STATE_HELD
    assert (await reserve("r1", 2)).state == pb.RESERVATION_STATE_HELD  # a retry
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.reserved, got.available) == (5, 2, 3)
    err = await refused(reserve("r2", 4), grpc.StatusCode.FAILED_PRECONDITION)
    assert "lines[0]" in (err.details() or "")
    await refused(reserve("r1", 1))  # the id with other lines
    sold = await s.merchants.CommitReservation(
        pb.CommitReservationRequest(merchant_id="shop", reservation_id="r1"), metadata=s.md
    )
    assert sold.reservation.state == pb.RESERVATION_STATE_SOLD
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.reserved, got.available) == (3, 0, 3)
    await reserve("r3", 3, ttl_s=60)
    assert (await level(s, "shop", "milk-v0")).available == 0
    clock.advance(61)
    got = await level(s, "shop", "milk-v0")
    assert (got.reserved, got.available) == (0, 3)  # r3 expired
    expired = await s.merchants.CommitReservation(
        pb.CommitReservationRequest(merchant_id="shop", reservation_id="r3"), metadata=s.md
    )
    assert expired.reservation.state == pb.RESERVATION_STATE_SOLD  # sold anyway: the stock was still there
    await refused(reserve("r4", 1), grpc.StatusCode.FAILED_PRECONDITION)  # nothing left
    # Returned: the order of r1 was cancelled before the goods left.
    back = await s.merchants.ReleaseReservation(
        pb.ReleaseReservationRequest(merchant_id="shop", reservation_id="r1"), metadata=s.md
    )
    assert back.reservation.state == pb.RESERVATION_STATE_RETURNED
    await reserve("r4", 1)
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.reserved, got.available) == (2, 1, 1)
    await refused(
        s.merchants.CommitReservation(
            pb.CommitReservationRequest(merchant_id="shop", reservation_id="r1"), metadata=s.md
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )


async def test_an_expired_reservation_is_not_sold_when_its_stock_went(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """After expiry another checkout took the last unit: paying for the expired one is FAILED_PRECONDITION."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await _shop(s)
    await record(s, "shop", count("c1", "bread-v0", 1, clock.now_ms() - 1_000))
    line = [pb.StockLine(variant_id="bread-v0", quantity=1)]
    await s.merchants.ReserveStock(
        pb.ReserveStockRequest(merchant_id="shop", reservation_id="web", lines=line, ttl_s=30), metadata=s.md
    )
    clock.advance(31)
    await s.merchants.ReserveStock(
        pb.ReserveStockRequest(merchant_id="shop", reservation_id="counter", lines=line), metadata=s.md
    )
    await refused(
        s.merchants.CommitReservation(
            pb.CommitReservationRequest(merchant_id="shop", reservation_id="web"), metadata=s.md
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    got = await level(s, "shop", "bread-v0")
    assert (got.on_hand, got.reserved, got.available) == (1, 1, 0)


async def test_a_hundred_concurrent_checkouts_of_ten_units_reserve_exactly_ten(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Web and counter reserving at once through the real server: exactly 10 of 100 succeed, none oversold."""
    s: Supply = supply()
    await _shop(s)
    await record(s, "shop", count("c1", "milk-v0", 10, supply_app.clock.now_ms() - 1_000))

    async def checkout(n: int) -> bool:
        try:
            await s.merchants.ReserveStock(
                pb.ReserveStockRequest(merchant_id="shop", reservation_id=f"checkout-{n}",
                                       lines=[pb.StockLine(variant_id="milk-v0", quantity=1)]), metadata=s.md,
            )  # fmt: skip
            return True
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err.details()
            return False

    results = await asyncio.gather(*(checkout(n) for n in range(100)))
    assert sum(results) == 10
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.reserved, got.available, got.oversold) == (10, 10, 0, 0)


async def test_a_late_counter_sale_below_what_is_held_shows_as_oversold(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """An offline POS sale reported late is a fact: on hand drops under what is held, and GetStock says by how much."""
    s: Supply = supply()
    await _shop(s)
    now = supply_app.clock.now_ms()
    await record(s, "shop", count("c1", "milk-v0", 2, now - 60_000))
    await s.merchants.ReserveStock(
        pb.ReserveStockRequest(merchant_id="shop", reservation_id="web",
                               lines=[pb.StockLine(variant_id="milk-v0", quantity=2)]), metadata=s.md,
    )  # fmt: skip
    await record(s, "shop", adjust("offline-sale", "milk-v0", -1, now - 30_000))
    got = await level(s, "shop", "milk-v0")
    assert (got.on_hand, got.reserved, got.available, got.oversold) == (1, 2, 0, 1)


async def test_near_expiry_lots_become_promotion_suggestions(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Lots expiring within the window (the merchant's local dates) get a markdown; later ones and gone ones do not."""
    s: Supply = supply()
    await _shop(s)
    today = dt.datetime.fromtimestamp(supply_app.clock.now_ms() / 1000, SHANGHAI).date()

    def lot(lot_id: str, days: int, quantity: int = 6) -> pb.StockLot:
        return pb.StockLot(lot_id=lot_id, variant_id="milk-v0", quantity=quantity,
                           expires_on=(today + dt.timedelta(days=days)).isoformat())  # fmt: skip

    await record(s, "shop", lots=[lot("L-today", 0), lot("L-2", 2), lot("L-9", 9), lot("L-past", -1)])
    made = await s.merchants.SuggestPromotions(pb.SuggestPromotionsRequest(merchant_id="shop"), metadata=s.md)
    by_lot = {x.lot_id: x for x in made.suggestions}
    assert set(by_lot) == {"L-today", "L-2"}
    assert (by_lot["L-today"].discount_bp, by_lot["L-today"].price_fen, by_lot["L-today"].promotion_price_fen) == (
        5_000,
        650,
        325,
    )
    assert by_lot["L-2"].discount_bp == 3_000
    await record(s, "shop", lots=[lot("L-2", 2, quantity=0)])  # sold out: the lot is gone
    await s.merchants.SuggestPromotions(pb.SuggestPromotionsRequest(merchant_id="shop", within_days=10), metadata=s.md)
    kept = await s.merchants.ListPromotionSuggestions(
        pb.ListPromotionSuggestionsRequest(merchant_id="shop"), metadata=s.md
    )
    assert [x.lot_id for x in kept.suggestions] == ["L-today", "L-9"]
    err = await refused(
        record(s, "shop", lots=[pb.StockLot(lot_id="x", variant_id="milk-v0", quantity=1, expires_on="tomorrow")])
    )
    assert bad_request_fields(err) == ["lots[0].expires_on"]


async def test_reserving_at_an_unknown_merchant_names_it(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """The reservation script itself checks the merchant: INVALID_ARGUMENT on merchant_id, nothing written."""
    s: Supply = supply()
    line = [pb.StockLine(variant_id="milk-v0", quantity=1)]
    err = await refused(
        s.merchants.ReserveStock(
            pb.ReserveStockRequest(merchant_id="nobody", reservation_id="r", lines=line), metadata=s.md
        )
    )
    assert bad_request_fields(err) == ["merchant_id"]
    assert merchant_keys(redis_sync) == {}


async def test_ledgers_are_read_for_a_bounded_number_of_variants(supply) -> None:  # type: ignore[no-untyped-def]
    """GetStock returns ledgers for up to 20 variants at a time (each its latest 1,000 events); more is refused."""
    s: Supply = supply()
    await _shop(s)
    ids = [f"v{i}" for i in range(21)]
    request = pb.GetStockRequest(merchant_id="shop", variant_ids=ids, include_ledger=True)
    err = await refused(s.merchants.GetStock(request, metadata=s.md))
    assert bad_request_fields(err) == ["variant_ids"]
    assert (
        len((await s.merchants.GetStock(pb.GetStockRequest(merchant_id="shop", variant_ids=ids), metadata=s.md)).levels)
        == 21
    )


async def test_variant_ids_that_end_like_another_variants_keys_keep_their_own_stock(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Ids may hold ':', so variants "tea:ledger", "tea:holds" and "tea:held" must not be (or overwrite) the ledger
    or reservations of variant "tea": counted, reserved and read, each keeps its own stock."""
    s: Supply = supply()
    await create_merchant(s, "shop")
    tea = pb.CatalogItem(item_id="tea", name="tea", variants=[
        pb.Variant(variant_id=v, name=v, price_fen=500) for v in ("tea:ledger", "tea:holds", "tea:held", "tea")
    ])  # fmt: skip
    await sync(s, "shop", "menu", tea)
    t0 = supply_app.clock.now_ms() - 60_000
    for n, v in enumerate(("tea:ledger", "tea:holds", "tea:held", "tea")):
        await record(s, "shop", count(f"c{n}", v, 10 + n, t0))
        await s.merchants.ReserveStock(
            pb.ReserveStockRequest(merchant_id="shop", reservation_id=f"r{n}",
                                   lines=[pb.StockLine(variant_id=v, quantity=1)]),
            metadata=s.md,
        )  # fmt: skip
    for n, v in enumerate(("tea:ledger", "tea:holds", "tea:held", "tea")):
        got = await level(s, "shop", v)
        assert (got.on_hand, got.reserved, got.available) == (10 + n, 1, 9 + n), v
