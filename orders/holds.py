"""Hoarding caps: how many seats pending (unpaid) orders may hold per client.

A PENDING order holds its seats for ORDER_TTL (30 minutes) without paying anything, so one
script could hold a whole early-bird phase. Before a new order is placed we count what the
same client already holds and refuse past the caps (every cap a setting; 0 turns it off):

- HOLD_MAX_SEATS_PER_ADDRESS (20) seats per client address, checkout only (an API order's
  address is the partner's server). Indonesian mobile networks put many buyers behind one
  carrier address, so this is a cap on a crowd, not a person: high enough for a few
  families behind one address, far below a phase.
- HOLD_MAX_PENDING_ORDERS_PER_BUYER (1) pending orders per event, per email and per phone,
  at the checkout: a second submission leads to the first order instead of a new hold (to
  its payment only in the browser that placed it: orders/placed_here.py).
- HOLD_MAX_SEATS_PER_API_KEY (500) seats per API key, for API orders. A partner (an event
  site, an app) places orders for its own buyers and answers for them; the key's cap bounds
  what a leaked key or a runaway client can hold.

What the database holds is counted, plus what is being placed right now (a counter in the
cache, shared by every worker with Redis): a burst of parallel submissions cannot all pass
the check before any of them is written. Only pending orders that have not yet expired
count; finance sees who holds what and releases holds in the admin (docs/security.md).
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, Sum
from django.utils import timezone

from orders.buyers import email_normalise, phone_normalise
from orders.models import Order, OrderItem, OrderStatus
from tedxpay.core.cache_counters import counter_add, counter_subtract
from tedxpay.core.errors import ApplicationError, Conflict
from tedxpay.core.exact_text import text_equals

# Long past the slowest placement (≈ 40 s): a counter left by a killed worker fades.
_IN_FLIGHT_TTL = 120


class HoldLimitReached(ApplicationError):
    code = "hold_limit"
    status_code = 429
    default_message = "Too many seats are held unpaid from here. Pay for or let go of an open order first."


class PendingOrderExists(Conflict):
    """The buyer already has an unpaid order for this event: pay that one."""

    code = "pending_order_exists"
    default_message = "You already have an unpaid order for this event. Pay for it, or wait until it expires."

    def __init__(self, order: Order):
        self.order = order
        super().__init__(details={"code": order.code, "expires_at": order.expires_at.isoformat()})


@dataclass
class HoldRequest:
    seats: int
    # Checkout orders: the event and the buyer (normalised as stored, see
    # `checkout_hold_request`), and the client's address.
    event_id: int | None = None
    email: str | None = None
    phone: str | None = None
    client_address: str | None = None
    # API orders.
    api_key_id: int | None = None


def checkout_hold_request(*, event_id: int, seats: int, email: str, phone: str, client_address: str) -> HoldRequest:
    """A checkout's HoldRequest, with the buyer's email and phone in the form they are
    stored in. One that cannot be read is left as sent: it matches nothing, and placing
    refuses it."""
    with suppress(ValueError):
        email = email_normalise(email)
    with suppress(ValueError):
        phone = phone_normalise(phone)
    return HoldRequest(seats=seats, event_id=event_id, email=email, phone=phone, client_address=client_address)


@dataclass
class Hold:
    request: HoldRequest
    _counters: list[tuple[str, int]] = field(default_factory=list)

    def record(self, order: Order) -> None:
        """The order is placed (and carries its client address or API key, which the
        caller passed to order_place): counted among the key's recent seats before its
        in-flight count is let go."""
        if self.request.api_key_id:
            _recent_seats_add(self.request.api_key_id, self.request.seats)


def _held(*, now) -> Q:
    return Q(status=OrderStatus.PENDING, expires_at__gt=now)


def pending_order_of_buyer(*, event_id: int, email: str, phone: str) -> Order | None:
    """The buyer's unpaid, unexpired order for the event (by email or by phone)."""
    return (
        Order.objects.filter(_held(now=timezone.now()), event_id=event_id)
        .filter(text_equals("buyer__email", email) | Q(buyer__phone=phone))
        .select_related("payment")
        .order_by("-created_at")
        .first()
    )


def _seats_held(**order_filter) -> int:
    seats = OrderItem.objects.filter(
        order__status=OrderStatus.PENDING, order__expires_at__gt=timezone.now(), **order_filter
    ).aggregate(seats=Sum("quantity"))["seats"]
    return seats or 0


# Seats an API key placed in the last ORDER_TTL, kept in the cache in 5-minute buckets. Every
# order it holds unpaid now was placed within ORDER_TTL, so this sum is at least what it
# holds: while it leaves room under the cap, the database is not asked. A partner's
# ordinary traffic then costs no query; the exact count runs only near the cap.
_RECENT_BUCKET = 300


def _recent_keys(api_key_id: int) -> list[str]:
    now = int(timezone.now().timestamp()) // _RECENT_BUCKET
    buckets = int(settings.ORDER_TTL.total_seconds()) // _RECENT_BUCKET + 2
    return [_counter_key("api-key-recent", api_key_id, now - back) for back in range(buckets)]


def _recent_seats_add(api_key_id: int, seats: int) -> None:
    _in_flight_add(_recent_keys(api_key_id)[0], seats, ttl=int(settings.ORDER_TTL.total_seconds()) + 2 * _RECENT_BUCKET)


def _api_key_seats_held(api_key_id: int, *, room: int) -> int:
    """What the key holds, or an upper bound of it when that bound still fits in `room`."""
    recent = sum(cache.get_many(_recent_keys(api_key_id)).values())
    if recent <= room:
        return recent
    return _seats_held(order__api_key_id=api_key_id)


def _pending_orders(same_buyer: Q, *, event_id: int) -> int:
    return Order.objects.filter(_held(now=timezone.now()), same_buyer, event_id=event_id).count()


def _counter_key(*parts) -> str:
    # Hashed: no email or phone in the cache, and no character a cache key may not hold.
    return "holds:" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]


def _in_flight_add(key: str, amount: int, *, ttl: int = _IN_FLIGHT_TTL) -> int:
    return counter_add(key, amount, ttl=ttl)


def _in_flight_release(key: str, amount: int) -> None:
    counter_subtract(key, amount)


@contextmanager
def hold_claim(request: HoldRequest) -> Iterator[Hold]:
    """Check the caps for an order about to be placed; the caller places it inside the
    block and calls `hold.record(order)`. Raises PendingOrderExists (with the buyer's open
    order) or HoldLimitReached."""
    hold = Hold(request)
    checks = _checks(request)
    try:
        for key, amount, cap, count_held, refusal in checks:
            in_flight = _in_flight_add(key, amount)
            hold._counters.append((key, amount))
            # in_flight includes this request's own amount.
            if count_held(in_flight) + in_flight > cap:
                raise refusal()
        yield hold
    finally:
        for key, amount in hold._counters:
            _in_flight_release(key, amount)


def _checks(request: HoldRequest) -> list:
    checks = []
    per_buyer = settings.HOLD_MAX_PENDING_ORDERS_PER_BUYER
    if per_buyer > 0 and request.event_id is not None and request.email is not None:
        for name, value in (("email", request.email), ("phone", request.phone)):

            def count(in_flight: int, name=name, value=value) -> int:
                return _pending_orders(text_equals(f"buyer__{name}", value), event_id=request.event_id)

            def refuse(name=name, value=value):
                existing = pending_order_of_buyer(event_id=request.event_id, email=request.email, phone=request.phone)
                if existing is not None:
                    return PendingOrderExists(existing)
                # Not written yet: the same buyer's other submission is being placed now.
                return HoldLimitReached("Your other order is being placed. Wait a moment and reload the page.")

            checks.append((_counter_key("buyer", request.event_id, name, value), 1, per_buyer, count, refuse))
    per_address = settings.HOLD_MAX_SEATS_PER_ADDRESS
    if per_address > 0 and request.client_address:
        checks.append(
            (
                _counter_key("address", request.client_address),
                request.seats,
                per_address,
                lambda in_flight: _seats_held(order__client_address=request.client_address),
                lambda: HoldLimitReached(details={"max_seats": per_address}),
            )
        )
    per_key = settings.HOLD_MAX_SEATS_PER_API_KEY
    if per_key > 0 and request.api_key_id:
        checks.append(
            (
                _counter_key("api-key", request.api_key_id),
                request.seats,
                per_key,
                lambda in_flight: _api_key_seats_held(request.api_key_id, room=per_key - in_flight),
                lambda: HoldLimitReached(
                    "This API key's unpaid orders hold too many seats.", details={"max_seats": per_key}
                ),
            )
        )
    return checks
