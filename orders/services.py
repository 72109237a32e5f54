"""Order transitions. Every status change of an order is one function here that locks the
row, returns quietly when the order is already in the target state, refuses an illegal
move with `IllegalTransition`, and writes an `OrderEvent` in the same transaction.

Where an order and its payment change together, the function here takes the order's lock
first and then calls `payments.services`, which locks the payment: the lock order, order
then payment, is kept by construction (nothing below locks an order). Nothing here talks
to Xendit: a transition that leaves an invoice open queues its expiry at Xendit after
commit (`orders.tasks.invoice_expire_task`). Above this module, `orders/checkout/` places
orders and applies what Xendit says; below it, `payments.services` and
`notifications.services` change their own rows only.
"""

import logging
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_queue, notification_queue_first, notifications_make_obsolete
from orders.audit import order_event_record
from orders.buyer_limits import BuyerLimit, buyer_limits_check
from orders.buyers import buyer_contact_clean
from orders.models import (
    NO_SEATS_REASONS,
    AttentionReason,
    Buyer,
    EventSource,
    IssuedTicket,
    Order,
    OrderStatus,
)
from orders.tasks import invoice_expire_task, order_refund_owed_task
from payments.gateways.base import Invoice
from payments.models import Payment, PaymentStatus
from payments.services import (
    payment_cancel,
    payment_expire,
    payment_lock,
    payment_mark_paid_locked,
    payment_refund_record,
)
from tedxpay.core.errors import IllegalTransition, InvalidInput
from tedxpay.core.money import format_rupiah
from tickets.errors import NotOnSale, SoldOut
from tickets.models import Event, Ticket
from tickets.services import stock_release, stock_reserve
from vouchers.errors import VoucherUsedUp
from vouchers.models import Voucher
from vouchers.selectors import voucher_terms
from vouchers.services import voucher_redeem, voucher_release

logger = logging.getLogger("tedxpay.orders.expiry")


def order_lock(order_id: int) -> Order:
    """The order, locked for update until the surrounding transaction ends."""
    return Order.objects.select_for_update().get(pk=order_id)


def _order_lock_with_buyer(order_id: int) -> Order:
    """`order_lock`, with its buyer read (and locked: one row per order, always after its
    order, as `buyer_contact_update` takes them) in the same statement: a paid order's
    email is addressed to the buyer without reading it again."""
    return Order.objects.select_for_update().select_related("buyer").get(pk=order_id)


def order_quantities(order: Order) -> dict[int, int]:
    return {item.ticket_id: item.quantity for item in order.items.all()}


def _order_set_status(*, order: Order, to_status: str, source: str, note: str = "") -> None:
    from_status = order.status
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    order_event_record(order=order, from_status=from_status, to_status=to_status, source=source, note=note)


@transaction.atomic
def order_cancel(*, order_id: int, source: str = EventSource.SYSTEM, note: str = "", notify: bool = False) -> Order:
    """PENDING → CANCELLED, giving the seats back. `notify`: email the buyer that the
    order is cancelled (finance cancelling it; not a checkout that failed in front of them)."""
    order = order_lock(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot be cancelled.")
    stock_release(quantities=order_quantities(order))
    _voucher_give_back(order)
    _order_set_status(order=order, to_status=OrderStatus.CANCELLED, source=source, note=note)
    _payment_close(order=order, cancelled=True, source=source)
    if notify:
        notification_queue(order=order, kind=NotificationKind.ORDER_CANCELLED)
    # An invoice left open could still be paid for seats we just gave back: expire it at
    # Xendit after commit (a payment that beat us to it is recorded and flagged for a refund).
    invoice_expire_after_commit(order_id=order.pk)
    return order


def _voucher_give_back(order: Order) -> None:
    # After the ticket rows, like the redemption: one lock order (vouchers/services.py).
    if order.voucher_id:
        voucher_release(voucher_id=order.voucher_id, uses=order.voucher_uses)


def invoice_expire_after_commit(*, order_id: int) -> None:
    """Queue the expiry at Xendit of this order's invoice once the current transaction
    commits (nothing happens if it rolls back, or if no invoice was ever created). The task
    runs `orders.checkout.invoices.invoice_expire`; if the broker refuses it, the expiry
    here stands and the sweep expires the invoice later."""
    payment_id = (
        Payment.objects.filter(order_id=order_id, invoice_id__isnull=False).values_list("pk", flat=True).first()
    )
    if payment_id is None:
        return  # the crash-between-commit-and-create case: nothing to expire

    def start() -> None:
        try:
            invoice_expire_task.delay(payment_id)
        except Exception:
            # After the commit: the expiry stands (seats back), and the caller (a webhook,
            # a checkout) must not answer an error for it. The sweep expires the invoice.
            logger.exception(
                "payment %s: could not queue expiring its invoice (broker down?); the sweep will", payment_id
            )

    # robust: whatever else fails in here happened after the commit, too.
    transaction.on_commit(start, robust=True)


def _payment_close(*, order: Order, cancelled: bool, source: str) -> None:
    payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING).first()
    if payment is None:
        return
    if cancelled:
        payment_cancel(payment_id=payment.pk, source=source, note="order cancelled")
    else:
        payment_expire(payment_id=payment.pk, source=source)


def order_flag(*, order: Order, reason: str, note: str, source: str) -> None:
    """Ask finance to look at this order (shown in the admin), with an audit row."""
    order.attention_reason = reason
    order.attention_note = note
    order.save(update_fields=["attention_reason", "attention_note", "updated_at"])
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"needs attention: {reason}: {note}",
    )


@transaction.atomic
def order_expire(*, order_id: int, source: str = EventSource.EXPIRY, expire_invoice: bool = True) -> Order:
    """PENDING → EXPIRED: seats back and the payment expired, in one transaction.

    `expire_invoice`: also expire the invoice at Xendit after commit, so nobody pays for the
    seats just given back. Pass False when Xendit already has it EXPIRED (what Xendit said
    about the invoice, applied by `orders.checkout.invoices.invoice_apply`): asking again
    would only cost two calls.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.EXPIRED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot expire.")
    stock_release(quantities=order_quantities(order))
    _voucher_give_back(order)
    _order_set_status(order=order, to_status=OrderStatus.EXPIRED, source=source)
    _payment_close(order=order, cancelled=False, source=source)
    notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)
    if expire_invoice:
        invoice_expire_after_commit(order_id=order.pk)
    return order


def issued_tickets_create(*, order: Order) -> list[IssuedTicket]:
    """One e-ticket per seat. (order_item, seat_number) is unique, so a second call for the
    same order cannot make a second set; it returns the existing one."""
    existing = list(order.issued_tickets.all())
    if existing:
        return existing
    return _issued_tickets_insert(order=order)


def _issued_tickets_insert(*, order: Order) -> list[IssuedTicket]:
    """The e-tickets of an order that has none: the one that has just become PAID under its
    lock (they are made nowhere else), so they are not looked for first. Should that ever be
    wrong, the unique (order_item, seat_number) refuses a second set and the transition
    rolls back whole."""
    return IssuedTicket.objects.bulk_create(
        IssuedTicket(
            order=order,
            order_item=item,
            ticket_id=item.ticket_id,
            seat_number=seat,
            attendee_name=item.attendee_names[seat - 1] if seat <= len(item.attendee_names) else "",
        )
        for item in order.items.all()
        for seat in range(1, item.quantity + 1)
    )


def _order_flag_for_refund(*, order: Order, reason: str, note: str, source: str) -> None:
    """Money with no seats for it: recorded on the payment, flagged for finance to refund,
    and the buyer told what happens next."""
    order_flag(order=order, reason=reason, source=source, note=note)
    notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)
    _late_payment_refund_after_commit(order_id=order.pk)


def _late_payment_refund_after_commit(*, order_id: int) -> None:
    # Opt-in (settings.REFUND_LATE_PAYMENTS_AUTOMATICALLY): the refund talks to Xendit, so
    # it runs in a task once this transaction has committed, never inside it.
    if not settings.REFUND_LATE_PAYMENTS_AUTOMATICALLY:
        return

    transaction.on_commit(lambda: order_refund_owed_task.delay(order_id), robust=True)


@transaction.atomic
def order_mark_paid(*, order_id: int, paid_amount: int, paid_at: datetime, source: str) -> Order:
    """The order takes a payment Xendit confirmed (the Payment row is already PAID).

    PENDING → PAID. A late payment (EXPIRED) takes its seats back when they are still
    there and becomes PAID; otherwise the order stays EXPIRED, flagged for a refund, and the
    buyer is told. Money on a CANCELLED order is flagged the same way. Never dropped.
    Calling it again for the same payment changes nothing.
    """
    return _order_mark_paid_locked(order=order_lock(order_id), paid_amount=paid_amount, paid_at=paid_at, source=source)


def _order_mark_paid_locked(*, order: Order, paid_amount: int, paid_at: datetime, source: str) -> Order:
    """`order_mark_paid` for the order as its caller locked it (`order_lock`) in the
    transaction it is still in: not locked and read again, no savepoint."""
    if order.status == OrderStatus.PAID:
        return order
    if order.attention_reason in NO_SEATS_REASONS:
        # Already recorded and flagged for a refund: a second caller (a reconcile after the
        # webhook) is quiet, like any transition already in its target state, instead of
        # flagging and auditing twice.
        return order
    if order.status == OrderStatus.EXPIRED:
        if Event.objects.filter(pk=order.event_id, cancelled_at__isnull=False).exists():
            # The event was cancelled meanwhile (its cancellation refunded every paid order
            # and is over): no seats to take back, whatever is left in the phase.
            note = f"{format_rupiah(paid_amount)} received after expiry, for a cancelled event. Refund."
            _order_flag_for_refund(order=order, reason=AttentionReason.PAID_AFTER_CANCEL, note=note, source=source)
            return order
        try:
            # A savepoint: if the seats are gone, only this attempt is rolled back.
            with transaction.atomic():
                _late_payment_seats_retake(order=order, paid_at=paid_at)
        except (SoldOut, NotOnSale, VoucherUsedUp, BuyerLimit) as error:
            note = (
                f"{format_rupiah(paid_amount)} received after expiry; seats or voucher gone ({error.message}). Refund."
            )
            _order_flag_for_refund(
                order=order, reason=AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK, note=note, source=source
            )
            return order
    elif order.status == OrderStatus.CANCELLED:
        note = f"{format_rupiah(paid_amount)} received for a cancelled order. Refund."
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
            note=f"paid {format_rupiah(paid_amount)}, total {format_rupiah(order.total)}",
        )
    _issued_tickets_insert(order=order)
    if from_status == OrderStatus.EXPIRED:
        # Only an expired order owes an "order expired" email. Before the confirmation is
        # queued: one not sent yet never goes out after it (notification_send).
        notifications_make_obsolete(order=order, source=source)
    # Owed here only, once: the order became PAID just now, under its lock.
    notification_queue_first(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    return order


def _late_payment_seats_retake(*, order: Order, paid_at: datetime) -> None:
    """A late payment's seats taken again, under the rules its placement met: the phase's
    seats, the voucher's uses, the buyer's cap. Raises what placing would have."""
    quantities = order_quantities(order)
    stock_reserve(quantities=quantities, now=paid_at, require_on_sale=False)
    exempt: frozenset[int] = frozenset()
    if order.voucher_id:
        # The price paid was the voucher's: it takes its uses back too, within the limit
        # (valid window or not: it was valid when the order was placed).
        voucher_redeem(voucher_id=order.voucher_id, uses=order.voucher_uses, now=paid_at, require_valid=False)
        voucher = Voucher.objects.get(pk=order.voucher_id)
        if not voucher.combines_with_limits:
            exempt = voucher_terms(voucher).ticket_ids.intersection(quantities)
    # Counted without this order (it is EXPIRED): the buyer's other orders may have taken
    # the cap meanwhile.
    buyer = order.buyer
    buyer_limits_check(
        tickets=Ticket.objects.in_bulk(list(quantities)),
        quantities=quantities,
        email=buyer.email,
        phone=buyer.phone,
        exempt=exempt,
    )


@transaction.atomic
def order_pay(*, payment_id: int, invoice: Invoice, source: str = EventSource.WEBHOOK) -> Payment:
    """Money Xendit confirmed (`invoice` read from the gateway, never a callback): the
    payment records it (`payment_mark_paid`) and the order takes it (`order_mark_paid`:
    PAID, or a late payment that takes its seats back or is flagged for a refund). Under
    the order's lock, then the payment's. Quiet when the payment is already PAID (only
    Xendit's status is remembered)."""
    return order_pay_telling(payment_id=payment_id, invoice=invoice, source=source).payment


class OrderPaid(NamedTuple):
    payment: Payment
    order: Order  # as it is now, under its lock
    newly_paid: bool  # False: the payment was PAID already; only Xendit's status was remembered


def order_pay_telling(
    *,
    payment_id: int,
    invoice: Invoice,
    source: str = EventSource.WEBHOOK,
    order_id: int | None = None,
    savepoint: bool = True,
) -> OrderPaid:
    """`order_pay`, telling the caller what it found and did, so the one rule
    (`orders.checkout.invoices.invoice_apply`) reads nothing again after it. `order_id`:
    the payment's order, when the caller has read the payment already (a payment never
    changes order; checked under the lock).

    Every paid callback runs this: each row is locked and read once (the order, then the
    payment), and the payment's and the order's steps run in this transaction without
    savepoints of their own (an error in either rolls all of it back). `savepoint=False`:
    inside a caller's transaction, none for this either (the paid callback's, which holds
    only its inbox row besides: an error rolls all of it back, as it wants, and the
    SAVEPOINT and RELEASE round trips are saved). A caller that goes on after an error
    keeps the default."""
    with transaction.atomic(savepoint=savepoint):
        if order_id is None:
            order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = _order_lock_with_buyer(order_id)
        payment = payment_lock(payment_id)
        if payment.order_id != order.pk:
            raise IllegalTransition(f"Payment {payment_id} does not belong to order {order_id}.")
        already_paid = payment.status == PaymentStatus.PAID
        payment = payment_mark_paid_locked(payment=payment, invoice=invoice, source=source, order=order)
        if not already_paid:
            order = _order_mark_paid_locked(
                order=order, paid_amount=payment.paid_amount, paid_at=payment.paid_at, source=source
            )
        return OrderPaid(payment=payment, order=order, newly_paid=not already_paid)


@transaction.atomic
def order_attention_resolve(*, order_id: int, note: str = "", source: str = EventSource.ADMIN) -> Order:
    """Finance has dealt with a flagged order (refunded it, accepted a mismatch): clear the
    flag. The audit row keeps what the flag said, so the order page still tells the story.
    Quiet when the order is not flagged (resolved twice, or by someone else just now)."""
    order = order_lock(order_id)
    if not order.needs_attention:
        return order
    resolved = f"attention resolved: {order.attention_reason}: {order.attention_note}"
    order.attention_reason = ""
    order.attention_note = ""
    order.save(update_fields=["attention_reason", "attention_note", "updated_at"])
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
    order = order_lock(order_id)
    buyer = Buyer.objects.select_for_update().get(pk=order.buyer_id)
    wanted, errors = buyer_contact_clean(full_name=full_name, email=email, phone=phone)
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


# --- refunds made outside tedxpay ------------------------------------------------------------


@transaction.atomic
def order_refund_record(
    *,
    payment_id: int,
    amount: int,
    reference: str,
    requested_by: str,
    expected_refunded_amount: int | None = None,
    source: str = EventSource.ADMIN,
) -> Payment:
    """Record money finance gave back outside tedxpay (Xendit's dashboard, a bank transfer):
    tedxpay never moves money back itself. The payment adds it to its refunded amount
    (`payment_refund_record`: validation, the double-click guard, the audit row).

    When the order is flagged for a refund (`Payment.refund_owed`: no seats for the money,
    or an overpayment) and the refunds now cover what was owed, the flag is resolved
    (`order_attention_resolve`, its own audit row). A partial refund leaves it raised.
    Recording a refund never changes a status: a PAID order keeps its e-tickets.
    """
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    order = order_lock(order_id)
    owed = payment_lock(payment_id).refund_owed  # before the flag may be cleared below
    payment = payment_refund_record(
        payment_id=payment_id,
        amount=amount,
        reference=reference,
        requested_by=requested_by,
        expected_refunded_amount=expected_refunded_amount,
        source=source,
    )
    if owed and payment.refunded_amount >= owed:
        order_attention_resolve(
            order_id=order.pk,
            source=source,
            note=f"refunds of {format_rupiah(payment.refunded_amount)} cover the {format_rupiah(owed)} owed "
            f"(recorded by {requested_by})",
        )
    return payment


# --- cancelling a paid order (its refund: orders/checkout/refunds.py) ----------------------------


@transaction.atomic
def order_cancel_paid(
    *, order_id: int, release_seats: bool = True, source: str = EventSource.ADMIN, note: str = ""
) -> Order:
    """PAID → CANCELLED: its e-tickets are void (refused at the door, shown void on the
    order page) and, unless `release_seats` is False, its seats go back on sale, in this
    one transaction. The buyer is emailed. The money is not touched here: the caller asks
    for the refund in the same transaction (orders/checkout/refunds.py).

    Seats kept off sale (`release_seats=False`: the event is cancelled, or the hall lost
    those seats) stay counted in `Ticket.held`.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PAID:
        raise IllegalTransition(f"Order {order.code} is {order.status}; only a paid order is cancelled this way.")
    if release_seats:
        stock_release(quantities=order_quantities(order))
        _voucher_give_back(order)  # as when a pending order is cancelled
    seats = "seats back on sale" if release_seats else "seats kept off sale"
    _order_set_status(
        order=order, to_status=OrderStatus.CANCELLED, source=source, note=f"{note}; {seats}" if note else seats
    )
    tickets_void(order=order)
    notification_queue(order=order, kind=NotificationKind.ORDER_CANCELLED)
    return order


def tickets_void(*, order: Order) -> int:
    """Void the order's e-tickets (the caller holds the order's lock). Returns how many."""
    return order.issued_tickets.filter(voided_at__isnull=True).update(voided_at=timezone.now())
