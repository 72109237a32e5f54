"""Reconciliation: lost callbacks heal themselves by asking Xendit (the simulator)."""

import signal
import time
from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from orders.checkout.sweeps import payments_reconcile
from orders.models import AttentionReason, EventSource, OrderEvent, OrderStatus
from orders.services import order_expire
from payments.gateways.simulator.models import SimulatedFault
from payments.models import PaymentStatus, WebhookEvent
from payments.selectors import payments_to_reconcile
from payments.tasks import reconcile_payments
from payments.tests.conftest import order_with_payment

pytestmark = pytest.mark.django_db(transaction=True)


def refreshed(payment):
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    return payment, payment.order


def test_task_heals_an_order_whose_callback_never_came(placed_order, xendit_simulator):
    paid = placed_order(quantity=2)
    untouched = placed_order(quantity=1)
    xendit_simulator.pay(paid.invoice_id, channel="QRIS", callback="none")

    counts = reconcile_payments()

    assert counts == {"checked": 2, "paid": 1, "expired": 0, "unchanged": 1, "failed": 0}
    paid, order = refreshed(paid)
    assert (paid.status, paid.channel, paid.paid_amount) == (PaymentStatus.PAID, "QRIS", paid.amount)
    assert order.status == OrderStatus.PAID and order.issued_tickets.count() == 2
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CONFIRMATION).count() == 1
    assert OrderEvent.objects.filter(order=order, to_status="PAID", source=EventSource.RECONCILE).count() == 2
    assert not WebhookEvent.objects.exists()
    untouched.refresh_from_db()
    assert untouched.status == PaymentStatus.PENDING and untouched.gateway_status == "PENDING"
    assert untouched.last_synced_at is not None

    # A second pass finds nothing new; the paid payment is no longer a candidate.
    assert reconcile_payments()["paid"] == 0
    assert paid.pk not in payments_to_reconcile(late_window=timedelta(hours=48), limit=100)


def test_management_command_heals_and_reports_counts(placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id, channel="ALFAMART", callback="none")
    out = StringIO()

    call_command("reconcile_payments", stdout=out)

    assert "checked=1 paid=1 expired=0 unchanged=0 failed=0" in out.getvalue()
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID


def test_lost_expired_callback_expires_the_order(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    xendit_simulator.expire(payment.invoice_id, callback="none")

    counts = payments_reconcile()

    assert counts["expired"] == 1
    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and payment.status == PaymentStatus.EXPIRED
    assert payment.gateway_status == "EXPIRED" and ticket.held == 0
    # Xendit says it can no longer be paid: it drops out of later passes.
    assert payment.pk not in payments_to_reconcile(late_window=timedelta(hours=48), limit=100)


def test_late_payment_on_a_recently_expired_order_is_found(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    order_expire(order_id=payment.order_id)  # ours expired; the invoice stayed open at Xendit
    xendit_simulator.pay(payment.invoice_id, callback="none")

    counts = payments_reconcile()

    assert counts["paid"] == 1
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.PAID


def test_late_payment_without_stock_is_recorded_and_flagged(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)
    order_with_payment(quantity=5, ticket=ticket)
    order_with_payment(quantity=5, ticket=ticket)
    xendit_simulator.pay(payment.invoice_id, callback="none")

    payments_reconcile()

    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == payment.amount
    assert order.status == OrderStatus.EXPIRED
    assert order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK


def test_old_expired_orders_are_left_alone(placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    order_expire(order_id=payment.order_id)
    type(payment.order).objects.filter(pk=payment.order_id).update(expires_at=timezone.now() - timedelta(days=3))

    assert payment.pk not in payments_to_reconcile(late_window=timedelta(hours=48), limit=100)
    assert payment.pk in payments_to_reconcile(late_window=timedelta(days=4), limit=100)


def test_one_failure_does_not_stop_the_rest(placed_order, xendit_simulator):
    first = placed_order(quantity=1)
    second = placed_order(quantity=1)
    for payment in (first, second):
        xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=503, count=1)

    counts = payments_reconcile()

    assert counts == {"checked": 2, "paid": 1, "expired": 0, "unchanged": 0, "failed": 1}
    # The one that failed was never synced, so it comes first next time, and heals.
    assert payments_reconcile()["paid"] == 1
    for payment in (first, second):
        payment, order = refreshed(payment)
        assert order.status == OrderStatus.PAID


def test_batch_is_bounded_and_least_recently_synced_first(placed_order, xendit_simulator):
    payments = [placed_order(quantity=1) for _ in range(3)]

    assert payments_reconcile(limit=2)["checked"] == 2
    # The third, synced longest ago (when its invoice was attached), is first in line now.
    assert payments_to_reconcile(late_window=timedelta(hours=48), limit=1) == [payments[2].pk]


def test_payment_without_invoice_is_not_a_candidate():
    payment = order_with_payment(invoice_id=None)
    assert payment.pk not in payments_to_reconcile(late_window=timedelta(hours=48), limit=100)


def test_a_pass_stops_starting_look_ups_when_its_time_budget_is_spent(placed_order, xendit_simulator):
    payments = [placed_order(quantity=1) for _ in range(3)]
    for payment in payments:
        xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "delay", seconds=1.0, count=3)  # Xendit answers slowly

    started = time.monotonic()
    counts = payments_reconcile(time_budget=timedelta(seconds=0.5))
    elapsed = time.monotonic() - started

    # The first look-up starts within the budget and ends past it (it cannot take less than
    # Xendit's delay); no second one starts: the simulator was asked once, so two of the
    # three slow answers are left. Counted there rather than bounded by the wall clock,
    # which a loaded CI machine could break.
    assert counts == {"checked": 1, "paid": 1, "expired": 0, "unchanged": 0, "failed": 0}
    assert elapsed >= 1.0
    assert SimulatedFault.objects.get(kind="get").remaining == 2
    # The two not reached are first in line for the next pass, which heals them.
    assert payments_to_reconcile(late_window=timedelta(hours=48), limit=2) == [payments[1].pk, payments[2].pk]
    xendit_simulator.clear_faults()
    assert payments_reconcile()["paid"] == 2


@pytest.fixture
def soft_time_limit_after():
    """Raise Celery's SoftTimeLimitExceeded in this thread after `seconds`, as a prefork
    worker does (billiard's SIGUSR1 handler raises it wherever the task happens to be)."""

    def handler(signum, frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, handler)

    def arm(seconds: float):
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_the_soft_time_limit_stops_the_pass_even_when_the_gateway_wraps_it(
    placed_order, xendit_simulator, soft_time_limit_after
):
    first = placed_order(quantity=1)
    second = placed_order(quantity=1)
    for payment in (first, second):
        xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "delay", seconds=1.5, count=1)
    soft_time_limit_after(0.3)  # fires while the SDK waits for Xendit's reply

    with pytest.raises(SoftTimeLimitExceeded):
        payments_reconcile()

    # Neither payment was counted as a failure and carried on from: the pass ended.
    for payment in (first, second):
        payment, order = refreshed(payment)
        assert payment.status == PaymentStatus.PENDING and order.status == OrderStatus.PENDING
