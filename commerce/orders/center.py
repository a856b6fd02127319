"""The order center: the order state machine, payment with its split, refunds with their reversal,
the hand-over to dispatch and following its pickup and delivery.

Every change is a compare-and-set on the order's version (read, check the step, write if unchanged,
else read again). Side effects of payment — the split and the hand-over to dispatch — are idempotent
and run after the payment is stored, so a retried PayOrder finishes whatever a failure interrupted.
Cancelling or rejecting a paid order refunds what is left in the same script that changes its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import replace

from commerce.orders.booking import BookingGateway
from commerce.orders.catalogue import CatalogueGateway, PricedLine, priced_lines, release_quietly
from commerce.orders.checkout import Checkout, with_normal_codes
from commerce.orders.delivery import DeliveryGateway
from commerce.orders.flow import (
    BEFORE_PICKUP,
    FINAL,
    OrderKind,
    OrderStatus,
    Step,
    is_allowed,
    is_repeat,
    transitions,
)
from commerce.orders.followers import OrderFollower
from commerce.orders.models import NewOrder, Order, OrderEvent, Refund
from commerce.orders.overflow import ChainOverflow
from commerce.orders.store import OrderStore
from commerce.orders.terms import DeliveryTerms
from commerce.orders.validation import check_ids, check_new_order, check_reason, fen_violation
from core.clock import Clock
from core.errors import FailedPrecondition, InvalidArgument, TongchengError, Unavailable
from core.geo import LatLng
from core.validation import id_violation
from settlement.ledger import Ledger, OrderMoney, RefundPlan
from settlement.split import LegAmount

log = logging.getLogger("tongcheng.orders")

# Compare-and-set retries before a change gives up (each retry means someone else changed the order).
MAX_ATTEMPTS = 50
# A chain order's creation is decided by one call at a time (`OrderCenter.create`): the claim lasts at most this
# long (a call that died frees it by then), and a concurrent attempt waits up to CLAIM_WAIT_S for it, polling.
CLAIM_TTL_MS = 10_000
CLAIM_WAIT_S = 5.0
CLAIM_POLL_S = 0.01
# The steps that end a booking's order, and the BookingService call that takes them with the booking.
BOOKING_ENDS = {Step.COMPLETE: "CompleteBooking", Step.CANCEL: "CancelBooking", Step.NO_SHOW: "MarkNoShow"}
# Dispatch statuses after which the order center stops following the delivery.
DISPATCH_DONE = frozenset({"delivered", "cancelled", "rejected"})


def money_view(order: Order) -> OrderMoney:
    s = order.spec
    return OrderMoney(
        order_id=s.order_id,
        version=str(order.version),
        merchant_id=s.merchant_id,
        chain_id=s.chain_id,
        group_leader_id=s.group_leader_id,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        paid_at_ms=order.paid_at_ms,
        split_state=order.split_state,
        rider_surge_fen=s.rider_surge_fen,
        subsidies=tuple(LegAmount(f, a) for f, a in order.subsidies),
    )


class OrderCenter:
    """Orders of the platform over Redis, with their money in the settlement ledger."""

    def __init__(
        self,
        store: OrderStore,
        ledger: Ledger,
        clock: Clock,
        delivery: DeliveryGateway | None = None,
        follow_s: float = 0.5,
        followers: tuple[OrderFollower, ...] = (),
        catalogue: CatalogueGateway | None = None,
        terms: DeliveryTerms | None = None,
        checkout: Checkout | None = None,
        bookings: BookingGateway | None = None,
        overflow: ChainOverflow | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.delivery = delivery
        # Told every paid order after its payment, completion and refunds (loyalty points; followers.py).
        self.followers = followers
        self.catalogue = catalogue  # orders of catalogue lines (issue 20); None: only priced orders
        self.terms = terms  # delivery areas and quotes (issue 21); None: any drop-off, the caller's fee
        self.checkout = checkout  # coupons and points paying for orders (issue 19); None: refused
        self.bookings = bookings  # orders paying for a booking (issue 20); None: no booking orders
        self.overflow = overflow  # chain overflow to a sibling branch (issue 21); None: never moved
        self.follow_s = follow_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.delivery is not None and self._task is None:
            self._task = asyncio.create_task(self._follow(), name="orders-follow-dispatch")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    # Creation and reads ----------------------------------------------------------------------

    async def create(self, new: NewOrder, caller: str = "") -> tuple[Order, bool]:
        """Stores a new order; a retry with the same body returns the stored one. `caller` is who asks (the
        coupon-code guess throttle counts per caller). An order of a swamped chain branch may be served by a
        sibling (chain overflow, `commerce/orders/overflow.py`): each sibling the rule allows is tried in turn,
        and one that cannot take the order (its stock, its catalogue, the coupons) is passed over; none: the
        branch it was placed at serves it. A booking's order is never moved."""
        new = with_normal_codes(new)  # what a retry is compared with, however it writes the codes
        if new.is_booking or self.overflow is None or not new.chain_id or new.placed_merchant_id:
            return await self._create(new, "created", caller)
        check_new_order(replace(new, items_fen=1) if new.lines else new)  # fields first: a bad one moves nothing
        # The branch is decided once: concurrent first attempts of the order (a client's retries) would each
        # weigh the branches as they stood and might reserve stock at two of them. One call at a time decides,
        # reserves and stores; the others wait for the order it stores and answer it as a retry.
        token = secrets.token_hex(8)
        deadline = asyncio.get_running_loop().time() + CLAIM_WAIT_S
        while not await self.store.claim_creation(new.order_id, token, CLAIM_TTL_MS):
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable(f"order {new.order_id} is being created by another call: retry")
            await asyncio.sleep(CLAIM_POLL_S)
        try:
            for moved, note in await self._overflow_moves(new):
                try:
                    return await self._create(moved, note, caller)
                except (InvalidArgument, FailedPrecondition) as exc:
                    log.info("order %s not moved to %s: %s", new.order_id, moved.merchant_id, exc)
            return await self._create(new, "created", caller)
        finally:
            await self.store.release_creation(new.order_id, token)

    async def _overflow_moves(self, new: NewOrder) -> list[tuple[NewOrder, str]]:
        """The order as served by each sibling the overflow rule allows, best first, with its history note. A
        retry of an order already stored follows the stored decision, whatever the branches' load now."""
        assert self.overflow is not None
        stored = await self.store.find(new.order_id)
        if stored is not None:
            s = stored.spec
            if s.placed_merchant_id and s.fingerprint() == new.fingerprint():
                return [(new.served_by(s.merchant_id, s.pickup_lat, s.pickup_lng), "")]
            return []
        moves = await self.overflow.moves(
            new.chain_id, new.merchant_id, LatLng(new.dropoff_lat, new.dropoff_lng), new.item_count,
            self.clock.now_ms(),
        )  # fmt: skip
        return [(new.served_by(m.merchant_id, m.location.lat, m.location.lng), m.note) for m in moves]

    async def _create(self, new: NewOrder, note: str, caller: str) -> tuple[Order, bool]:
        quoted_basket_fen = 0
        if new.is_booking:
            if new.delivery_quote:  # nothing is delivered: no area to check, no fee to quote
                raise InvalidArgument.field("delivery_quote", "a booking's order has no delivery")
        elif self.terms is not None:
            new, quoted_basket_fen = await self._apply_terms(new)
        elif new.delivery_quote:
            raise FailedPrecondition("orders with a delivery quote need PricingService in this process")
        to_reserve: list[PricedLine] = []
        if new.lines:
            new, to_reserve = await self._price_lines(new, quoted_basket_fen)
        elif new.is_booking:
            new = await self._check_booking(new)
        check_new_order(new)
        now_ms = self.clock.now_ms()
        order = Order(spec=new, created_ms=now_ms, updated_ms=now_ms)
        if new.coupon_codes or new.points:
            order, stored = await self._with_checkout(order, caller)
            if stored:
                return order, False  # a retry
        if to_reserve:  # last of the checks, first of the writes: a refused order reserves nothing
            assert self.catalogue is not None
            await self.catalogue.reserve(new.merchant_id, new.order_id, to_reserve)
        created, fingerprint = await self.store.create(order, OrderEvent(now_ms, OrderStatus.CREATED, note))
        if not created and fingerprint != new.fingerprint():
            raise InvalidArgument.field("order_id", f"order {new.order_id} exists with a different body")
        return (order, True) if created else (await self.store.get(new.order_id), False)

    async def _with_checkout(self, order: Order, caller: str) -> tuple[Order, bool]:
        """The new order with its coupons and points priced (commerce.orders.checkout), or the stored one (True)."""
        new = order.spec
        if self.checkout is None:
            raise FailedPrecondition("orders with coupons or points need loyalty and coupons in this process")
        existing = await self.store.find(new.order_id)
        if existing is not None:  # a retry: its coupons may be redeemed by now
            if existing.spec.fingerprint() != new.fingerprint():
                raise InvalidArgument.field("order_id", f"order {new.order_id} exists with a different body")
            return existing, True
        coupons, points_fen = await self.checkout.price(new, caller)
        return order.evolve(coupons=coupons, points_fen=points_fen), False

    async def _price_lines(self, new: NewOrder, quoted_basket_fen: int = 0) -> tuple[NewOrder, list[PricedLine]]:
        """An order of catalogue lines priced from the catalogue (issue 20), with the lines whose stock the
        caller reserves once every other check passed (none for a retry of a stored order); its basket may
        not be below the one its delivery quote was priced on."""
        if new.items_fen:
            raise InvalidArgument.field("items_fen", "must be 0 with lines: the catalogue prices them")
        if self.catalogue is None:
            raise FailedPrecondition("orders of catalogue lines need MerchantService in this process")
        check_new_order(replace(new, items_fen=1))  # every other field, before the catalogue is asked
        existing = await self.store.find(new.order_id)
        if existing is not None:  # a retry: the order as stored, at the prices it was created with
            if existing.spec.fingerprint() != new.fingerprint():
                raise InvalidArgument.field("order_id", f"order {new.order_id} exists with a different body")
            return existing.spec, []
        requested = [(x.item_id, x.variant_id, x.quantity) for x in new.lines]
        priced = await self.catalogue.price(new.merchant_id, requested)
        new = replace(new, lines=priced_lines(priced), items_fen=sum(p.unit_price_fen * p.quantity for p in priced))
        check_new_order(new)
        _check_quoted_basket(new.items_fen, quoted_basket_fen)
        return new, list(priced)

    async def _apply_terms(self, new: NewOrder) -> tuple[NewOrder, int]:
        """Issue 21: the drop-off must lie in the merchant's delivery area (when it has one), and a quoted
        order's delivery fee is the quote's. A retry of a stored order is checked against the quote's
        signature but not its expiry (the order was created in time). Returns the order and the basket its
        quote was priced on (an order of catalogue lines is checked against it once priced)."""
        assert self.terms is not None
        check_new_order(replace(new, items_fen=1) if new.lines else new)  # fields first (lines: priced later)
        if not new.delivery_quote:
            await self.terms.check_dropoff(new.merchant_id, LatLng(new.dropoff_lat, new.dropoff_lng))
            return new, 0
        stored = await self.store.find(new.order_id)
        quote = self.terms.check_quote(
            new.delivery_quote, new.quoted_merchant_id, new.dropoff_lat, new.dropoff_lng,
            None if stored is not None else self.clock.now_ms(),
        )  # fmt: skip
        if new.delivery_fee_fen not in (0, quote.fee_fen):
            raise InvalidArgument.field(
                "delivery_fee_fen", f"must be 0 or the quote's fee of {quote.fee_fen} fen, got {new.delivery_fee_fen}"
            )
        if not new.lines:
            _check_quoted_basket(new.items_fen, quote.items_fen)
        if stored is None:
            await self.terms.check_dropoff(new.merchant_id, LatLng(new.dropoff_lat, new.dropoff_lng))
        return replace(new, delivery_fee_fen=quote.fee_fen, rider_surge_fen=quote.rider_surge_fen), quote.items_fen

    async def _check_booking(self, new: NewOrder) -> NewOrder:
        """A booking's order: its amount the resource's deposit or price, its customer the booking's."""
        check_new_order(new)  # no delivery, a booking id: before the booking is read
        if self.bookings is None:
            raise FailedPrecondition("booking orders need BookingService in this process")
        terms = await self.bookings.terms(new.merchant_id, new.booking_id)
        if new.order_id != terms.order_id:
            raise InvalidArgument.field("order_id", f"booking {new.booking_id}'s order is {terms.order_id}")
        if new.customer_id and new.customer_id != terms.customer_id:
            raise InvalidArgument.field("customer_id", f"booking {new.booking_id} is another customer's")
        new = replace(new, customer_id=terms.customer_id)
        existing = await self.store.find(new.order_id)
        if existing is not None and existing.spec.fingerprint() == new.fingerprint():
            return existing.spec  # a retry: the amount was checked when it was created
        if not terms.price_fen:
            raise InvalidArgument.field("booking_id", f"booking {new.booking_id}'s resource takes no payment")
        if new.items_fen not in terms.amounts_fen():
            allowed = " or ".join(f"{a} fen" for a in terms.amounts_fen())
            raise InvalidArgument.field("items_fen", f"must be the resource's deposit or price: {allowed}")
        return new

    async def get(self, order_id: str) -> tuple[Order, list[OrderEvent]]:
        check_ids(order_id=order_id)
        return await self.store.get(order_id), await self.store.history(order_id)

    async def _known(self, order_id: str) -> Order:
        """The order a money request names; an unknown one is bad input (the request names nothing)."""
        order = await self.store.find(order_id)
        if order is None:
            raise InvalidArgument.field("order_id", f"no order {order_id}")
        return order

    # Payment ---------------------------------------------------------------------------------

    async def pay(self, order_id: str, payment_id: str, amount_fen: int, delivery_quote: str = "") -> Order:
        """Records the payment, splits it and hands the order to dispatch."""
        bad = [v for v in (id_violation("order_id", order_id), id_violation("payment_id", payment_id)) if v]
        if (v := fen_violation("amount_fen", amount_fen)) is not None:
            bad.append(v)
        if bad:
            raise InvalidArgument(bad)
        for _ in range(MAX_ATTEMPTS):
            order = await self._known(order_id)
            if amount_fen != order.due_fen:
                raise InvalidArgument.field(
                    "amount_fen", f"must equal what the order leaves to pay, {order.due_fen} fen, got {amount_fen}"
                )
            if order.payment_id:
                if order.payment_id != payment_id:
                    raise FailedPrecondition(f"order {order_id} is already paid by payment {order.payment_id}")
                retry = True
                break  # a retry: finish what the first attempt may not have
            if not is_allowed(order.status, Step.PAY):
                raise FailedPrecondition(f"order {order_id} is {order.status.value}: cannot pay")
            self._check_quote_at_payment(order, delivery_quote)
            if order.spec.lines and self.catalogue is not None:
                await self.catalogue.sell(order.spec.merchant_id, order_id)  # idempotent; refused: nothing paid
            now_ms = self.clock.now_ms()
            after = order.evolve(
                status=OrderStatus.PAID, paid_fen=amount_fen, paid_at_ms=now_ms, payment_id=payment_id,
                version=order.version + 1, updated_ms=now_ms,
            )  # fmt: skip
            event = OrderEvent(now_ms, OrderStatus.PAID, f"payment {payment_id}")
            if await self._pay_script(order, after, event):
                order, retry = after, False
                break
        else:
            raise Unavailable(f"order {order_id} changed too often to pay")
        changed = False
        if order.split_state == "none":
            result = await self.ledger.split_just_paid(f"pay:{order_id}", order_id, order.to_redis())
            state = {"posted": "posted", "halted": "halted", "nothing_to_split": "nothing_to_split"}.get(result.outcome)
            if state is None:
                changed = True  # replayed or split meanwhile: read it back
            else:
                order = order.evolve(split_state=state)
        if order.coupons and self.checkout is not None:
            await self.checkout.tell_paid(order)
        delivers = not order.spec.is_booking  # a booking's order is never handed to dispatch
        if delivers and self.delivery is not None and not order.dispatch_status and order.status in BEFORE_PICKUP:
            status, rider = await self.delivery.hand_over(order)
            await self.store.set_delivery(order_id, status, rider, in_delivery=status not in DISPATCH_DONE)
            order = order.evolve(dispatch_status=status, rider_id=rider)
        # A payment just written is answered from what was written (profiled: the read-back was a round
        # trip in seven); a retry reads the order as it stands.
        return await self._tell(order if not changed and not retry else await self.store.get(order_id))

    def _check_quote_at_payment(self, order: Order, token: str) -> None:
        """A quoted order is paid at its quote's fee only while the quote holds (issue 21); the token sent with
        the payment, if any, must be the order's own."""
        quoted = order.spec.delivery_quote
        if token and token != quoted:
            why = "the order was created without a delivery quote" if not quoted else "not this order's quote"
            raise InvalidArgument.field("delivery_quote", why)
        if quoted and self.terms is not None:
            s = order.spec
            self.terms.check_quote(quoted, s.quoted_merchant_id, s.dropoff_lat, s.dropoff_lng, self.clock.now_ms())

    async def _pay_script(self, order: Order, after: Order, event: OrderEvent) -> bool:
        """The payment's script: with the order's coupons and points in it when it has any."""
        if not order.coupons and not order.spec.points:
            return await self.store.pay(order, after, event)
        if self.checkout is None:
            raise FailedPrecondition("orders with coupons or points need loyalty and coupons in this process")
        return await self.checkout.pay(*self.store.pay_call(order, after, event), after)

    async def _tell(self, order: Order) -> Order:
        """Tells the followers the order as it stands (on retries too: their changes are idempotent)."""
        for follower in self.followers:
            await follower.order_changed(order)
        return order

    # Plain steps -----------------------------------------------------------------------------

    async def step(
        self, order_id: str, step: Step, note: str = "", keep_fen: int = 0, for_booking: bool = False
    ) -> Order:
        """Runs one step of the state machine (cancelling or rejecting a paid order also refunds what is left,
        less keep_fen: a booking's deposit kept on a late cancel or a no-show); FAILED_PRECONDITION if the
        order's status forbids it. A booking's order ends only with its booking (for_booking: BookingService
        asks, `booking.BookingOrderDesk`): anyone else's complete, cancel or no-show is FAILED_PRECONDITION."""
        return await self._tell(await self._step(order_id, step, note, keep_fen, for_booking))

    async def _step(self, order_id: str, step: Step, note: str, keep_fen: int = 0, for_booking: bool = False) -> Order:
        check_ids(order_id=order_id)
        check_reason(note)
        for _ in range(MAX_ATTEMPTS):
            order = await self.store.get(order_id)
            kind = order.spec.kind
            if kind is OrderKind.BOOKING and step in BOOKING_ENDS and not for_booking:
                # Ending the order alone would leave the booking confirmed: its slot taken, its deposit policy
                # (BookingService's) skipped, and a completion with no service given.
                raise FailedPrecondition(
                    f"order {order_id} pays for booking {order.spec.booking_id}: it ends through "
                    f"BookingService.{BOOKING_ENDS[step]}"
                )
            if is_repeat(order.status, step, kind):
                await self._give_back_stock(order, step)  # a retried cancel finishes what the first began
                return order
            if not is_allowed(order.status, step, kind):
                raise FailedPrecondition(f"order {order_id} is {order.status.value}: cannot {step.value}")
            if order.paid_fen and step in (Step.CANCEL, Step.REJECT, Step.NO_SHOW):
                return await self._refund_rest(order, step, note, keep_fen)
            target = transitions(kind)[step].target
            now_ms = self.clock.now_ms()
            after = order.evolve(
                status=target, version=order.version + 1, updated_ms=now_ms, reason=note or order.reason
            )
            if await self.store.change(order, after, OrderEvent(now_ms, target, note)):
                if step is Step.CANCEL and self._in_dispatch(order):
                    await self.delivery.call_off(order_id, note or "order cancelled")
                await self._give_back_stock(after, step)
                return after
        raise Unavailable(f"order {order_id} changed too often")

    async def _refund_rest(self, order: Order, step: Step, note: str, keep_fen: int = 0) -> Order:
        """Cancel or reject of a paid order: the status change and the refund of what is left, together."""
        reason = note or f"order {transitions(order.spec.kind)[step].target.value}"
        # "#" cannot start a client's key: this refund never collides with one.
        order, _, _ = await self._refund(order.order_id, f"#{step.value}", None, reason, step, keep_fen)
        if self._in_dispatch(order):
            await self.delivery.call_off(order.order_id, reason)
        await self._give_back_stock(order, step)
        return order

    async def _give_back_stock(self, order: Order, step: Step) -> None:
        """A cancelled or rejected order of catalogue lines gives its stock back (the goods never left)."""
        if step in (Step.CANCEL, Step.REJECT) and order.spec.lines and self.catalogue is not None:
            await release_quietly(self.catalogue, order.spec.merchant_id, order.order_id)

    def _in_dispatch(self, order: Order) -> bool:
        """Whether dispatch holds a delivery of this order to call off: one that dispatch refused (or that
        ended) is not called off, since a refused hand-over's id may name another caller's dispatch order."""
        return self.delivery is not None and bool(order.dispatch_status) and order.dispatch_status not in DISPATCH_DONE

    # Refunds ---------------------------------------------------------------------------------

    async def refund(
        self, order_id: str, key: str, amount_fen: int, reason: str
    ) -> tuple[Order, bool, tuple[LegAmount, ...]]:
        """Refunds amount_fen; returns the order, whether this call refunded (False: a retry) and the legs reversed."""
        bad = [v for v in (id_violation("order_id", order_id), id_violation("idempotency_key", key)) if v]
        if (v := fen_violation("amount_fen", amount_fen)) is not None:
            bad.append(v)
        if bad:
            raise InvalidArgument(bad)
        check_reason(reason)
        order, refunded, legs = await self._refund(order_id, key, amount_fen, reason, step=None)
        return await self._tell(order), refunded, legs

    async def _refund(
        self, order_id: str, key: str, amount_fen: int | None, reason: str, step: Step | None, keep_fen: int = 0
    ) -> tuple[Order, bool, tuple[LegAmount, ...]]:
        """A refund of amount_fen (step None), or the refund of whatever is left that comes with cancelling or
        rejecting a paid order (amount None, step CANCEL or REJECT: the status changes in the same script)."""
        for _ in range(MAX_ATTEMPTS):
            order = await self._known(order_id)
            previous = await self.store.refund_record(order_id, key)
            if step is None:
                assert amount_fen is not None
                fingerprint = Refund(key, amount_fen, reason, ()).fingerprint(order_id)
                if previous is not None:
                    return self._replay(order, fingerprint, *previous)
                if order.paid_fen == 0 or not is_allowed(order.status, Step.REFUND, order.spec.kind):
                    raise FailedPrecondition(f"order {order_id} is {order.status.value}: cannot refund")
                if amount_fen > order.refundable_fen:
                    raise InvalidArgument.field(
                        "amount_fen", f"only {order.refundable_fen} fen of order {order_id} is left to refund"
                    )
                new_status = OrderStatus.REFUNDED if amount_fen == order.refundable_fen else order.status
            else:
                if previous is not None or is_repeat(order.status, step, order.spec.kind):
                    return order, False, ()
                if not is_allowed(order.status, step, order.spec.kind):
                    raise FailedPrecondition(f"order {order_id} is {order.status.value}: cannot {step.value}")
                new_status = transitions(order.spec.kind)[step].target
                # What is left now (read again on every attempt), less what the merchant keeps.
                amount_fen = max(0, order.refundable_fen - keep_fen)
                fingerprint = Refund(key, amount_fen, reason, ()).fingerprint(order_id)
                if amount_fen == 0:
                    now_ms = self.clock.now_ms()
                    after = order.evolve(status=new_status, version=order.version + 1, updated_ms=now_ms, reason=reason)
                    if await self.store.change(order, after, OrderEvent(now_ms, new_status, reason)):
                        return after, False, ()
                    continue
            try:
                plan = (
                    await self.ledger.plan_refund(order_id, amount_fen, money_view(order))
                    if order.split_state == "posted"
                    else RefundPlan((), 0)
                )
            except ValueError:
                continue  # the split moved on since the order was read: read both again
            record = Refund(key, amount_fen, reason, tuple((leg.receiver, leg.amount_fen) for leg in plan.legs))
            event = OrderEvent(
                self.clock.now_ms(), new_status, f"refund {key}: {amount_fen} fen" + (f" ({reason})" if reason else "")
            )
            call = (money_view(order), key, fingerprint, record.to_json(), amount_fen, new_status.value,
                    event.to_json(), plan)  # fmt: skip
            if (order.coupons or order.spec.points) and self.checkout is not None:
                # Coupons and points go back with a cancel, a rejection or a refund of all that is left, in the
                # refund's own script (a partial refund keeps them).
                reply = await self.checkout.refund(
                    *self.ledger.refund_call(*call), order, give_back=new_status is not order.status
                )
                status, stored = self.ledger.refund_outcome(reply)
            else:
                status, stored = await self.ledger.post_refund(*call)
            if status == "refunded":
                after = await self.store.get(order_id)
                if (
                    new_status is OrderStatus.REFUNDED
                    and order.status in BEFORE_PICKUP
                    and self.delivery is not None
                    and not order.spec.is_booking
                ):
                    await self.delivery.call_off(order_id, "refunded in full")
                return after, True, plan.legs
            if status == "replayed":
                if step is not None:
                    return await self.store.get(order_id), False, ()
                stored_fp, _, raw = stored.partition("|")
                return self._replay(order, fingerprint, stored_fp, Refund.from_json(key, raw))
            if status == "key_clash":
                raise InvalidArgument.field("idempotency_key", f"already used for another refund of order {order_id}")
            if status in ("over_reversal", "negative_balance", "reversal_mismatch"):
                # The split changed between the plan and the script in a way the version did not catch:
                # never post; read again.
                log.warning("refund of order %s re-planned: %s", order_id, status)
            # stale, over_refund: the order or its split changed meanwhile; read again
        raise Unavailable(f"order {order_id} changed too often to refund")

    @staticmethod
    def _replay(
        order: Order, fingerprint: str, stored_fp: str, previous: Refund
    ) -> tuple[Order, bool, tuple[LegAmount, ...]]:
        """A refund key seen before: the same body is a retry (nothing new happens), another body a clash."""
        if stored_fp != fingerprint:
            raise InvalidArgument.field("idempotency_key", f"already used for another refund of order {order.order_id}")
        return order, False, tuple(LegAmount(r, a) for r, a in previous.legs)

    # Following dispatch ----------------------------------------------------------------------

    async def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.follow_dispatch_once()
            except Exception as exc:  # the loop must outlive a Redis outage
                log.warning("following dispatch failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.follow_s)

    async def follow_dispatch_once(self) -> int:
        """Advances orders whose delivery dispatch reports picked up or delivered; returns steps taken."""
        assert self.delivery is not None
        ids = await self.store.in_delivery()
        if not ids:
            return 0
        views = await self.delivery.statuses(ids)
        orders = await self.store.find_many(ids)
        steps = 0
        for oid in ids:
            order, view = orders.get(oid), views.get(oid)
            if order is None or view is None:
                continue
            status, rider = view
            try:
                if status in ("picked_up", "delivered") and order.status in (OrderStatus.ACCEPTED, OrderStatus.READY):
                    order = await self.step(oid, Step.PICK_UP, "picked up (dispatch)")
                    steps += 1
                if status == "delivered" and order.status is OrderStatus.PICKED_UP:
                    order = await self.step(oid, Step.DELIVER, "delivered (dispatch)")
                    steps += 1
            except TongchengError as exc:
                log.info("order %s: dispatch says %s, order center cannot follow yet: %s", oid, status, exc)
            done = status in DISPATCH_DONE or order.status in FINAL
            if status != order.dispatch_status or rider != order.rider_id or done:
                await self.store.set_delivery(oid, status, rider, in_delivery=not done)
        return steps


def _check_quoted_basket(items_fen: int, quoted_fen: int) -> None:
    """A quote priced on a basket (its small-order line) holds for that basket or a larger one, never a smaller."""
    if items_fen < quoted_fen:
        raise InvalidArgument.field(
            "delivery_quote",
            f"quoted for a basket of {quoted_fen} fen, the order's is {items_fen}: quote the delivery again",
        )
