"""Refund races on MariaDB (real row locks): many "refund" requests for one order at once,
and everything that can settle one refund at once. The money rule is checked under the
order's and the payment's locks, so whatever the interleaving one refund is made at Xendit
and the refunded total never exceeds what was paid."""

# ruff: noqa: F811

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from orders.checkout.refunds import order_refund, order_refund_owed, refunds_resume
from orders.models import OrderEvent, OrderStatus
from payments.models import Payment, Refund, RefundStatus
from payments.tests.conftest import placed_order  # noqa: F401
from tedxpay.core.tests.concurrency import run_together

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

PARALLEL = 10


@pytest.fixture
def paid_payment(placed_order, xendit_simulator, celery_eager):
    payment = placed_order(quantity=2, price=150_000)
    xendit_simulator.pay(payment.invoice_id, channel="DANA")
    payment.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID
    return payment


def test_ten_parallel_refund_requests_make_one_refund_at_xendit(paid_payment, xendit_simulator):
    payment = paid_payment
    User.objects.create_superuser("finance", "finance@example.com", "pw")
    url = reverse("admin:orders_order_cancel_refund", args=[payment.order_id])
    form = {"amount": "300000", "reason": "CANCELLATION", "cancel": "on", "release_seats": "on"}

    def through_the_admin():
        client = Client()
        client.force_login(User.objects.get(username="finance"))
        return client.post(url, form).status_code

    def directly():
        return order_refund(order_id=payment.order_id, requested_by="api", cancel=True).status

    results = run_together(*([through_the_admin] * (PARALLEL // 2) + [directly] * (PARALLEL - PARALLEL // 2)))

    assert not [r for r in results if isinstance(r, Exception) and type(r).__name__ != "RefundTooLarge"], results
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    [refund] = Refund.objects.filter(payment=payment)
    assert refund.status == RefundStatus.PENDING and refund.amount == 300_000
    payment.refresh_from_db()
    assert payment.refunded_amount + payment.refund_in_flight == 300_000 <= payment.paid_amount
    order = payment.order
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.CANCELLED).count() == 1
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CANCELLED).count() == 1


def test_parallel_partial_refunds_never_add_up_to_more_than_was_paid(paid_payment, xendit_simulator):
    payment = paid_payment

    def partial():
        return order_refund(order_id=payment.order_id, requested_by="finance", amount=70_000).amount

    results = run_together(*[partial] * PARALLEL)

    made = [r for r in results if r == 70_000]
    assert len(made) == 4  # 4 × 70,000 fits in 300,000; a fifth would not
    assert sum(r["amount"] for r in xendit_simulator.refunds(payment.invoice_id)) == 280_000
    payment.refresh_from_db()
    assert payment.refund_in_flight == 280_000 and payment.refundable == 20_000


def test_webhook_copies_and_the_sweep_settle_one_refund_once(paid_payment, xendit_simulator, live_server):
    payment = paid_payment
    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)
    result = xendit_simulator.refund_succeed(refund.gateway_refund_id, callback="none")
    body = json.dumps({"event": "refund.succeeded", "data": result["refund"]})

    def webhook():
        return (
            Client()
            .post(
                "/api/refund-callback",
                data=body,
                content_type="application/json",
                headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
            )
            .status_code
        )

    def sweep():
        Refund.objects.filter(pk=refund.pk).update(updated_at=refund.updated_at.replace(year=2020))
        return refunds_resume()

    results = run_together(*([webhook] * 4 + [sweep] * 2))

    assert not [r for r in results if isinstance(r, Exception)], results
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    payment = Payment.objects.get(pk=payment.pk)
    assert (payment.refunded_amount, payment.refund_in_flight) == (300_000, 0)
    moves = OrderEvent.objects.filter(order=payment.order, subject="refund", to_status="succeeded")
    assert moves.count() == 1
    assert Notification.objects.filter(order=payment.order, kind=NotificationKind.REFUND_DONE).count() == 1


def test_two_clicks_on_refund_owed_refund_an_overpayment_once(placed_order, xendit_simulator, celery_eager):
    payment = placed_order(quantity=2, price=150_000)
    xendit_simulator.pay(payment.invoice_id, channel="DANA", amount=350_000)  # 50,000 too much
    payment.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID and payment.refund_outstanding == 50_000

    def click():
        return order_refund_owed(order_id=payment.order_id, requested_by="finance").amount

    results = run_together(*[click] * 4)

    assert results.count(50_000) == 1, results
    assert [r["amount"] for r in xendit_simulator.refunds(payment.invoice_id)] == [50_000]
    payment.refresh_from_db()
    assert payment.refund_in_flight == 50_000 and payment.order.status == OrderStatus.PAID


def test_eight_admins_cancelling_one_event_at_once_make_one_cancellation_and_no_deadlock(
    celery_eager, xendit_simulator
):
    # Each start held the new row's unique key and waited on the event row's update while
    # another held the reverse: InnoDB chose a victim and the admin saw a 500.
    from orders.checkout import event_cancellation
    from orders.models import EventCancellation
    from orders.tests.factories import OrderFactory
    from tedxpay.core.errors import Conflict
    from tickets.tests.factories import TicketFactory

    for _ in range(3):
        ticket = TicketFactory(quota=10)
        OrderFactory(event=ticket.event, status=OrderStatus.PAID)
        outcomes = run_together(
            *[
                lambda who=who, event_id=ticket.event_id: event_cancellation.event_cancellation_start(
                    event_id=event_id, requested_by=f"admin-{who}"
                )
                for who in range(8)
            ]
        )
        started = [o for o in outcomes if isinstance(o, EventCancellation)]
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(started) == 1 and len(refused) == 7, outcomes
        assert EventCancellation.objects.filter(event_id=ticket.event_id).count() == 1
        assert EventCancellation.objects.get(event_id=ticket.event_id).status == "finished"
