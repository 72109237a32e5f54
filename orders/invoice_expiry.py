"""Closing the Xendit invoice of an order we expired or cancelled (DESIGN §7 "Expire").

Our expiry gives the seats back first; the invoice is expired at Xendit afterwards, by a
task started after commit, so no database lock is held while Xendit answers. Between the
two a buyer may still pay. Xendit does not document what expiring a paid invoice returns,
so whatever it answers, an invoice we find PAID or SETTLED is recorded through
`payment_mark_paid` (the late-payment path: seats back if still there, else flagged for a
refund). A payment is never lost to the expiry race.

The task is queued after commit; if the broker refuses it then, the expiry stands and
`invoices_close_left_open` (beat) closes the invoice later.
"""

import logging
import time
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import EventSource, OrderStatus
from payments.gateways.base import GatewayError, InvoiceStatus, get_gateway
from payments.models import Payment, PaymentStatus
from payments.services import payment_apply_invoice, payment_attach_invoice, payment_note_asked
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger("tedxpay.orders.expiry")


def invoice_expire_after_commit(*, order_id: int) -> None:
    """Start the invoice expiry for this order's payment once the current transaction
    commits (nothing happens if it rolls back, or if no invoice was ever created)."""
    payment_id = (
        Payment.objects.filter(order_id=order_id, invoice_id__isnull=False).values_list("pk", flat=True).first()
    )
    if payment_id is None:
        return  # the crash-between-commit-and-create case (DESIGN §7.4): nothing to close

    def start() -> None:
        from orders.tasks import invoice_expire_task  # at call time: orders.tasks imports this module

        try:
            invoice_expire_task.delay(payment_id)
        except Exception:
            # After the commit: the expiry stands (seats back), and the caller (a webhook,
            # a checkout) must not answer an error for it. The sweep closes the invoice.
            logger.exception(
                "payment %s: could not queue closing its invoice (broker down?); the left-open sweep will",
                payment_id,
            )

    # robust: whatever else fails in here happened after the commit, too.
    transaction.on_commit(start, robust=True)


def invoice_expire(*, payment_id: int, invoice_id: str | None = None) -> str:
    """Expire the payment's invoice at Xendit, or record the payment if it was paid first.

    `invoice_id`: an invoice placement created but could not record (its database write
    failed); it is recorded on the payment here, so the webhook and reconcile know it.
    Returns what was found: "expired", "paid" (recorded as a late payment), "skipped" (no
    invoice, or the payment is already PAID here). Raises `GatewayError` when Xendit could
    not be asked; the task retries the retryable ones.
    """
    payment = Payment.objects.get(pk=payment_id)
    invoice_id = payment.invoice_id or invoice_id
    if not invoice_id or payment.status == PaymentStatus.PAID:
        return "skipped"
    gateway = get_gateway()
    try:
        invoice = gateway.expire_invoice(invoice_id)
    except GatewayError as error:
        if error.retryable:
            raise
        # Refused (4xx): most likely the invoice is paid or already expired. Look at it.
        logger.info("expiring invoice %s refused (%r); fetching it", invoice_id, error)
        invoice = gateway.get_invoice(invoice_id)
    if not invoice.is_paid and not invoice.is_expired:
        # An expire call that "succeeded" but left it open: ask again for the truth.
        invoice = gateway.get_invoice(invoice_id)
    if not invoice.is_paid and not invoice.is_expired:
        # Nothing recorded: the payment stays in the reconcile and left-open sweeps' sight.
        raise GatewayError(
            f"Invoice {invoice.id} is still {invoice.status} after expiring it", retryable=True, code="NOT_EXPIRED"
        )
    if not payment.invoice_id:
        payment = payment_attach_invoice(payment_id=payment.pk, invoice=invoice)
    if invoice.is_paid:
        logger.warning(
            "invoice %s of expired order %s was paid at Xendit; recording the late payment",
            invoice.id,
            payment.external_id,
        )
    # What reconciliation does with an invoice it read: a payment is recorded (seats back,
    # or flagged for a refund); an EXPIRED one is remembered, so the reconcile and left-open
    # sweeps stop asking about it (and an order still PENDING expires, without another
    # close call).
    payment_apply_invoice(payment_id=payment.pk, invoice=invoice, source=EventSource.RECONCILE)
    return "paid" if invoice.is_paid else "expired"


# --- the sweep for invoices our expiry or cancel left open -------------------------------

# The after-commit task normally closes the invoice within seconds (its retries within a
# couple of minutes); only an order closed longer ago than this is the sweep's business.
INVOICE_LEFT_OPEN_AFTER = timedelta(minutes=10)
# How long one sweep may start new closes. One close is up to two gateway calls (expire,
# then a read), each ≈ 24 s at worst (see RECONCILE_TIME_BUDGET in payments/services.py):
# 10 s + 48 s stays below the task's 60 s soft time limit.
INVOICE_CLOSE_TIME_BUDGET = timedelta(seconds=10)


def invoices_left_open(
    *, now: datetime | None = None, older_than: timedelta = INVOICE_LEFT_OPEN_AFTER, late_window: timedelta, limit: int
) -> list[int]:
    """Ids of payments whose order we expired or cancelled more than `older_than` ago but
    whose invoice Xendit has not reported EXPIRED: the close after commit was never queued
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


def invoices_close_left_open(
    *,
    limit: int = 50,
    late_window: timedelta = timedelta(hours=48),
    time_budget: timedelta = INVOICE_CLOSE_TIME_BUDGET,
    now: datetime | None = None,
) -> dict:
    """Close, one by one, the invoices `invoices_left_open` finds (`invoice_expire`: a
    payment found there is recorded as a late one). The sweep is the retry: a failure is
    logged and counted, and the payment comes up again next run. No new close starts once
    `time_budget` is spent; Celery's SoftTimeLimitExceeded ends the pass (as in
    `payments_reconcile`). Returns counts per result."""
    counts = {"checked": 0, "expired": 0, "paid": 0, "skipped": 0, "failed": 0}
    deadline = time.monotonic() + time_budget.total_seconds()
    for payment_id in invoices_left_open(now=now, late_window=late_window, limit=limit):
        if time.monotonic() >= deadline:
            logger.warning("left-open invoices: time budget of %s spent; the rest waits", time_budget)
            break
        counts["checked"] += 1
        try:
            counts[invoice_expire(payment_id=payment_id)] += 1
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            if caused_by_soft_time_limit(error):
                raise SoftTimeLimitExceeded() from error
            logger.warning("left-open invoices: closing the invoice of payment %s failed: %r", payment_id, error)
            payment_note_asked(payment_id=payment_id)
            counts["failed"] += 1
    if counts["checked"]:
        logger.warning("left-open invoices: %s", counts)
    return counts
