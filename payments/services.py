"""Payment rows. Each status change of a Payment is one function here that locks the row,
returns quietly when it is already in the target state, refuses an illegal move with
`IllegalTransition`, and writes an audit row (`OrderEvent`, subject "payment") in the same
transaction.

This module changes Payment rows only and never imports orders code above the ground floor
(models, the audit row): what an order does with its payment is decided a layer up, in
`orders/services.py`, which takes the order's lock before calling in here. So the lock
order, order then payment, is kept by construction: nothing here locks an order.
"""

import logging

from django.db import transaction
from django.utils import timezone, translation

from orders.audit import order_event_record
from orders.models import EventSource, Order, OrderEvent
from payments.channel_names import channel_name
from payments.gateways.base import Invoice
from payments.models import Payment, PaymentStatus
from tedxpay.core.errors import Conflict, IllegalTransition, InvalidInput
from tedxpay.core.money import format_rupiah

logger = logging.getLogger(__name__)

# Which moves are legal (docs/architecture.md, "State machines"). PAID is final: nothing
# moves a paid payment backwards. CANCELLED → PAID and EXPIRED → PAID exist because money
# that arrives is never dropped: the order decides whether it gets its seats or is flagged
# for a refund.
_ALLOWED = {
    PaymentStatus.PAID: {PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED},
    PaymentStatus.EXPIRED: {PaymentStatus.PENDING},
    PaymentStatus.CANCELLED: {PaymentStatus.PENDING},
}


def payment_lock(payment_id: int) -> Payment:
    """The payment, locked until the surrounding transaction ends."""
    return Payment.objects.select_for_update().get(pk=payment_id)


def _payment_set_status(*, payment: Payment, to_status: str, source: str, note: str = "", fields=()) -> None:
    from_status = payment.status
    if from_status not in _ALLOWED[to_status]:
        raise IllegalTransition(
            f"Payment {payment.external_id} is {from_status} and cannot become {to_status}.",
            details={"from": from_status, "to": to_status},
        )
    payment.status = to_status
    payment.save(update_fields=["status", "updated_at", *fields])
    order_event_record(
        order=payment.order,
        subject=OrderEvent.Subject.PAYMENT,
        from_status=from_status,
        to_status=to_status,
        source=source,
        note=note,
    )


def _channel_in_english(invoice: Invoice) -> str:
    # Audit notes are the back office's, which reads English whatever language is active
    # (a Celery worker's default is Indonesian).
    with translation.override("en"):
        return channel_name(method=invoice.payment_method, channel=invoice.payment_channel) or "an unknown channel"


def payment_attach_invoice_to_pending(*, payment_id: int, invoice: Invoice) -> bool:
    """Record a new invoice on a PENDING payment that has none yet, in one conditional
    UPDATE (no lock taken and held, no read): True when recorded. False changes nothing:
    the payment is no longer PENDING (cancelled or expired meanwhile) or already has an
    invoice; `payment_attach_invoice` then sorts out which, under the lock.

    The UPDATE takes the row's lock for its own instant, as `payment_attach_invoice` does
    for its transaction: a cancel that locks the payment after it reads the invoice id and
    closes the invoice; one that came before it leaves the status it checks."""
    return (
        Payment.objects.filter(pk=payment_id, status=PaymentStatus.PENDING, invoice_id__isnull=True).update(
            invoice_id=invoice.id,
            invoice_url=invoice.invoice_url,
            gateway_status=invoice.status,
            last_synced_at=timezone.now(),
            updated_at=timezone.now(),
        )
        == 1
    )


@transaction.atomic
def payment_attach_invoice(*, payment_id: int, invoice: Invoice) -> Payment:
    """Remember the Xendit invoice created for this payment (its id and hosted page)."""
    payment = payment_lock(payment_id)
    if payment.invoice_id and payment.invoice_id != invoice.id:
        raise Conflict(
            f"Payment {payment.external_id} already has invoice {payment.invoice_id}.",
            details={"invoice_id": payment.invoice_id},
        )
    payment.invoice_id = invoice.id
    payment.invoice_url = invoice.invoice_url
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    payment.save(update_fields=["invoice_id", "invoice_url", "gateway_status", "last_synced_at", "updated_at"])
    return payment


@transaction.atomic
def payment_mark_paid(
    *, payment_id: int, invoice: Invoice, source: str = EventSource.WEBHOOK, order: Order | None = None
) -> Payment:
    """Record the money Xendit says was paid: PENDING, EXPIRED or CANCELLED → PAID, with the
    amount, time and channel. Quiet (Xendit's status remembered) when already PAID.
    `invoice` must come from the gateway, not a callback. The order's side is
    `orders.services.order_pay`, which calls this under the order's lock."""
    if not invoice.is_paid:  # refused before any lock is taken
        raise IllegalTransition(f"Invoice {invoice.id} is {invoice.status}, not paid.")
    return payment_mark_paid_locked(payment=payment_lock(payment_id), invoice=invoice, source=source, order=order)


def payment_mark_paid_locked(
    *, payment: Payment, invoice: Invoice, source: str = EventSource.WEBHOOK, order: Order | None = None
) -> Payment:
    """`payment_mark_paid` for a caller that locked the payment itself (`payment_lock`) in
    the transaction it is still in: the row is not locked and read again, and no savepoint
    is taken (the order's payment step runs on every paid callback)."""
    if not invoice.is_paid:
        raise IllegalTransition(f"Invoice {invoice.id} is {invoice.status}, not paid.")
    if order is not None:
        payment.order = order  # the caller's, locked: its audit row needs no read of it
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    if payment.status == PaymentStatus.PAID:
        payment.save(update_fields=["gateway_status", "last_synced_at", "updated_at"])
        return payment
    payment.paid_amount = invoice.paid_amount if invoice.paid_amount is not None else invoice.amount
    payment.paid_at = invoice.paid_at or timezone.now()
    payment.method = invoice.payment_method
    payment.channel = invoice.payment_channel
    _payment_set_status(
        payment=payment,
        to_status=PaymentStatus.PAID,
        source=source,
        note=f"{format_rupiah(payment.paid_amount)} via {_channel_in_english(invoice)}",
        fields=["paid_amount", "paid_at", "method", "channel", "gateway_status", "last_synced_at"],
    )
    return payment


@transaction.atomic
def payment_expire(*, payment_id: int, source: str = EventSource.EXPIRY) -> Payment:
    """PENDING → EXPIRED. The caller holds the order's lock (`order_expire`)."""
    payment = payment_lock(payment_id)
    if payment.status == PaymentStatus.EXPIRED:
        return payment
    _payment_set_status(payment=payment, to_status=PaymentStatus.EXPIRED, source=source)
    return payment


@transaction.atomic
def payment_cancel(*, payment_id: int, source: str = EventSource.SYSTEM, note: str = "") -> Payment:
    """PENDING → CANCELLED: the order was cancelled before it could be paid. The caller holds
    the order's lock (`order_cancel`)."""
    payment = payment_lock(payment_id)
    if payment.status == PaymentStatus.CANCELLED:
        return payment
    _payment_set_status(payment=payment, to_status=PaymentStatus.CANCELLED, source=source, note=note)
    return payment


@transaction.atomic
def payment_record_gateway_status(*, payment_id: int, invoice: Invoice) -> Payment:
    """Remember what Xendit last said about the invoice, without moving our status."""
    payment = payment_lock(payment_id)
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    payment.save(update_fields=["gateway_status", "last_synced_at", "updated_at"])
    return payment


def payment_mark_asked(*, payment_id: int) -> None:
    """Remember that Xendit was asked about this payment, even in vain (it failed or timed
    out): the sweep takes the least recently asked first, so one invoice Xendit keeps
    failing on does not take every pass's time budget while the others wait."""
    Payment.objects.filter(pk=payment_id).update(last_synced_at=timezone.now())


# --- refunds made outside tedxpay ------------------------------------------------------------

REFUND_REFERENCE_MAX_LENGTH = 200


@transaction.atomic
def payment_refund_record(
    *,
    payment_id: int,
    amount: int,
    reference: str,
    requested_by: str,
    expected_refunded_amount: int | None = None,
    source: str = EventSource.ADMIN,
) -> Payment:
    """Add a refund finance made outside tedxpay to the payment's refunded amount, with an
    audit row (payment, status unchanged) naming amount, reference and who. The order's
    side (resolving its refund flag) is `orders.services.order_refund_record`, the entry
    point, which takes the order's lock first.

    Refused: an amount that is not a whole positive number of rupiah or is more than was
    received and not refunded yet (`InvalidInput`, details per field); a payment with no
    money received (`Conflict`); `expected_refunded_amount` (what the person saw as already
    refunded) that is no longer true, so a double click or two people recording the same
    refund count it once (`Conflict`).
    """
    errors: dict[str, list[str]] = {}
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = ["Enter the amount refunded, in whole rupiah, more than 0."]
    reference = " ".join((reference or "").split())
    if not reference:
        errors["reference"] = ["Enter the refund's reference (Xendit refund id or bank transfer reference)."]
    elif len(reference) > REFUND_REFERENCE_MAX_LENGTH:
        errors["reference"] = [f"A reference has at most {REFUND_REFERENCE_MAX_LENGTH} characters."]
    if errors:
        raise InvalidInput(details=errors)

    payment = payment_lock(payment_id)
    if payment.status != PaymentStatus.PAID or payment.paid_amount is None:
        raise Conflict(
            f"Payment {payment.external_id} is {payment.status}: no money was received, nothing to refund.",
            details={"status": payment.status},
        )
    if expected_refunded_amount is not None and expected_refunded_amount != payment.refunded_amount:
        raise Conflict(
            f"Meanwhile another refund was recorded for {payment.external_id}: "
            f"{format_rupiah(payment.refunded_amount)} "
            "refunded in all now. Check the audit trail before recording this one.",
            details={"refunded_amount": payment.refunded_amount},
        )
    if amount > payment.refundable:
        raise InvalidInput(
            details={
                "amount": [
                    f"At most {format_rupiah(payment.refundable)} can be refunded: "
                    f"{format_rupiah(payment.paid_amount)} received, "
                    f"{format_rupiah(payment.refunded_amount)} already refunded"
                    + (
                        f", {format_rupiah(payment.refund_in_flight)} being refunded."
                        if payment.refund_in_flight
                        else "."
                    )
                ]
            }
        )
    payment.refunded_amount += amount
    payment.refunded_at = timezone.now()
    payment.save(update_fields=["refunded_amount", "refunded_at", "updated_at"])
    order_event_record(
        order=payment.order,
        subject=OrderEvent.Subject.PAYMENT,
        from_status=payment.status,
        to_status=payment.status,
        source=source,
        note=(
            f"refund recorded by {requested_by}: {format_rupiah(amount)}, reference {reference}; "
            f"{format_rupiah(payment.refunded_amount)} of {format_rupiah(payment.paid_amount)} received refunded in all"
        ),
    )
    return payment


def payment_invoice_unknown(*, payment_id: int, until) -> None:
    """Remember that an invoice may exist for this payment that we never saw (its create
    timed out, and the look-up found nothing yet), to be looked up until `until`."""
    Payment.objects.filter(pk=payment_id, invoice_id__isnull=True).update(
        invoice_lookup_until=until, updated_at=timezone.now()
    )


def payment_invoice_lookup_done(*, payment_id: int) -> None:
    """Stop looking the invoice up: found (and attached), or past the time it could be paid."""
    Payment.objects.filter(pk=payment_id).update(invoice_lookup_until=None, last_synced_at=timezone.now())
