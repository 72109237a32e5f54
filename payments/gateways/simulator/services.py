"""State changes of simulated invoices. Each runs in a short transaction on a locked row;
callbacks are sent by the caller after commit (see callbacks.py)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.gateways.simulator import callbacks, channels
from payments.gateways.simulator.models import SimulatedInvoice, SimulatedInvoiceStatus
from payments.gateways.simulator.validation import XenditError

PAID_STATUSES = (SimulatedInvoiceStatus.PAID, SimulatedInvoiceStatus.SETTLED)


def business_user_id() -> str:
    # Xendit's `user_id` is the business id behind the key: stable per key, 24 hex chars.
    return hashlib.sha256(settings.XENDIT_SECRET_KEY.encode()).hexdigest()[:24]


def new_invoice_id() -> str:
    return secrets.token_hex(12)


def invoice_create(*, data: dict, invoice_id: str, invoice_url: str) -> SimulatedInvoice:
    now = timezone.now()
    return SimulatedInvoice.objects.create(
        id=invoice_id,
        external_id=data["external_id"],
        user_id=business_user_id(),
        amount=data["amount"],
        currency=data["currency"],
        merchant_name=settings.XENDIT_MERCHANT_NAME,
        payer_email=data["payer_email"],
        description=data["description"],
        success_redirect_url=data["success_redirect_url"],
        failure_redirect_url=data["failure_redirect_url"],
        locale=data["locale"],
        items=data["items"],
        customer=data["customer"],
        metadata=data["metadata"],
        invoice_url=invoice_url,
        expiry_date=now + timedelta(seconds=data["invoice_duration"]),
        created=now,
        updated=now,
    )


def not_found() -> XenditError:
    return XenditError(404, "INVOICE_NOT_FOUND_ERROR", "Invoice not found")


def invoice_get(invoice_id: str) -> SimulatedInvoice:
    """The invoice, with a PENDING one past its expiry date turned EXPIRED, as Xendit does
    (its EXPIRED callback is then owed: the clock sends it)."""
    invoice = SimulatedInvoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        raise not_found()
    if invoice.status == SimulatedInvoiceStatus.PENDING and invoice.expiry_date <= timezone.now():
        invoice = invoice_expire_if_due(invoice_id) or invoice
    return invoice


@transaction.atomic
def invoice_expire_if_due(invoice_id: str) -> SimulatedInvoice | None:
    """PENDING → EXPIRED once `expiry_date` has passed, with its EXPIRED callback owed (due
    now: the clock delivers it). Returns the invoice if it expired just now, else None."""
    invoice = SimulatedInvoice.objects.select_for_update().filter(pk=invoice_id).first()
    now = timezone.now()
    if invoice is None or invoice.status != SimulatedInvoiceStatus.PENDING or invoice.expiry_date > now:
        return None
    invoice.status = SimulatedInvoiceStatus.EXPIRED
    invoice.updated = now
    invoice.save(update_fields=["status", "updated"])
    callbacks.callback_enqueue(invoice, due_at=now)
    return invoice


def invoices_expire_due(*, limit: int = 200) -> int:
    """Expire every PENDING invoice past its expiry date (at most `limit`); returns how many."""
    due = SimulatedInvoice.objects.filter(status=SimulatedInvoiceStatus.PENDING, expiry_date__lte=timezone.now())
    return sum(1 for invoice_id in due.values_list("pk", flat=True)[:limit] if invoice_expire_if_due(invoice_id))


def _locked(invoice_id: str) -> SimulatedInvoice:
    invoice = SimulatedInvoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise not_found()
    return invoice


@transaction.atomic
def invoice_expire(invoice_id: str) -> tuple[SimulatedInvoice, bool]:
    """PENDING → EXPIRED. Returns (invoice, changed). Expiring an EXPIRED invoice answers it
    unchanged. Expiring a PAID/SETTLED one is refused with 400 INVOICE_ALREADY_PAID_ERROR:
    Xendit does not document this case, so callers must treat any error here as "fetch
    the invoice and reconcile" (docs/xendit.md)."""
    invoice = _locked(invoice_id)
    if invoice.status in PAID_STATUSES:
        raise XenditError(400, "INVOICE_ALREADY_PAID_ERROR", "Invoice is already paid and cannot be expired")
    if invoice.status == SimulatedInvoiceStatus.EXPIRED:
        return invoice, False
    now = timezone.now()
    invoice.status = SimulatedInvoiceStatus.EXPIRED
    invoice.expiry_date = min(invoice.expiry_date, now)
    invoice.updated = now
    invoice.save(update_fields=["status", "expiry_date", "updated"])
    return invoice, True


@transaction.atomic
def invoice_pay(invoice_id: str, *, channel: str = "BCA", amount: int | None = None) -> SimulatedInvoice:
    """PENDING → PAID through `channel`, optionally with a paid amount that differs."""
    invoice = _locked(invoice_id)
    if invoice.status in PAID_STATUSES:
        raise XenditError(400, "INVOICE_ALREADY_PAID_ERROR", "Invoice is already paid")
    now = timezone.now()
    if invoice.status == SimulatedInvoiceStatus.EXPIRED or invoice.expiry_date <= now:
        raise XenditError(400, "INVOICE_EXPIRED_ERROR", "An expired invoice cannot be paid")
    chosen = channels.CHANNELS.get((channel or "").upper())
    if chosen is None:
        known = sorted(channels.CHANNELS)
        raise XenditError(400, "API_VALIDATION_ERROR", f"Unknown channel {channel!r}; one of {known}")
    if not chosen.fits(invoice.amount):
        available = [c.code for c in channels.channels_for(invoice.amount)]
        raise XenditError(
            400,
            "UNAVAILABLE_PAYMENT_METHOD_ERROR",
            f"{chosen.code} takes {chosen.minimum}..{chosen.maximum} IDR; available here: {available}",
        )
    paid_amount = invoice.amount if amount is None else int(amount)
    if paid_amount < 1:
        raise XenditError(400, "API_VALIDATION_ERROR", '"amount" must be greater than or equal to 1')
    invoice.status = SimulatedInvoiceStatus.PAID
    invoice.paid_amount = paid_amount
    invoice.paid_at = now
    invoice.payment_method = chosen.payment_method
    invoice.payment_channel = chosen.code
    invoice.payment_destination = _destination(chosen)
    invoice.payment_id = secrets.token_hex(12)
    invoice.updated = now
    invoice.save()
    return invoice


def _destination(channel: channels.Channel) -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(10))
    if channel.payment_method == channels.VIRTUAL_ACCOUNT:
        return f"8808{digits}"
    if channel.payment_method == channels.RETAIL_OUTLET:
        return f"TEDX{digits}"
    if channel.payment_method == channels.QR_CODE:
        return f"qr_{secrets.token_hex(8)}"
    return ""


@transaction.atomic
def invoice_settle(invoice_id: str) -> SimulatedInvoice:
    """PAID → SETTLED (the money reached the balance). Xendit sends no callback for it."""
    invoice = _locked(invoice_id)
    if invoice.status == SimulatedInvoiceStatus.SETTLED:
        return invoice
    if invoice.status != SimulatedInvoiceStatus.PAID:
        raise XenditError(400, "API_VALIDATION_ERROR", f"Only a PAID invoice can settle, this one is {invoice.status}")
    invoice.status = SimulatedInvoiceStatus.SETTLED
    invoice.updated = timezone.now()
    invoice.save(update_fields=["status", "updated"])
    return invoice
