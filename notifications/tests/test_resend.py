"""Re-sending an email that was already sent, on purpose (notification_resend): one more
copy per request, the same e-tickets, to the buyer's current address, audited. The copy is
a new row pointing at the original, sent through the same claim/send/release as every
email; the original is never touched, and the automatic path (notification_send, the task)
still never sends a sent row again."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from notifications.services import (
    SEND_CLAIM_TIMEOUT,
    NotificationBusy,
    NotificationNotSentYet,
    NotificationSendFailed,
    notification_mark_failed,
    notification_resend,
    notification_send,
    notifications_requeue_stalled,
)
from notifications.tasks import notification_send_task
from notifications.tests.backends import DyingBackend
from notifications.tests.conftest import make_order, pay
from orders.models import EventSource, OrderEvent, OrderStatus
from orders.services import buyer_contact_update

pytestmark = pytest.mark.django_db


def inline_images(message) -> dict[str, bytes]:
    return {
        part["Content-ID"].strip("<>"): part.get_payload(decode=True)
        for part in message.message().walk()
        if part.get_content_type() == "image/png"
    }


def sent(notification: Notification) -> Notification:
    notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    return notification


def audit_notes(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("note", flat=True))


def unchanged(original: Notification) -> None:
    """The original row is as its own send left it: sent once, never claimed again."""
    row = Notification.objects.get(pk=original.pk)
    assert (row.status, row.sent_at, row.attempts, row.claimed_at, row.to_email, row.resend_of_id) == (
        NotificationStatus.SENT,
        original.sent_at,
        1,
        None,
        original.to_email,
        None,
    )


def test_one_resend_is_exactly_one_more_email_with_the_same_etickets(confirmation):
    notification = sent(confirmation())
    first_sent_at = notification.sent_at
    [original] = mail.outbox

    resent = notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    assert len(mail.outbox) == 2
    copy = mail.outbox[1]
    assert copy.to == original.to == [notification.to_email]
    assert copy.subject == original.subject
    assert len(inline_images(original)) == 3  # one QR per seat
    assert inline_images(copy) == inline_images(original)  # the same seats, the same codes
    for issued in notification.order.issued_tickets.all():
        assert issued.code in copy.body
    # A new row pointing at the original, sent once; the original as it was.
    assert resent.pk != notification.pk
    assert (resent.resend_of_id, resent.copy_number, resent.requested_by, resent.kind) == (
        notification.pk,
        1,
        "finance.ayu",
        notification.kind,
    )
    assert (resent.status, resent.attempts, resent.claimed_at, resent.last_error) == (
        NotificationStatus.SENT,
        1,
        None,
        "",
    )
    assert resent.sent_at > first_sent_at
    unchanged(notification)
    # A second request is a second copy, numbered after the first, pointing at the same
    # original even when asked from the first copy.
    again = notification_resend(notification_id=resent.pk, requested_by="finance.budi")
    assert (again.resend_of_id, again.copy_number, again.status) == (notification.pk, 2, NotificationStatus.SENT)
    assert len(mail.outbox) == 3


def test_a_resend_writes_an_audit_row_without_moving_the_order(confirmation):
    notification = sent(confirmation())
    events_before = OrderEvent.objects.filter(order=notification.order).count()

    notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    event = OrderEvent.objects.filter(order=notification.order).latest("pk")
    assert OrderEvent.objects.filter(order=notification.order).count() == events_before + 1
    assert (event.from_status, event.to_status, event.source) == (OrderStatus.PAID, OrderStatus.PAID, EventSource.ADMIN)
    assert event.note == f"confirmation email re-sent to {notification.to_email} by finance.ayu"
    notification.order.refresh_from_db()
    assert notification.order.status == OrderStatus.PAID


def test_the_automatic_path_still_never_sends_a_sent_row_again(confirmation):
    notification = sent(confirmation())
    notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    copy = Notification.objects.get(resend_of=notification)

    for row in (notification, copy):
        notification_send(notification_id=row.pk)  # a late duplicate callback's send
        notification_send_task.apply(args=[row.pk])  # a redelivered task

    assert len(mail.outbox) == 2  # the original and the one deliberate copy
    unchanged(notification)
    copy.refresh_from_db()
    assert (copy.status, copy.attempts) == (NotificationStatus.SENT, 1)


@pytest.mark.parametrize("status", [NotificationStatus.PENDING, NotificationStatus.FAILED])
def test_an_email_never_sent_is_not_resent_but_sent(confirmation, status):
    notification = confirmation()
    Notification.objects.filter(pk=notification.pk).update(status=status)

    with pytest.raises(NotificationNotSentYet):
        notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    assert mail.outbox == []
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (status, 0)
    assert not Notification.objects.filter(resend_of=notification).exists()


def test_a_failed_resend_leaves_a_failed_copy_records_the_error_and_says_so(confirmation):
    notification = sent(confirmation())

    with (
        override_settings(EMAIL_BACKEND="notifications.tests.backends.FailingBackend"),
        pytest.raises(NotificationSendFailed, match="Connection unexpectedly closed"),
    ):
        notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    # The first email was delivered and stays as it was; the copy that did not go out is
    # `failed` with its error, for the person who asked to see (no task retries it).
    unchanged(notification)
    copy = Notification.objects.get(resend_of=notification)
    assert (copy.status, copy.sent_at, copy.claimed_at, copy.attempts, copy.last_error) == (
        NotificationStatus.FAILED,
        None,
        None,
        1,
        "SMTPException: Connection unexpectedly closed",
    )
    assert audit_notes(notification.order)[-1] == (
        f"confirmation email re-send to {notification.to_email} by finance.ayu failed: "
        "SMTPException: Connection unexpectedly closed"
    )
    notification_mark_failed(notification_id=notification.pk)  # the task giving up elsewhere
    unchanged(notification)
    assert notifications_requeue_stalled(now=timezone.now() + timedelta(days=1)) == 0  # failed: left to finance

    again = notification_resend(notification_id=notification.pk, requested_by="finance.ayu")  # the ESP is back

    assert (again.copy_number, again.status, again.last_error) == (2, NotificationStatus.SENT, "")
    assert len(mail.outbox) == 2
    # The failed copy can be sent as it is too, like any failed email.
    assert notification_send(notification_id=copy.pk).status == NotificationStatus.SENT
    assert len(mail.outbox) == 3


def test_after_the_buyer_email_is_corrected_the_copy_goes_to_the_new_address(confirmation):
    notification = sent(confirmation())
    old_email = notification.to_email
    buyer_contact_update(order_id=notification.order_id, email="Dewi.Lestari@Example.org ", requested_by="finance.ayu")

    notification_resend(notification_id=notification.pk, requested_by="finance.ayu")

    assert [message.to for message in mail.outbox] == [[old_email], ["dewi.lestari@example.org"]]
    # Each row says where its email went.
    unchanged(notification)
    assert Notification.objects.get(resend_of=notification).to_email == "dewi.lestari@example.org"
    assert (
        audit_notes(notification.order)[-1] == "confirmation email re-sent to dewi.lestari@example.org by finance.ayu"
    )


def test_a_copy_whose_sender_died_mid_send_is_finished_once_by_the_automatic_path(confirmation):
    notification = sent(confirmation())
    with (
        override_settings(EMAIL_BACKEND="notifications.tests.backends.DyingBackend"),
        pytest.raises(DyingBackend.Killed),
    ):
        notification_resend(notification_id=notification.pk, requested_by="finance.ayu")  # the web worker dies
    copy = Notification.objects.get(resend_of=notification)
    assert copy.status == NotificationStatus.SENDING

    # While the claim is fresh, nobody else sends: not a second click, not the task.
    with pytest.raises(NotificationBusy):
        notification_resend(notification_id=notification.pk, requested_by="finance.budi")
    assert notification_send(notification_id=copy.pk).status == NotificationStatus.SENDING
    notification_mark_failed(notification_id=copy.pk)
    assert Notification.objects.get(pk=copy.pk).status == NotificationStatus.SENDING

    # Once the claim is old, the copy is an email like any other whose sender died: the
    # automatic path takes the claim over and sends it, once. The original is never sent
    # again, and no second copy was made.
    Notification.objects.filter(pk=copy.pk).update(
        claimed_at=timezone.now() - SEND_CLAIM_TIMEOUT - timedelta(seconds=1)
    )
    notification_send_task.apply(args=[copy.pk])
    notification_send_task.apply(args=[copy.pk])  # redelivered
    copy.refresh_from_db()
    assert (copy.status, copy.claimed_at) == (NotificationStatus.SENT, None)
    assert [message.to for message in mail.outbox] == [[notification.to_email], [copy.to_email]]
    unchanged(notification)
    assert Notification.objects.filter(resend_of=notification).count() == 1


def test_a_copy_its_sender_never_started_is_sent_by_the_stalled_email_sweep(confirmation, celery_eager):
    notification = sent(confirmation())
    # The web process died between writing the copy and claiming it.
    Notification.objects.create(
        order=notification.order,
        kind=notification.kind,
        to_email=notification.to_email,
        language=notification.language,
        resend_of=notification,
        copy_number=1,
        requested_by="finance.budi",
    )
    with pytest.raises(NotificationBusy):  # its copy is on its way
        notification_resend(notification_id=notification.pk, requested_by="finance.budi")

    assert notifications_requeue_stalled(now=timezone.now() + timedelta(minutes=5)) == 1

    copy = Notification.objects.get(resend_of=notification)
    assert (copy.status, copy.attempts) == (NotificationStatus.SENT, 1)
    assert len(mail.outbox) == 2
    unchanged(notification)


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="notifications.tests.backends.SlowBackend")
def test_a_double_click_on_resend_sends_one_copy():
    notification = pay(make_order())
    notification_send(notification_id=notification.pk)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def click():
        try:
            barrier.wait()
            notification_resend(notification_id=notification.pk, requested_by="finance.ayu")
            outcomes.append("sent")
        except NotificationBusy:
            outcomes.append("busy")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(outcomes) == ["busy", "sent"]
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    [copy] = Notification.objects.filter(resend_of=notification)
    assert (copy.status, copy.attempts) == (NotificationStatus.SENT, 1)
    resend_rows = OrderEvent.objects.filter(order=notification.order, note__contains="re-sent")
    assert resend_rows.count() == 1


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="notifications.tests.backends.SlowBackend")
def test_a_resend_racing_redelivered_send_tasks_sends_one_copy():
    notification = pay(make_order())
    notification_send(notification_id=notification.pk)
    mail.outbox.clear()
    barrier = threading.Barrier(3)
    errors = []

    def run(action):
        try:
            barrier.wait()
            action()
        except NotificationBusy:
            pass
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    actions = [
        lambda: notification_resend(notification_id=notification.pk, requested_by="finance.ayu"),
        lambda: notification_send(notification_id=notification.pk),
        lambda: notification_send(notification_id=notification.pk),
    ]
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(mail.outbox) == 1  # the copy; the automatic sends found the original sent
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert Notification.objects.get(resend_of=notification).status == NotificationStatus.SENT
