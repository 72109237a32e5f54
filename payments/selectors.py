"""Reads of Payment rows that more than one caller needs: which payments the sweeps ask
Xendit about. No writes here."""

from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from orders.models import OrderStatus
from payments.gateways.base import InvoiceStatus
from payments.models import Payment, PaymentStatus


def payments_to_reconcile(*, late_window: timedelta, limit: int) -> list[int]:
    """Ids of payments worth asking Xendit about, least recently asked first.

    PENDING payments with an invoice, and payments of orders that expired or were cancelled
    within `late_window` whose invoice Xendit has not yet called expired: a buyer can still
    pay those (the expire call after our own expiry may have failed) and the callback can be
    lost. An invoice Xendit reports EXPIRED can no longer be paid, so it drops out.
    """
    since = timezone.now() - late_window
    rows = Payment.objects.filter(invoice_id__isnull=False).filter(
        Q(status=PaymentStatus.PENDING)
        | (
            Q(status__in=[PaymentStatus.EXPIRED, PaymentStatus.FAILED], order__expires_at__gte=since)
            & ~Q(gateway_status=InvoiceStatus.EXPIRED)
        )
    )
    ordered = rows.order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    return list(ordered.values_list("pk", flat=True)[:limit])


def invoices_left_open(
    *, now: datetime | None = None, older_than: timedelta, late_window: timedelta, limit: int
) -> list[int]:
    """Ids of payments whose order we expired or cancelled more than `older_than` ago but
    whose invoice Xendit has not reported EXPIRED: the expire after commit was never queued
    (broker down) or gave up. Not PAID here (a paid one is settled), within `late_window` of
    the order's expiry time (older invoices expired at Xendit by themselves long ago;
    reconcile records that), least recently synced first."""
    now = now or timezone.now()
    rows = (
        Payment.objects.filter(
            invoice_id__isnull=False,
            order__status__in=[OrderStatus.EXPIRED, OrderStatus.CANCELLED],
            # The order's last change is its expiry or cancel (a later flag only delays this).
            order__updated_at__lte=now - older_than,
            order__expires_at__gte=now - late_window,
        )
        .exclude(status=PaymentStatus.PAID)
        .exclude(gateway_status=InvoiceStatus.EXPIRED)
    )
    ordered = rows.order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    return list(ordered.values_list("pk", flat=True)[:limit])


def payments_with_unknown_invoice(*, limit: int) -> list[int]:
    """Ids of payments whose invoice create had an unknown outcome and that are still being
    looked up by our code (`Payment.invoice_lookup_until`), least recently asked first."""
    rows = Payment.objects.filter(invoice_id__isnull=True, invoice_lookup_until__isnull=False)
    ordered = rows.order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    return list(ordered.values_list("pk", flat=True)[:limit])
