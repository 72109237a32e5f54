"""Order transitions. Every status change of an order is one function here that locks the
row, returns quietly when the order is already in the target state, refuses an illegal
move with `IllegalTransition`, and writes an `OrderEvent` in the same transaction.

Placing an order is `orders/placement.py`; the expiry sweep is `orders/expiry.py`; closing
an invoice at Xendit after our own expiry or cancel is `orders/invoice_expiry.py`.

Orders and payments call each other's transitions (an expired order expires its payment; a
paid payment pays its order), so the two services modules form a cycle. payments.services
imports this module at its top; the imports of payments code here are made at call time.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_queue
from orders.models import (
    NO_SEATS_REASONS,
    AttentionReason,
    Buyer,
    EventSource,
    IssuedTicket,
    Order,
    OrderEvent,
    OrderStatus,
)
from payments.models import Payment, PaymentStatus
from tedxpay.core.errors import IllegalTransition, InvalidInput
from tedxpay.core.request_id import get_request_id
from tickets.errors import NotOnSale, SoldOut
from tickets.services import stock_release, stock_reserve


def order_event_record(
    *,
    order: Order,
    to_status: str,
    from_status: str = "",
    source: str,
    note: str = "",
    subject: str = OrderEvent.Subject.ORDER,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        subject=subject,
        from_status=from_status,
        to_status=to_status,
        source=source,
        request_id=get_request_id(),
        note=note,
    )


def order_lock(order_id: int) -> Order:
    """The order, locked for update until the surrounding transaction ends."""
    return Order.objects.select_for_update().get(pk=order_id)


def order_quantities(order: Order) -> dict[int, int]:
    return {item.ticket_id: item.quantity for item in order.items.all()}


def _order_set_status(*, order: Order, to_status: str, source: str, note: str = "") -> None:
    from_status = order.status
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    order_event_record(order=order, from_status=from_status, to_status=to_status, source=source, note=note)


@transaction.atomic
def order_cancel(*, order_id: int, source: str = EventSource.SYSTEM, note: str = "") -> Order:
    """PENDING → CANCELLED, giving the seats back."""
    order = order_lock(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot be cancelled.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.CANCELLED, source=source, note=note)
    _payment_close(order=order, cancelled=True, source=source)
    # An invoice left open could still be paid for seats we just gave back: close it after
    # commit (a payment that beat us to it is recorded and flagged for a refund).
    _invoice_close_after_commit(order_id=order.pk)
    return order


def _invoice_close_after_commit(*, order_id: int) -> None:
    # At call time: orders.invoice_expiry imports payments.services, which imports this
    # module at its top (the cycle described in the module docstring).
    from orders.invoice_expiry import invoice_expire_after_commit

    invoice_expire_after_commit(order_id=order_id)


def _payment_close(*, order: Order, cancelled: bool, source: str) -> None:
    # At call time: payments.services imports this module at its top (see the docstring).
    from payments.services import payment_expire, payment_fail

    payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING).first()
    if payment is None:
        return
    if cancelled:
        payment_fail(payment_id=payment.pk, source=source, note="order cancelled")
    else:
        payment_expire(payment_id=payment.pk, source=source)


def order_flag(*, order: Order, reason: str, note: str, source: str) -> None:
    """Ask finance to look at this order (shown in the admin), with an audit row."""
    order.needs_attention = True
    order.attention_reason = reason
    order.attention_note = note
    order.save(update_fields=["needs_attention", "attention_reason", "attention_note", "updated_at"])
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"needs attention: {reason}: {note}",
    )


@transaction.atomic
def order_expire(*, order_id: int, source: str = EventSource.EXPIRY, close_invoice: bool = True) -> Order:
    """PENDING → EXPIRED: seats back and the payment expired, in one transaction.

    `close_invoice`: also expire the invoice at Xendit after commit, so nobody pays for the
    seats just given back. Pass False when Xendit already has it EXPIRED (its EXPIRED
    callback, or a reconcile that read EXPIRED): asking again would only cost two calls.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.EXPIRED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot expire.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.EXPIRED, source=source)
    _payment_close(order=order, cancelled=False, source=source)
    notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)
    if close_invoice:
        _invoice_close_after_commit(order_id=order.pk)
    return order


def issued_tickets_create(*, order: Order) -> list[IssuedTicket]:
    """One e-ticket per seat. (order_item, seat_number) is unique, so a second call for the
    same order cannot make a second set; it returns the existing one."""
    existing = list(order.issued_tickets.all())
    if existing:
        return existing
    return IssuedTicket.objects.bulk_create(
        IssuedTicket(order=order, order_item=item, ticket_id=item.ticket_id, seat_number=seat)
        for item in order.items.all()
        for seat in range(1, item.quantity + 1)
    )


def _order_flag_for_refund(*, order: Order, reason: str, note: str, source: str) -> None:
    """Money with no seats for it: recorded on the payment, flagged for finance to refund,
    and the buyer told what happens next."""
    order_flag(order=order, reason=reason, source=source, note=note)
    notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)


@transaction.atomic
def order_mark_paid(*, order_id: int, paid_amount: int, paid_at: datetime, source: str) -> Order:
    """The order takes a payment Xendit confirmed (the Payment row is already PAID).

    PENDING → PAID. A late payment (EXPIRED) takes its seats back when they are still
    there and becomes PAID; otherwise the order stays EXPIRED, flagged for a refund, and the
    buyer is told. Money on a CANCELLED order is flagged the same way. Never dropped.
    Calling it again for the same payment changes nothing.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.PAID:
        return order
    if order.attention_reason in NO_SEATS_REASONS:
        # Already recorded and flagged for a refund: a second caller (a reconcile after the
        # webhook) is quiet, like any transition already in its target state, instead of
        # flagging and auditing twice.
        return order
    if order.status == OrderStatus.EXPIRED:
        try:
            # A savepoint: if the seats are gone, only this attempt is rolled back.
            with transaction.atomic():
                stock_reserve(quantities=order_quantities(order), now=paid_at, require_on_sale=False)
        except (SoldOut, NotOnSale) as error:
            note = f"{paid_amount} IDR received after expiry; seats gone ({error.message}). Refund."
            _order_flag_for_refund(
                order=order, reason=AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK, note=note, source=source
            )
            return order
    elif order.status == OrderStatus.CANCELLED:
        note = f"{paid_amount} IDR received for a cancelled order. Refund."
        _order_flag_for_refund(order=order, reason=AttentionReason.PAID_AFTER_CANCEL, note=note, source=source)
        return order

    from_status = order.status
    order.status = OrderStatus.PAID
    order.paid_at = paid_at
    order.save(update_fields=["status", "paid_at", "updated_at"])
    note = "late payment, seats taken back" if from_status == OrderStatus.EXPIRED else ""
    order_event_record(order=order, from_status=from_status, to_status=OrderStatus.PAID, source=source, note=note)
    if paid_amount != order.total:
        order_flag(
            order=order,
            reason=AttentionReason.AMOUNT_MISMATCH,
            source=source,
            note=f"paid {paid_amount} IDR, total {order.total} IDR",
        )
    issued_tickets_create(order=order)
    notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    return order


@transaction.atomic
def order_attention_resolve(*, order_id: int, note: str = "", source: str = EventSource.ADMIN) -> Order:
    """Finance has dealt with a flagged order (refunded it, accepted a mismatch): clear the
    flag. The audit row keeps what the flag said, so the order page still tells the story.
    Quiet when the order is not flagged (resolved twice, or by someone else just now)."""
    order = order_lock(order_id)
    if not order.needs_attention:
        return order
    resolved = f"attention resolved: {order.attention_reason}: {order.attention_note}"
    order.needs_attention = False
    order.attention_reason = ""
    order.attention_note = ""
    order.save(update_fields=["needs_attention", "attention_reason", "attention_note", "updated_at"])
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"{resolved} — {note}" if note else resolved,
    )
    return order


# --- correcting the buyer's contact details ----------------------------------------------

_CONTACT_FIELDS = ("full_name", "email", "phone")


@transaction.atomic
def buyer_contact_update(
    *,
    order_id: int,
    email: str | None = None,
    phone: str | None = None,
    full_name: str | None = None,
    requested_by: str,
    source: str = EventSource.ADMIN,
) -> Order:
    """Correct the buyer of this order (a mistyped email, a changed phone). `None` leaves a
    field as it is; values are cleaned as at checkout. Emails still owed (pending or failed)
    are re-addressed; an email already sent keeps the address it went to, and
    `notification_resend` sends a copy to the new one. One audit row says old → new.

    Raises `InvalidInput` with `details` per field; quiet (no audit row) when nothing changes.
    The order's lock serialises two corrections of the same order.
    """
    # At call time: orders.placement imports this module at its top.
    from orders.placement import email_normalise, phone_normalise

    order = order_lock(order_id)
    buyer = Buyer.objects.select_for_update().get(pk=order.buyer_id)
    wanted: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    if full_name is not None:
        name = " ".join(full_name.split())
        if not name:
            errors["full_name"] = ["Enter the buyer's full name."]
        elif len(name) > 200:
            errors["full_name"] = ["A name has at most 200 characters."]
        else:
            wanted["full_name"] = name
    for field, value, normalise in (("email", email, email_normalise), ("phone", phone, phone_normalise)):
        if value is None:
            continue
        try:
            wanted[field] = normalise(value)
        except ValueError as error:
            errors[field] = [str(error)]
    if errors:
        raise InvalidInput(details=errors)

    changes = {
        field: (getattr(buyer, field), wanted[field])
        for field in _CONTACT_FIELDS
        if field in wanted and wanted[field] != getattr(buyer, field)
    }
    if not changes:
        return order
    for field, (_, new) in changes.items():
        setattr(buyer, field, new)
    buyer.save(update_fields=list(changes))
    if "email" in changes:
        # Not `sending` rows: their message is already addressed; if it fails it is retried
        # to the old address, which the admin points out (see docs/back-office.md).
        Notification.objects.filter(
            order=order, status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED]
        ).update(to_email=buyer.email, updated_at=timezone.now())
    described = "; ".join(f"{field.replace('_', ' ')} {old} → {new}" for field, (old, new) in changes.items())
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"buyer contact corrected by {requested_by}: {described}",
    )
    return order
