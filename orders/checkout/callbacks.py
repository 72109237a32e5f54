"""Acting on a Xendit invoice callback stored in the inbox (`payments.webhooks`).

The callback is only a trigger: its invoice is read back from Xendit and what Xendit says is
applied through the one rule (`invoice_apply`), exactly as a reconcile or the sweep would.
The result is then mapped to the inbox outcome. One rule is the webhook's own: a PAID
callback that Xendit does not confirm yet (the invoice still reads PENDING; Xendit's record
can lag its own callback) changes nothing and answers 503, so Xendit delivers it again.
"""

import logging

from django.db import OperationalError, transaction

from orders.checkout.invoices import InvoiceApplied, InvoiceResult, invoice_apply
from orders.models import EventSource, OrderStatus
from payments.gateways.base import PAID_STATUSES, GatewayError, Invoice, InvoiceStatus, PaymentGateway, get_gateway
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.services import payment_attach_invoice
from payments.webhooks import (
    REPLAYABLE_OUTCOMES,
    RETRYABLE_OUTCOMES,
    Callback,
    webhook_finish,
    webhook_lock,
    webhook_replayable,
    webhook_start,
    webhook_store,
)
from tedxpay.core.errors import Conflict, ServiceUnavailable

logger = logging.getLogger("payments.webhooks")


def webhook_receive(*, callback: Callback, raw_body: str, gateway: PaymentGateway | None = None) -> WebhookEvent:
    """Store an authenticated, validated callback, then act on it.

    Returns the stored event; its `outcome` says what became of it. Raises
    `ServiceUnavailable` (503: Xendit retries) when a retry may help (gateway down, database
    busy, a PAID that Xendit does not confirm yet); the event is then left `failed` and can
    be replayed.
    """
    event = webhook_store(callback=callback, raw_body=raw_body)
    if event.outcome == WebhookOutcome.DUPLICATE:
        return event
    # Stored as its first attempt (`webhook_store`): processed as it is, not read again.
    return _event_process(event=event, gateway=gateway)


def webhook_replay(*, event_id: int, gateway: PaymentGateway | None = None) -> WebhookEvent:
    """Process a stored event again (admin action). Events that were never finished
    (`received`), `failed` or `unmatched` can be replayed, through the same processing as a
    delivery (the match by invoice id, then the adoption by external id); the transitions
    are idempotent, so replaying one whose invoice was settled meanwhile changes nothing,
    and an unmatched one that still matches nothing stays unmatched."""
    webhook_replayable(event_id=event_id)
    event = webhook_start(event_id=event_id)
    return _event_process(event=event, gateway=gateway, open_outcomes=REPLAYABLE_OUTCOMES)


def _event_process(*, event: WebhookEvent, gateway, open_outcomes: frozenset = RETRYABLE_OUTCOMES) -> WebhookEvent:
    """`open_outcomes`: the outcomes this run may still act on and overwrite; one that a
    concurrent run (a replay and a redelivery, two replays) finished meanwhile is kept."""
    event_id = event.pk
    try:
        event = _event_apply(event=event, gateway=gateway, open_outcomes=open_outcomes)
    except GatewayError as error:
        logger.warning("payment callback %s: gateway error %r", event.pk, error)
        webhook_finish(event_id, WebhookOutcome.FAILED, f"gateway: {error.message}", payment_id=event.payment_id)
        if error.retryable:
            raise ServiceUnavailable(
                "Could not confirm the invoice with Xendit; please retry.", details={"event_id": event_id}
            ) from error
        return WebhookEvent.objects.get(pk=event_id)
    except OperationalError as error:
        # Lock wait timeout, deadlock, lost connection: the transition rolled back whole.
        logger.warning("payment callback %s: database busy: %s", event.pk, error)
        try:
            webhook_finish(event_id, WebhookOutcome.FAILED, f"database: {error}", payment_id=event.payment_id)
        except OperationalError:
            logger.exception("payment callback %s: could not record the failure", event.pk)
        raise ServiceUnavailable("The database is busy; please retry.", details={"event_id": event_id}) from error
    except Exception as error:
        logger.exception("payment callback %s: unexpected error", event.pk)
        webhook_finish(event_id, WebhookOutcome.FAILED, f"error: {error!r}", payment_id=event.payment_id)
        raise
    if event.outcome == WebhookOutcome.FAILED:
        # A PAID that Xendit does not confirm yet (its record can lag its own callback):
        # the order stays unpaid, and a 503 makes Xendit deliver it again later instead of
        # leaving the healing to reconciliation alone.
        raise ServiceUnavailable(
            "Xendit does not confirm the payment yet; please retry.", details={"event_id": event_id}
        )
    return event


def _event_apply(*, event: WebhookEvent, gateway, open_outcomes: frozenset) -> WebhookEvent:
    callback_status = event.status.upper()
    if callback_status not in PAID_STATUSES and callback_status != InvoiceStatus.EXPIRED:
        return webhook_finish(event.pk, WebhookOutcome.IGNORED, f"status {event.status} is not acted on")

    payment = Payment.objects.filter(invoice_id=event.invoice_id).first()
    gateway = gateway or get_gateway()
    invoice = None
    if payment is None:
        payment, invoice = _payment_match_by_external_id(event=event, gateway=gateway)
        if payment is None:
            # Conditional: a concurrent replay may have adopted the invoice and processed
            # this event after our look-up; "unmatched" must not overwrite that.
            return webhook_finish(
                event.pk, WebhookOutcome.UNMATCHED, "no payment has this invoice", only_from=open_outcomes
            )
    # Recorded with the outcome (`webhook_finish`), in the same UPDATE; a failure recorded
    # by `_event_process` records it too.
    event.payment_id = payment.pk

    if invoice is None:
        # The one network call, outside any transaction: no row is locked while Xendit
        # answers. (An adopted invoice was read just now; it is not read a second time.)
        try:
            invoice = gateway.get_invoice(event.invoice_id)
        except GatewayError as error:
            if error.status == 404:
                # Xendit does not show it (yet): a forged id, or its read API lagging its
                # own callback. The genuine delivery, later, must not be a duplicate.
                return webhook_finish(
                    event.pk,
                    WebhookOutcome.IGNORED,
                    "Xendit does not know this invoice",
                    release_key=True,
                    payment_id=payment.pk,
                )
            raise
    if invoice.external_id != payment.external_id:
        logger.error(
            "payment callback %s: invoice %s belongs to %s at Xendit, not %s",
            event.pk,
            invoice.id,
            invoice.external_id,
            payment.external_id,
        )
        return webhook_finish(
            event.pk,
            WebhookOutcome.IGNORED,
            f"Xendit says the invoice is for {invoice.external_id}, not {payment.external_id}",
            payment_id=payment.pk,
        )
    if callback_status in PAID_STATUSES and invoice.status == InvoiceStatus.PENDING:
        # The webhook's own rule. Not confirmed: a forged or early callback must not move
        # money. `failed` gives the key up, and the caller answers 503, so Xendit's
        # redelivery is confirmed again later.
        logger.warning("paid callback for %s not confirmed: Xendit says %s", invoice.id, invoice.status)
        return webhook_finish(
            event.pk,
            WebhookOutcome.FAILED,
            f"not confirmed yet: Xendit says {invoice.status}, not paid",
            payment_id=payment.pk,
        )
    if not invoice.is_paid and not invoice.is_expired:
        # An EXPIRED callback Xendit does not confirm (the invoice is still open): forged,
        # or early. Nothing to apply, and the key goes to the next delivery.
        return webhook_finish(
            event.pk,
            WebhookOutcome.IGNORED,
            f"Xendit says {invoice.status}, not {callback_status}",
            release_key=True,
            payment_id=payment.pk,
        )

    with transaction.atomic():
        # Lock order: this event, then (inside the transitions) the order, then the payment.
        locked = webhook_lock(event_id=event.pk)
        if locked.outcome not in open_outcomes:
            return locked  # a concurrent replay finished it first
        # No savepoint: an error rolls this transaction back whole, inbox row lock included.
        applied = invoice_apply(
            payment_id=payment.pk,
            invoice=invoice,
            source=EventSource.WEBHOOK,
            order_id=payment.order_id,
            savepoint=False,
        )
        outcome, detail = _outcome(callback_status=callback_status, invoice=invoice, applied=applied)
        return webhook_finish(event.pk, outcome, detail, event=locked, payment_id=payment.pk)


def _outcome(*, callback_status: str, invoice: Invoice, applied: InvoiceApplied) -> tuple[str, str]:
    """The inbox outcome of a callback whose invoice was applied. `processed` when what
    Xendit said moved something, or when our rows already say what the callback says (a
    repeat); `ignored` when the callback claims what our rows cannot take (an EXPIRED after
    PAID, a callback for a cancelled order)."""
    claimed_paid = callback_status in PAID_STATUSES
    agrees = invoice.is_paid if claimed_paid else invoice.is_expired
    said = "" if agrees else f"callback said {callback_status} but Xendit says {invoice.status}: "
    if applied.result != InvoiceResult.UNCHANGED:
        return WebhookOutcome.PROCESSED, f"{said}payment {applied.payment_status}, order {applied.order_status}"
    if (claimed_paid and applied.payment_status == PaymentStatus.PAID) or (
        not claimed_paid and applied.order_status == OrderStatus.EXPIRED
    ):
        return WebhookOutcome.PROCESSED, f"{said}payment {applied.payment_status}, order {applied.order_status}"
    if not claimed_paid and applied.payment_status == PaymentStatus.PAID:
        return WebhookOutcome.IGNORED, "already paid: an EXPIRED after PAID changes nothing"
    if claimed_paid and not invoice.is_paid:
        return WebhookOutcome.IGNORED, f"Xendit says {invoice.status}, not paid"
    return WebhookOutcome.IGNORED, f"{said}order {applied.order_status}: nothing to change"


def _payment_match_by_external_id(*, event: WebhookEvent, gateway) -> tuple[Payment | None, Invoice | None]:
    """A callback for an invoice we never stored: the create call timed out or the process
    died before saving its id, yet the buyer found the page and paid. If Xendit confirms the
    invoice is for an order of ours that has no invoice yet, adopt it.

    Returns the payment and the invoice as Xendit just answered, which is the confirmation
    the transition needs: reading it again would double the time Xendit waits for our
    answer. (None, None) when nothing is adopted."""
    if not event.external_id:
        return None, None
    payment = Payment.objects.filter(external_id=event.external_id, invoice_id__isnull=True).first()
    if payment is None:
        return None, None
    try:
        invoice = gateway.get_invoice(event.invoice_id)
    except GatewayError as error:
        if error.status == 404:
            return None, None  # Xendit does not know it either: unmatched
        raise
    if invoice.external_id != payment.external_id:
        return None, None
    try:
        return payment_attach_invoice(payment_id=payment.pk, invoice=invoice), invoice
    except Conflict:
        return None, None  # another invoice was attached meanwhile; this one stays unmatched
