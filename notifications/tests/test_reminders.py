"""The unpaid-order reminder: one email with the payment link shortly before the hold
ends, never twice, never for an order paid, expired or cancelled meanwhile. The sweep is
run with an explicit clock (`now`)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.reminders import payment_reminders_queue
from notifications.services import notification_send
from notifications.tests.conftest import make_order
from orders.models import EventSource, Order
from orders.services import order_cancel, order_expire, order_mark_paid

pytestmark = pytest.mark.django_db


def reminders(order: Order):
    return Notification.objects.filter(order=order, kind=NotificationKind.PAYMENT_REMINDER)


def test_sent_once_ten_minutes_before_the_hold_ends_with_the_payment_link(settings):
    assert timedelta(minutes=10) == settings.PAYMENT_REMINDER_BEFORE  # the documented default
    order = make_order(language="id")
    expires_at = order.expires_at

    assert payment_reminders_queue(now=expires_at - timedelta(minutes=11)) == 0
    assert not reminders(order).exists()

    assert payment_reminders_queue(now=expires_at - timedelta(minutes=9, seconds=30)) == 1
    assert payment_reminders_queue(now=expires_at - timedelta(minutes=8)) == 0  # never twice
    [reminder] = reminders(order)

    notification_send(notification_id=reminder.pk)
    [message] = mail.outbox
    assert message.to == [order.buyer.email]
    assert order.code in message.subject and message.subject.startswith("Kursi Anda")
    assert order.payment.invoice_url in message.body
    assert f"/orders/{order.code}/{order.link_secret}/" in message.body
    assert "Rp 850.000" in message.body
    reminder.refresh_from_db()
    assert reminder.status == NotificationStatus.SENT

    notification_send(notification_id=reminder.pk)  # a redelivered task
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("what_happened", ["paid", "expired", "cancelled"])
def test_not_sent_when_the_order_was_settled_meanwhile(what_happened):
    order = make_order()
    assert payment_reminders_queue(now=order.expires_at - timedelta(minutes=5)) == 1
    if what_happened == "paid":
        order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    elif what_happened == "expired":
        order_expire(order_id=order.pk, source=EventSource.EXPIRY)
    else:
        order_cancel(order_id=order.pk, source=EventSource.ADMIN)

    notification_send(notification_id=reminders(order).get().pk)

    assert not [m for m in mail.outbox if "Kursi Anda" in m.subject or "held a few more" in m.subject]
    assert reminders(order).get().status == NotificationStatus.OBSOLETE
    assert order.events.filter(note__startswith="payment reminder not sent").exists()


def test_not_queued_for_orders_already_settled_or_past_their_hold():
    paid, expired = make_order(), make_order()
    order_mark_paid(order_id=paid.pk, paid_amount=paid.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    order_expire(order_id=expired.pk, source=EventSource.EXPIRY)
    late = make_order()
    assert payment_reminders_queue(now=late.expires_at + timedelta(seconds=1)) == 0
    assert payment_reminders_queue(now=paid.expires_at - timedelta(minutes=5)) == 1  # `late` only
    assert reminders(late).exists() and not reminders(paid).exists() and not reminders(expired).exists()


def test_not_sent_once_the_hold_has_run_out():
    order = make_order()
    payment_reminders_queue(now=order.expires_at - timedelta(minutes=5))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    notification_send(notification_id=reminders(order).get().pk)
    assert not mail.outbox
    assert reminders(order).get().status == NotificationStatus.OBSOLETE


def test_a_setting_of_zero_sends_none(settings):
    settings.PAYMENT_REMINDER_BEFORE = timedelta(0)
    order = make_order()
    assert payment_reminders_queue(now=order.expires_at - timedelta(minutes=1)) == 0
