"""Celery tasks of the notifications app: thin, they call services and own the retries.

The services queue these tasks, so this module imports nothing of ours above the models at
its top; each task imports its service when it runs (docs/architecture.md, "Layers").
"""

import math

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from tedxpay.celery import backoff_delay

# How long a confirmation waits for the "order expired" email of its order that is being
# sent right now: about one send (EMAIL_TIMEOUT, 20 s by default).
NOTIFICATION_DEFER_DELAY = 20


# acks_late + reject_on_worker_lost: a worker that dies mid-send gives the message back;
# running twice is safe because only the sender that claims the row sends, and a `sent`
# row is never sent again. Its own time limits, shorter than the default ones: the claim
# timeout is derived from the hard one (notifications/services.py).
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.NOTIFICATION_MAX_RETRIES,
    soft_time_limit=settings.NOTIFICATION_SEND_SOFT_TIME_LIMIT,
    time_limit=settings.NOTIFICATION_SEND_TIME_LIMIT,
)
def notification_send_task(self, notification_id: int) -> None:
    from notifications.services import (
        NotificationDeferred,
        NotificationSendFailed,
        notification_mark_failed,
        notification_send,
    )

    try:
        notification = notification_send(notification_id=notification_id)
    except Notification.DoesNotExist:
        return  # its order was deleted (admin clean-up): nothing left to send
    except NotificationDeferred:
        # An older email of the order is going out right now. A new message rather than a
        # retry: waiting one's turn is not a failure and must not use the failure retries.
        # Should queueing fail (broker down), the row stays pending for the stalled sweep.
        notification_send_task.apply_async((notification_id,), countdown=NOTIFICATION_DEFER_DELAY)
        return
    except NotificationSendFailed as error:
        if self.request.retries >= self.max_retries:
            notification_mark_failed(notification_id=notification_id)
            return
        countdown = backoff_delay(
            self.request.retries,
            base=settings.NOTIFICATION_RETRY_BASE_DELAY,
            cap=settings.NOTIFICATION_RETRY_MAX_DELAY,
        )
        raise self.retry(exc=error, countdown=countdown) from error
    if notification.status == NotificationStatus.SENDING and self.request.retries < self.max_retries:
        # Another sender holds the row. Usually it finishes in seconds and the next look
        # finds `sent`; but if it was this very message's earlier run, killed mid-send and
        # handed back at once (reject_on_worker_lost), nobody else will ever finish it:
        # look again as soon as its claim can be taken over.
        raise self.retry(countdown=_seconds_until_claim_expires(notification))


# One message for many emails (an event moved: every buyer told): the request that owes them
# publishes this once, and the worker publishes the sends. A send that cannot be queued
# stays pending for the stalled sweep, as any other.
@shared_task
def notifications_send_start_task(notification_ids: list[int]) -> None:
    from notifications.services import notifications_send_start

    notifications_send_start(notification_ids)


def _seconds_until_claim_expires(notification: Notification) -> int:
    from notifications.services import SEND_CLAIM_TIMEOUT

    if notification.claimed_at is None:
        return 1
    expires = notification.claimed_at + SEND_CLAIM_TIMEOUT - timezone.now()
    return max(1, math.ceil(expires.total_seconds()) + 1)


# Beat, every couple of minutes. No retry of its own: the next run does the same work.
@shared_task
def notifications_requeue_stalled_task(limit: int = 200) -> int:
    """Queue the send again for emails whose task was lost (the broker was down when it was
    queued after the commit, or a claim was left by a dead sender)."""
    from notifications.services import notifications_requeue_stalled

    return notifications_requeue_stalled(limit=limit)


@shared_task(bind=True, max_retries=3)
def order_links_send_task(self, email: str, language: str, order_codes: list[str] | None = None) -> int:
    from notifications.order_links import order_links_send

    try:
        return order_links_send(email=email, language=language, order_codes=order_codes)
    except Exception as error:
        raise self.retry(exc=error, countdown=backoff_delay(self.request.retries, base=30, cap=600)) from error


# Beat, every minute. No retry of its own: the next run does the same work.
@shared_task
def payment_reminders_queue_task() -> int:
    from notifications.reminders import payment_reminders_queue

    return payment_reminders_queue()
