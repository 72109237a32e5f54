"""The expiry sweep: PENDING orders past `expires_at` become EXPIRED through
`order_expire`, which gives the seats back and queues the expiry of the invoice at Xendit
after commit (`orders/checkout/invoices.py::invoice_expire`, run by a task). Run every
minute by `orders.tasks.order_expire_stale_task`.
"""

import logging
from collections.abc import Collection
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import EventSource, Order, OrderStatus
from orders.services import order_expire
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger("tedxpay.orders.expiry")


def order_expire_stale(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    limit: int | None = None,
    skip: Collection[int] = (),
) -> list[int]:
    """Expire PENDING orders whose `expires_at` has passed; return the ids expired.

    Each order is claimed and expired in its own short transaction, so one failure (logged)
    does not undo the others and no lock outlives one order. The claim is
    `select_for_update(skip_locked=True)`: an order a webhook is processing right now is
    skipped (the webhook decides; the next sweep looks again), and two sweeps running at
    once take different orders. The status filter is evaluated again under the lock, so an
    order paid or expired meanwhile is left alone and its seats are released only once.
    At most `limit` orders per call, read in batches of `batch_size` so the task stays
    inside its time limit; the next sweep, a minute later, carries on. Orders in `skip`
    are left for the next sweep (Xendit could not be asked about them: see
    orders/checkout/expiry_check.py, which runs this after asking).
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ORDER_EXPIRY_BATCH_SIZE
    limit = limit or settings.ORDER_EXPIRY_MAX_PER_RUN
    stale = Order.objects.filter(status=OrderStatus.PENDING, expires_at__lte=now)
    expired: list[int] = []
    seen = 0
    last_id = 0
    while seen < limit:
        # Keyset pagination on id: skipped (locked) orders are not fetched again this run.
        batch = list(stale.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        for order_id in batch[: limit - seen]:
            seen += 1
            last_id = order_id
            if order_id in skip:
                continue
            try:
                if _order_expire_claimed(order_id=order_id, now=now):
                    expired.append(order_id)
            except Exception as error:
                if caused_by_soft_time_limit(error):
                    raise  # the task is out of time: stop here, the next sweep goes on
                logger.exception("could not expire order %s", order_id)
    if expired:
        logger.info("expired %d stale order(s)", len(expired))
    return expired


@transaction.atomic
def _order_expire_claimed(*, order_id: int, now: datetime) -> bool:
    claimed = (
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk=order_id, status=OrderStatus.PENDING, expires_at__lte=now)
        .values_list("pk", flat=True)
        .first()
    )
    if claimed is None:
        return False  # paid, expired or cancelled meanwhile, or locked by a webhook right now
    order_expire(order_id=order_id, source=EventSource.EXPIRY)
    return True
