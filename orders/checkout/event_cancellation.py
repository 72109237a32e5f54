"""“Cancel event and refund everyone”: a dry-run summary first, then a Celery task that
works through the event's orders in batches, resumable after a crash, never refunding an
order twice.

Why never twice, whatever crashes where: each paid order is cancelled and its refund row
written in one transaction (`order_refund` with `cancel=True`), and a run only takes orders
that are still PAID. An order cancelled by an earlier run is not PAID any more, so it is
never picked again. A refund whose Xendit call was lost (a fault, a killed worker) stays
`requested` and is asked again with its own reference as the idempotency key, so Xendit
answers the first refund instead of making a second.

Progress and "what is left" are read from the orders and refunds, not kept in counters: a
run killed at any statement leaves nothing to repair.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from orders.checkout.refunds import order_refund, refund_submit
from orders.models import EventCancellation, EventCancellationStatus, EventSource, Order, OrderStatus
from orders.services import order_cancel, order_cancel_paid
from orders.tasks import event_cancellation_run_task
from payments.gateways.base import get_gateway
from payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from tedxpay.core.errors import ApplicationError, Conflict
from tickets.models import Event
from tickets.services import tickets_withdraw

logger = logging.getLogger(__name__)

# Channel families Xendit refunds through its API; the others become manual tasks.
API_REFUNDABLE_METHODS = ("EWALLET", "QR_CODE", "CREDIT_CARD")
# How long one run works before it hands over to the next (a new task message): well inside
# the task's soft time limit, whatever the number of orders.
RUN_TIME_BUDGET = timedelta(seconds=30)
# A running cancellation with no sign of life for this long lost its worker.
STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class CancellationPreview:
    """What “Cancel event and refund everyone” would do (nothing is written)."""

    event: Event
    paid_orders: int
    to_refund: int  # rupiah still refundable on those orders
    through_xendit: int  # orders paid by e-wallet, QRIS or card
    manual: int  # orders paid by virtual account or retail outlet: bank transfers by finance
    free_orders: int  # paid orders with nothing to refund (free tickets)
    pending_orders: int
    by_channel: list[tuple[str, int, int]] = field(default_factory=list)  # (channel, orders, rupiah)


def event_cancellation_preview(*, event_id: int) -> CancellationPreview:
    event = Event.objects.get(pk=event_id)
    paid = Payment.objects.filter(order__event_id=event_id, order__status=OrderStatus.PAID, status=PaymentStatus.PAID)
    channels = (
        paid.filter(paid_amount__gt=0)
        .values("channel", "method")
        .annotate(orders=Count("pk"), received=Sum("paid_amount"), refunded=Sum("refunded_amount"))
        .order_by("channel")
    )
    by_channel, to_refund, through_xendit, manual = [], 0, 0, 0
    for row in channels:
        amount = (row["received"] or 0) - (row["refunded"] or 0)
        by_channel.append((row["channel"] or "—", row["orders"], amount))
        to_refund += amount
        if row["method"] in API_REFUNDABLE_METHODS:
            through_xendit += row["orders"]
        else:
            manual += row["orders"]
    return CancellationPreview(
        event=event,
        paid_orders=Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).count(),
        to_refund=to_refund,
        through_xendit=through_xendit,
        manual=manual,
        free_orders=paid.filter(Q(paid_amount=0) | Q(paid_amount__isnull=True)).count(),
        pending_orders=Order.objects.filter(event_id=event_id, status=OrderStatus.PENDING).count(),
        by_channel=by_channel,
    )


def event_cancellation_start(*, event_id: int, requested_by: str, note: str = "") -> EventCancellation:
    """Take the event's tickets off sale, record the cancellation (one per event: a second
    start is refused with `Conflict`) and queue the task after commit."""
    try:
        with transaction.atomic():
            # The event's row first: two starts at once queue here, and the second finds
            # the first's cancellation, instead of each holding what the other waits for
            # (the new row's unique key against the event row's update) and deadlocking.
            Event.objects.select_for_update().filter(pk=event_id).values_list("pk", flat=True).first()
            if EventCancellation.objects.filter(event_id=event_id).exists():
                raise _already_cancelled()
            cancellation = EventCancellation.objects.create(
                event_id=event_id,
                requested_by=requested_by,
                note=note,
                heartbeat_at=timezone.now(),
                paid_orders_at_start=Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).count(),
            )
            tickets_withdraw(event_id=event_id)
            transaction.on_commit(lambda: event_cancellation_continue(cancellation_id=cancellation.pk), robust=True)
    except IntegrityError as error:  # the unique row, should anything pass the check above
        raise _already_cancelled() from error
    return cancellation


def _already_cancelled() -> Conflict:
    return Conflict("This event is being cancelled already (or was).", code="event_already_cancelled")


def event_cancellation_continue(*, cancellation_id: int, countdown: float = 0) -> None:
    """Queue the next run (the task calls this when a run ran out of time)."""
    event_cancellation_run_task.apply_async((cancellation_id,), countdown=countdown)


@dataclass
class RunResult:
    cancelled: int = 0
    refunds_asked: int = 0
    errors: int = 0
    finished: bool = False


def event_cancellation_run(
    *, cancellation_id: int, gateway=None, time_budget: timedelta = RUN_TIME_BUDGET
) -> RunResult:
    """One run: cancel pending orders, cancel and refund paid ones (oldest first), ask
    Xendit again for refunds of this event still `requested`, until done or the time
    budget is spent. Safe to run twice at once (each order is taken under its lock and only
    while PAID). `finished` when no paid order and no unasked refund is left."""
    cancellation = EventCancellation.objects.select_related("event").get(pk=cancellation_id)
    result = RunResult()
    if cancellation.status == EventCancellationStatus.FINISHED:
        result.finished = True
        return result
    EventCancellation.objects.filter(pk=cancellation_id).update(runs=cancellation.runs + 1, heartbeat_at=timezone.now())
    gateway = gateway or get_gateway()
    deadline = time.monotonic() + time_budget.total_seconds()
    event_id = cancellation.event_id
    who = f"event cancellation ({cancellation.requested_by})"
    note = f"event cancelled: {cancellation.note}" if cancellation.note else "event cancelled"
    last_error = ""

    for order_id in Order.objects.filter(event_id=event_id, status=OrderStatus.PENDING).values_list("pk", flat=True):
        try:
            order_cancel(order_id=order_id, source=EventSource.SYSTEM, note=note, notify=True)
            result.cancelled += 1
        except ApplicationError as error:
            result.errors += 1  # paid meanwhile: the paid loop below takes it
            last_error = f"order {order_id}: {error.message}"

    paid = Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).order_by("pk")
    for order_id in list(paid.values_list("pk", flat=True)):
        if time.monotonic() >= deadline:
            break
        try:
            if _refundable(order_id):
                order_refund(
                    order_id=order_id,
                    requested_by=who,
                    reason=RefundReason.CANCELLATION,
                    note=note,
                    cancel=True,
                    release_seats=False,  # the event is off: nothing to sell them for
                    source=EventSource.SYSTEM,
                    gateway=gateway,
                )
                result.refunds_asked += 1
            else:
                order_cancel_paid(order_id=order_id, release_seats=False, source=EventSource.SYSTEM, note=note)
            result.cancelled += 1
        except ApplicationError as error:
            # Refunded or cancelled by someone else meanwhile: the order is not PAID any more
            # and drops out; anything else is retried by the next run.
            result.errors += 1
            last_error = f"order {order_id}: {error.message}"
            logger.warning("event cancellation %s: order %s: %s", cancellation_id, order_id, error.message)
        if result.cancelled % 10 == 0:
            EventCancellation.objects.filter(pk=cancellation_id).update(heartbeat_at=timezone.now())

    waiting = Refund.objects.filter(order__event_id=event_id, status=RefundStatus.REQUESTED).order_by("pk")
    for refund_id in waiting.values_list("pk", flat=True):
        if time.monotonic() >= deadline:
            break
        refund_submit(refund_id=refund_id, gateway=gateway, source=EventSource.SYSTEM)
        EventCancellation.objects.filter(pk=cancellation_id).update(heartbeat_at=timezone.now())

    left = paid.exists() or waiting.exists()
    updates = {"heartbeat_at": timezone.now()}
    if last_error:
        updates["last_error"] = last_error[:2000]
    if not left:
        updates.update(status=EventCancellationStatus.FINISHED, finished_at=timezone.now())
        result.finished = True
    EventCancellation.objects.filter(pk=cancellation_id).update(**updates)
    return result


def _refundable(order_id: int) -> bool:
    payment = Payment.objects.filter(order_id=order_id).first()
    return payment is not None and payment.refundable > 0


def event_cancellation_progress(*, cancellation: EventCancellation) -> dict:
    """Counts for the admin's progress page, read from the database as it is now: the
    refunds of this cancellation, asked for since it was requested (not the event's earlier
    refunds of single orders)."""
    event_id = cancellation.event_id
    ours = Refund.objects.filter(order__event_id=event_id, requested_at__gte=cancellation.requested_at)
    refunds = dict(ours.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {
        "paid_left": Order.objects.filter(event_id=event_id, status=OrderStatus.PAID).count(),
        "pending_left": Order.objects.filter(event_id=event_id, status=OrderStatus.PENDING).count(),
        "refunds": {status.label: refunds.get(status.value, 0) for status in RefundStatus},
        "refunded_amount": ours.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))["total"] or 0,
    }


def event_cancellations_resume(*, now=None) -> int:
    """Start again the cancellations whose worker died (beat, and the admin's "Resume").
    Returns how many were queued."""
    now = now or timezone.now()
    stale = EventCancellation.objects.filter(status=EventCancellationStatus.RUNNING).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lte=now - STALE_AFTER)
    )
    ids = list(stale.values_list("pk", flat=True))
    for cancellation_id in ids:
        event_cancellation_continue(cancellation_id=cancellation_id)
    return len(ids)
