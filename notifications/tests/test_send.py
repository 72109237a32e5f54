"""Sending: at most once per notification, retried with backoff when the backend fails,
marked failed after the last retry, and never a reason to touch the order."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import (
    SEND_CLAIM_TIMEOUT,
    NotificationSendFailed,
    notification_mark_failed,
    notification_queue,
    notification_send,
)
from notifications.tasks import notification_send_task
from notifications.tests.backends import DyingBackend, FlakyBackend, ObservingBackend
from notifications.tests.conftest import make_order, pay
from orders.models import Order, OrderStatus
from payments.tests.conftest import callback_body, post_callback
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
    assert (notification.status, notification.attempts, notification.claimed_at) == (
        NotificationStatus.PENDING,
        1,
        None,
    )
    assert "Connection unexpectedly closed" in notification.last_error


def test_a_failed_notification_that_fails_again_stays_failed(confirmation):
    notification = confirmation()
    notification_mark_failed(notification_id=notification.pk, error="ESP down all night")
    with (
        override_settings(EMAIL_BACKEND="notifications.tests.backends.FailingBackend"),
        pytest.raises(NotificationSendFailed),
    ):
        notification_send(notification_id=notification.pk)  # the admin's resend, ESP still down
    notification.refresh_from_db()
    assert (notification.status, notification.claimed_at) == (NotificationStatus.FAILED, None)
    assert notification.last_error == "SMTPException: Connection unexpectedly closed"


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


def test_confirmation_is_sent_only_after_commit(celery_eager, django_capture_on_commit_callbacks):
    order = make_order()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = pay(order)
        assert mail.outbox == []  # nothing leaves before the transaction commits

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1 and order.code in mail.outbox[0].subject
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT


def test_queueing_the_same_email_twice_starts_one_send(celery_eager, django_capture_on_commit_callbacks):
    order = make_order()
    with django_capture_on_commit_callbacks(execute=False) as first:
        notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)
    with django_capture_on_commit_callbacks(execute=False) as second:
        again = notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)  # e.g. the sweep and a callback

    for callback in first + second:
        callback()
    assert (len(first), len(second)) == (1, 0)
    assert len(mail.outbox) == 1
    again.refresh_from_db()
    assert (again.status, again.attempts) == (NotificationStatus.SENT, 1)
    assert Notification.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_paid_callback_delivered_twice_through_the_api_sends_one_email(
    client, celery_eager, placed_order, xendit_simulator
):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)

    first = post_callback(client, body)
    second = post_callback(client, body)  # Xendit delivers the same PAID again

    assert [first.json()["outcome"], second.json()["outcome"]] == ["processed", "duplicate"]
    assert len(mail.outbox) == 1 and payment.order.code in mail.outbox[0].subject
    notification = Notification.objects.get(order=payment.order)
    assert (notification.kind, notification.status, notification.attempts) == (
        NotificationKind.ORDER_CONFIRMATION,
        NotificationStatus.SENT,
        1,
    )


@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="notifications.tests.backends.ObservingBackend")
def test_no_transaction_is_open_while_the_email_is_handed_to_the_backend():
    notification = pay(make_order())
    ObservingBackend.seen = []

    notification_send(notification_id=notification.pk)

    # What the backend saw mid-send: no transaction on this connection, the row claimed.
    [(in_transaction, status, claimed_at, lock_error)] = ObservingBackend.seen
    assert in_transaction is False
    assert status == NotificationStatus.SENDING and claimed_at is not None
    if connection.vendor == "mysql":
        assert lock_error is None  # another connection locked the row at once (NOWAIT)
    notification.refresh_from_db()
    assert (notification.status, notification.claimed_at, notification.attempts) == (NotificationStatus.SENT, None, 1)


@override_settings(EMAIL_BACKEND="notifications.tests.backends.DyingBackend")
def test_a_sender_that_died_mid_send_is_taken_over_once_its_claim_is_old(confirmation):
    notification = confirmation()
    with pytest.raises(DyingBackend.Killed):
        notification_send(notification_id=notification.pk)  # the worker is killed mid-send
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENDING and notification.claimed_at is not None

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        # A redelivered task while the claim is fresh: the claimer may still be sending.
        assert notification_send(notification_id=notification.pk).status == NotificationStatus.SENDING
        notification_send_task.apply(args=[notification.pk])
        notification_mark_failed(notification_id=notification.pk)  # not over a live claim
        assert mail.outbox == []
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (NotificationStatus.SENDING, 1)

        # Older than the timeout: no live sender can still hold it (tasks die at 90 s).
        Notification.objects.filter(pk=notification.pk).update(
            claimed_at=timezone.now() - SEND_CLAIM_TIMEOUT - timedelta(seconds=1)
        )
        notification_send_task.apply(args=[notification.pk])
        notification_send_task.apply(args=[notification.pk])

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.claimed_at) == (NotificationStatus.SENT, 2, None)


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
