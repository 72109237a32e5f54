"""Refunds of simulated invoices (`POST /refunds`, `GET /refunds/<id>`), with Xendit's
rules as far as they are known (see docs/xendit-simulator.md):

- only a paid invoice can be refunded; e-wallets, QRIS and cards can, virtual accounts and
  retail outlets answer 400 REFUND_NOT_SUPPORTED (their money goes back by hand);
- partial refunds are allowed; refunds that are PENDING or SUCCEEDED never add up to more
  than was paid (400 REFUND_AMOUNT_EXCEEDED);
- the `idempotency-key` header: the same key with the same body answers the first refund
  again (nothing new is made), with another body 409 IDEMPOTENCY_ERROR;
- a `reference_id` used before by another refund is 409 DUPLICATE_REFERENCE_ID.

A refund is created PENDING and stays so until the control API settles it, which sends the
refund webhook (`refund_callbacks.py`).
"""

import hashlib
import json
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from payments.gateways.simulator import channels
from payments.gateways.simulator.models import SimulatedInvoice, SimulatedRefund, SimulatedRefundStatus
from payments.gateways.simulator.services import PAID_STATUSES, not_found
from payments.gateways.simulator.validation import XenditError

REASONS = ("FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS")
# Xendit's channel families that its API cannot refund: the money is sent back by transfer.
NOT_REFUNDABLE = (channels.VIRTUAL_ACCOUNT, channels.RETAIL_OUTLET)
COUNTED = (SimulatedRefundStatus.PENDING, SimulatedRefundStatus.SUCCEEDED)


def _validation(message: str) -> XenditError:
    return XenditError(400, "API_VALIDATION_ERROR", message)


def validate_refund_create(body) -> dict:
    if not isinstance(body, dict):
        raise _validation('"value" must be an object')
    invoice_id = body.get("invoice_id")
    if body.get("payment_request_id") and not invoice_id:
        raise _validation("The simulator refunds invoices only: send invoice_id")
    if not isinstance(invoice_id, str) or not invoice_id:
        raise _validation('"invoice_id" is required')
    reason = body.get("reason")
    if reason not in REASONS:
        raise _validation(f'"reason" must be one of {list(REASONS)}')
    amount = body.get("amount")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise _validation('"amount" must be a number')
        amount = int(amount)  # IDR has no minor unit: decimals are dropped, as for invoices
        if amount < 1:
            raise _validation('"amount" must be greater than or equal to 1')
    reference_id = body.get("reference_id") or ""
    if not isinstance(reference_id, str) or len(reference_id) > 255:
        raise _validation('"reference_id" must be a string of at most 255 characters')
    currency = body.get("currency") or "IDR"
    if currency != "IDR":
        raise XenditError(400, "UNSUPPORTED_CURRENCY", "The simulator refunds IDR only")
    return {
        "invoice_id": invoice_id,
        "reason": reason,
        "amount": amount,
        "reference_id": reference_id,
        "currency": currency,
        "metadata": body.get("metadata") if isinstance(body.get("metadata"), dict) else None,
    }


def request_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def refund_create(*, data: dict, idempotency_key: str | None, digest: str) -> tuple[SimulatedRefund, bool]:
    """Returns (refund, created). A replay of an idempotency key returns the first refund."""
    if idempotency_key:
        replay = _replay(idempotency_key, digest)
        if replay is not None:
            return replay, False
    try:
        return _refund_create(data=data, idempotency_key=idempotency_key, digest=digest), True
    except IntegrityError:
        # Two requests with one key at once: the loser answers what the winner made.
        replay = _replay(idempotency_key, digest) if idempotency_key else None
        if replay is None:
            raise
        return replay, False


def _replay(idempotency_key: str, digest: str) -> SimulatedRefund | None:
    refund = SimulatedRefund.objects.filter(idempotency_key=idempotency_key).first()
    if refund is None:
        return None
    if refund.request_digest != digest:
        raise XenditError(409, "IDEMPOTENCY_ERROR", "This idempotency key was used with another request")
    return refund


@transaction.atomic
def _refund_create(*, data: dict, idempotency_key: str | None, digest: str) -> SimulatedRefund:
    invoice = SimulatedInvoice.objects.select_for_update().filter(pk=data["invoice_id"]).first()
    if invoice is None:
        raise XenditError(404, "DATA_NOT_FOUND", "Payment (invoice) not found")
    if invoice.status not in PAID_STATUSES:
        raise XenditError(400, "INVALID_PAYMENT_STATUS", f"Invoice is {invoice.status}: only a paid one is refunded")
    if invoice.payment_method in NOT_REFUNDABLE:
        raise XenditError(
            400, "REFUND_NOT_SUPPORTED", f"{invoice.payment_channel} payments cannot be refunded through the API"
        )
    if data["reference_id"] and SimulatedRefund.objects.filter(reference_id=data["reference_id"]).exists():
        raise XenditError(409, "DUPLICATE_REFERENCE_ID", "A refund with this reference_id exists")
    refunded = invoice.refunds.filter(status__in=COUNTED).aggregate(total=Sum("amount"))["total"] or 0
    remaining = (invoice.paid_amount or 0) - refunded
    amount = remaining if data["amount"] is None else data["amount"]
    if amount < 1 or amount > remaining:
        raise XenditError(
            400, "REFUND_AMOUNT_EXCEEDED", f"At most {max(remaining, 0)} IDR of this payment can still be refunded"
        )
    now = timezone.now()
    return SimulatedRefund.objects.create(
        id=f"rfd-{uuid.uuid4()}",
        invoice=invoice,
        reference_id=data["reference_id"],
        idempotency_key=idempotency_key or None,
        request_digest=digest,
        amount=amount,
        currency=data["currency"],
        reason=data["reason"],
        metadata=data["metadata"],
        created=now,
        updated=now,
    )


def refund_get(refund_id: str) -> SimulatedRefund:
    refund = SimulatedRefund.objects.select_related("invoice").filter(pk=refund_id).first()
    if refund is None:
        raise XenditError(404, "DATA_NOT_FOUND", "Refund not found")
    return refund


@transaction.atomic
def refund_settle(refund_id: str, *, succeeded: bool, failure_code: str = "") -> tuple[SimulatedRefund, bool]:
    """PENDING → SUCCEEDED or FAILED. Returns (refund, changed); settling again the same
    way changes nothing, the other way is refused."""
    refund = SimulatedRefund.objects.select_for_update().filter(pk=refund_id).first()
    if refund is None:
        raise not_found()
    target = SimulatedRefundStatus.SUCCEEDED if succeeded else SimulatedRefundStatus.FAILED
    if refund.status == target:
        return refund, False
    if refund.status != SimulatedRefundStatus.PENDING:
        raise XenditError(400, "API_VALIDATION_ERROR", f"Refund is {refund.status} already")
    refund.status = target
    refund.failure_code = "" if succeeded else (failure_code or "REFUND_FAILED")
    refund.updated = timezone.now()
    refund.save(update_fields=["status", "failure_code", "updated"])
    return refund, True
