"""What Xendit says about an invoice, applied: one rule for every caller.

A PAID callback, a reconcile pass, the sweep, the admin's "sync with Xendit" and the expiry
of an invoice after our own expiry or cancel all end in `invoice_apply` with the invoice as
Xendit just returned it, so the same invoice state reaches the same result whoever meets it.
Each caller reads the invoice first, outside any transaction: no row is locked while Xendit
answers.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from orders.models import EventSource, OrderStatus
from orders.services import order_expire, order_lock, order_pay_telling
from payments.gateways.base import GatewayError, Invoice, PaymentGateway, get_gateway
from payments.models import Payment, PaymentStatus
from payments.services import payment_attach_invoice, payment_record_gateway_status

logger = logging.getLogger("tedxpay.orders.expiry")


class InvoiceResult(StrEnum):
    PAID = "paid"  # Xendit has the money and our payment was not PAID: recorded now
    EXPIRED = "expired"  # Xendit expired it and our order was PENDING: expired now
    UNCHANGED = "unchanged"  # nothing to move; Xendit's status is remembered


@dataclass(frozen=True)
class InvoiceApplied:
    result: InvoiceResult
    detail: str
    order_status: str
    payment_status: str


def invoice_apply(
    *,
    payment_id: int,
    invoice: Invoice,
    source: str = EventSource.RECONCILE,
    order_id: int | None = None,
    savepoint: bool = True,
) -> InvoiceApplied:
    """Apply what Xendit just said about the payment's invoice (read by the caller from the
    gateway, never taken from a callback).

    - PAID/SETTLED and our payment is not PAID: the money is recorded (`order_pay`: the order
      becomes PAID, or a late payment takes its seats back or is flagged for a refund).
    - EXPIRED and the order still PENDING: the order expires, seats back, without asking
      Xendit to expire what it already expired.
    - Anything else moves nothing. In every case Xendit's status is remembered on the
      payment, so the sweep stops asking about an invoice that can no longer be paid.

    Each step takes the order's lock, then the payment's, and re-checks under them, so a
    callback, a reconcile and a sweep applying the same invoice at once change nothing twice.
    `order_id`: the payment's order, when the caller has the payment in hand (not read again).
    `savepoint=False`: called inside the caller's transaction, which an error here rolls
    back whole (`order_pay_telling`).
    """
    if invoice.is_paid:
        paid = order_pay_telling(
            payment_id=payment_id, invoice=invoice, source=source, order_id=order_id, savepoint=savepoint
        )
        payment, order = paid.payment, paid.order
        if not paid.newly_paid:
            return _applied(InvoiceResult.UNCHANGED, f"Xendit says {invoice.status}; already paid", payment, order)
        return _applied(InvoiceResult.PAID, f"payment {payment.status}, order {order.status}", payment, order)
    with transaction.atomic(savepoint=savepoint):
        if order_id is None:
            order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        # Lock order: the order, then (in the transitions) its payment.
        order = order_lock(order_id)
        expires_now = invoice.is_expired and order.status == OrderStatus.PENDING
        if expires_now:
            order = order_expire(order_id=order_id, source=source, expire_invoice=False)
        payment = payment_record_gateway_status(payment_id=payment_id, invoice=invoice)
    if expires_now:
        return _applied(InvoiceResult.EXPIRED, f"order {order.status}", payment, order)
    return _applied(InvoiceResult.UNCHANGED, f"Xendit says {invoice.status}; order {order.status}", payment, order)


def _applied(result: InvoiceResult, detail: str, payment: Payment, order) -> InvoiceApplied:
    return InvoiceApplied(result=result, detail=detail, order_status=order.status, payment_status=payment.status)


def payment_reconcile(
    *, payment_id: int, gateway: PaymentGateway | None = None, source: str = EventSource.RECONCILE
) -> str:
    """Read the payment's invoice at Xendit and apply it (`invoice_apply`). Heals a callback
    that never came. Returns "paid", "expired" or "unchanged". Raises GatewayError when
    Xendit cannot be asked."""
    payment = Payment.objects.get(pk=payment_id)
    if not payment.invoice_id:
        return InvoiceResult.UNCHANGED
    # The network call happens before any lock is taken.
    invoice = (gateway or get_gateway()).get_invoice(payment.invoice_id)
    return invoice_apply(payment_id=payment.pk, invoice=invoice, source=source).result


def invoice_expire(*, payment_id: int, invoice_id: str | None = None, gateway: PaymentGateway | None = None) -> str:
    """Expire the payment's invoice at Xendit after our own expiry or cancel, then apply
    what Xendit answers (`invoice_apply`): a buyer who paid between our expiry and this call
    is recorded (seats back if still there, else flagged for a refund), never lost.

    `invoice_id`: an invoice placement created but could not record (its database write
    failed); it is recorded on the payment here, so the webhook and reconcile know it.
    Returns what was found: "expired", "paid" (recorded as a late payment), "skipped" (no
    invoice, or the payment is already PAID here). Raises `GatewayError` when Xendit could
    not be asked; the task retries the retryable ones.

    Xendit does not document what expiring a paid invoice returns, so whatever it answers,
    an invoice that is not EXPIRED or PAID/SETTLED is read again.
    """
    payment = Payment.objects.get(pk=payment_id)
    invoice_id = payment.invoice_id or invoice_id
    if not invoice_id or payment.status == PaymentStatus.PAID:
        return "skipped"
    gateway = gateway or get_gateway()
    try:
        invoice = gateway.expire_invoice(invoice_id)
    except GatewayError as error:
        if error.retryable:
            raise
        # Refused (4xx): most likely the invoice is paid or already expired. Look at it.
        logger.info("expiring invoice %s refused (%r); fetching it", invoice_id, error)
        invoice = gateway.get_invoice(invoice_id)
    if not invoice.is_paid and not invoice.is_expired:
        # An expire call that "succeeded" but left it open: ask again for the truth.
        invoice = gateway.get_invoice(invoice_id)
    if not invoice.is_paid and not invoice.is_expired:
        # Nothing recorded: the payment stays in the sweep's sight.
        raise GatewayError(
            f"Invoice {invoice.id} is still {invoice.status} after expiring it", retryable=True, code="NOT_EXPIRED"
        )
    if not payment.invoice_id:
        payment = payment_attach_invoice(payment_id=payment.pk, invoice=invoice)
    if invoice.is_paid:
        logger.warning(
            "invoice %s of expired order %s was paid at Xendit; recording the late payment",
            invoice.id,
            payment.external_id,
        )
    invoice_apply(payment_id=payment.pk, invoice=invoice, source=EventSource.RECONCILE)
    return "paid" if invoice.is_paid else "expired"
