"""The expiry sweep asks Xendit before it gives seats back (docs/reliability.md).

With a PAID callback lost, the bare sweep expired orders that were paid on time; their
seats sold within seconds and the buyers were flagged for a refund instead of getting their
tickets. So before `order_expire_stale` runs, the stale PENDING orders that have an invoice
are looked up at Xendit in batches: one list call per batch of orders (the list API's
`statuses` and `created_after` / `created_before` filters, around the batch's creation
times, page by page), not one call per order. A paid invoice found there is applied
through the one rule (`invoice_apply`): the order becomes PAID in time, seats kept.

Bounded: no new list call starts once ASK_TIME_BUDGET is spent. A batch whose list fails
(or has more than ASK_MAX_PAGES pages) is read invoice by invoice while the budget lasts.
Orders Xendit could not be asked about (down, out of time) keep their seats until the next sweep, but not
for ever: once EXPIRY_ASK_GRACE past their expiry they expire anyway, and the expiry of
their invoice at Xendit after commit still records a payment it finds (late-payment path).
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from orders.checkout.invoices import invoice_apply
from orders.expiry import order_expire_stale
from orders.models import EventSource, OrderStatus
from payments.gateways.base import PAID_STATUSES, GatewayError, Invoice, PaymentGateway, get_gateway
from payments.models import Payment
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger("tedxpay.orders.expiry")

# A list call is ≈ 24 s at worst (the gateway's `worst_call`): 20 s + 24 s + the expiries
# stay inside the task's 60 s soft time limit.
ASK_TIME_BUDGET = timedelta(seconds=20)
# Past this after its expiry time an order expires even if Xendit could not be asked.
EXPIRY_ASK_GRACE = timedelta(minutes=10)
# Orders per list call, and pages read per batch at most (100 invoices each).
ASK_BATCH_SIZE = 100
ASK_MAX_PAGES = 10
# An invoice is made after its order row (placement commits first, then creates it, up to
# a create's timeout later) and not before.
_CREATED_SLACK_BEFORE = timedelta(seconds=5)
_CREATED_SLACK_AFTER = timedelta(minutes=2)


def _paid_invoices_created_between(
    gateway: PaymentGateway, start: datetime, end: datetime, deadline: float
) -> dict[str, Invoice]:
    """Paid invoices created in the window, by id. Raises GatewayError, or TimeoutError when
    the window has more pages than the budget allows (the batch then counts as not asked)."""
    found: dict[str, Invoice] = {}
    cursor = None
    for _ in range(ASK_MAX_PAGES):
        if time.monotonic() >= deadline:
            raise TimeoutError("time budget spent")
        page = gateway.list_invoices(
            statuses=tuple(sorted(PAID_STATUSES)),
            created_after=start,
            created_before=end,
            limit=100,
            last_invoice=cursor,
        )
        found.update((invoice.id, invoice) for invoice in page)
        if len(page) < 100:
            return found
        cursor = page[-1].id
    raise TimeoutError("too many pages")


def _paid_invoices_read_one_by_one(gateway: PaymentGateway, batch: list, deadline: float) -> dict[str, Invoice | None]:
    """Each invoice of the batch read on its own until the budget is spent: {id: the invoice
    if paid, None if not}. An invoice not in the answer could not be asked about."""
    answers: dict[str, Invoice | None] = {}
    for _payment_id, invoice_id, *_rest in batch:
        if time.monotonic() >= deadline:
            break
        try:
            invoice = gateway.get_invoice(invoice_id)
        except GatewayError as error:
            if caused_by_soft_time_limit(error):
                raise
            continue
        answers[invoice_id] = invoice if invoice.is_paid else None
    return answers


def stale_orders_ask_xendit(*, now: datetime, gateway: PaymentGateway | None = None) -> tuple[set[int], int]:
    """Look up at Xendit the invoices of PENDING orders past their expiry time; record the
    paid ones. Returns (ids of orders not to expire this run, how many were found paid)."""
    gateway = gateway or get_gateway()
    candidates = list(
        Payment.objects.filter(order__status=OrderStatus.PENDING, order__expires_at__lte=now, invoice_id__isnull=False)
        .order_by("order_id")
        .values_list("pk", "invoice_id", "order_id", "order__created_at", "order__expires_at")[
            : settings.ORDER_EXPIRY_MAX_PER_RUN
        ]
    )
    hold_back: set[int] = set()
    paid = 0
    deadline = time.monotonic() + ASK_TIME_BUDGET.total_seconds()
    for first in range(0, len(candidates), ASK_BATCH_SIZE):
        batch = candidates[first : first + ASK_BATCH_SIZE]
        try:
            found = _paid_invoices_created_between(
                gateway,
                min(row[3] for row in batch) - _CREATED_SLACK_BEFORE,
                max(row[3] for row in batch) + _CREATED_SLACK_AFTER,
                deadline,
            )
        except (GatewayError, TimeoutError) as error:
            if caused_by_soft_time_limit(error):
                raise
            # The list failed or had too many pages: read this batch's invoices one by one
            # while the budget lasts.
            found = _paid_invoices_read_one_by_one(gateway, batch, deadline)
            unasked = [row for row in batch if row[1] not in found and row[4] > now - EXPIRY_ASK_GRACE]
            hold_back.update(row[2] for row in unasked)
            if unasked:
                logger.warning(
                    "expiry: could not ask Xendit about %d order(s) (%r); they keep their seats until the next sweep",
                    len(unasked),
                    error,
                )
            found = {invoice_id: invoice for invoice_id, invoice in found.items() if invoice is not None}
        for payment_id, invoice_id, order_id, _created, _expires in batch:
            invoice = found.get(invoice_id)
            if invoice is None:
                continue
            try:
                invoice_apply(payment_id=payment_id, invoice=invoice, source=EventSource.EXPIRY)
                paid += 1
                logger.warning("expiry: order %s was paid at Xendit (callback lost); recorded in time", order_id)
            except Exception as error:
                if caused_by_soft_time_limit(error):
                    raise
                logger.exception("expiry: recording the payment of order %s failed", order_id)
                hold_back.add(order_id)
    return hold_back, paid


def order_expire_stale_asked(*, now: datetime | None = None) -> list[int]:
    """The expiry sweep: ask Xendit first, then expire what is still PENDING past its time."""
    now = now or timezone.now()
    hold_back, _paid = stale_orders_ask_xendit(now=now)
    return order_expire_stale(now=now, skip=hold_back)
