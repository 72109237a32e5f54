"""Sending: at most once per notification, retried with backoff when the backend fails,
marked failed after the last retry, and never a reason to touch the order."""

import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings

from notifications.models import NotificationStatus
from notifications.services import NotificationSendFailed, notification_mark_failed, notification_send
from notifications.tasks import notification_send_task
from notifications.tests.backends import FlakyBackend
from notifications.tests.conftest import make_order, pay
from orders.models import Order, OrderStatus
from tedxpay.celery import backoff_delay

pytestmark = pytest.mark.django_db


def test_send_records_it_and_a_second_send_does_nothing(confirmation):
    notification = confirmation()

    notification_send(notification_id=notification.pk)
    notification_send(notification_id=notification.pk)
    notification_send_task.apply(args=[notification.pk])  # a redelivered task

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notification.sent_at is not None
    assert notification.last_error == ""


@override_settings(EMAIL_BACKEND="notifications.tests.backends.FailingBackend")
def test_failing_backend_is_retried_then_marked_failed_and_the_order_is_untouched(confirmation):
    notification = confirmation()
    order_before = Order.objects.values().get(pk=notification.order_id)
    events_before = notification.order.events.count()

    notification_send_task.apply(args=[notification.pk])  # runs its retries in place

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == settings.NOTIFICATION_MAX_RETRIES + 1
    assert notification.last_error == "SMTPException: Connection unexpectedly closed"
    assert notification.sent_at is None
    assert mail.outbox == []
    assert Order.objects.values().get(pk=notification.order_id) == order_before  # not even updated_at
    assert notification.order.events.count() == events_before
    assert order_before["status"] == OrderStatus.PAID


@override_settings(EMAIL_BACKEND="notifications.tests.backends.FlakyBackend")
def test_a_backend_that_recovers_gets_the_email_out_on_a_retry(confirmation, monkeypatch):
    monkeypatch.setattr(FlakyBackend, "failures_left", 2)
    notification = confirmation()

    notification_send_task.apply(args=[notification.pk])

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.last_error) == (NotificationStatus.SENT, 3, "")
    assert len(mail.outbox) == 1


def test_a_failed_send_records_the_attempt_and_raises_for_the_task(confirmation):
    notification = confirmation()
    with (
        override_settings(EMAIL_BACKEND="notifications.tests.backends.FailingBackend"),
        pytest.raises(NotificationSendFailed),
    ):
        notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 1)
    assert "Connection unexpectedly closed" in notification.last_error


def test_a_failed_notification_can_be_sent_again_later(confirmation):
    notification = confirmation()
    notification_mark_failed(notification_id=notification.pk, error="ESP down all night")

    notification_send(notification_id=notification.pk)  # e.g. the admin's "resend"

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


def test_marking_failed_never_downgrades_a_sent_notification(confirmation):
    notification = confirmation()
    notification_send(notification_id=notification.pk)
    notification_mark_failed(notification_id=notification.pk, error="late duplicate gave up")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT


def test_confirmation_is_sent_after_commit_and_a_duplicate_paid_callback_sends_nothing_more(
    celery_eager, django_capture_on_commit_callbacks
):
    order = make_order()
    with django_capture_on_commit_callbacks(execute=True):
        notification = pay(order)
        assert mail.outbox == []  # nothing leaves before the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)  # the same PAID again (Xendit retries callbacks)

    assert len(mail.outbox) == 1
    assert order.code in mail.outbox[0].subject
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    for retries in range(6):
        delay = backoff_delay(retries, base=30, cap=1800)
        expected = min(30 * 2**retries, 1800)
        assert 0.75 * expected - 1 <= delay <= 1.25 * expected + 1
    assert backoff_delay(20, base=30, cap=1800) <= 1.25 * 1800 + 1


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="notifications.tests.backends.SlowBackend")
def test_two_workers_sending_the_same_notification_at_once_send_one_email():
    notification = pay(make_order())
    barrier = threading.Barrier(4)
    errors = []

    def send():
        try:
            barrier.wait()
            notification_send(notification_id=notification.pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
