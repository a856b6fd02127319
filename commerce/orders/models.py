"""The order center's value types: an order as created and as kept, and its history events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from commerce.orders.flow import OrderKind, OrderStatus

# 10 million yuan: above any single order here, and it keeps fen x basis points far inside 2^53, so
# the Lua checks (Redis numbers are doubles) stay exact.
MAX_ORDER_FEN = 1_000_000_000


@dataclass(frozen=True)
class OrderLine:
    """A catalogue line of an order (issue 20): the unit price is the catalogue's, set at creation."""

    item_id: str
    variant_id: str
    quantity: int
    unit_price_fen: int = 0


@dataclass(frozen=True)
class NewOrder:
    """What a client sends to create an order."""

    order_id: str
    merchant_id: str
    items_fen: int
    delivery_fee_fen: int
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float
    dropoff_lng: float
    chain_id: str = ""
    group_leader_id: str = ""
    customer_id: str = ""
    item_count: int = 1
    # Catalogue lines: items_fen is then their sum at the catalogue's prices.
    lines: tuple[OrderLine, ...] = ()
    # A signed delivery quote (issue 21): the delivery fee is then the quote's.
    delivery_quote: str = ""
    # The riders' share of the quote's busy-area fee (set from the quote; the split pays it to the fleet).
    rider_surge_fen: int = 0
    # Checkout (commerce.orders.checkout): coupons locked to this order, applied in this order, and points of
    # the merchant's programme to spend; the customer pays what is left.
    coupon_codes: tuple[str, ...] = ()
    points: int = 0
    points_programme_id: str = ""
    # A booking's payment (issue 20): no pickup, drop-off or delivery fee; items_fen is the deposit or price.
    kind: OrderKind = OrderKind.DELIVERY
    booking_id: str = ""
    # Chain overflow (issue 21): the branch the order was placed at and its pickup, when a sibling branch
    # (merchant_id, pickup) serves it; empty when the branch it was placed at serves it.
    placed_merchant_id: str = ""
    placed_pickup_lat: float = 0.0
    placed_pickup_lng: float = 0.0

    @property
    def quoted_merchant_id(self) -> str:
        """The branch a delivery quote was made for: the one the customer ordered from."""
        return self.placed_merchant_id or self.merchant_id

    def served_by(self, merchant_id: str, pickup_lat: float, pickup_lng: float) -> NewOrder:
        """The order as placed, served by a sibling branch instead (chain overflow)."""
        return replace(
            self, merchant_id=merchant_id, pickup_lat=pickup_lat, pickup_lng=pickup_lng,
            placed_merchant_id=self.merchant_id, placed_pickup_lat=self.pickup_lat, placed_pickup_lng=self.pickup_lng,
        )  # fmt: skip

    @property
    def total_fen(self) -> int:
        return self.items_fen + self.delivery_fee_fen

    @property
    def is_booking(self) -> bool:
        return self.kind is OrderKind.BOOKING

    def fingerprint(self) -> str:
        fields = dict(self.__dict__)
        del fields["lines"]  # orders without lines keep the fingerprints they were stored with
        if not self.delivery_quote:
            del fields["delivery_quote"]  # likewise orders without a quote
        del fields["rider_surge_fen"]  # the quote's, which the token binds
        for name in ("coupon_codes", "points", "points_programme_id"):  # and those without a checkout too
            if not fields[name]:
                del fields[name]
        if self.coupon_codes:
            fields["coupon_codes"] = list(self.coupon_codes)
        if not self.is_booking:  # and delivery orders the ones they had before booking orders
            del fields["kind"], fields["booking_id"]
        # What the client sent: the branch it ordered from, not the sibling that serves it (a retry of an
        # order moved by chain overflow is the same order).
        if self.placed_merchant_id:
            fields["merchant_id"] = self.placed_merchant_id
            fields["pickup_lat"], fields["pickup_lng"] = self.placed_pickup_lat, self.placed_pickup_lng
        for name in ("placed_merchant_id", "placed_pickup_lat", "placed_pickup_lng"):
            del fields[name]
        if self.lines:
            # What the client sent: the lines, not the prices found for them (a retry after a price
            # change is the same order).
            del fields["items_fen"]
            fields["lines"] = [[x.item_id, x.variant_id, x.quantity] for x in self.lines]
        body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(body.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class CheckoutCoupon:
    """A coupon that pays for part of an order, as found at creation."""

    code: str
    campaign_id: str
    discount_fen: int
    # Who bears the discount besides the merchant: "" (the merchant), else the ledger account that funds
    # it (`platform:<id>`, or `merchant:<partner>`): a subsidy in the split (settlement.split).
    funder: str = ""


@dataclass(frozen=True)
class Order:
    """An order as the order center keeps it (a Redis hash)."""

    spec: NewOrder
    status: OrderStatus = OrderStatus.CREATED
    version: int = 0
    created_ms: int = 0
    updated_ms: int = 0
    paid_fen: int = 0
    paid_at_ms: int = 0
    payment_id: str = ""
    refunded_fen: int = 0
    split_state: str = "none"
    dispatch_status: str = ""
    rider_id: str = ""
    reason: str = ""
    coupons: tuple[CheckoutCoupon, ...] = ()
    points_fen: int = 0  # what the spent points are worth

    @property
    def order_id(self) -> str:
        return self.spec.order_id

    @property
    def discount_fen(self) -> int:
        return sum(c.discount_fen for c in self.coupons)

    @property
    def due_fen(self) -> int:
        """What the customer pays: the total less the coupons and the points."""
        return self.spec.total_fen - self.discount_fen - self.points_fen

    @property
    def subsidies(self) -> list[tuple[str, int]]:
        """(funder, fen) of the discounts others than the merchant fund, one per funder."""
        out: dict[str, int] = {}
        for c in self.coupons:
            if c.funder:
                out[c.funder] = out.get(c.funder, 0) + c.discount_fen
        return sorted(out.items())

    @property
    def refundable_fen(self) -> int:
        return self.paid_fen - self.refunded_fen

    def to_redis(self) -> dict[str, str]:
        s = self.spec
        return {
            "order_id": s.order_id,
            "merchant_id": s.merchant_id,
            "chain_id": s.chain_id,
            "group_leader_id": s.group_leader_id,
            "customer_id": s.customer_id,
            "items_fen": str(s.items_fen),
            "delivery_fee_fen": str(s.delivery_fee_fen),
            "total_fen": str(s.total_fen),
            "pickup_lat": repr(s.pickup_lat),
            "pickup_lng": repr(s.pickup_lng),
            "dropoff_lat": repr(s.dropoff_lat),
            "dropoff_lng": repr(s.dropoff_lng),
            "item_count": str(s.item_count),
            "fingerprint": s.fingerprint(),
            "status": self.status.value,
            "version": str(self.version),
            "created_ms": str(self.created_ms),
            "updated_ms": str(self.updated_ms),
            "paid_fen": str(self.paid_fen),
            "paid_at_ms": str(self.paid_at_ms),
            "payment_id": self.payment_id,
            "refunded_fen": str(self.refunded_fen),
            "split_state": self.split_state,
            "dispatch_status": self.dispatch_status,
            "rider_id": self.rider_id,
            "reason": self.reason,
            **({"lines": _lines_json(s.lines)} if s.lines else {}),
            **({"kind": s.kind.value, "booking_id": s.booking_id} if s.is_booking else {}),
            **({"delivery_quote": s.delivery_quote} if s.delivery_quote else {}),
            **({"rider_surge_fen": str(s.rider_surge_fen)} if s.rider_surge_fen else {}),
            **(_placed_fields(s) if s.placed_merchant_id else {}),
            **(self._checkout_fields() if s.coupon_codes or s.points else {}),
        }

    def _checkout_fields(self) -> dict[str, str]:
        s = self.spec
        coupons = [[c.code, c.campaign_id, c.discount_fen, c.funder] for c in self.coupons]
        return {
            "coupons": json.dumps(coupons, separators=(",", ":")),
            "points": str(s.points),
            "points_programme_id": s.points_programme_id,
            "points_fen": str(self.points_fen),
            # Read by the ledger (settlement.ledger.OrderMoney): what others fund of the discount.
            "subsidies": json.dumps(self.subsidies, separators=(",", ":")),
        }

    @classmethod
    def from_redis(cls, h: dict[str, str]) -> Order:
        spec = NewOrder(
            order_id=h["order_id"],
            merchant_id=h["merchant_id"],
            chain_id=h.get("chain_id", ""),
            group_leader_id=h.get("group_leader_id", ""),
            customer_id=h.get("customer_id", ""),
            items_fen=int(h["items_fen"]),
            delivery_fee_fen=int(h["delivery_fee_fen"]),
            pickup_lat=float(h["pickup_lat"]),
            pickup_lng=float(h["pickup_lng"]),
            dropoff_lat=float(h["dropoff_lat"]),
            dropoff_lng=float(h["dropoff_lng"]),
            item_count=int(h.get("item_count", "1")),
            lines=tuple(OrderLine(*x) for x in json.loads(h["lines"])) if h.get("lines") else (),
            delivery_quote=h.get("delivery_quote", ""),
            rider_surge_fen=int(h.get("rider_surge_fen") or 0),
            kind=OrderKind(h.get("kind", "delivery")),
            booking_id=h.get("booking_id", ""),
            placed_merchant_id=h.get("placed_merchant_id", ""),
            placed_pickup_lat=float(h.get("placed_pickup_lat") or 0.0),
            placed_pickup_lng=float(h.get("placed_pickup_lng") or 0.0),
        )
        coupons = tuple(CheckoutCoupon(*x) for x in json.loads(h["coupons"])) if h.get("coupons") else ()
        if coupons or h.get("points"):
            spec = replace(
                spec, coupon_codes=tuple(c.code for c in coupons), points=int(h.get("points") or 0),
                points_programme_id=h.get("points_programme_id", ""),
            )  # fmt: skip
        return cls(
            spec=spec,
            status=OrderStatus(h["status"]),
            version=int(h["version"]),
            created_ms=int(h.get("created_ms", "0")),
            updated_ms=int(h.get("updated_ms", "0")),
            paid_fen=int(h.get("paid_fen") or 0),
            paid_at_ms=int(h.get("paid_at_ms") or 0),
            payment_id=h.get("payment_id", ""),
            refunded_fen=int(h.get("refunded_fen") or 0),
            split_state=h.get("split_state", "none"),
            dispatch_status=h.get("dispatch_status", ""),
            rider_id=h.get("rider_id", ""),
            reason=h.get("reason", ""),
            coupons=coupons,
            points_fen=int(h.get("points_fen") or 0),
        )

    def evolve(self, **changes: object) -> Order:
        return replace(self, **changes)  # type: ignore[arg-type]


def _placed_fields(s: NewOrder) -> dict[str, str]:
    return {
        "placed_merchant_id": s.placed_merchant_id,
        "placed_pickup_lat": repr(s.placed_pickup_lat),
        "placed_pickup_lng": repr(s.placed_pickup_lng),
    }


def _lines_json(lines: tuple[OrderLine, ...]) -> str:
    return json.dumps([[x.item_id, x.variant_id, x.quantity, x.unit_price_fen] for x in lines], separators=(",", ":"))


@dataclass(frozen=True)
class OrderEvent:
    """One step of an order's history."""

    occurred_ms: int
    status: OrderStatus
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({"t": self.occurred_ms, "s": self.status.value, "n": self.note}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> OrderEvent:
        d = json.loads(raw)
        return cls(d["t"], OrderStatus(d["s"]), d["n"])


@dataclass(frozen=True)
class Refund:
    """One refund of an order, as recorded under its idempotency key."""

    key: str
    amount_fen: int
    reason: str
    legs: tuple[tuple[str, int], ...]

    def fingerprint(self, order_id: str) -> str:
        body = json.dumps([order_id, self.key, self.amount_fen, self.reason], separators=(",", ":"))
        return hashlib.blake2b(body.encode(), digest_size=12).hexdigest()

    def to_json(self) -> str:
        return json.dumps({"a": self.amount_fen, "r": self.reason, "l": self.legs}, separators=(",", ":"))

    @classmethod
    def from_json(cls, key: str, raw: str) -> Refund:
        d = json.loads(raw)
        return cls(key, d["a"], d["r"], tuple((r, a) for r, a in d["l"]))
