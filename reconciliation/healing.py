"""What a report run may put right before it classifies an invoice, through the same
functions as the webhook and reconciliation (never a status written here):

- an invoice with our order code that no payment holds: adopted by the payment of that
  order when it has no invoice yet (the create's reply was lost), then applied;
- a second invoice for an order that already has one: expired at Xendit if still open;
- a paid invoice whose payment is not recorded as paid: applied (recorded; a late payment
  takes its seats back or is flagged for a refund).

Each returns a short note for the row, or "" when it did nothing.
"""

import logging

from orders.checkout.invoices import invoice_apply
from payments.gateways.base import GatewayError, Invoice, PaymentGateway
from payments.models import Payment, PaymentStatus
from payments.services import payment_attach_invoice
from tedxpay.core.errors import Conflict

logger = logging.getLogger("tedxpay.reconciliation")


def invoice_adopt(*, invoice: Invoice, gateway: PaymentGateway) -> tuple[Payment | None, str]:
    """For an invoice with our order code that no payment holds. Returns the payment that
    holds it now (None if none may) and a note."""
    payment = Payment.objects.filter(external_id=invoice.external_id).first()
    if payment is None:
        return None, ""
    if payment.invoice_id is None:
        try:
            payment_attach_invoice(payment_id=payment.pk, invoice=invoice)
        except Conflict:
            payment.refresh_from_db()
        else:
            applied = invoice_apply(payment_id=payment.pk, invoice=invoice)
            logger.warning(
                "reconciliation: adopted invoice %s for %s (%s)", invoice.id, invoice.external_id, applied.result
            )
            return Payment.objects.get(pk=payment.pk), "Adopted: the reply of its create was lost."
    if invoice.status == "PENDING":
        try:
            gateway.expire_invoice(invoice.id)
        except GatewayError as error:
            return None, f"A second invoice for {invoice.external_id}; expiring it failed ({error.message})."
        return None, f"A second invoice for {invoice.external_id} (order holds {payment.invoice_id}): expired now."
    return None, ""


def payment_record_if_paid(*, payment: Payment, invoice: Invoice) -> str:
    """Xendit holds money our payment does not show: apply it (the one rule)."""
    if not invoice.is_paid or payment.status == PaymentStatus.PAID:
        return ""
    applied = invoice_apply(payment_id=payment.pk, invoice=invoice)
    logger.warning("reconciliation: payment of %s found paid at Xendit, recorded (%s)", payment.external_id, applied)
    return "Recorded by this report: the callback and reconciliation had missed it."
