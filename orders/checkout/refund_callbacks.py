"""Xendit's refund webhooks (`refund.succeeded`, `refund.failed`) at
`POST /api/refund-callback`, under the invoice callback's rules: the token is checked
(by the API view, `webhook_authenticate`), every accepted body is stored in the inbox
(`WebhookEvent`, with Xendit's refund id), a copy of an (refund, status) pair already held
is a `duplicate` that changes nothing, and the refund is re-read from Xendit before it moves:
the webhook is a trigger, Xendit's record is the truth.
"""

import logging
from dataclasses import dataclass

from django.db import OperationalError, transaction

from orders.checkout.refunds import refund_apply
from orders.models import EventSource
from payments.gateways.base import GatewayError, RefundStatus, get_gateway
from payments.models import Refund, WebhookEvent, WebhookOutcome
from payments.webhooks import (
    RETRYABLE_OUTCOMES,
    Callback,
    webhook_attach_payment,
    webhook_finish,
    webhook_lock,
    webhook_store,
)
from tedxpay.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# The events we act on, and how the inbox names their status.
REFUND_EVENTS = {"refund.succeeded": "REFUND_SUCCEEDED", "refund.failed": "REFUND_FAILED"}


@dataclass(frozen=True)
class RefundCallback:
    event: str  # refund.succeeded, refund.failed, or one we do not act on
    refund_id: str
    invoice_id: str = ""
    reference_id: str = ""

    @property
    def inbox_status(self) -> str:
        return REFUND_EVENTS.get(self.event, self.event.upper().replace(".", "_"))[:20]


def refund_webhook_receive(*, callback: RefundCallback, raw_body: str, gateway=None) -> WebhookEvent:
    """Store an authenticated refund webhook, then act on it. Raises ServiceUnavailable
    (503: Xendit retries) when a retry may help; the event is then left `failed`."""
    event = webhook_store(
        callback=Callback(
            invoice_id=callback.invoice_id,
            status=callback.inbox_status,
            external_id=callback.reference_id[:64],
            refund_id=callback.refund_id,
        ),
        raw_body=raw_body,
    )
    if event.outcome == WebhookOutcome.DUPLICATE:
        return event
    # Stored as its first attempt (`webhook_store`): processed as it is, not read again.
    return _process(event=event, gateway=gateway)


def _process(*, event: WebhookEvent, gateway) -> WebhookEvent:
    event_id = event.pk
    try:
        return _apply(event=event, gateway=gateway or get_gateway())
    except GatewayError as error:
        webhook_finish(event_id, WebhookOutcome.FAILED, f"gateway: {error.message}")
        if error.retryable:
            raise ServiceUnavailable(
                "Could not confirm the refund with Xendit; please retry.", details={"event_id": event_id}
            ) from error
        return WebhookEvent.objects.get(pk=event_id)
    except OperationalError as error:
        logger.warning("refund webhook %s: database busy: %s", event_id, error)
        try:
            webhook_finish(event_id, WebhookOutcome.FAILED, f"database: {error}")
        except OperationalError:
            logger.exception("refund webhook %s: could not record the failure", event_id)
        raise ServiceUnavailable("The database is busy; please retry.", details={"event_id": event_id}) from error
    except ServiceUnavailable:
        raise  # finished as failed already, on purpose
    except Exception as error:
        logger.exception("refund webhook %s: unexpected error", event_id)
        webhook_finish(event_id, WebhookOutcome.FAILED, f"error: {error!r}")
        raise


def _apply(*, event: WebhookEvent, gateway) -> WebhookEvent:
    if event.status not in REFUND_EVENTS.values():
        return webhook_finish(event.pk, WebhookOutcome.IGNORED, f"event {event.status} is not acted on")
    # Our create's answer may have been lost (no Xendit id stored yet): the reference we
    # sent as reference_id finds the row then.
    refund = Refund.objects.filter(gateway_refund_id=event.refund_id).first()
    if refund is None and event.external_id:
        refund = Refund.objects.filter(reference=event.external_id).first()
    if refund is None:
        return webhook_finish(
            event.pk,
            WebhookOutcome.UNMATCHED,
            "no refund of ours has this id or reference",
            only_from=RETRYABLE_OUTCOMES,
        )
    webhook_attach_payment(event_id=event.pk, payment_id=refund.payment_id)
    try:
        # The one network call, outside any transaction.
        at_xendit = gateway.refund_get(event.refund_id)
    except GatewayError as error:
        if error.status == 404:
            return webhook_finish(event.pk, WebhookOutcome.IGNORED, "Xendit does not know this refund")
        raise
    if at_xendit.reference_id != refund.reference:
        return webhook_finish(
            event.pk,
            WebhookOutcome.IGNORED,
            f"Xendit says refund {at_xendit.id} is {at_xendit.reference_id or 'without reference'}, "
            f"not {refund.reference}",
        )
    if at_xendit.status == RefundStatus.PENDING:
        # Xendit's record can lag its own webhook: nothing moves, the event gives its key up
        # (failed) and the 503 makes Xendit deliver it again later.
        webhook_finish(event.pk, WebhookOutcome.FAILED, "not confirmed yet: Xendit says the refund is PENDING")
        raise ServiceUnavailable(
            "Xendit does not confirm the refund yet; please retry.", details={"event_id": event.pk}
        )
    with transaction.atomic():
        # Lock order: this event, then (inside refund_apply) the order, the payment, the refund.
        locked = webhook_lock(event_id=event.pk)
        if locked.outcome not in RETRYABLE_OUTCOMES:
            return locked  # a concurrent run finished it first
        moved = refund_apply(refund_id=refund.pk, gateway_refund=at_xendit, source=EventSource.WEBHOOK)
        outcome, detail = _outcome(event=event, at_xendit=at_xendit.status, moved=moved)
        return webhook_finish(event.pk, outcome, detail)


def _outcome(*, event: WebhookEvent, at_xendit: str, moved: Refund) -> tuple[str, str]:
    """`processed` when the webhook says what Xendit says (our row moved, or already
    agreed: a repeat); `ignored` when it claims what Xendit does not (a `refund.failed`
    after the refund succeeded): the row followed Xendit, not the webhook."""
    done = f"refund {moved.reference} {moved.status}"
    claimed = event.status.removeprefix("REFUND_")
    if claimed == at_xendit:
        return WebhookOutcome.PROCESSED, done
    return WebhookOutcome.IGNORED, f"webhook said {claimed} but Xendit says {at_xendit}: {done}"
