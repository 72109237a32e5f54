"""Refund webhooks (`refund.succeeded`, `refund.failed`), sent as Xendit sends them: a JSON
POST with `x-callback-token` to XENDIT_REFUND_CALLBACK_URL, after the state change is
committed. Failures are recorded on the refund, never raised (see callbacks.py)."""

import json
import logging

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.gateways.simulator.callbacks import CALLBACK_TIMEOUT
from payments.gateways.simulator.models import SimulatedRefund
from payments.gateways.simulator.serializers import xendit_time
from payments.gateways.simulator.services import business_user_id

logger = logging.getLogger(__name__)


def refund_json(refund: SimulatedRefund) -> dict:
    """A refund as `POST /refunds` and `GET /refunds/<id>` answer it."""
    invoice = refund.invoice
    return {
        "id": refund.id,
        "payment_id": invoice.payment_id,
        "invoice_id": invoice.id,
        "payment_request_id": None,
        "payment_method_type": invoice.payment_method,
        "amount": refund.amount,
        "channel_code": invoice.payment_channel,
        "country": "ID",
        "currency": refund.currency,
        "reference_id": refund.reference_id or None,
        "status": refund.status,
        "reason": refund.reason,
        "failure_code": refund.failure_code or None,
        "refund_fee_amount": 0,
        "metadata": refund.metadata,
        "created": xendit_time(refund.created),
        "updated": xendit_time(refund.updated),
    }


def webhook_body(refund: SimulatedRefund) -> dict:
    data = refund_json(refund)
    data.pop("payment_request_id")
    data.pop("country")
    return {
        "event": f"refund.{refund.status.lower()}",
        "business_id": business_user_id(),
        "created": xendit_time(timezone.now()),
        "data": data,
    }


def deliver(refund_id: str, *, times: int = 1) -> list[dict]:
    refund = SimulatedRefund.objects.select_related("invoice").get(pk=refund_id)
    body = webhook_body(refund)
    results = [_post(body) for _ in range(times)]
    with transaction.atomic():
        refund = SimulatedRefund.objects.select_for_update().get(pk=refund_id)
        refund.callback_deliveries = [*refund.callback_deliveries, *results]
        refund.save(update_fields=["callback_deliveries"])
    return results


def _post(body: dict) -> dict:
    url = settings.XENDIT_REFUND_CALLBACK_URL
    result = {"event": body["event"], "url": url, "status_code": None, "error": None, "at": timezone.now().isoformat()}
    try:
        with urllib3.PoolManager(retries=False) as http:
            response = http.request(
                "POST",
                url,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
                timeout=CALLBACK_TIMEOUT,
            )
        result["status_code"] = response.status
        if not 200 <= response.status < 300:
            result["error"] = f"HTTP {response.status}"
    except urllib3.exceptions.HTTPError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    logger.log(
        logging.INFO if result["error"] is None else logging.WARNING,
        "xendit simulator: %s webhook for refund %s to %s -> %s",
        body["event"],
        body["data"]["id"],
        url,
        result["error"] or result["status_code"],
    )
    return result
