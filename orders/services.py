"""Order use cases. Every status change of an order is one function here that locks the
row, returns quietly when the order is already in the target state, refuses an illegal
move with `IllegalTransition`, and writes an `OrderEvent` in the same transaction."""

from datetime import datetime

from django.db import transaction

from notifications.models import NotificationKind
from notifications.services import notification_queue
from orders.models import AttentionReason, EventSource, IssuedTicket, Order, OrderEvent, OrderStatus
from tedxpay.core.errors import IllegalTransition
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
    return order


def _payment_close(*, order: Order, cancelled: bool, source: str) -> None:
    # payments.services imports this module; importing it here, at call time, breaks the cycle.
    from payments.models import Payment, PaymentStatus
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
        order=order, from_status=order.status, to_status=order.status, source=source,
        note=f"needs attention: {reason}: {note}",
    )


@transaction.atomic
def order_expire(*, order_id: int, source: str = EventSource.EXPIRY) -> Order:
    """PENDING → EXPIRED: seats back and the payment expired, in one transaction."""
    order = order_lock(order_id)
    if order.status == OrderStatus.EXPIRED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot expire.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.EXPIRED, source=source)
    _payment_close(order=order, cancelled=False, source=source)
    notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)
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


@transaction.atomic
def order_mark_paid(*, order_id: int, paid_amount: int, paid_at: datetime, source: str) -> Order:
    """The order takes a payment Xendit confirmed (the Payment row is already PAID).

    PENDING → PAID. A late payment (EXPIRED) takes its seats back when they are still
    there and becomes PAID; otherwise the order stays EXPIRED, flagged for a refund, and the
    buyer is told. Money on a CANCELLED order is flagged the same way. Never dropped.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.PAID:
        return order
    if order.status == OrderStatus.EXPIRED:
        try:
            # A savepoint: if the seats are gone, only this attempt is rolled back.
            with transaction.atomic():
                stock_reserve(quantities=order_quantities(order), now=paid_at, require_on_sale=False)
        except (SoldOut, NotOnSale) as error:
            order_flag(
                order=order, reason=AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK, source=source,
                note=f"{paid_amount} IDR received after expiry; seats gone ({error.message}). Refund.",
            )
            notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)
            return order
    elif order.status == OrderStatus.CANCELLED:
        order_flag(
            order=order, reason=AttentionReason.PAID_AFTER_CANCEL, source=source,
            note=f"{paid_amount} IDR received for a cancelled order. Refund.",
        )
        notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)
        return order

    from_status = order.status
    order.status = OrderStatus.PAID
    order.paid_at = paid_at
    order.save(update_fields=["status", "paid_at", "updated_at"])
    note = "late payment, seats taken back" if from_status == OrderStatus.EXPIRED else ""
    order_event_record(order=order, from_status=from_status, to_status=OrderStatus.PAID, source=source, note=note)
    if paid_amount != order.total:
        order_flag(
            order=order, reason=AttentionReason.AMOUNT_MISMATCH, source=source,
            note=f"paid {paid_amount} IDR, total {order.total} IDR",
        )
    issued_tickets_create(order=order)
    notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    return order
