"""Invoices whose create had an unknown outcome: looked up by our code until they can no
longer be paid.

A create that timed out (Xendit took 17 s, we waited 15) or whose reply was lost may have
made an invoice after placement's one look-up found nothing; the order was cancelled, its
payment has no invoice id, so neither a callback's match by invoice id nor a read by invoice
id would ever see it. Placement marks such a payment (`invoice_lookup_until`); the payments
sweep (`orders/checkout/sweeps.py`, step "find") lists Xendit's invoices for its order code
until then and, once one turns up:

- paid: attached and applied through the one rule (`invoice_apply`): the money is recorded
  and the cancelled order flagged for a refund, never lost;
- still open: attached and expired at Xendit (`invoice_expire`, which records a payment
  that beats the expiry);
- expired: attached, its status remembered.

Any further invoice for the same code is expired at Xendit if open; one that was paid is
logged (the daily reconciliation report shows it for finance).
"""

import contextlib
import logging

from django.utils import timezone

from orders.checkout.invoices import invoice_apply, invoice_expire
from orders.models import EventSource
from payments.gateways.base import GatewayError, Invoice, InvoiceStatus, PaymentGateway, get_gateway
from payments.models import Payment
from payments.services import payment_attach_invoice, payment_invoice_lookup_done, payment_mark_asked
from tedxpay.core.errors import Conflict
from tedxpay.core.money import format_rupiah

logger = logging.getLogger("tedxpay.orders.expiry")


def _chosen(invoices: list[Invoice]) -> Invoice:
    """The invoice the payment keeps: one that holds money, else an open one, else the newest."""
    return (
        next((invoice for invoice in invoices if invoice.is_paid), None)
        or next((invoice for invoice in invoices if invoice.status == InvoiceStatus.PENDING), None)
        or invoices[0]
    )


def invoice_find_unknown(*, payment_id: int, gateway: PaymentGateway | None = None) -> str:
    """Look the payment's invoice up by our code once. Returns "paid", "expired" (found and
    expired at Xendit, or found expired), "not_found" (looked again later) or "given_up" (past the time any invoice it
    made could be paid). Raises GatewayError when Xendit cannot be asked."""
    gateway = gateway or get_gateway()
    payment = Payment.objects.get(pk=payment_id)
    if payment.invoice_id or payment.invoice_lookup_until is None:
        payment_invoice_lookup_done(payment_id=payment_id)  # a callback adopted it meanwhile
        return "expired"
    invoices = gateway.find_invoices(payment.external_id)
    if not invoices:
        if timezone.now() >= payment.invoice_lookup_until:
            payment_invoice_lookup_done(payment_id=payment_id)
            return "given_up"
        payment_mark_asked(payment_id=payment_id)
        return "not_found"
    chosen = _chosen(invoices)
    logger.warning(
        "invoice %s (%s) found for %s, whose create had an unknown outcome",
        chosen.id,
        chosen.status,
        payment.external_id,
    )
    if chosen.status == InvoiceStatus.PENDING:
        # Attached and expired at Xendit; a payment that beats the expiry is recorded.
        result = invoice_expire(payment_id=payment_id, invoice_id=chosen.id, gateway=gateway)
    else:
        # Conflict: a callback attached it meanwhile (the same one: the match is by our code).
        with contextlib.suppress(Conflict):
            payment_attach_invoice(payment_id=payment_id, invoice=chosen)
        invoice_apply(payment_id=payment_id, invoice=chosen, source=EventSource.RECONCILE)
        result = "paid" if chosen.is_paid else "expired"
    for other in invoices:
        if other.id == chosen.id:
            continue
        if other.is_paid:
            logger.error(
                "a second invoice %s for %s was paid (%s): see the reconciliation report",
                other.id,
                payment.external_id,
                format_rupiah(other.paid_amount or 0),
            )
        elif other.status == InvoiceStatus.PENDING:
            try:
                gateway.expire_invoice(other.id)
            except GatewayError as error:
                logger.warning("could not expire the second invoice %s: %r", other.id, error)
    payment_invoice_lookup_done(payment_id=payment_id)
    return result
