"""The sweeps: periodic passes over payments whose Xendit invoice needs looking at. Each
pass asks Xendit about one payment at a time and applies the answer through the one rule
(`orders.checkout.invoices`). A failure is logged and counted and the payment comes up again
next pass, least recently asked first; no new call starts once a pass's time budget is
spent, and Celery's SoftTimeLimitExceeded ends a pass at once."""

import logging
import time
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded

from orders.checkout.invoices import invoice_expire, payment_reconcile
from payments.gateways.base import get_gateway
from payments.selectors import invoices_left_open, payments_to_reconcile
from payments.services import payment_note_asked
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger("payments.services")
expiry_logger = logging.getLogger("tedxpay.orders.expiry")


# How long one reconciliation pass may start new look-ups. A look-up started just before
# the budget ends can take the worst case of one gateway call: the SDK retries a connect
# that fails twice, so 3 × XENDIT_CONNECT_TIMEOUT (3.05 s) + XENDIT_READ_TIMEOUT (15 s)
# ≈ 24 s. 30 s + 24 s stays below the task's 60 s soft time limit (CELERY_TASK_SOFT_TIME_LIMIT).
RECONCILE_TIME_BUDGET = timedelta(seconds=30)


def payments_reconcile(
    *,
    limit: int = 200,
    late_window: timedelta = timedelta(hours=48),
    gateway=None,
    time_budget: timedelta = RECONCILE_TIME_BUDGET,
) -> dict:
    """One reconciliation pass over at most `limit` payments, starting no new look-up once
    `time_budget` has passed (the rest, least recently synced first, wait for the next
    pass). A failure on one payment is logged and counted; the rest are still done.
    Returns counts per result.

    Celery's SoftTimeLimitExceeded is re-raised, never counted as one payment's failure:
    the task must stop when told, not carry on into the hard limit that kills the worker
    process. The Xendit gateway may have wrapped it in a GatewayError.
    """
    counts = {"checked": 0, "paid": 0, "expired": 0, "unchanged": 0, "failed": 0}
    gateway = gateway or get_gateway()
    deadline = time.monotonic() + time_budget.total_seconds()
    for payment_id in payments_to_reconcile(late_window=late_window, limit=limit):
        if time.monotonic() >= deadline:
            logger.warning("reconcile: time budget of %s spent; the rest waits for the next pass", time_budget)
            break
        counts["checked"] += 1
        try:
            counts[payment_reconcile(payment_id=payment_id, gateway=gateway)] += 1
        except SoftTimeLimitExceeded:
            logger.warning("reconcile: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
            raise
        except Exception as error:
            if caused_by_soft_time_limit(error):
                logger.warning("reconcile: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
                raise SoftTimeLimitExceeded() from error
            logger.exception("reconcile: payment %s failed", payment_id)
            payment_note_asked(payment_id=payment_id)
            counts["failed"] += 1
    logger.info("reconcile: %s", counts)
    return counts


# --- invoices our expiry or cancel left open ---------------------------------------------

# The after-commit task normally closes the invoice within seconds (its retries within a
# couple of minutes); only an order closed longer ago than this is the sweep's business.
INVOICE_LEFT_OPEN_AFTER = timedelta(minutes=10)
# How long one sweep may start new closes. One close is up to two gateway calls (expire,
# then a read), each ≈ 24 s at worst (see RECONCILE_TIME_BUDGET in payments/services.py):
# 10 s + 48 s stays below the task's 60 s soft time limit.
INVOICE_CLOSE_TIME_BUDGET = timedelta(seconds=10)


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
    for payment_id in invoices_left_open(
        now=now, older_than=INVOICE_LEFT_OPEN_AFTER, late_window=late_window, limit=limit
    ):
        if time.monotonic() >= deadline:
            expiry_logger.warning("left-open invoices: time budget of %s spent; the rest waits", time_budget)
            break
        counts["checked"] += 1
        try:
            counts[invoice_expire(payment_id=payment_id)] += 1
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            if caused_by_soft_time_limit(error):
                raise SoftTimeLimitExceeded() from error
            expiry_logger.warning("left-open invoices: closing the invoice of payment %s failed: %r", payment_id, error)
            payment_note_asked(payment_id=payment_id)
            counts["failed"] += 1
    if counts["checked"]:
        expiry_logger.warning("left-open invoices: %s", counts)
    return counts
