"""Invoice callback delivery, as Xendit does it: a JSON POST with `x-callback-token`.

Called only after the state change is committed, so the receiver's GET of the invoice sees
the new status. A failed delivery (404 while the webhook does not exist yet, a refused
connection, a timeout) is recorded on the invoice and logged, never raised: it must not
break the payment that caused it. Xendit would retry later; here a test re-sends with
`callback: "send"` on the control API if it wants to.
"""

import json
import logging

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.gateways.simulator.models import SimulatedInvoice
from payments.gateways.simulator.serializers import callback_body

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT = urllib3.Timeout(connect=2.0, read=10.0)


def deliver(invoice_id: str, *, times: int = 1) -> list[dict]:
    """POST the invoice's current callback `times` times; returns what each delivery got."""
    invoice = SimulatedInvoice.objects.get(pk=invoice_id)
    body = callback_body(invoice)
    results = [_post(body) for _ in range(times)]
    with transaction.atomic():
        invoice = SimulatedInvoice.objects.select_for_update().get(pk=invoice_id)
        invoice.callback_deliveries = [*invoice.callback_deliveries, *results]
        invoice.save(update_fields=["callback_deliveries"])
    return results


def _post(body: dict) -> dict:
    url = settings.XENDIT_CALLBACK_URL
    result = {
        "status": body["status"],
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
        "xendit simulator: %s callback for invoice %s to %s -> %s",
        body["status"],
        body["id"],
        url,
        result["error"] or result["status_code"],
    )
    return result
