"""Everything that can apply one paid invoice, at once, on MariaDB (real row locks): the
PAID callback, the SETTLED callback, a reconcile pass, the expiry sweep (the order is past
its expiry time) and the close of its invoice. docs/payments.md says correctness does not
depend on de-duplication: the transitions lock the order, then the payment, and return
quietly when already there. Whichever wins, the result is one paid order."""

# Fixtures are shared by importing them (orders/tests/conftest.py is not ours to extend);
# pytest then passes them by parameter name, which ruff reads as shadowing.

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_send
from orders.checkout.invoices import invoice_expire, payment_reconcile
from orders.expiry import order_expire_stale
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.invoices.test_expiry import held, held_by_open_orders
from payments.models import PaymentStatus, WebhookEvent
from payments.tests.conftest import callback_body, post_callback
from tedxpay.core.tests.concurrency import run_together
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

ROUNDS = 4
QUANTITY = 2


def callback(payment, status: str):
    body = json.dumps(
        callback_body(
            invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount, status=status
        )
    )
    return lambda: post_callback(Client(), body)


def transitions(order, subject: str, to_status: str) -> int:
    """Moves into `to_status` (audit notes on an order already there have from == to)."""
    events = OrderEvent.objects.filter(order=order, subject=subject, to_status=to_status)
    return events.exclude(from_status=to_status).count()


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_everything_that_applies_a_paid_invoice_at_once_makes_one_paid_order(
    round_number, placed_order, xendit_simulator, celery_eager
):
    ticket = TicketFactory(price=125_000, quota=10)
    other = placed_order(ticket=ticket, quantity=3)  # an unrelated order holding seats
    payment = placed_order(ticket=ticket, quantity=QUANTITY)
    # Paid, then settled at Xendit (every read now says SETTLED); the callbacks come below.
    xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.settle(payment.invoice_id)
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "SETTLED"
    # Past its expiry time, so the expiry sweep competes for it too.
    Order.objects.filter(pk=payment.order_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert held(ticket) == 5

    actions = {
        "paid callback": callback(payment, "PAID"),
        "settled callback": callback(payment, "SETTLED"),
        "reconcile": lambda: payment_reconcile(payment_id=payment.pk),
        "expiry sweep": order_expire_stale,
        "invoice close": lambda: invoice_expire(payment_id=payment.pk),
    }
    results = dict(zip(actions, run_together(*actions.values(), timeout=120), strict=True))

    errors = {name: result for name, result in results.items() if isinstance(result, Exception)}
    assert not errors, errors
    statuses = {name: results[name].status_code for name in ("paid callback", "settled callback")}
    assert statuses == {"paid callback": 200, "settled callback": 200}, {
        name: results[name].content for name in statuses
    }
    assert results["reconcile"] in ("paid", "unchanged")
    assert results["invoice close"] in ("paid", "skipped")

    payment.refresh_from_db()
    order = Order.objects.get(pk=payment.order_id)
    assert (payment.status, order.status) == (PaymentStatus.PAID, OrderStatus.PAID)
    assert payment.paid_amount == payment.amount
    assert not order.needs_attention, order.attention_note
    assert transitions(order, "payment", PaymentStatus.PAID) == 1
    assert transitions(order, "order", OrderStatus.PAID) == 1
    # The sweep may have expired it first (seats back), then the payment took them again.
    assert transitions(order, "order", OrderStatus.EXPIRED) <= 1
    assert order.issued_tickets.count() == QUANTITY
    assert held(ticket) == held_by_open_orders(ticket) == 5
    other.refresh_from_db()
    assert other.status == PaymentStatus.PENDING
    assert WebhookEvent.objects.filter(payment=payment, outcome="failed").count() == 0

    # One confirmation, sent once (the tasks ran eagerly in the threads, after each commit).
    confirmation = Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    assert (confirmation.status, confirmation.attempts) == (NotificationStatus.SENT, 1)
    to_buyer = [message for message in mail.outbox if order.code in message.subject]
    expired_email = Notification.objects.filter(order=order, kind=NotificationKind.ORDER_EXPIRED).first()
    if expired_email is None:
        assert len(to_buyer) == 1
        return
    # The sweep expired it first. Its email went out before the payment, or never.
    notification_send(notification_id=expired_email.pk)  # whatever was still owed
    expired_email.refresh_from_db()
    if expired_email.status == NotificationStatus.SENT:
        assert expired_email.sent_at < confirmation.sent_at
        assert len(to_buyer) == 2
    else:
        assert expired_email.status == NotificationStatus.OBSOLETE
        assert len(to_buyer) == 1
    assert "expired" not in to_buyer[-1].subject.lower()
