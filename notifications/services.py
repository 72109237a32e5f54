"""Notifications: emails owed to buyers.

A notification row is written in the transaction that makes it owed (an order paid,
expired…), at most one per (order, kind); the send task starts only after that
transaction commits, so a rolled-back change never emails anyone.
"""

import logging

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationStatus

logger = logging.getLogger("tedxpay.notifications")


def notification_queue(*, order, kind: str) -> Notification:
    """Owe the buyer the `kind` email for this order. Idempotent: a second call for the same
    (order, kind) returns the existing row and starts no second send."""
    notification, created = Notification.objects.get_or_create(
        order=order,
        kind=kind,
        defaults={"to_email": order.buyer.email, "language": order.language},
    )
    if created:
        transaction.on_commit(lambda: _start_send(notification.pk))
    return notification


def _start_send(notification_id: int) -> None:
    from notifications.tasks import notification_send_task

    notification_send_task.delay(notification_id)


class NotificationSendFailed(Exception):
    """The email could not be handed to the backend this time (recorded on the row)."""


def notification_send(*, notification_id: int) -> Notification:
    """Send the email now, unless it was already sent; record the outcome on the row.

    The row stays locked while the message is rendered and handed to the backend. That is
    what makes a duplicate task (acks_late redelivery, an admin resend, two workers) wait
    and then find the row `sent` instead of sending a second copy. The lock covers one row
    nobody else writes, and a send takes at most EMAIL_TIMEOUT. Email stays at least once:
    if the commit after a successful send fails, the retry sends again.

    Raises `NotificationSendFailed` after recording the attempt (the task retries).
    """
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status == NotificationStatus.SENT:
            return notification
        notification.attempts += 1
        try:
            from notifications.emails import notification_message  # templates, QR: only when sending

            notification_message(notification).send()
        except Exception as error:
            # Any failure (SMTP, ESP API, a template error) is recorded and retried; the
            # order itself is never touched by a failed email.
            notification.last_error = f"{type(error).__name__}: {error}"[:2000]
            notification.save(update_fields=["attempts", "last_error", "updated_at"])
            failure = error
        else:
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
            notification.last_error = ""
            notification.save(update_fields=["status", "attempts", "last_error", "sent_at", "updated_at"])
            return notification
    # Raised after the commit above, so the attempt and its error stay recorded.
    logger.warning("notification %s (%s) not sent: %s", notification_id, notification.kind, notification.last_error)
    raise NotificationSendFailed(notification.last_error) from failure


@transaction.atomic
def notification_mark_failed(*, notification_id: int, error: str = "") -> Notification:
    """Give up on this email (after the last retry): `failed`, shown in the admin, which can
    send it again. A row that was sent meanwhile stays `sent`."""
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if notification.status == NotificationStatus.SENT:
        return notification
    notification.status = NotificationStatus.FAILED
    if error:
        notification.last_error = error[:2000]
    notification.save(update_fields=["status", "last_error", "updated_at"])
    logger.error(
        "notification %s (%s) failed for good: %s", notification_id, notification.kind, notification.last_error
    )
    return notification
