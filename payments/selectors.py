"""Reads of Payment rows that more than one caller needs: which payments the sweep asks
Xendit about. No writes here."""

from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from payments.gateways.base import InvoiceStatus
from payments.models import Payment, PaymentStatus


def payments_to_sweep(
    *, now: datetime | None = None, late_window: timedelta, left_open_after: timedelta, limit: int
) -> list[tuple[int, str]]:
    """The payments whose invoice the sweep looks at, least recently asked first, each with
    its step: "read" (read the invoice and apply it), "expire" (expire it at Xendit, then
    apply what Xendit answers) or "find" (look the invoice up by our code).

    - PENDING payments with an invoice ("read": the callback may have been lost);
    - payments of orders we expired or cancelled within `late_window` of their expiry time
      whose invoice Xendit has not reported EXPIRED: a buyer can still pay those. "read"
      while the order was closed less than `left_open_after` ago (the expiry task queued
      after commit is normally at work), "expire" after that (it was never queued, or it
      gave up). Older invoices expired at Xendit by themselves long ago;
    - payments whose invoice create had an unknown outcome, still looked up by our code
      (`Payment.invoice_lookup_until`: "find").

    An invoice Xendit reports EXPIRED can no longer be paid, so it drops out; a PAID payment
    is settled.
    """
    now = now or timezone.now()
    with_invoice = Q(invoice_id__isnull=False) & (
        Q(status=PaymentStatus.PENDING)
        | (
            Q(status__in=[PaymentStatus.EXPIRED, PaymentStatus.CANCELLED], order__expires_at__gte=now - late_window)
            & ~Q(gateway_status=InvoiceStatus.EXPIRED)
        )
    )
    unknown_invoice = Q(invoice_id__isnull=True, invoice_lookup_until__isnull=False)
    rows = Payment.objects.filter(with_invoice | unknown_invoice)
    ordered = rows.order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    return [
        (payment_id, _step(invoice_id, status, order_changed_at, now - left_open_after))
        for payment_id, invoice_id, status, order_changed_at in ordered.values_list(
            "pk", "invoice_id", "status", "order__updated_at"
        )[:limit]
    ]


def _step(invoice_id: str | None, status: str, order_changed_at: datetime, left_open_since: datetime) -> str:
    if invoice_id is None:
        return "find"
    # The order's last change is its expiry or cancel (a later flag only delays this).
    if status != PaymentStatus.PENDING and order_changed_at <= left_open_since:
        return "expire"
    return "read"
