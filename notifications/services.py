"""Notifications: emails owed to buyers.

A notification row is written in the transaction that makes it owed (an order paid,
expired…), at most one per (order, kind); the send task starts only after that
transaction commits, so a rolled-back change never emails anyone.
"""

from django.db import transaction

from notifications.models import Notification


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
