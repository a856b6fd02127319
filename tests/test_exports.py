"""Pins the public API of the packages other code may import from."""

from __future__ import annotations

import core
import dispatch
import dispatch.api
import dispatch.policies


def test_dispatch_exports() -> None:
    """What `dispatch` offers to other packages, and nothing more."""
    assert sorted(dispatch.__all__) == sorted(
        [
            "DEFAULT_POLICY", "Availability", "BundleConfig", "City", "DispatchConfig", "DispatchPolicy", "Dispatcher", "GuidanceConfig",
                "IngestResult",
            "LatLng", "LiveTraffic", "NearbyRider", "OrderEvent", "OrderRecord", "OrderRequest", "OrderStatus", "PositionFix",
            "PrepEstimate", "PrepModel", "RiderIndex", "StraightLineOracle", "TaskAction", "TaskEvent", "TaskEventType", "TickReport",
            "TravelTimeOracle", "make_policy",
        ]
    )  # fmt: skip
    for name in dispatch.__all__:
        assert hasattr(dispatch, name), name


def test_core_and_policy_exports() -> None:
    """The error hierarchy and clock, and the policy plug-in surface."""
    assert sorted(core.__all__) == sorted(
        [
            "Clock", "FailedPrecondition", "FieldViolation", "InvalidArgument", "ManualClock", "NotFound",
            "PermissionDenied", "ResourceExhausted", "ScaledClock", "SystemClock", "TongchengError", "Unauthenticated",
            "Unavailable",
        ]
    )  # fmt: skip
    assert sorted(dispatch.policies.__all__) == sorted(
        ["DEFAULT_POLICY", "POLICIES", "BundleOption", "Candidate", "Decision", "DispatchBatch", "DispatchPolicy",
         "GreedyPolicy", "HungarianPolicy", "OptimiserConfig", "OptimiserPolicy", "OptimiserWeights", "PendingOrder",
         "RollingPolicy", "Stop", "estimate", "make_policy", "plan_route"]
    )  # fmt: skip
    assert dispatch.api.__all__ == ["DispatchServicer"]


def test_engine_does_not_import_grpc() -> None:
    """Only dispatch.api touches gRPC; the engine below it stays transport-free."""
    import pathlib

    root = pathlib.Path(dispatch.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "api" not in p.relative_to(root).parts and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
    ]
    assert offenders == []


def test_money_exports_and_no_grpc_below_api() -> None:
    """What `commerce.orders` and `settlement` offer; only their `api` modules touch gRPC."""
    import pathlib

    import commerce.orders
    import settlement

    assert sorted(commerce.orders.__all__) == sorted(
        ["MAX_ORDER_FEN", "TRANSITIONS", "BookingGateway", "BookingOrderDesk", "BookingTerms", "ChainOverflow",
         "DeliveryGateway", "DispatchKitchens", "InProcessDispatch", "NewOrder", "Order", "OrderCenter", "OrderEvent",
         "OrderKind", "OrderStatus", "OrderStore", "Refund", "Step"]
    )  # fmt: skip
    assert sorted(settlement.__all__) == sorted(
        ["DEFAULT_MAX_RECEIVER_SHARE_BP", "Alert", "Alerts", "DailyRuns", "Difference", "Entry", "Invoice", "Ledger",
         "LegAmount", "LegState", "MoneyKeys", "OrderMoney", "Parties", "Reconciler", "RefundPlan", "Report",
         "RuleBook", "Run", "Share", "SplitHalt", "SplitResult", "SplitRule", "StatementSummary", "business_day",
         "check_rule", "largest_remainder", "refund_reversal", "rule_scope", "split_legs"]
    )  # fmt: skip
    for package in (commerce.orders, settlement):
        for name in package.__all__:
            assert hasattr(package, name), name
        root = pathlib.Path(package.__file__).parent
        offenders = [
            p.name
            for p in root.glob("*.py")
            if p.name != "api.py" and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
        ]
        assert offenders == [], package.__name__


def test_loyalty_and_coupon_exports_and_no_grpc_below_api() -> None:
    """What `loyalty`, `coupons` and `alliance` offer; only their `api` modules touch gRPC."""
    import pathlib

    import alliance
    import coupons
    import loyalty

    assert sorted(loyalty.__all__) == sorted(
        ["Balance", "Claim", "EntryKind", "Expiry", "ExpiryRun", "HistoryEntry", "LotUse", "Loyalty", "LoyaltyKeys",
         "OrderPoints", "OrderState", "Programme", "ProgrammeKind", "Reward", "SignIn", "Spend", "order_points"]
    )  # fmt: skip
    assert sorted(coupons.__all__) == sorted(
        ["Campaign", "Coupon", "CouponKeys", "CouponState", "Coupons", "DiscountKind", "Funder", "GuessThrottle",
         "Usage", "make_code", "normalize", "qr_payload", "verify"]
    )  # fmt: skip
    assert sorted(alliance.__all__) == sorted(
        ["Alliance", "AllianceKeys", "AllianceMerchant", "Alliances", "MemberAggregates", "Offer", "OfferContribution",
         "Segment", "Trigger"]
    )  # fmt: skip
    for package in (loyalty, coupons, alliance):
        for name in package.__all__:
            assert hasattr(package, name), name
        root = pathlib.Path(package.__file__).parent
        offenders = [
            p.name
            for p in root.glob("*.py")
            if p.name != "api.py" and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
        ]
        assert offenders == [], package.__name__


def test_supply_exports_and_no_grpc_below_api() -> None:
    """What `merchants` and `bookings` offer (issue 20); only their `api` modules touch gRPC."""
    import pathlib

    import bookings
    import merchants

    assert sorted(merchants.__all__) == sorted(
        ["MAX_BATCH_OBJECTS", "Catalog", "CatalogItem", "ChainBranch", "ChainGateway", "Chains", "Directory", "ItemStatus", "Lot", "Merchant", "MerchantKeys",
         "MerchantStatus", "Merchants", "OrderStockGateway", "OutOfStock", "OverflowPolicy", "PricedLine", "PromotionSuggestion",
         "Reservation", "ReservationState", "Stock", "StockEvent", "StockEventKind", "StockLevel", "Variant",
         "merchant_tag"]
    )  # fmt: skip
    assert sorted(bookings.__all__) == sorted(
        ["Booking", "BookingOrderGateway", "BookingState", "Bookings", "OrderDesk", "PaymentKind", "Resource",
         "ResourceKind", "Slot", "SlotView", "booking_order_id", "slot_at", "slots_between"]
    )  # fmt: skip
    for package in (merchants, bookings):
        for name in package.__all__:
            assert hasattr(package, name), name
        root = pathlib.Path(package.__file__).parent
        offenders = [
            p.name
            for p in root.glob("*.py")
            if p.name != "api.py" and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
        ]
        assert offenders == [], package.__name__


def test_pricing_exports_and_no_grpc_below_api() -> None:
    """What `pricing` offers (issue 21); only its `api` module touches gRPC."""
    import pathlib

    import pricing

    assert sorted(pricing.__all__) == sorted(
        ["AREA_RESOLUTION", "Area", "AreaBook", "AreaSpec", "CellState", "CityEdge", "Conditions", "DemandForecast",
         "DispatchSupplyDemand", "HourBand", "Pricing", "PricingRules", "Promotion", "Quote", "QuoteLine",
         "QuoteSigner", "QuoteTerms", "SupplyDemand", "SurgeBoard", "Weather", "compile_area", "price_lines",
         "MerchantsPage", "PageTokens"]
    )  # fmt: skip
    for name in pricing.__all__:
        assert hasattr(pricing, name), name
    root = pathlib.Path(pricing.__file__).parent
    offenders = [
        p.name
        for p in root.glob("*.py")
        if p.name != "api.py" and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
    ]
    assert offenders == []


def test_forecast_exports_and_no_grpc_below_api() -> None:
    """What `forecast` offers (pricing reads expected orders through `DemandForecast`); only its `api`
    module touches gRPC."""
    import pathlib

    import forecast
    import forecast.api

    assert sorted(forecast.__all__) == sorted(
        ["SLOT_MS", "DemandForecast", "ForecastConfig", "PlacedOrder", "Slot", "UnitForecast", "slot_at", "slots_from"]
    )
    assert forecast.api.__all__ == ["ForecastServicer"]
    for name in forecast.__all__:
        assert hasattr(forecast, name), name
    root = pathlib.Path(forecast.__file__).parent
    offenders = [
        p.name
        for p in root.glob("*.py")
        if p.name != "api.py" and ("import grpc" in p.read_text() or "from grpc" in p.read_text())
    ]
    assert offenders == []
