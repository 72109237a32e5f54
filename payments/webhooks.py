"""The inbox of Xendit invoice callbacks (`POST /api/payment-callback`): authenticate,
parse, store, de-duplicate, finish. Acting on a stored callback is the checkout layer's
(`orders.checkout.callbacks`), which reads the invoice back from Xendit and applies what
Xendit says: the callback is a trigger, never the truth (it is authenticated by a static
shared token, not a signature of the body).

Every accepted callback is stored in `WebhookEvent` before it is acted on. The first
delivery of an (invoice id, status) pair holds `dedupe_key`; while it holds the key, later
copies are stored as `duplicate` and change nothing. A delivery whose processing failed
(gateway down, database busy) gives its key up to the next copy Xendit sends, so Xendit's
redelivery is processed again instead of being swallowed as a duplicate. So does one whose
outcome depended on what Xendit shows now (`webhook_finish(release_key=True)`): a forged
callback with a valid token, or one read back before Xendit shows its status, must not make
the genuine delivery of that invoice and status a duplicate.
"""

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from payments.models import WebhookEvent, WebhookOutcome
from tedxpay.core.errors import ApplicationError, Conflict, InvalidInput, ServiceUnavailable
from tedxpay.core.json_body import json_body_parse
from tedxpay.core.request_id import get_request_id

logger = logging.getLogger(__name__)

# A delivery still `received` after this long is taken to have died mid-way (a killed
# worker): the next copy may take its key. Processing takes one gateway read (also on the
# adoption path) and a short transaction; a read's worst case is the gateway's `worst_call`
# (≈ 24 s with the default timeouts). Two minutes is well above that, with room for raised
# timeouts and a slow database.
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
    webhook_id: str = ""  # Xendit's `webhook-id` header, when sent
    # Refund webhooks share the inbox (orders/checkout/refund_callbacks.py): Xendit's refund id, which
    # makes the de-duplication key, since one invoice can have several refunds.
    refund_id: str = ""


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


def webhook_replayable(*, event_id: int) -> WebhookEvent:
    """The stored event, if it may be processed again (admin replay): never finished
    (`received`), `failed` or `unmatched`. Raises `Conflict` for any other."""
    event = WebhookEvent.objects.get(pk=event_id)
    if event.refund_id:
        # A refund webhook is applied by the refund flow (orders/checkout/refund_callbacks.py), not by
        # the invoice rules here; the refund sweep reads a pending refund from Xendit anyway.
        raise Conflict(
            f"Webhook event {event_id} is a refund webhook: it is not replayed here; "
            "the refund sweep reads the refund from Xendit.",
            details={"refund_id": event.refund_id},
        )
    if event.outcome not in REPLAYABLE_OUTCOMES:
        raise Conflict(
            f"Webhook event {event_id} is {event.outcome}; only received, failed or unmatched events are replayed.",
            details={"outcome": event.outcome},
        )
    return event


def webhook_start(*, event_id: int) -> WebhookEvent:
    """Count an attempt at processing the event; return it as stored."""
    WebhookEvent.objects.filter(pk=event_id).update(attempts=F("attempts") + 1)
    return WebhookEvent.objects.get(pk=event_id)


def webhook_lock(*, event_id: int) -> WebhookEvent:
    """The event, locked until the surrounding transaction ends: of a replay and a
    redelivery processing it at once, the second sees what the first finished with."""
    return WebhookEvent.objects.select_for_update().get(pk=event_id)


def webhook_attach_payment(*, event_id: int, payment_id: int) -> None:
    WebhookEvent.objects.filter(pk=event_id).update(payment_id=payment_id)


# --- storing and de-duplicating -------------------------------------------------------


def _dedupe_key(callback: Callback) -> str:
    if callback.refund_id:
        return f"refund:{callback.refund_id}:{callback.status}"
    return f"{callback.invoice_id}:{callback.status}"


def webhook_store(*, callback: Callback, raw_body: str) -> WebhookEvent:
    """The callback in the inbox: the holder of its (invoice id, status) key, stored as its
    first processing attempt (the caller processes it at once), or a `duplicate` copy."""
    fields = {
        "invoice_id": callback.invoice_id,
        "external_id": callback.external_id,
        "status": callback.status,
        "refund_id": callback.refund_id,
        "raw_body": raw_body,
        "request_id": get_request_id(),
        "webhook_id": callback.webhook_id,
    }
    key = _dedupe_key(callback)
    for attempt in range(_STORE_ATTEMPTS):
        try:
            # The holder of the key is processed at once: this is its first attempt.
            return _insert_alone(dedupe_key=key, attempts=1, **fields)
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


def _insert_alone(**fields) -> WebhookEvent:
    """The INSERT in a transaction of its own: on InnoDB a failed duplicate insert keeps a
    shared lock on the key until rollback, and locking the holder row while keeping it
    deadlocks against the other copies doing the same. In autocommit (a request) the
    statement is that transaction, rolled back at once when refused, without the
    round trips of opening and committing one (every callback and every copy of one
    stores itself here); inside a caller's transaction, a savepoint of its own."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return WebhookEvent.objects.create(**fields)
    return WebhookEvent.objects.create(**fields)


def webhook_store_unusable(
    *, payload: dict, raw_body: str, problem: str, webhook_id: str = "", what: str = "a callback for an invoice of ours"
) -> WebhookEvent:
    """An authenticated JSON object that is not `what` we expect at this address (another
    system on the same Xendit account: an `external_id` longer than ours, an id in another
    format, no status, a refund webhook without a refund). Stored as `unmatched`, raw, for
    the record; the caller answers 200, since a 400 would only make Xendit send it again for
    a day."""

    def text(key: str, length: int) -> str:
        value = payload.get(key)
        return "" if value is None else str(value)[:length]

    event = WebhookEvent.objects.create(
        invoice_id=text("id", 64),
        external_id=text("external_id", 64),
        status=text("status", 20),
        raw_body=raw_body,
        request_id=get_request_id(),
        webhook_id=webhook_id,
        outcome=WebhookOutcome.UNMATCHED,
        outcome_detail=f"not {what}: {problem}"[:2000],
        processed_at=timezone.now(),
    )
    logger.warning("webhook %s stored unmatched (not %s): %s", event.pk, what, problem)
    return event


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
    return WebhookEvent.objects.create(dedupe_key=key, attempts=1, **fields)


# --- finishing --------------------------------------------------------------------------


def webhook_finish(
    event_id: int,
    outcome: str,
    detail: str,
    *,
    only_from: frozenset | None = None,
    release_key: bool = False,
    event: WebhookEvent | None = None,
    payment_id: int | None = None,
) -> WebhookEvent:
    """Record what became of the event. `only_from`: only if its outcome is still one of
    these (a concurrent run's outcome stands). `release_key`: the outcome depended on what
    Xendit shows now (it did not confirm the callback's status yet), so the event gives its
    de-duplication key up and the next delivery of that invoice and status is processed.
    `event`: the row as the caller holds it (locked): updated in memory, not read again.
    `payment_id`: the payment the event was matched to, recorded with the outcome."""
    finishing = WebhookEvent.objects.filter(pk=event_id)
    if only_from is not None:
        finishing = finishing.filter(outcome__in=only_from)
    changes = {"outcome": outcome, "outcome_detail": detail, "processed_at": timezone.now()}
    if release_key:
        changes["dedupe_key"] = None
    if payment_id is not None:
        changes["payment_id"] = payment_id
    if not finishing.update(**changes):
        return WebhookEvent.objects.get(pk=event_id)  # finished by a concurrent run: its outcome stands
    if event is not None:
        for field, value in changes.items():
            setattr(event, field, value)
    else:
        event = WebhookEvent.objects.get(pk=event_id)
    log = logger.warning if outcome in (WebhookOutcome.UNMATCHED, WebhookOutcome.FAILED) else logger.info
    log("payment callback %s %s %s: %s (%s)", event.pk, event.invoice_id, event.status, outcome, detail)
    return event
