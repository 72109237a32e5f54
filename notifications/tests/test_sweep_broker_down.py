"""The broker down at the moment a send is queued after commit, for real: the Celery app
publishes to a loopback port nothing listens on. The committed change answers normally;
the email goes out, once, through the sweep when the broker is back."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import NOTIFICATION_STALL_AFTER, notifications_requeue_stalled
from orders.models import Order, OrderStatus
from orders.tests.conftest import api_key, order_body, orders_api  # noqa: F401 (fixtures)
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, post_callback
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)

AFTER_THE_STALL_TIME = NOTIFICATION_STALL_AFTER + timedelta(seconds=1)


def test_a_paid_callback_answers_200_and_the_sweep_sends_the_confirmation_once(
    client, placed_order, xendit_simulator, celery_eager, broker_down, caplog
):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)

    with caplog.at_level(logging.ERROR, logger="tedxpay.notifications"):
        response = post_callback(client, body)

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == WebhookOutcome.PROCESSED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and payment.order.status == OrderStatus.PAID
    assert payment.order.issued_tickets.count() == 2
    confirmation = Notification.objects.get(order=payment.order, kind=NotificationKind.ORDER_CONFIRMATION)
    assert (confirmation.status, confirmation.attempts) == (NotificationStatus.PENDING, 0)
    assert f"notification {confirmation.pk}: could not queue its send" in caplog.text
    # Xendit's next copy finds the event processed and starts nothing: only the sweep can.
    assert post_callback(client, body).json()["outcome"] == WebhookOutcome.DUPLICATE

    broker_down.back()
    assert notifications_requeue_stalled() == 0  # too early: a queued task may be on its way
    later = timezone.now() + AFTER_THE_STALL_TIME
    assert notifications_requeue_stalled(now=later) == 1
    assert notifications_requeue_stalled(now=later + AFTER_THE_STALL_TIME) == 0

    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == (NotificationStatus.SENT, 1)
    assert [message.to for message in mail.outbox] == [[payment.order.buyer.email]]
    assert WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED).count() == 0


def test_a_free_order_answers_201_and_its_idempotent_retry_replays_it(orders_api, broker_down):  # noqa: F811
    free = TicketFactory(price=0, quota=10, max_per_order=5)
    body = order_body((free, 2))

    first = orders_api.post(body, idempotency_key="free-0001")
    again = orders_api.post(body, idempotency_key="free-0001")

    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    free.refresh_from_db()
    assert free.held == 2
    assert Notification.objects.get(order=order).status == NotificationStatus.PENDING  # for the sweep


def test_an_event_moved_for_many_buyers_publishes_once_and_the_sweep_sends_each_email_once(
    celery_eager, broker_down, caplog, django_capture_on_commit_callbacks
):
    """Each publish to a broker that is down is retried by Celery before it fails: one
    message per buyer would hold finance's request for minutes on a big event."""
    from celery.signals import before_task_publish

    from orders.checkout.event_moves import event_move_record
    from orders.tests.factories import OrderFactory
    from payments.tests.factories import PaymentFactory

    event = TicketFactory().event
    for _ in range(12):
        order = OrderFactory(event=event, status=OrderStatus.PAID)
        PaymentFactory(order=order, status=PaymentStatus.PAID, amount=100_000, paid_amount=100_000)
    published = []

    def count(sender=None, **kwargs):
        published.append(sender)

    before_task_publish.connect(count, weak=False)
    try:
        with (
            caplog.at_level(logging.ERROR, logger="tedxpay.notifications"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            move = event_move_record(
                event_id=event.pk,
                starts_at=timezone.now() + timedelta(days=30),
                ends_at=None,
                venue="Sabuga",
                city="Bandung",
                refunds_until=timezone.now() + timedelta(days=7),
                message="",
                requested_by="rina",
            )
    finally:
        before_task_publish.disconnect(count)

    assert move.paid_orders_told == 12
    assert published == ["notifications.tasks.notifications_send_start_task"]
    assert "could not queue their sends" in caplog.text
    told = Notification.objects.filter(kind=NotificationKind.EVENT_MOVED)
    assert set(told.values_list("status", flat=True)) == {NotificationStatus.PENDING}

    broker_down.back()
    assert notifications_requeue_stalled(now=timezone.now() + AFTER_THE_STALL_TIME) == 12
    assert set(told.values_list("status", flat=True)) == {NotificationStatus.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(told.values_list("to_email", flat=True))
