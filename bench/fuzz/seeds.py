"""A day's first minutes, as requests: the valid calls a fuzz run starts from.

They put state behind the ids the fuzzer then draws (riders with positions, dispatch orders, paid and
refunded orders, a split rule), and each accepted one joins its RPC's corpus of requests to mutate. A
service added later needs no seed to be fuzzed: its requests are drawn from its descriptor, with the
pools filled from every reply; seeds only let the fuzzer reach deeper sooner.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import h3

from core.geo import LatLng
from serving.auth import Role

Seed = tuple[str, Role, str, list[dict[str, Any]]]  # (method, role, subject id, the request(s))


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def seed_requests(now_ms: int, center: LatLng) -> list[Seed]:
    lat, lng = center.lat, center.lng

    def near(i: int) -> dict[str, float]:
        return {"lat": round(lat + 0.002 * (i % 5) - 0.004, 6), "lng": round(lng + 0.003 * (i % 3) - 0.003, 6)}

    d = "tongcheng.dispatch.v1.DispatchService/"
    o = "tongcheng.orders.v1.OrderService/"
    s = "tongcheng.settlement.v1.SettlementService/"
    now = _iso(now_ms)
    fixes = [{"rider_id": f"r{i}", "position": near(i), "recorded_at": now} for i in range(1, 6)]
    seeds: list[Seed] = [
        (d + "StreamRiderPositions", Role.OPS, "", [{"fixes": fixes}]),
        (d + "StreamRiderPositions", Role.RIDER, "r1", [{"fixes": fixes[:1]}]),
        (
            d + "AssignRiders",
            Role.ORDER_SERVICE,
            "",
            [
                {
                    "orders": [
                        {
                            "order_id": f"d{i}",
                            "merchant_id": f"m{i % 2 + 1}",
                            "pickup": near(i),
                            "dropoff": near(i + 2),
                            "placed_at": now,
                            "item_count": 2,
                            "promised_at": _iso(now_ms + 1_800_000),
                            "ready_at_hint": _iso(now_ms + 600_000),
                        }
                        for i in range(1, 4)
                    ]
                }
            ],
        ),
        (d + "GetOrder", Role.OPS, "", [{"order_id": "d1"}]),
        (d + "ReportFoodReady", Role.MERCHANT, "m2", [{"order_id": "d1"}]),
        (d + "WatchAssignments", Role.RIDER, "r1", [{"rider_id": "r1"}]),
        (d + "UpdateTraffic", Role.OPS, "", [{"cells": [{"h3_cell": h3.latlng_to_cell(lat, lng, 7), "factor": 1.5}]}]),
        (
            s + "SetSplitRule",
            Role.OPS,
            "",
            [
                {
                    "rule": {
                        "merchant_id": "m1",
                        "platform_commission": {"basis_points": 800},
                        "rider_delivery_fee": {"fixed_fen": 500},
                        "effective_from": _iso(now_ms - 86_400_000),
                    }
                }
            ],
        ),
        (s + "SetSplitRule", Role.OPS, "", [{"rule": {"chain_id": "c1", "head_office_share": {"basis_points": 300}}}]),
    ]
    for i in range(1, 5):
        seeds.append(
            (
                o + "CreateOrder",
                Role.ORDER_SERVICE,
                "",
                [
                    {
                        "order_id": f"o{i}",
                        "merchant_id": f"m{i % 2 + 1}",
                        "chain_id": "c1" if i % 2 else "",
                        "customer_id": f"u{i}",
                        "items_fen": 3_000 + 100 * i,
                        "delivery_fee_fen": 500,
                        "pickup": near(i),
                        "dropoff": near(i + 1),
                        "item_count": 1 + i % 3,
                    }
                ],
            )
        )
    for i in range(1, 4):
        seeds.append(
            (
                o + "PayOrder",
                Role.ORDER_SERVICE,
                "",
                [
                    {
                        "order_id": f"o{i}",
                        "payment_id": f"pay{i}",
                        "amount_fen": 3_500 + 100 * i,
                    }
                ],
            )
        )
    seeds += [
        (o + "AcceptOrder", Role.MERCHANT, "m2", [{"order_id": "o1"}]),
        (
            o + "RefundOrder",
            Role.ORDER_SERVICE,
            "",
            [{"order_id": "o2", "idempotency_key": "refund-o2-1", "amount_fen": 700, "reason": "a missing drink"}],
        ),
        (o + "GetOrder", Role.ORDER_SERVICE, "", [{"order_id": "o1"}]),
        (s + "SplitOrders", Role.ORDER_SERVICE, "", [{"splits": [{"idempotency_key": "split-o3", "order_id": "o3"}]}]),
        (s + "GetSplit", Role.ORDER_SERVICE, "", [{"order_id": "o1"}]),
        (s + "ListAlerts", Role.OPS, "", [{"page_size": 10}]),
        (s + "ListSplitRules", Role.OPS, "", [{"merchant_id": "m1"}]),
        (s + "Reconcile", Role.OPS, "", [{}]),
        (s + "RunDailySettlement", Role.OPS, "", [{"business_day": _day(now_ms - 2 * 86_400_000)}]),
        (
            s + "GetStatement",
            Role.OPS,
            "",
            [{"business_day": _day(now_ms - 2 * 86_400_000), "receiver": "merchant:m1"}],
        ),
    ]
    seeds += _loyalty_and_coupon_seeds(now_ms, center)
    return seeds + supply_seeds(now_ms) + pricing_seeds(now_ms, center) + forecast_seeds(now_ms)


def pricing_seeds(now_ms: int, center: LatLng) -> list[Seed]:
    """A Helsinki shop's delivery area, rules, rain, a promotion, a quote and a quoted order (issue 21)."""
    p = "tongcheng.pricing.v1.PricingService/"
    place = {"lat": round(center.lat, 6), "lng": round(center.lng, 6)}
    door = {"lat": round(center.lat + 0.002, 6), "lng": round(center.lng + 0.002, 6)}
    d = 0.004
    ring = [[center.lng - d, center.lat - d], [center.lng + d, center.lat - d], [center.lng + d, center.lat + d],
            [center.lng - d, center.lat - d]]  # fmt: skip
    return [
        (
            "tongcheng.merchants.v1.MerchantService/UpsertMerchant",
            Role.OPS,
            "",
            [
                {
                    "merchant": {
                        "merchant_id": "pm1",
                        "name": "Noodle Bar",
                        "category": "MERCHANT_CATEGORY_RESTAURANT",
                        "location": place,
                        "time_zone": "Europe/Helsinki",
                    }
                }
            ],
        ),
        (p + "SetDeliveryArea", Role.MERCHANT, "pm1", [{"merchant_id": "pm1", "radius_m": 800}]),
        (
            p + "SetDeliveryArea",
            Role.OPS,
            "",
            [{"merchant_id": "m1", "polygon_geojson": json.dumps({"type": "Polygon", "coordinates": [ring]})}],
        ),
        (p + "SetDeliveryArea", Role.OPS, "", [{"merchant_id": "pm1", "isochrone": {"minutes": 2}}]),
        (p + "GetDeliveryArea", Role.MEMBER, "u1", [{"merchant_id": "pm1"}]),
        (
            p + "FindMerchantsDelivering",
            Role.MEMBER,
            "u1",
            [
                {"location": door},
                {"location": door, "page_size": 1},
                {"location": door, "page_size": 2, "include_closed": True},
            ],
        ),
        (p + "GetPricingRules", Role.OPS, "", [{}]),
        (
            p + "SetPricingRules",
            Role.OPS,
            "",
            [
                {
                    "rules": {
                        "base_fen": 500,
                        "per_km_fen": 120,
                        "included_m": 1000,
                        "free_items": 10,
                        "extra_item_fen": 20,
                        "surge_cap": 1.8,
                        "surge_threshold": 1.0,
                        "surge_slope": 0.5,
                        "rider_surge_share_bp": 5000,
                        "shrink_at": 2.0,
                        "grow_at": 1.0,
                        "max_shrink_rings": 2,
                        "hour_bands": [{"start_hour": 22, "end_hour": 6, "fee_fen": 200, "label": "night"}],
                        "weather_fees": [{"weather": "WEATHER_RAIN", "fee_fen": 200}],
                        "quote_ttl_s": 600,
                        "min_basket_fen": 1000,
                        "small_order_below_fen": 2000,
                        "small_order_fee_fen": 300,
                    }
                }
            ],
        ),
        (
            p + "SetConditions",
            Role.OPS,
            "",
            [{"area_id": f"helsinki-{h3.latlng_to_cell(center.lat, center.lng, 6)}", "weather": "WEATHER_RAIN"}],
        ),
        (
            p + "SetDeliveryPromotions",
            Role.MERCHANT,
            "pm1",
            [
                {
                    "merchant_id": "pm1",
                    "promotions": [
                        {
                            "promotion_id": "lunch-rain",
                            "percent_off": 20,
                            "start_minute": 660,
                            "end_minute": 840,
                            "weather": "WEATHER_RAIN",
                        }
                    ],
                }
            ],
        ),
        (
            p + "QuoteDelivery",
            Role.MEMBER,
            "u1",
            [
                {"merchant_id": "pm1", "dropoff": door, "item_count": 3, "items_fen": 4_800},
                {"merchant_id": "pm1", "dropoff": door, "item_count": 1, "items_fen": 1_200},
            ],
        ),
        (p + "RefreshSurge", Role.OPS, "", [{}]),
    ]


def forecast_seeds(now_ms: int) -> list[Seed]:
    """Ops reading the next hour's forecast and guidance's latest step; the shop asking for restock hints."""
    f = "tongcheng.forecast.v1.ForecastService/"
    return [
        (f + "GetDemandForecast", Role.OPS, "", [{"slots": 4}, {"start_time": _iso(now_ms + 3_600_000), "slots": 8,
                                                               "resolution": 7}]),
        (f + "GetGuidanceDecision", Role.OPS, "", [{}]),
        (f + "SuggestRestock", Role.MERCHANT, "m1", [{"merchant_id": "m1", "horizon_hours": 6}]),
        (f + "ListRestockSuggestions", Role.MERCHANT, "m1", [{"merchant_id": "m1"}]),
    ]  # fmt: skip


def supply_seeds(now_ms: int) -> list[Seed]:
    """A shop's POS syncing its menu and stock, a checkout's reservation, a clinic's doctor booked (issue 20)."""
    m = "tongcheng.merchants.v1.MerchantService/"
    b = "tongcheng.bookings.v1.BookingService/"
    now = _iso(now_ms)
    # The next weekday at 09:00 in Shanghai, at least a day ahead: the first slot of the doctor below.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    day = dt.datetime.fromtimestamp(now_ms / 1000, shanghai).date() + dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    nine = dt.datetime(day.year, day.month, day.day, 9, tzinfo=shanghai)
    slot = _iso(int(nine.timestamp() * 1000))
    place = {"lat": 31.2304, "lng": 121.4737}
    menu = [
        {"item_id": "crayfish", "name": "麻辣小龙虾", "variants": [{"variant_id": "crayfish-500g", "name": "500 g", "price_fen": 8_800}]},
        {"item_id": "milk", "name": "milk", "variants": [{"variant_id": "milk-1l", "name": "1 l", "price_fen": 1_250}]},
    ]  # fmt: skip
    return [
        (m + "UpsertMerchant", Role.OPS, "", [{"merchant": {"merchant_id": "m1", "name": "Crayfish House",
            "category": "MERCHANT_CATEGORY_RESTAURANT", "location": place, "time_zone": "Asia/Shanghai", "chain_id": "c1"}}]),
        (m + "UpsertMerchant", Role.OPS, "", [{"merchant": {"merchant_id": "m2", "name": "Clinic",
            "category": "MERCHANT_CATEGORY_CLINIC", "location": place, "time_zone": "Asia/Shanghai",
            "weekly_hours": [{"day": "DAY_OF_WEEK_MONDAY", "start_minute": 480, "end_minute": 1080}]}}]),
        (m + "SetChainOverflow", Role.OPS, "", [{"chain_id": "c1", "overflow": {"enabled": True, "backlog_orders": 8,
            "late_prep_s": 1200, "margin_s": 300}}]),
        (m + "GetChainOverflow", Role.MERCHANT, "m1", [{"chain_id": "c1"}]),
        (m + "SyncCatalog", Role.MERCHANT, "m1", [{"merchant_id": "m1", "idempotency_key": "pos-1", "items": menu}]),
        (m + "SyncChainCatalog", Role.MERCHANT, "c1", [{"chain_id": "c1", "idempotency_key": "hq-1", "items": [
            {"item_id": "tea", "name": "jasmine tea", "variants": [{"variant_id": "tea-500ml", "name": "500 ml", "price_fen": 1_500}]}]}]),
        (m + "GetChainCatalog", Role.OPS, "", [{"chain_id": "c1", "item_ids": ["tea"]}]),
        (m + "SetItemOverrides", Role.MERCHANT, "m1", [{"merchant_id": "m1", "overrides": [{"item_id": "tea",
            "status": "ITEM_STATUS_ACTIVE", "prices": [{"variant_id": "tea-500ml", "price_fen": 1_200}]}]}]),
        (m + "RecordStockEvents", Role.MERCHANT, "m1", [{"merchant_id": "m1", "events": [
            {"event_id": "count-1", "variant_id": "milk-1l", "kind": "STOCK_EVENT_KIND_PHYSICAL_COUNT", "quantity": 12,
             "occurred_at": _iso(now_ms - 600_000)},
            {"event_id": "adj-1", "variant_id": "milk-1l", "kind": "STOCK_EVENT_KIND_ADJUSTMENT", "quantity": -2,
             "occurred_at": now},
            {"event_id": "count-2", "variant_id": "crayfish-500g", "kind": "STOCK_EVENT_KIND_PHYSICAL_COUNT", "quantity": 5,
             "occurred_at": now}],
            "lots": [{"lot_id": "lot-1", "variant_id": "milk-1l", "quantity": 4, "expires_on": _day(now_ms + 86_400_000)}]}]),
        (m + "ReserveStock", Role.ORDER_SERVICE, "", [{"merchant_id": "m1", "reservation_id": "r1",
            "lines": [{"variant_id": "milk-1l", "quantity": 2}]}]),
        (m + "ReserveStock", Role.ORDER_SERVICE, "", [{"merchant_id": "m1", "reservation_id": "r2",
            "lines": [{"variant_id": "crayfish-500g", "quantity": 1}], "ttl_s": 60}]),
        (m + "CommitReservation", Role.ORDER_SERVICE, "", [{"merchant_id": "m1", "reservation_id": "r1"}]),
        (m + "SuggestPromotions", Role.MERCHANT, "m1", [{"merchant_id": "m1", "within_days": 3}]),
        (m + "CreatePromotionCampaign", Role.MERCHANT, "m1", [{"merchant_id": "m1", "suggestion_id": "lot-1"}]),
        (m + "GetStock", Role.MERCHANT, "m1", [{"merchant_id": "m1", "variant_ids": ["milk-1l"], "include_ledger": True}]),
        (b + "UpsertResource", Role.MERCHANT, "m2", [{"resource": {"merchant_id": "m2", "resource_id": "dr1",
            "name": "Dr Li", "kind": "RESOURCE_KIND_DOCTOR", "slot_minutes": 30, "capacity": 1,
            "weekly_schedule": [{"day": f"DAY_OF_WEEK_{d}", "start_minute": 540, "end_minute": 720}
                                for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]}}]),
        (b + "GetAvailability", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "from_date": day.isoformat(),
            "to_date": (day + dt.timedelta(days=6)).isoformat()}]),
        (b + "HoldSlot", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "resource_id": "dr1", "start_at": slot,
            "booking_id": "bk1", "customer_id": "u1"}]),
        (b + "JoinWaitlist", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "resource_id": "dr1", "start_at": slot,
            "booking_id": "bk2", "customer_id": "u2"}]),
        (b + "ConfirmBooking", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "booking_id": "bk1"}]),
        (b + "GetBooking", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "booking_id": "bk2"}]),
        (b + "UpsertResource", Role.MERCHANT, "m2", [{"resource": {"merchant_id": "m2", "resource_id": "dr2",
            "name": "Dr Wang", "kind": "RESOURCE_KIND_DOCTOR", "slot_minutes": 30, "capacity": 1, "price_fen": 20_000,
            "deposit_fen": 5_000, "free_cancel_minutes": 1_440,
            "weekly_schedule": [{"day": f"DAY_OF_WEEK_{d}", "start_minute": 540, "end_minute": 720}
                                for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]}}]),
        (b + "HoldSlot", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "resource_id": "dr2", "start_at": slot,
            "booking_id": "bk3", "customer_id": "u3"}]),
        ("tongcheng.orders.v1.OrderService/CreateOrder", Role.ORDER_SERVICE, "", [{"order_id": "bk:m2:bk3",
            "merchant_id": "m2", "items_fen": 5_000, "kind": "ORDER_KIND_BOOKING", "booking_id": "bk3"}]),
        (b + "ConfirmBooking", Role.ORDER_SERVICE, "", [{"merchant_id": "m2", "booking_id": "bk3",
            "payment": {"kind": "PAYMENT_KIND_DEPOSIT", "amount_fen": 5_000, "payment_id": "wx-bk3"}}]),
        (b + "CompleteBooking", Role.MERCHANT, "m2", [{"merchant_id": "m2", "booking_id": "bk3"}]),
    ]  # fmt: skip


def _loyalty_and_coupon_seeds(now_ms: int, center: LatLng) -> list[Seed]:
    """An alliance programme with a member who signed in, earned and spent; a campaign with a claimed coupon."""
    lo = "tongcheng.loyalty.v1.LoyaltyService/"
    co = "tongcheng.coupons.v1.CouponService/"
    programme = {
        "programme_id": "p1", "kind": "PROGRAMME_KIND_ALLIANCE", "merchant_ids": ["m1", "m2"], "signin_points": 5,
        "streak_days": 7, "streak_bonus_points": 20, "grace_days": 1, "referrer_points": 100, "referee_points": 50,
    }  # fmt: skip
    campaign = {
        "campaign_id": "cp1", "merchant_id": "m1", "kind": "DISCOUNT_KIND_AMOUNT_OFF", "amount_off_fen": 500,
        "transaction_minimum_fen": 2_000, "max_coupons": 50, "max_coupons_per_member": 3, "max_amount_fen": 20_000,
        "max_redemptions_per_day": 20, "valid_from": _iso(now_ms - 86_400_000), "valid_until": _iso(now_ms + 30 * 86_400_000),
    }  # fmt: skip
    return [
        (lo + "CreateProgramme", Role.OPS, "", [{"programme": programme}]),
        (lo + "SignIn", Role.MEMBER, "u1", [{"programme_id": "p1", "member_id": "u1"}]),
        (
            lo + "SyncOrder",
            Role.ORDER_SERVICE,
            "",
            [
                {
                    "order_id": "lo1",
                    "merchant_id": "m1",
                    "member_id": "u1",
                    "state": "ORDER_STATE_COMPLETED",
                    "paid_fen": 5_000,
                }
            ],
        ),
        (
            lo + "SpendPoints",
            Role.MERCHANT,
            "m2",
            [{"programme_id": "p1", "member_id": "u1", "merchant_id": "m2", "points": 100, "idempotency_key": "sp1"}],
        ),
        (lo + "GetReferralCode", Role.MEMBER, "u1", [{"programme_id": "p1", "member_id": "u1"}]),
        (lo + "GetBalance", Role.MEMBER, "u1", [{"programme_id": "p1", "member_id": "u1"}]),
        (lo + "ListHistory", Role.OPS, "", [{"programme_id": "p1", "member_id": "u1", "page_size": 5}]),
        (lo + "ListClearing", Role.OPS, "", [{"programme_id": "p1", "business_day": _day(now_ms)}]),
        (co + "CreateCampaign", Role.MERCHANT, "m1", [{"campaign": campaign}]),
        (co + "ClaimCoupon", Role.MEMBER, "u1", [{"campaign_id": "cp1", "member_id": "u1", "idempotency_key": "cl1"}]),
        (co + "ClaimCoupon", Role.MEMBER, "u2", [{"campaign_id": "cp1", "member_id": "u2", "idempotency_key": "cl2"}]),
        (co + "GetCampaign", Role.MERCHANT, "m1", [{"campaign_id": "cp1"}]),
        (co + "ListMemberCoupons", Role.MEMBER, "u1", [{"member_id": "u1", "page_size": 1}]),
        (co + "ListMemberCoupons", Role.OPS, "", [{"member_id": "u2"}]),
        # A checkout: an order that spends points in its payment (coupons need a claimed code, drawn at run time).
        (
            "tongcheng.orders.v1.OrderService/CreateOrder",
            Role.ORDER_SERVICE,
            "",
            [
                {
                    "order_id": "ck1",
                    "merchant_id": "m1",
                    "customer_id": "u1",
                    "items_fen": 3_000,
                    "delivery_fee_fen": 500,
                    "pickup": {"lat": center.lat, "lng": center.lng},
                    "dropoff": {"lat": round(center.lat + 0.002, 6), "lng": round(center.lng + 0.003, 6)},
                    "points": 50,
                    "points_programme_id": "p1",
                }
            ],
        ),
        (
            "tongcheng.orders.v1.OrderService/PayOrder",
            Role.ORDER_SERVICE,
            "",
            [{"order_id": "ck1", "payment_id": "pay-ck1", "amount_fen": 3_450}],
        ),
        (
            "tongcheng.alliance.v1.AllianceService/CreateAlliance",
            Role.OPS,
            "",
            [
                {
                    "alliance": {
                        "alliance_id": "al1",
                        "commission_bp": 800,
                        "merchants": [
                            {"merchant_id": "m1", "lat": 60.17, "lng": 24.94, "category": "coffee"},
                            {"merchant_id": "m2", "lat": 60.171, "lng": 24.941, "category": "fitness"},
                        ],
                    }
                }
            ],
        ),
        (
            "tongcheng.alliance.v1.AllianceService/CreateOffer",
            Role.MERCHANT,
            "m1",
            [
                {
                    "offer": {
                        "offer_id": "of1",
                        "alliance_id": "al1",
                        "source_merchant_id": "m2",
                        "campaign_id": "cp1",
                        "trigger": "TRIGGER_PAID",
                        "max_distance_m": 2_000,
                    }
                }
            ],
        ),
    ]


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=8))).date().isoformat()
