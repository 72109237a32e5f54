"""Closing the Xendit invoice of an order we expired or cancelled (DESIGN §7 "Expire").

Our expiry gives the seats back first; the invoice is expired at Xendit afterwards, by a
task started after commit, so no database lock is held while Xendit answers. Between the
two a buyer may still pay. Xendit does not document what expiring a paid invoice returns,
so whatever it answers, an invoice we find PAID or SETTLED is recorded through
`payment_mark_paid` (the late-payment path: seats back if still there, else flagged for a
refund). A payment is never lost to the expiry race.
"""

import logging

from django.db import transaction

from orders.models import EventSource
from payments.gateways.base import GatewayError, Invoice, get_gateway
from payments.models import Payment, PaymentStatus
from payments.services import payment_attach_invoice, payment_mark_paid, payment_record_gateway_status

logger = logging.getLogger("tedxpay.orders.expiry")


def invoice_expire_after_commit(*, order_id: int) -> None:
    """Start the invoice expiry for this order's payment once the current transaction
    commits (nothing happens if it rolls back, or if no invoice was ever created)."""
    payment_id = (
        Payment.objects.filter(order_id=order_id, invoice_id__isnull=False).values_list("pk", flat=True).first()
    )
    if payment_id is None:
        return  # the crash-between-commit-and-create case (DESIGN §7.4): nothing to close

    def start() -> None:
        from orders.tasks import invoice_expire_task  # at call time: orders.tasks imports this module

        invoice_expire_task.delay(payment_id)

    transaction.on_commit(start)


def invoice_expire(*, payment_id: int, invoice_id: str | None = None) -> str:
    """Expire the payment's invoice at Xendit, or record the payment if it was paid first.

    `invoice_id`: an invoice placement created but could not record (its database write
    failed); it is recorded on the payment here, so the webhook and reconcile know it.
    Returns what was found: "expired", "paid" (recorded as a late payment), "skipped" (no
    invoice, or the payment is already PAID here). Raises `GatewayError` when Xendit could
    not be asked; the task retries the retryable ones.
    """
    payment = Payment.objects.get(pk=payment_id)
    invoice_id = payment.invoice_id or invoice_id
    if not invoice_id or payment.status == PaymentStatus.PAID:
        return "skipped"
    gateway = get_gateway()
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
    if not payment.invoice_id:
        payment = payment_attach_invoice(payment_id=payment.pk, invoice=invoice)
    return _invoice_settle(payment=payment, invoice=invoice)


def _invoice_settle(*, payment: Payment, invoice: Invoice) -> str:
    if invoice.is_paid:
        logger.warning(
            "invoice %s of expired order %s was paid at Xendit; recording the late payment",
            invoice.id,
            payment.external_id,
        )
        payment_mark_paid(payment_id=payment.pk, invoice=invoice, source=EventSource.RECONCILE)
        return "paid"
    if invoice.is_expired:
        # Remembered so the reconcile sweep stops asking about this invoice.
        payment_record_gateway_status(payment_id=payment.pk, invoice=invoice)
        return "expired"
    raise GatewayError(
        f"Invoice {invoice.id} is still {invoice.status} after expiring it", retryable=True, code="NOT_EXPIRED"
    )
