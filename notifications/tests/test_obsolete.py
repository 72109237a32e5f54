"""An "order expired" email must never reach a buyer whose order a late payment has paid
since: with retries and backoff it could otherwise arrive after the confirmation. Ordering
by design: the payment makes the unsent one `obsolete`, for good (and the send path checks
again under its claim); a confirmation whose expired email is being sent right now waits
its turn as a new task, without a worker sleeping."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

import notifications
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import (
    NotificationDeferred,
    NotificationObsolete,
    notification_mark_failed,
    notification_resend,
    notification_send,
    notifications_requeue_stalled,
)
from notifications.tasks import notification_send_task
from notifications.tests.conftest import make_order, pay
from orders.models import EventSource, OrderStatus
from orders.services import order_expire
from orders.tests.invoices.test_expiry import celery_app_sent  # noqa: F401 (fixture)

# The celery_app_sent fixture is shared by importing it; pytest passes it by parameter name,
# which ruff reads as shadowing.
# ruff: noqa: F811

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/notification/"


def expired_then_paid():
    """An order that expired (its "order expired" email owed, not sent yet) and was then
    paid late, taking its seats back (its confirmation owed)."""
    order = make_order()
    order_expire(order_id=order.pk, source=EventSource.EXPIRY)
    expired = Notification.objects.get(order=order, kind=NotificationKind.ORDER_EXPIRED)
    confirmation = pay(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order, expired, confirmation


def test_the_expired_email_of_an_order_paid_since_is_never_sent():
    order, expired, confirmation = expired_then_paid()
    notification_send(notification_id=confirmation.pk)

    # The expired email's task comes last (its retries backed off past the late payment).
    notification_send_task.apply(args=[expired.pk])

    expired.refresh_from_db()
    assert expired.status == NotificationStatus.OBSOLETE
    assert (expired.sent_at, expired.claimed_at) == (None, None)
    assert len(mail.outbox) == 1
    assert order.code in mail.outbox[0].subject
    assert Notification.objects.get(pk=confirmation.pk).status == NotificationStatus.SENT
    notes = list(order.events.values_list("note", flat=True))
    assert "order-expired email not sent: the order is paid" in notes


def test_an_obsolete_email_stays_unsent_whatever_asks_for_it_afterwards(celery_eager):
    _, expired, confirmation = expired_then_paid()
    notification_send(notification_id=confirmation.pk)
    notification_send(notification_id=expired.pk)
    assert Notification.objects.get(pk=expired.pk).status == NotificationStatus.OBSOLETE

    notification_send(notification_id=expired.pk)  # a redelivered task
    notification_send_task.apply(args=[expired.pk])
    notification_mark_failed(notification_id=expired.pk, error="gave up")  # a last retry
    assert notifications_requeue_stalled(now=timezone.now() + timedelta(days=1)) == 0
    with pytest.raises(NotificationObsolete):
        notification_resend(notification_id=expired.pk, requested_by="finance@example.org")

    expired.refresh_from_db()
    assert expired.status == NotificationStatus.OBSOLETE
    assert expired.sent_at is None
    assert len(mail.outbox) == 1  # the confirmation
    assert "expired" not in mail.outbox[0].subject.lower()


def test_a_failed_expired_email_sent_from_the_admin_after_payment_becomes_obsolete(admin_client):
    _, expired, _ = expired_then_paid()
    Notification.objects.filter(pk=expired.pk).update(status=NotificationStatus.FAILED, last_error="SMTP down")

    response = admin_client.post(CHANGELIST, {"action": "resend_notifications", "_selected_action": [str(expired.pk)]})

    assert response.status_code == 302
    expired.refresh_from_db()
    assert expired.status == NotificationStatus.OBSOLETE
    assert mail.outbox == []
    listed = admin_client.get(CHANGELIST, {"status__exact": NotificationStatus.OBSOLETE})
    assert [n.pk for n in listed.context["cl"].result_list] == [expired.pk]
    assert "Obsolete (not sent)" in listed.content.decode()


def test_the_expired_email_of_an_order_that_stays_expired_is_sent():
    order = make_order()
    order_expire(order_id=order.pk, source=EventSource.EXPIRY)
    expired = Notification.objects.get(order=order, kind=NotificationKind.ORDER_EXPIRED)

    notification_send(notification_id=expired.pk)

    expired.refresh_from_db()
    assert expired.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


def test_only_the_expired_email_is_checked_a_confirmation_is_sent():
    _, expired, confirmation = expired_then_paid()

    assert notification_send(notification_id=confirmation.pk).status == NotificationStatus.SENT
    assert Notification.objects.get(pk=expired.pk).status == NotificationStatus.OBSOLETE


def test_paying_the_order_makes_its_unsent_expired_email_obsolete_at_once():
    order, expired, confirmation = expired_then_paid()

    # Before anything tried to send either email: the payment itself did it.
    expired.refresh_from_db()
    assert (expired.status, expired.attempts) == (NotificationStatus.OBSOLETE, 0)
    assert Notification.objects.get(pk=confirmation.pk).status == NotificationStatus.PENDING
    notes = list(order.events.values_list("note", flat=True))
    assert notes.count("order-expired email not sent: the order is paid") == 1
    assert mail.outbox == []


def test_a_confirmation_waits_its_turn_behind_an_expired_email_being_sent(celery_app_sent):
    order = make_order()
    order_expire(order_id=order.pk, source=EventSource.EXPIRY)
    expired = Notification.objects.get(order=order, kind=NotificationKind.ORDER_EXPIRED)
    # A sender claimed the expired email while the order was still expired, and is at it.
    Notification.objects.filter(pk=expired.pk).update(
        status=NotificationStatus.SENDING, claimed_at=timezone.now(), attempts=1
    )
    confirmation = pay(order)

    with pytest.raises(NotificationDeferred):
        notification_send(notification_id=confirmation.pk)
    # The task does not sleep and does not spend a retry: it queues itself again, later.
    notification_send_task.apply(args=[confirmation.pk])

    assert celery_app_sent == [("notifications.tasks.notification_send_task", [confirmation.pk])]
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == (NotificationStatus.PENDING, 0)
    assert mail.outbox == []

    # The expired email went out; the confirmation follows it.
    Notification.objects.filter(pk=expired.pk).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), claimed_at=None
    )
    assert notification_send(notification_id=confirmation.pk).status == NotificationStatus.SENT
    assert len(mail.outbox) == 1 and "expired" not in mail.outbox[0].subject.lower()


def test_an_expired_email_sent_before_the_late_payment_is_not_resent_after_it():
    order = make_order()
    order_expire(order_id=order.pk, source=EventSource.EXPIRY)
    expired = Notification.objects.get(order=order, kind=NotificationKind.ORDER_EXPIRED)
    notification_send(notification_id=expired.pk)  # delivered while the order was expired
    pay(order)  # then the late payment took its seats back
    mail.outbox.clear()

    with pytest.raises(NotificationObsolete):
        notification_resend(notification_id=expired.pk, requested_by="finance")

    assert mail.outbox == []
    assert Notification.objects.get(pk=expired.pk).status == NotificationStatus.SENT


def test_no_email_code_sleeps_waiting_for_another_email():
    """The order of two emails is kept by design (above), never by a worker that polls and
    sleeps: no module of the notifications app calls sleep (read from the source)."""
    package = Path(notifications.__file__).parent
    sleeping = []
    for path in sorted(package.rglob("*.py")):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name == "sleep":
                    sleeping.append(f"{path.name}:{node.lineno}")

    assert sleeping == []
