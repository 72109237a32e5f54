"""Invoices our expiry or cancel left open at Xendit: the close after commit could not be
queued (the broker was down, for real: a loopback port nothing listens on) or gave up. The
expiry still stands; `invoices_close_left_open` (beat) closes them at the simulator later,
and records a payment that got there first."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.tests.conftest import broker_down  # noqa: F401 (fixture)
from orders.checkout.sweeps import INVOICE_LEFT_OPEN_AFTER, invoices_close_left_open
from orders.expiry import order_expire_stale
from orders.models import Order, OrderStatus
from orders.services import order_cancel
from orders.tasks import close_left_open_invoices
from payments.gateways.base import InvoiceStatus
from payments.models import PaymentStatus
from payments.selectors import invoices_left_open
from payments.tests.conftest import placed_order  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = timedelta(hours=48)


def later():
    return timezone.now() + INVOICE_LEFT_OPEN_AFTER + timedelta(seconds=1)


def stale(payment):
    Order.objects.filter(pk=payment.order_id).update(expires_at=timezone.now() - timedelta(minutes=1))


@pytest.fixture
def left_open(placed_order, broker_down, caplog):  # noqa: F811
    """A placed order the expiry sweep expired while the broker was down: EXPIRED, seats
    back, its invoice still PENDING at Xendit."""

    def make(**kwargs):
        payment = placed_order(**kwargs)
        stale(payment)
        with caplog.at_level(logging.ERROR, logger="tedxpay.orders.expiry"):
            assert order_expire_stale() == [payment.order_id]  # no error: the expiry stands
        assert f"payment {payment.pk}: could not queue expiring its invoice" in caplog.text
        payment.refresh_from_db()
        assert (payment.status, payment.order.status) == (PaymentStatus.EXPIRED, OrderStatus.EXPIRED)
        return payment

    return make


def test_an_invoice_left_open_is_closed_by_the_sweep_once_its_grace_is_over(left_open, xendit_simulator):
    payment = left_open(quantity=2)
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.PENDING

    # Right after the expiry the close task is normally still at work: not the sweep's yet.
    assert invoices_close_left_open()["checked"] == 0
    counts = invoices_close_left_open(now=later())

    assert counts == {"checked": 1, "expired": 1, "paid": 0, "skipped": 0, "failed": 0}
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_status) == (PaymentStatus.EXPIRED, InvoiceStatus.EXPIRED)
    assert invoices_left_open(now=later(), older_than=INVOICE_LEFT_OPEN_AFTER, late_window=WINDOW, limit=10) == []


def test_a_payment_made_on_the_open_invoice_is_recorded_as_a_late_payment(left_open, xendit_simulator):
    payment = left_open(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")  # and its callback was lost

    counts = invoices_close_left_open(now=later())

    assert (counts["checked"], counts["paid"]) == (1, 1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    order = payment.order
    assert order.status == OrderStatus.PAID  # the seats were still there
    assert order.issued_tickets.count() == 2
    assert invoices_left_open(now=later(), older_than=INVOICE_LEFT_OPEN_AFTER, late_window=WINDOW, limit=10) == []


def test_a_cancelled_orders_invoice_is_closed_too(placed_order, broker_down, xendit_simulator):  # noqa: F811
    payment = placed_order(quantity=1)
    order_cancel(order_id=payment.order_id, note="test")  # its close could not be queued

    assert invoices_close_left_open(now=later())["expired"] == 1

    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_status) == (PaymentStatus.FAILED, InvoiceStatus.EXPIRED)


def test_xendit_down_is_counted_and_the_next_run_closes_it(left_open, xendit_simulator):
    payment = left_open(quantity=1)
    xendit_simulator.inject_fault("expire", "error", status=503, count=1)

    assert invoices_close_left_open(now=later())["failed"] == 1
    assert invoices_left_open(now=later(), older_than=INVOICE_LEFT_OPEN_AFTER, late_window=WINDOW, limit=10) == [
        payment.pk
    ]
    assert invoices_close_left_open(now=later())["expired"] == 1
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED


def test_the_sweep_leaves_pending_and_paid_orders_alone(placed_order, xendit_simulator):  # noqa: F811
    pending = placed_order(quantity=1)  # not expired: the buyer may still pay
    paid = placed_order(quantity=1)
    xendit_simulator.pay(paid.invoice_id, callback="send")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID

    assert invoices_left_open(now=later(), older_than=INVOICE_LEFT_OPEN_AFTER, late_window=WINDOW, limit=10) == []
    assert invoices_close_left_open(now=later())["checked"] == 0
    assert xendit_simulator.invoice(pending.invoice_id)["status"] == InvoiceStatus.PENDING


def test_the_beat_task_runs_the_sweep(left_open, xendit_simulator):
    payment = left_open(quantity=1)
    Order.objects.filter(pk=payment.order_id).update(updated_at=timezone.now() - INVOICE_LEFT_OPEN_AFTER)

    counts = close_left_open_invoices.apply().get()

    assert counts["expired"] == 1
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED


def test_an_invoice_xendit_keeps_failing_on_goes_to_the_back_of_the_queue(left_open, xendit_simulator):
    stuck, other = left_open(quantity=1), left_open(quantity=1)
    xendit_simulator.inject_fault("expire", "error", status=503, count=1)

    assert invoices_close_left_open(now=later(), limit=1)["failed"] == 1
    # The failed one was asked just now; the one never asked comes first next time.
    assert invoices_left_open(now=later(), older_than=INVOICE_LEFT_OPEN_AFTER, late_window=WINDOW, limit=10) == [
        other.pk,
        stuck.pk,
    ]
