"""Invoice callback delivery, as Xendit does it: a JSON POST with `x-callback-token` and a
`webhook-id` header, retried on a schedule when it fails.

Each invoice event (PAID, EXPIRED) is one `SimulatedCallback` with its own webhook id. It
is tried once right away (after the state change is committed, so the receiver's GET of
the invoice sees the new status); a try that gets no 2xx (an error status, a refused
connection, a timeout) is recorded on the invoice and logged, never raised, and the next
try is scheduled `XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS` later: Xendit's schedule with
"auto-retry for failed callbacks" switched on is 15 min, 45 min, 2 h, 3 h, 6 h, 12 h after
each failure (6 retries, about 24 h); tests compress it, an empty list switches retries
off (Xendit's default). Due tries are made by the simulator's clock (clock.py).
"""

import json
import logging
import secrets
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.gateways.simulator.models import SimulatedCallback, SimulatedInvoice
from payments.gateways.simulator.serializers import callback_body

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT = urllib3.Timeout(connect=2.0, read=10.0)
# Xendit's retry intervals (seconds after each failed try) with auto-retry switched on.
XENDIT_RETRY_SECONDS = (900, 2700, 7200, 10800, 21600, 43200)
# A due try taken by one clock is not taken by another for this long (several processes
# may run a clock: the standalone simulator and a web server with the in-process one).
_CLAIM_LEASE = timedelta(seconds=60)


def retry_schedule() -> tuple[float, ...]:
    schedule = getattr(settings, "XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS", None)
    return XENDIT_RETRY_SECONDS if schedule is None else tuple(float(seconds) for seconds in schedule)


def new_webhook_id() -> str:
    return f"wh_{secrets.token_hex(16)}"


def callback_enqueue(invoice: SimulatedInvoice, *, due_at: datetime | None) -> SimulatedCallback:
    """Owe a callback for the invoice's current status (its body taken now). `due_at`: when
    the clock should try it; None when the caller tries it itself right away."""
    return SimulatedCallback.objects.create(
        invoice=invoice,
        webhook_id=new_webhook_id(),
        status=callback_body(invoice)["status"],
        body=callback_body(invoice),
        next_attempt_at=due_at,
    )


def deliver(invoice_id: str, *, times: int = 1) -> list[dict]:
    """A new callback for the invoice's current status, tried now `times` times (twice: a
    duplicate delivery with the same webhook id). Returns what each try got; if none got
    a 2xx, the retry schedule takes over."""
    invoice = SimulatedInvoice.objects.get(pk=invoice_id)
    callback = callback_enqueue(invoice, due_at=None)
    return [_attempt(callback) for _ in range(times)]


def deliver_late(invoice_id: str, *, delay_seconds: float) -> SimulatedCallback:
    """A callback that goes out only after `delay_seconds`, by the clock (a late delivery:
    it may reach the shop after its own expiry, or after a later event's callback)."""
    invoice = SimulatedInvoice.objects.get(pk=invoice_id)
    return callback_enqueue(invoice, due_at=timezone.now() + timedelta(seconds=delay_seconds))


def deliver_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try the callbacks whose time has come (first tries of late ones, and retries).
    Returns how many were tried."""
    now = now or timezone.now()
    due_ids = list(
        SimulatedCallback.objects.filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    tried = 0
    for callback_id in due_ids:
        # Claimed by a conditional UPDATE: two clocks never try the same callback at once.
        claimed = SimulatedCallback.objects.filter(pk=callback_id, next_attempt_at__lte=now).update(
            next_attempt_at=now + _CLAIM_LEASE
        )
        if claimed:
            _attempt(SimulatedCallback.objects.get(pk=callback_id))
            tried += 1
    return tried


def _attempt(callback: SimulatedCallback) -> dict:
    result = _post(callback.body, webhook_id=callback.webhook_id)
    delivered = result["error"] is None
    with transaction.atomic():
        locked = SimulatedCallback.objects.select_for_update().get(pk=callback.pk)
        locked.attempts += 1
        result["attempt"] = locked.attempts
        schedule = retry_schedule()
        if delivered or locked.delivered_at is not None:
            locked.delivered_at = locked.delivered_at or timezone.now()
            locked.next_attempt_at = None
        elif locked.attempts <= len(schedule):
            locked.next_attempt_at = timezone.now() + timedelta(seconds=schedule[locked.attempts - 1])
            result["retry_at"] = locked.next_attempt_at.isoformat()
        else:
            locked.next_attempt_at = None  # out of retries: only reconciliation finds it now
        locked.save(update_fields=["attempts", "next_attempt_at", "delivered_at"])
        invoice = SimulatedInvoice.objects.select_for_update().get(pk=callback.invoice_id)
        invoice.callback_deliveries = [*invoice.callback_deliveries, result]
        invoice.save(update_fields=["callback_deliveries"])
    return result


def _post(body: dict, *, webhook_id: str) -> dict:
    url = settings.XENDIT_CALLBACK_URL
    result = {
        "status": body["status"],
        "webhook_id": webhook_id,
        "url": url,
        "status_code": None,
        "error": None,
        "at": timezone.now().isoformat(),
    }
    try:
        # A fresh pool per delivery, closed right after: no idle keep-alive connection left
        # holding a receiver thread open. No proxies, no retries: one attempt, recorded.
        with urllib3.PoolManager(retries=False) as http:
            response = http.request(
                "POST",
                url,
                body=json.dumps(body).encode(),
                headers={
                    "Content-Type": "application/json",
                    "x-callback-token": settings.XENDIT_CALLBACK_TOKEN,
                    "webhook-id": webhook_id,
                },
                timeout=CALLBACK_TIMEOUT,
            )
        result["status_code"] = response.status
        if not 200 <= response.status < 300:
            result["error"] = f"HTTP {response.status}"
    except urllib3.exceptions.HTTPError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    level = logging.INFO if result["error"] is None else logging.WARNING
    logger.log(
        level,
        "xendit simulator: %s callback %s for invoice %s to %s -> %s",
        body["status"],
        webhook_id,
        body["id"],
        url,
        result["error"] or result["status_code"],
    )
    return result
