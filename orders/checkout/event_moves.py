"""“Event moved”: a new date or venue, every buyer told, and money back for those who
cannot come.

Finance records the move in the admin (`event_move_record`): the event's date and venue
change, an `EventMove` row keeps what they were, and every paid order's buyer is owed one
"event moved" email, all in one transaction (told all or none). Until the move's
`refunds_until`, the buyer of an order paid before the move may cancel it from the order
page for a full refund (`order_refund_after_move`): e-tickets void, seats back on sale, the
money through the same refund path as finance's "Cancel and refund" (a refund row, Xendit
asked once with its own idempotency key, a manual transfer for channels Xendit cannot
refund).

Why a refund is never asked twice: the buyer's request carries what it saw as refunded
(`expected_refunds`); two clicks at once queue on the order's lock, and the second finds
the first's refund in flight and is refused (`Conflict`) with nothing written.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services import notifications_queue_new
from orders.checkout.refunds import order_refund
from orders.models import EventMove, EventSource, Order, OrderStatus
from orders.services import order_cancel_paid
from payments.models import Payment, Refund, RefundReason
from tedxpay.core.errors import Conflict, InvalidInput
from tickets.models import Event, EventTimeZone, Ticket


@dataclass(frozen=True)
class MovePreview:
    """What recording a move would do (nothing is written)."""

    event: Event
    paid_orders: int  # each buyer gets one email
    pending_orders: int  # not told: their invoice page and expiry are unchanged


def event_move_preview(*, event_id: int) -> MovePreview:
    return MovePreview(
        event=Event.objects.get(pk=event_id),
        paid_orders=event_paid_orders(event_id=event_id),
        pending_orders=Order.objects.filter(event_id=event_id, status=OrderStatus.PENDING).count(),
    )


def event_paid_orders(*, event_id: int) -> int:
    """The buyers a move must tell: one per paid order."""
    return Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).count()


def event_move_record(
    *,
    event_id: int,
    starts_at: datetime,
    ends_at: datetime | None,
    venue: str,
    city: str,
    refunds_until: datetime,
    message: str,
    requested_by: str,
    time_zone: str | None = None,
    now: datetime | None = None,
) -> EventMove:
    """Move the event and owe every paid order's buyer the "event moved" email (sent after
    commit). `time_zone` is the event's zone after the move (None: it keeps its own), for a
    move to a city on another clock. Raises, with nothing written, `Conflict` (`event_cancelled`) or `InvalidInput`
    (`details` by field) when the move is not one buyers can act on."""
    now = now or timezone.now()
    venue, city, message = venue.strip(), city.strip(), message.strip()
    with transaction.atomic():
        # The event's row first: a cancellation starting at the same moment takes it first
        # too (event_cancellation_start), so one of the two sees the other.
        event = Event.objects.select_for_update().get(pk=event_id)
        if event.cancelled_at is not None:
            raise Conflict("This event was cancelled; a cancelled event cannot move.", code="event_cancelled")
        time_zone = time_zone or event.time_zone
        _check_move(
            event,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            city=city,
            time_zone=time_zone,
            refunds_until=refunds_until,
            now=now,
        )
        move = EventMove.objects.create(
            event=event,
            requested_by=requested_by,
            old_starts_at=event.starts_at,
            old_ends_at=event.ends_at,
            old_venue=event.venue,
            old_city=event.city,
            new_starts_at=starts_at,
            new_ends_at=ends_at,
            new_venue=venue,
            new_city=city,
            old_time_zone=event.time_zone,
            new_time_zone=time_zone,
            message=message,
            refunds_until=refunds_until,
        )
        event.starts_at, event.ends_at, event.venue, event.city = starts_at, ends_at, venue, city
        event.time_zone = time_zone
        event.save(update_fields=["starts_at", "ends_at", "venue", "city", "time_zone", "updated_at"])
        paid = Order.objects.filter(event=event, status=OrderStatus.PAID).select_related("buyer").order_by("pk")
        # In batches: an event of a few thousand buyers is moved in one request.
        told = notifications_queue_new(orders=paid, kind=NotificationKind.EVENT_MOVED, refund_reference=move.reference)
        EventMove.objects.filter(pk=move.pk).update(paid_orders_told=told)
        move.paid_orders_told = told
    return move


def move_phases_on_sale_after_start(move: EventMove) -> list[Ticket]:
    """Phases that stay on sale after the new start: a sale window set for the old date
    (an event brought forward) would go on selling seats for an event already under way.
    Finance is shown them after the move; the windows are theirs to change."""
    return list(
        Ticket.objects.filter(event_id=move.event_id, is_active=True, valid_until__gt=move.new_starts_at).order_by(
            "sort_order", "valid_from", "pk"
        )
    )


def _check_move(event: Event, *, starts_at, ends_at, venue, city, time_zone, refunds_until, now) -> None:
    errors = {}
    if time_zone not in EventTimeZone.values:
        errors["time_zone"] = f"Choose one of {', '.join(EventTimeZone.values)}."
    if starts_at <= now:
        errors["starts_at"] = "The new start must be in the future."
    if ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The event must end after it starts."
    if not venue:
        errors["venue"] = "Say where the event is now."
    if refunds_until <= now:
        errors["refunds_until"] = "Buyers need time to ask for their money back: choose a moment in the future."
    elif refunds_until > starts_at:
        errors["refunds_until"] = "Refunds must close before the event starts."
    # A new zone alone is a change: the tickets' "09:00 WIB" becomes "10:00 WITA" (the event's
    # own form refuses it once tickets are paid, and sends finance here).
    unchanged = (starts_at, ends_at, venue, city, time_zone) == (
        event.starts_at,
        event.ends_at,
        event.venue,
        event.city,
        event.time_zone,
    )
    if unchanged and not errors:
        errors["starts_at"] = "Nothing changed: give a new date, time or venue."
    if errors:
        raise InvalidInput("The move cannot be recorded as it is.", code="invalid_move", details=errors)


def move_refund_window(order: Order, *, now: datetime | None = None) -> EventMove | None:
    """The move whose refund window is open for this order, or None: the order is PAID,
    it was placed before the event moved (a buyer who ordered after knew the new date),
    the event is not cancelled (then everyone is refunded anyway) and the window has not
    closed. The latest such move when the event moved more than once."""
    now = now or timezone.now()
    if order.status != OrderStatus.PAID or order.event.cancelled_at is not None:
        return None
    return (
        EventMove.objects.filter(event_id=order.event_id, requested_at__gt=order.created_at, refunds_until__gt=now)
        .order_by("-requested_at", "-pk")
        .first()
    )


def order_refund_after_move(*, order: Order, expected_refunds: int, gateway=None) -> Refund | None:
    """The buyer cannot come to the moved event: cancel the order (e-tickets void, seats
    back on sale) and refund everything still refundable; None for an order with nothing
    to refund (free or complimentary tickets), which is only cancelled.

    `expected_refunds`: the refunded and in-flight amount the buyer's page showed. Raises
    `Conflict` (`refund_window_closed`, or a refund asked meanwhile) and
    `IllegalTransition` (the order is not paid any more) with nothing written."""
    move = move_refund_window(order)
    if move is None:
        raise Conflict(
            "This order can no longer be cancelled for a refund from this page.", code="refund_window_closed"
        )
    note = f"event moved ({move.reference}): the buyer cannot come and asked for their money back"
    payment = Payment.objects.filter(order=order).first()
    if payment is None or payment.refundable <= 0:
        with transaction.atomic():
            order_cancel_paid(order_id=order.pk, release_seats=True, source=EventSource.BUYER, note=note)
        return None
    return order_refund(
        order_id=order.pk,
        requested_by=f"buyer ({order.buyer.email})",
        reason=RefundReason.CANCELLATION,
        note=note,
        cancel=True,
        release_seats=True,
        source=EventSource.BUYER,
        gateway=gateway,
        expected_refunds=expected_refunds,
    )
