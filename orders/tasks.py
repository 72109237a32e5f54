"""Celery tasks of the orders app: thin wrappers that call services and own retries.

The services queue these tasks, so this module imports nothing of ours above the ground
floor at its top; each task imports its service when it runs (docs/architecture.md,
"Layers")."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from orders.models import EventSource
from payments.gateways.base import GatewayError
from tedxpay.celery import backoff_delay
from tedxpay.core.errors import ApplicationError

logger = logging.getLogger("tedxpay.orders.expiry")

INVOICE_EXPIRE_MAX_RETRIES = 8


# acks_late + reject_on_worker_lost: a worker killed mid-run gives the message back, and
# running the sweep twice is harmless (each order is claimed under a lock).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def order_expire_stale_task() -> int:
    # Xendit is asked about the stale orders' invoices first: a paid one is recorded, not expired.
    from orders.checkout.expiry_check import order_expire_stale_asked

    return len(order_expire_stale_asked())


# Beat, every few minutes. No retry of its own: the next pass is the retry, each step is
# safe to run twice, and a payment not reached this pass comes first in the next one. Its
# own time limits: the pass's time budget is worked out from the soft one (sweeps.py).
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.PAYMENTS_SWEEP_SOFT_TIME_LIMIT,
    time_limit=settings.PAYMENTS_SWEEP_TIME_LIMIT,
)
def payments_sweep_task(limit: int = 200) -> dict:
    """Look at the payments whose invoice needs it: read and apply the invoices of pending
    payments (lost callbacks), expire at Xendit those our expiry or cancel left open, look
    up by our code the invoices whose create had an unknown outcome."""
    from orders.checkout.sweeps import payments_sweep

    return payments_sweep(limit=limit)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=INVOICE_EXPIRE_MAX_RETRIES)
def invoice_expire_task(self, payment_id: int, invoice_id: str | None = None) -> str:
    """Expire the invoice of an expired or cancelled order at Xendit (safe to run twice:
    expiring an expired invoice or recording a recorded payment changes nothing).
    `invoice_id`: one placement created but could not record (see `invoice_expire`)."""
    from orders.checkout.invoices import invoice_expire

    try:
        return invoice_expire(payment_id=payment_id, invoice_id=invoice_id)
    except GatewayError as error:
        if not error.retryable:
            # Xendit refused and would refuse again. The invoice still expires by itself at
            # its own expiry time (set to the order's); a payment before that arrives as a
            # PAID callback and takes the late-payment path.
            logger.error("giving up expiring the invoice of payment %s: %r", payment_id, error)
            return "gave_up"
        raise self.retry(exc=error, countdown=backoff_delay(self.request.retries, base=10, cap=600)) from error
    except DatabaseError as error:
        # A lock wait timeout or a dropped connection while recording a late payment.
        raise self.retry(exc=error, countdown=backoff_delay(self.request.retries, base=10, cap=600)) from error


# --- money back (orders/checkout/refunds.py, orders/checkout/event_cancellation.py) -------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def order_refund_owed_task(order_id: int) -> str:
    """Refund a late payment that has no seats (REFUND_LATE_PAYMENTS_AUTOMATICALLY). Safe
    twice: a second run finds the amount reserved by the first and is refused."""
    from orders.checkout.refunds import order_refund_owed

    try:
        refund = order_refund_owed(order_id=order_id, requested_by="system (late payment)", source=EventSource.SYSTEM)
    except ApplicationError as error:
        logging.getLogger("tedxpay.orders.refunds").info("order %s: no automatic refund: %s", order_id, error.message)
        return "skipped"
    return refund.status


# Beat. The sweep is its own retry; each refund it touches is safe to touch twice.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def refunds_resume_task() -> dict:
    from orders.checkout.refunds import refunds_resume

    return refunds_resume()


# No retry of its own: a run that did not finish queues the next one (a new message), so
# each run stays far inside the soft time limit whatever the number of orders; a worker
# killed mid-run gives the message back (acks_late), and the resume sweep below restarts
# a cancellation whose messages were all lost.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def event_cancellation_run_task(cancellation_id: int) -> dict:
    from orders.checkout.event_cancellation import event_cancellation_continue, event_cancellation_run

    result = event_cancellation_run(cancellation_id=cancellation_id)
    if not result.finished:
        # Straight on while it makes progress; later when Xendit keeps failing.
        event_cancellation_continue(
            cancellation_id=cancellation_id, countdown=1 if result.refunds_asked or result.cancelled else 30
        )
    return {"cancelled": result.cancelled, "refunds_asked": result.refunds_asked, "finished": result.finished}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def event_cancellations_resume_task() -> int:
    from orders.checkout.event_cancellation import event_cancellations_resume

    return event_cancellations_resume()
