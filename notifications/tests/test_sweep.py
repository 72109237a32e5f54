"""The stalled-notification sweep: emails whose send task was lost (the broker refused it
after the commit, a dead sender's claim nobody redelivered) are queued again from the
database, once per stall window, and sent exactly once."""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from notifications.services import (
    NOTIFICATION_STALL_AFTER,
    SEND_CLAIM_TIMEOUT,
    notification_queue,
    notifications_requeue_stalled,
)
from notifications.tasks import notifications_requeue_stalled_task
from notifications.tests.conftest import make_order, pay

pytestmark = pytest.mark.django_db

LATER = NOTIFICATION_STALL_AFTER + timedelta(seconds=1)


def later(delta: timedelta = LATER):
    return timezone.now() + delta


def test_a_pending_email_nobody_queued_is_sent_once_after_the_stall_time(confirmation, celery_eager):
    # Tests run inside one transaction: the on-commit send never started, as with a broker
    # that refused it.
    notification = confirmation()

    assert notifications_requeue_stalled() == 0  # just written: its task may be on its way
    assert notifications_requeue_stalled(now=later()) == 1

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert len(mail.outbox) == 1
    assert notifications_requeue_stalled(now=later(2 * LATER)) == 0
    assert len(mail.outbox) == 1


def test_the_beat_task_runs_the_sweep(confirmation, celery_eager):
    notification = confirmation()
    Notification.objects.filter(pk=notification.pk).update(updated_at=timezone.now() - LATER)

    assert notifications_requeue_stalled_task.apply().get() == 1

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


def test_a_pending_email_waiting_for_its_retry_is_left_to_it_until_the_retry_is_overdue(confirmation, celery_eager):
    notification = confirmation()
    # One failed attempt: back to pending, the task's retry is counting down.
    Notification.objects.filter(pk=notification.pk).update(attempts=1, last_error="SMTPException: timeout")
    longest_retry = timedelta(seconds=settings.NOTIFICATION_RETRY_MAX_DELAY * 1.25)

    assert notifications_requeue_stalled(now=later()) == 0
    assert notifications_requeue_stalled(now=later(longest_retry)) == 0
    assert notifications_requeue_stalled(now=later(longest_retry + LATER)) == 1

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)
    assert len(mail.outbox) == 1


def test_a_dead_senders_claim_is_queued_and_taken_over_but_a_live_one_is_not(confirmation, celery_eager):
    dead, live = confirmation(), confirmation()
    claimed_long_ago = timezone.now() - SEND_CLAIM_TIMEOUT - timedelta(seconds=1)
    Notification.objects.filter(pk=dead.pk).update(
        status=NotificationStatus.SENDING, claimed_at=claimed_long_ago, updated_at=claimed_long_ago, attempts=1
    )
    Notification.objects.filter(pk=live.pk).update(status=NotificationStatus.SENDING, claimed_at=timezone.now())

    # `now` inside the stall time of `live` (just claimed) but past the claim timeout of `dead`.
    assert notifications_requeue_stalled() == 1

    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.attempts) == (NotificationStatus.SENT, 2)
    assert live.status == NotificationStatus.SENDING
    assert [message.to for message in mail.outbox] == [[dead.to_email]]


@pytest.mark.parametrize("status", [NotificationStatus.SENT, NotificationStatus.FAILED, NotificationStatus.OBSOLETE])
def test_sent_failed_and_obsolete_emails_are_left_alone(confirmation, celery_eager, status):
    notification = confirmation()
    Notification.objects.filter(pk=notification.pk).update(status=status)

    assert notifications_requeue_stalled(now=later(timedelta(days=2))) == 0

    notification.refresh_from_db()
    assert notification.status == status
    assert mail.outbox == []


def test_a_run_is_bounded_and_the_next_run_carries_on(celery_eager):
    notifications = [pay(make_order()) for _ in range(3)]

    assert notifications_requeue_stalled(now=later(), limit=2) == 2
    assert len(mail.outbox) == 2
    assert notifications_requeue_stalled(now=later(), limit=2) == 1

    assert {n.status for n in Notification.objects.filter(pk__in=[n.pk for n in notifications])} == {
        NotificationStatus.SENT
    }
    assert len(mail.outbox) == 3


def test_with_the_broker_down_the_sweep_stops_and_tries_again_one_stall_time_later(confirmation, broker_down, caplog):
    notification = confirmation()
    first = later()

    with caplog.at_level(logging.ERROR, logger="tedxpay.notifications"):
        assert notifications_requeue_stalled(now=first) == 0
    assert f"could not queue notification {notification.pk}" in caplog.text
    # Taken for this window (two beats would not both queue it), so not again at once.
    assert notifications_requeue_stalled(now=first) == 0
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 0)


def test_queueing_after_commit_with_the_broker_down_logs_and_keeps_the_row(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    order = make_order()

    with (
        caplog.at_level(logging.ERROR, logger="tedxpay.notifications"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        notification = notification_queue(order=order, kind="order_confirmation")

    assert len(callbacks) == 1  # ran, and did not raise
    assert f"notification {notification.pk}: could not queue its send" in caplog.text
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 0)
