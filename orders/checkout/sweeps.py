"""The sweep: one periodic pass over the payments whose Xendit invoice needs looking at,
with one time budget.

- A PENDING payment: its callback may have been lost. The invoice is read and applied
  (`payment_reconcile`).
- A payment of an order we expired or cancelled, whose invoice Xendit has not reported
  EXPIRED: a buyer can still pay it. Within `INVOICE_LEFT_OPEN_AFTER` of our expiry or
  cancel, the expiry task queued after commit is normally at work, so the sweep only reads
  and applies; after that the expiry was never queued (broker down) or gave up, and the sweep
  expires the invoice at Xendit itself (`invoice_expire`), recording a payment that beat it.
- A payment whose invoice create had an unknown outcome (no invoice id): Xendit's invoices
  for its order code are listed until none could be paid any more (`invoice_find_unknown`).

Every step ends in the one rule (`orders.checkout.invoices.invoice_apply`). A failure is
logged and counted, and the payment comes up again next pass (least recently asked first,
`payment_mark_asked`). No new step starts once it could not finish before the time budget
ends: a read is one gateway call, an expiry up to three (expire, then a read when Xendit
refuses or leaves it open, and one more), a find a list call and an expiry; the worst case
of one call is the gateway's (`PaymentGateway.worst_call`). Celery's SoftTimeLimitExceeded
ends a pass at once.
"""

import logging
import time
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from orders.checkout.invoices import InvoiceResult, invoice_expire, payment_reconcile
from orders.checkout.unknown_invoices import invoice_find_unknown
from payments.gateways.base import PaymentGateway, get_gateway
from payments.selectors import payments_to_sweep
from payments.services import payment_mark_asked
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger(__name__)

# After our own expiry or cancel, the expiry task queued after commit normally expires the
# invoice within seconds (its retries within a couple of minutes); only an order closed
# longer ago than this has its invoice expired by the sweep.
INVOICE_LEFT_OPEN_AFTER = timedelta(minutes=10)
# How long after an order's expiry time its invoice is still looked at: older ones expired
# at Xendit by themselves long ago.
LATE_WINDOW = timedelta(hours=48)
# Gateway calls of each kind of step, for the time budget.
_CALLS = {"read": 1, "expire": 3, "find": 4}
# What `invoice_expire` found, counted as the sweep counts.
_EXPIRE_COUNTS = {"expired": "expired", "paid": "paid", "skipped": "unchanged"}


def sweep_time_budget(gateway: PaymentGateway) -> timedelta:
    """The default budget: the task's soft time limit less one worst-case gateway call, so a
    read started just before the budget ends still ends before the soft limit."""
    return timedelta(seconds=settings.PAYMENTS_SWEEP_SOFT_TIME_LIMIT) - gateway.worst_call


def payments_sweep(
    *,
    limit: int = 200,
    late_window: timedelta = LATE_WINDOW,
    time_budget: timedelta | None = None,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> dict:
    """One pass over at most `limit` payments (`payments_to_sweep`), least recently asked
    first. A step starts only while the budget leaves room for its gateway calls beyond the
    first (an expiry's later calls): `time_budget` is when the last single call may start.
    Returns counts: "checked", "paid" (money recorded), "expired" (an order or an invoice
    expired), "unchanged", "not_found" and "given_up" (an invoice looked up by our code and
    not found: looked up again next pass, or no longer), "failed".

    SoftTimeLimitExceeded is re-raised, never counted as one payment's failure: the task
    must stop when told, not carry on into the hard limit that kills the worker process. The
    gateway may have wrapped it in a GatewayError.
    """
    counts = {"checked": 0, "paid": 0, "expired": 0, "unchanged": 0, "not_found": 0, "given_up": 0, "failed": 0}
    gateway = gateway or get_gateway()
    now = now or timezone.now()
    budget = (time_budget if time_budget is not None else sweep_time_budget(gateway)).total_seconds()
    worst_call = gateway.worst_call.total_seconds()
    started = time.monotonic()
    for payment_id, step in payments_to_sweep(
        now=now, late_window=late_window, left_open_after=INVOICE_LEFT_OPEN_AFTER, limit=limit
    ):
        if time.monotonic() - started + (_CALLS[step] - 1) * worst_call >= budget:
            logger.warning("sweep: time budget of %ss spent; the rest waits for the next pass (%s)", budget, counts)
            break
        counts["checked"] += 1
        try:
            if step == "expire":
                counts[_EXPIRE_COUNTS[invoice_expire(payment_id=payment_id, gateway=gateway)]] += 1
            elif step == "find":
                counts[invoice_find_unknown(payment_id=payment_id, gateway=gateway)] += 1
            else:
                counts[InvoiceResult(payment_reconcile(payment_id=payment_id, gateway=gateway)).value] += 1
        except SoftTimeLimitExceeded:
            logger.warning("sweep: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
            raise
        except Exception as error:
            if caused_by_soft_time_limit(error):
                logger.warning("sweep: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
                raise SoftTimeLimitExceeded() from error
            logger.exception("sweep: payment %s (%s) failed", payment_id, step)
            payment_mark_asked(payment_id=payment_id)
            counts["failed"] += 1
    logger.info("sweep: %s", counts)
    return counts
