"""The unpaid-order reminder: one email with the payment link shortly before the hold ends.

A beat task looks every minute for PENDING orders whose hold ends within
PAYMENT_REMINDER_BEFORE (10 minutes by default) and owes each one reminder. It is a
Notification like any other email: one per (order, kind), so never twice, sent after
commit by the send task, retried, visible in the admin. Whether it still tells the truth is
checked again right before the send (`notification_send`): an order paid, expired or
cancelled in the meantime gets no reminder.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services import notification_queue
from orders.models import Order, OrderStatus

REMINDERS_PER_RUN = 500


def payment_reminders_queue(*, now: datetime | None = None, limit: int = REMINDERS_PER_RUN) -> int:
    """Owe a reminder to every order that is due one now; returns how many were queued."""
    before = settings.PAYMENT_REMINDER_BEFORE
    if not before:
        return 0
    now = now or timezone.now()
    due = (
        Order.objects.filter(status=OrderStatus.PENDING, expires_at__gt=now, expires_at__lte=now + before)
        # Only orders that can be paid: a free order is never PENDING, and one whose
        # invoice is still being created has no link to send yet (a later run does).
        .exclude(payment__invoice_url="")
        .exclude(notifications__kind=NotificationKind.PAYMENT_REMINDER)
        .select_related("buyer")
        .order_by("expires_at")[:limit]
    )
    queued = 0
    for order in due:
        notification_queue(order=order, kind=NotificationKind.PAYMENT_REMINDER)
        queued += 1
    return queued
