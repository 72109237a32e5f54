"""Xendit invoice callbacks (`POST /api/payment-callback`, DESIGN §7 "Webhook").

The callback is a trigger, never the truth: it is authenticated by a static shared token
(not a signature of the body), so before anything is marked paid the invoice is read back
from Xendit and the transition follows what Xendit says.

Every accepted callback is stored in `WebhookEvent` before it is acted on. The first
delivery of an (invoice id, status) pair holds `dedupe_key`; while it holds the key, later
copies are stored as `duplicate` and change nothing. A delivery whose processing failed
(gateway down, database busy) gives its key up to the next copy Xendit sends, so Xendit's
redelivery is processed again instead of being swallowed as a duplicate.
"""

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from orders.models import EventSource, OrderStatus
from orders.services import order_expire
from payments.gateways.base import PAID_STATUSES, GatewayError, Invoice, InvoiceStatus, get_gateway
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.services import payment_attach_invoice, payment_mark_paid, payment_record_gateway_status
from tedxpay.core.errors import ApplicationError, Conflict, IllegalTransition, InvalidInput, ServiceUnavailable
from tedxpay.core.json_body import json_body_parse
from tedxpay.core.request_id import get_request_id

logger = logging.getLogger(__name__)

# A delivery still `received` after this long is taken to have died mid-way (a killed
# worker): the next copy may take its key. Processing takes one gateway read (also on the
# adoption path) and a short transaction. A read's worst case is not connect + read: the
# SDK's urllib3 retries a failed connect twice, so 3 × XENDIT_CONNECT_TIMEOUT (3.05 s) +
# XENDIT_READ_TIMEOUT (15 s) ≈ 24 s with the defaults. Two minutes is well above that,
# with room for raised timeouts and a slow database.
IN_FLIGHT_TIMEOUT = timedelta(minutes=2)

# Outcomes after which a stored event may be processed again (replay, redelivery).
RETRYABLE_OUTCOMES = frozenset({WebhookOutcome.RECEIVED, WebhookOutcome.FAILED})
# What an admin replay also takes: an unmatched callback, once finance has fixed the cause
# or Xendit's read API has caught up with its own callback (the adoption path reads the
# invoice, and a 404 there leaves the callback unmatched). Not a redelivery: an unmatched
# first delivery keeps its key, so Xendit's copies stay duplicates and only a deliberate
# replay looks again. Processed, duplicate and ignored callbacks are final.
REPLAYABLE_OUTCOMES = RETRYABLE_OUTCOMES | {WebhookOutcome.UNMATCHED}

# Rounds of insert / look at the key holder / take the key over, when copies race.
_STORE_ATTEMPTS = 5


class CallbackAuthenticationFailed(ApplicationError):
    code = "authentication_failed"
    status_code = 401
    default_message = "Missing or wrong x-callback-token."


@dataclass(frozen=True)
class Callback:
    """What we use of a validated callback body (the rest is kept raw on the event)."""

    invoice_id: str
    status: str
    external_id: str = ""


# --- entry points ---------------------------------------------------------------------


def webhook_authenticate(*, token: str | None, remote_addr: str = "") -> None:
    """Compare the `x-callback-token` header with ours, in constant time.

    A refused attempt is logged, not stored: the inbox holds what Xendit sent, and an
    unauthenticated sender must not be able to fill it.
    """
    expected = settings.XENDIT_CALLBACK_TOKEN
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return
    logger.warning(
        "payment callback refused: %s x-callback-token from %s",
        "missing" if not token else "wrong",
        remote_addr or "unknown address",
    )
    raise CallbackAuthenticationFailed()


def webhook_parse(raw_body: bytes) -> dict:
    """The body as a JSON object. Plain JSON on purpose: the SDK's InvoiceCallback model
    rejects the integer amounts that real IDR callbacks carry. Hostile bodies (too deep,
    too large, endless numbers) are refused by json_body_parse."""
    payload = json_body_parse(raw_body)
    if not isinstance(payload, dict):
        raise InvalidInput("The body must be a JSON object.", code="malformed_request")
    return payload


def webhook_receive(*, callback: Callback, raw_body: str, gateway=None) -> WebhookEvent:
    """Store an authenticated, validated callback, then act on it.

    Returns the stored event; its `outcome` says what became of it. Raises
    `ServiceUnavailable` (503: Xendit retries) when a retry may help (gateway down, database
    busy, a PAID that Xendit does not confirm yet); the event is then left `failed` and can
    be replayed.
    """
    event = _event_store(callback=callback, raw_body=raw_body)
    if event.outcome == WebhookOutcome.DUPLICATE:
        return event
    return _event_process(event_id=event.pk, gateway=gateway)


def webhook_replay(*, event_id: int, gateway=None) -> WebhookEvent:
    """Process a stored event again (admin action, reconciliation). Events that were never
    finished (`received`), `failed` or `unmatched` can be replayed, through the same
    processing as a delivery (the match by invoice id, then the adoption by external id);
    the transitions are idempotent, so replaying one whose invoice was settled meanwhile
    changes nothing, and an unmatched one that still matches nothing stays unmatched."""
    event = WebhookEvent.objects.get(pk=event_id)
    if event.outcome not in REPLAYABLE_OUTCOMES:
        raise Conflict(
            f"Webhook event {event_id} is {event.outcome}; only received, failed or unmatched events are replayed.",
            details={"outcome": event.outcome},
        )
    return _event_process(event_id=event_id, gateway=gateway, open_outcomes=REPLAYABLE_OUTCOMES)


# --- storing and de-duplicating -------------------------------------------------------


def _dedupe_key(callback: Callback) -> str:
    return f"{callback.invoice_id}:{callback.status}"


def _event_store(*, callback: Callback, raw_body: str) -> WebhookEvent:
    fields = {
        "invoice_id": callback.invoice_id,
        "external_id": callback.external_id,
        "status": callback.status,
        "raw_body": raw_body,
        "request_id": get_request_id(),
    }
    key = _dedupe_key(callback)
    for attempt in range(_STORE_ATTEMPTS):
        try:
            # Its own transaction: on InnoDB a failed duplicate insert keeps a shared lock
            # on the key until rollback, and locking the holder row while keeping it
            # deadlocks against the other copies doing the same.
            with transaction.atomic():
                return WebhookEvent.objects.create(dedupe_key=key, **fields)
        except IntegrityError:
            pass
        except OperationalError:
            # InnoDB can pick this insert as a deadlock victim while another copy moves
            # the key (it deletes and re-inserts the index entry). The insert was alone in
            # its transaction, so trying again is safe.
            if attempt == _STORE_ATTEMPTS - 1:
                raise
            continue
        holder = WebhookEvent.objects.filter(dedupe_key=key).first()
        if holder is None:
            continue  # the key moved between our insert and this read: try again
        if not _key_is_free(holder):
            return WebhookEvent.objects.create(
                dedupe_key=None,
                outcome=WebhookOutcome.DUPLICATE,
                outcome_detail=f"copy of event {holder.pk} ({holder.outcome})",
                **fields,
            )
        try:
            taken = _event_take_key(holder_id=holder.pk, key=key, fields=fields)
        except OperationalError:
            continue  # a deadlock victim too; nothing was written
        if taken is not None:
            return taken
    # Copies kept racing for the key: let Xendit send this one again later.
    raise ServiceUnavailable("Callback is being processed concurrently; please retry.")


def _key_is_free(holder: WebhookEvent) -> bool:
    if holder.outcome == WebhookOutcome.FAILED:
        return True
    return holder.outcome == WebhookOutcome.RECEIVED and holder.received_at < timezone.now() - IN_FLIGHT_TIMEOUT


@transaction.atomic
def _event_take_key(*, holder_id: int, key: str, fields: dict) -> WebhookEvent | None:
    """Move the key from a failed (or dead) delivery to this one, under the holder's lock,
    so that of several copies arriving at once exactly one takes it over."""
    holder = WebhookEvent.objects.select_for_update().filter(pk=holder_id, dedupe_key=key).first()
    if holder is None or not _key_is_free(holder):
        return None
    holder.dedupe_key = None
    holder.outcome_detail = (
        holder.outcome_detail + "\n" if holder.outcome_detail else ""
    ) + "superseded by a redelivery"
    holder.save(update_fields=["dedupe_key", "outcome_detail"])
    return WebhookEvent.objects.create(dedupe_key=key, **fields)


# --- processing -----------------------------------------------------------------------


def _event_process(*, event_id: int, gateway, open_outcomes: frozenset = RETRYABLE_OUTCOMES) -> WebhookEvent:
    """`open_outcomes`: the outcomes this run may still act on and overwrite; one that a
    concurrent run (a replay and a redelivery, two replays) finished meanwhile is kept."""
    WebhookEvent.objects.filter(pk=event_id).update(attempts=F("attempts") + 1)
    event = WebhookEvent.objects.get(pk=event_id)
    try:
        event = _event_apply(event=event, gateway=gateway, open_outcomes=open_outcomes)
    except GatewayError as error:
        logger.warning("payment callback %s: gateway error %r", event.pk, error)
        _event_finish(event_id, WebhookOutcome.FAILED, f"gateway: {error.message}")
        if error.retryable:
            raise ServiceUnavailable(
                "Could not confirm the invoice with Xendit; please retry.", details={"event_id": event_id}
            ) from error
        return WebhookEvent.objects.get(pk=event_id)
    except OperationalError as error:
        # Lock wait timeout, deadlock, lost connection: the transition rolled back whole.
        logger.warning("payment callback %s: database busy: %s", event.pk, error)
        try:
            _event_finish(event_id, WebhookOutcome.FAILED, f"database: {error}")
        except OperationalError:
            logger.exception("payment callback %s: could not record the failure", event.pk)
        raise ServiceUnavailable("The database is busy; please retry.", details={"event_id": event_id}) from error
    except Exception as error:
        logger.exception("payment callback %s: unexpected error", event.pk)
        _event_finish(event_id, WebhookOutcome.FAILED, f"error: {error!r}")
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
        return _event_finish(event.pk, WebhookOutcome.IGNORED, f"status {event.status} is not acted on")

    payment = Payment.objects.filter(invoice_id=event.invoice_id).first()
    gateway = gateway or get_gateway()
    invoice = None
    if payment is None:
        payment, invoice = _payment_match_by_external_id(event=event, gateway=gateway)
        if payment is None:
            # Conditional: a concurrent replay may have adopted the invoice and processed
            # this event after our look-up; "unmatched" must not overwrite that.
            return _event_finish(
                event.pk, WebhookOutcome.UNMATCHED, "no payment has this invoice", only_from=open_outcomes
            )
    WebhookEvent.objects.filter(pk=event.pk).update(payment=payment)

    if invoice is None:
        # The one network call, outside any transaction: no row is locked while Xendit
        # answers. (An adopted invoice was read just now; it is not read a second time.)
        try:
            invoice = gateway.get_invoice(event.invoice_id)
        except GatewayError as error:
            if error.status == 404:
                return _event_finish(event.pk, WebhookOutcome.IGNORED, "Xendit does not know this invoice")
            raise
    if invoice.external_id != payment.external_id:
        logger.error(
            "payment callback %s: invoice %s belongs to %s at Xendit, not %s",
            event.pk,
            invoice.id,
            invoice.external_id,
            payment.external_id,
        )
        return _event_finish(
            event.pk,
            WebhookOutcome.IGNORED,
            f"Xendit says the invoice is for {invoice.external_id}, not {payment.external_id}",
        )

    with transaction.atomic():
        # Lock order: this event, then (inside the transitions) the order, then the payment.
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if locked.outcome not in open_outcomes:
            return locked  # a concurrent replay finished it first
        if callback_status in PAID_STATUSES:
            outcome, detail = _apply_paid(payment=payment, invoice=invoice)
        else:
            outcome, detail = _apply_expired(payment=payment, invoice=invoice)
        return _event_finish(event.pk, outcome, detail)


def _apply_paid(*, payment: Payment, invoice: Invoice) -> tuple[str, str]:
    if not invoice.is_paid:
        # Not confirmed: a forged or confused callback must not move money.
        logger.warning("paid callback for %s not confirmed: Xendit says %s", invoice.id, invoice.status)
        if invoice.status == InvoiceStatus.PENDING:
            # Xendit's own record may lag its callback. `failed` gives the key up, and the
            # caller answers 503, so Xendit's redelivery is confirmed again later.
            return WebhookOutcome.FAILED, f"not confirmed yet: Xendit says {invoice.status}, not paid"
        # EXPIRED can never become paid: rejected for good.
        return WebhookOutcome.IGNORED, f"Xendit says {invoice.status}, not paid"
    paid = payment_mark_paid(payment_id=payment.pk, invoice=invoice, source=EventSource.WEBHOOK)
    return WebhookOutcome.PROCESSED, f"payment {paid.status}, order {paid.order.status}"


def _apply_expired(*, payment: Payment, invoice: Invoice) -> tuple[str, str]:
    if invoice.is_paid:
        if payment.status == PaymentStatus.PAID:
            return WebhookOutcome.IGNORED, "already paid: an EXPIRED after PAID changes nothing"
        # Out of order, and Xendit holds money for it: never drop a payment.
        paid = payment_mark_paid(payment_id=payment.pk, invoice=invoice, source=EventSource.WEBHOOK)
        return (
            WebhookOutcome.PROCESSED,
            f"callback said EXPIRED but Xendit says {invoice.status}: order {paid.order.status}",
        )
    if not invoice.is_expired:
        return WebhookOutcome.IGNORED, f"Xendit says {invoice.status}, not expired"
    order_status = payment.order.status
    if order_status == OrderStatus.PAID:
        return WebhookOutcome.IGNORED, "order already PAID: an EXPIRED after PAID changes nothing"
    # Xendit's word is remembered whatever our order does with it (a CANCELLED order
    # refuses to expire), so neither reconcile nor the left-open sweep asks about it again.
    payment_record_gateway_status(payment_id=payment.pk, invoice=invoice)
    try:
        # order_expire takes the order lock and expires the payment under it.
        order = order_expire(order_id=payment.order_id, source=EventSource.WEBHOOK, close_invoice=False)
    except IllegalTransition as error:
        return WebhookOutcome.IGNORED, error.message
    return WebhookOutcome.PROCESSED, f"order {order.status}"


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


def _event_finish(event_id: int, outcome: str, detail: str, *, only_from: frozenset | None = None) -> WebhookEvent:
    finishing = WebhookEvent.objects.filter(pk=event_id)
    if only_from is not None:
        finishing = finishing.filter(outcome__in=only_from)
    if not finishing.update(outcome=outcome, outcome_detail=detail, processed_at=timezone.now()):
        return WebhookEvent.objects.get(pk=event_id)  # finished by a concurrent run: its outcome stands
    event = WebhookEvent.objects.get(pk=event_id)
    log = logger.warning if outcome in (WebhookOutcome.UNMATCHED, WebhookOutcome.FAILED) else logger.info
    log("payment callback %s %s %s: %s (%s)", event.pk, event.invoice_id, event.status, outcome, detail)
    return event
