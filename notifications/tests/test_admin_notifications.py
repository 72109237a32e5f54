"""Emails in the admin: filters, the last error, and "send now" through notification_send."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_send

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


def resend(client, notifications):
    response = client.post(
        CHANGELIST, {"action": "resend_notifications", "_selected_action": [str(n.pk) for n in notifications]}
    )
    assert response.status_code == 302
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_list_filters_and_page(admin_client, confirmation):
    failed = confirmation()
    Notification.objects.filter(pk=failed.pk).update(
        status=NotificationStatus.FAILED, last_error="SMTPException: Connection unexpectedly closed"
    )
    sent = confirmation()
    notification_send(notification_id=sent.pk)

    response = admin_client.get(CHANGELIST, {"status__exact": "failed"})

    assert [n.pk for n in response.context["cl"].result_list] == [failed.pk]
    assert "SMTPException: Connection unexpectedly closed" in response.content.decode()
    response = admin_client.get(CHANGELIST, {"kind__exact": NotificationKind.ORDER_CONFIRMATION})
    assert {n.pk for n in response.context["cl"].result_list} == {failed.pk, sent.pk}
    page = admin_client.get(reverse("admin:notifications_notification_change", args=[failed.pk]))
    assert page.status_code == 200 and failed.order.code in page.content.decode()
    assert 'name="_save"' not in page.content.decode()


def test_no_add_no_delete(admin_client, confirmation):
    notification = confirmation()

    assert admin_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    delete_url = reverse("admin:notifications_notification_delete", args=[notification.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=notification.pk).exists()


def test_send_now_sends_a_failed_email_and_resends_a_sent_one(admin_client, confirmation):
    failed = confirmation()
    Notification.objects.filter(pk=failed.pk).update(status=NotificationStatus.FAILED, last_error="SMTP down")
    sent = confirmation()
    notification_send(notification_id=sent.pk)
    mail.outbox.clear()

    messages = resend(admin_client, [failed, sent])

    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT and failed.last_error == ""
    assert [message.to for message in mail.outbox] == [[failed.to_email], [sent.to_email]]
    assert len(messages) == 1
    assert messages[0].startswith(
        f"Sent 2: {failed.order.code} order confirmation with e-tickets (to {failed.to_email}), "
        f"{sent.order.code} order confirmation with e-tickets (again, to {sent.to_email}; first sent "
    )
    # The copy is its own row in the list, beside the original, saying who asked for it.
    copy = Notification.objects.get(resend_of=sent)
    listed = admin_client.get(CHANGELIST, {"order__id__exact": sent.order_id})
    assert {n.pk for n in listed.context["cl"].result_list} == {sent.pk, copy.pk}
    assert "copy 1, asked by admin" in listed.content.decode()


@override_settings(EMAIL_BACKEND="notifications.tests.backends.FailingBackend")
def test_resend_that_fails_again_says_why(admin_client, confirmation):
    notification = confirmation()

    messages = resend(admin_client, [notification])

    notification.refresh_from_db()
    assert notification.status != NotificationStatus.SENT and notification.attempts == 1
    assert "Connection unexpectedly closed" in notification.last_error
    assert messages == [
        f"Failed {notification.order.code} order confirmation with e-tickets: not sent to {notification.to_email}: "
        "SMTPException: Connection unexpectedly closed"
    ]
