"""The payments sweep (`payments_sweep`, beat): one pass over the payments whose Xendit
invoice needs looking at, with one time budget.

Pending payments: a lost callback heals itself by asking Xendit (the simulator). Invoices our
expiry or cancel left open at Xendit (the expiry after commit could not be queued: the
broker was down, for real, a loopback port nothing listens on; or it gave up): the expiry
still stands, and the sweep expires them at the simulator later, recording a payment that
got there first."""

# Fixtures are shared by importing them; pytest then passes them by parameter name, which
# ruff reads as shadowing.
# ruff: noqa: F811

import logging
import signal
import time
from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from notifications.tests.conftest import broker_down  # noqa: F401 (fixture)
from orders.checkout.sweeps import INVOICE_LEFT_OPEN_AFTER, payments_sweep
from orders.expiry import order_expire_stale
from orders.models import AttentionReason, EventSource, Order, OrderEvent, OrderStatus
from orders.services import order_cancel, order_expire
from orders.tasks import payments_sweep_task
from payments.gateways.base import InvoiceStatus
from payments.gateways.simulator.models import SimulatedFault
from payments.models import PaymentStatus, WebhookEvent
from payments.selectors import payments_to_sweep
from payments.services import payment_mark_asked
from payments.tests.conftest import order_with_payment, placed_order  # noqa: F401 (fixture)
from tickets.services import tickets_withdraw

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = timedelta(hours=48)


def refreshed(payment):
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    return payment, payment.order


def swept(*, late_window: timedelta = WINDOW, limit: int = 100, now=None) -> list[int]:
    """The payments the sweep looks at, in its order."""
    steps = payments_to_sweep(now=now, late_window=late_window, left_open_after=INVOICE_LEFT_OPEN_AFTER, limit=limit)
    return [payment_id for payment_id, _ in steps]


def expiring(*, now=None) -> list[int]:
    """The payments whose invoice the sweep expires at Xendit (left open by our expiry)."""
    steps = payments_to_sweep(now=now, late_window=WINDOW, left_open_after=INVOICE_LEFT_OPEN_AFTER, limit=10)
    return [payment_id for payment_id, step in steps if step == "expire"]


# --- pending payments: lost callbacks -------------------------------------------------------


def test_task_heals_an_order_whose_callback_never_came(placed_order, xendit_simulator):
    paid = placed_order(quantity=2)
    untouched = placed_order(quantity=1)
    xendit_simulator.pay(paid.invoice_id, channel="QRIS", callback="none")

    counts = payments_sweep_task()

    assert counts == {"checked": 2, "paid": 1, "expired": 0, "unchanged": 1, "not_found": 0, "given_up": 0, "failed": 0}
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
    assert payments_sweep_task()["paid"] == 0
    assert paid.pk not in swept()


def test_management_command_heals_and_reports_counts(placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id, channel="ALFAMART", callback="none")
    out = StringIO()

    call_command("sweep_payments", stdout=out)

    assert "checked=1 paid=1 expired=0 unchanged=0 not_found=0 given_up=0 failed=0" in out.getvalue()
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID


def test_lost_expired_callback_expires_the_order(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    xendit_simulator.expire(payment.invoice_id, callback="none")

    counts = payments_sweep()

    assert counts["expired"] == 1
    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and payment.status == PaymentStatus.EXPIRED
    assert payment.gateway_status == "EXPIRED" and ticket.held == 0
    # Xendit says it can no longer be paid: it drops out of later passes.
    assert payment.pk not in swept()


def test_late_payment_on_a_recently_expired_order_is_found(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    order_expire(order_id=payment.order_id)  # ours expired; the invoice stayed open at Xendit
    xendit_simulator.pay(payment.invoice_id, callback="none")

    counts = payments_sweep()

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

    payments_sweep()

    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == payment.amount
    assert order.status == OrderStatus.EXPIRED
    assert order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK


def test_a_late_payment_for_a_cancelled_event_is_flagged_for_a_refund_not_made_paid(placed_order, xendit_simulator):
    # The order expired, its invoice stayed open (the expire call failed), the event was
    # cancelled and its cancellation finished, then the buyer paid: no tickets for an event
    # that will not happen, even though its phase still has the seats.
    payment = placed_order(quantity=2)
    order_expire(order_id=payment.order_id)
    tickets_withdraw(event_id=payment.order.event_id)
    xendit_simulator.pay(payment.invoice_id, callback="none")

    payments_sweep()

    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == payment.amount  # never lost
    assert order.status == OrderStatus.EXPIRED and not order.issued_tickets.exists()
    assert order.attention_reason == AttentionReason.PAID_AFTER_CANCEL
    assert order.items.get().ticket.held == 0


def test_a_late_payment_past_the_buyers_cap_is_flagged_for_a_refund(placed_order, xendit_simulator):
    # Order A expired with its invoice open; the same buyer then bought the phase's cap in
    # order B; paying A now would give them twice the cap.
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    type(ticket).objects.filter(pk=ticket.pk).update(max_per_buyer=2)
    order_expire(order_id=payment.order_id)
    other = order_with_payment(quantity=2, ticket=ticket)
    type(other.order.buyer).objects.filter(pk=other.order.buyer_id).update(
        email=payment.order.buyer.email, phone=payment.order.buyer.phone
    )
    xendit_simulator.pay(payment.invoice_id, callback="none")

    payments_sweep()

    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.EXPIRED
    assert order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    ticket.refresh_from_db()
    assert ticket.held == 2  # order B's only


def test_old_expired_orders_are_left_alone(placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    order_expire(order_id=payment.order_id)
    type(payment.order).objects.filter(pk=payment.order_id).update(expires_at=timezone.now() - timedelta(days=3))

    assert payment.pk not in swept()
    assert payment.pk in swept(late_window=timedelta(days=4))


def test_one_failure_does_not_stop_the_rest(placed_order, xendit_simulator):
    first = placed_order(quantity=1)
    second = placed_order(quantity=1)
    for payment in (first, second):
        xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=503, count=1)

    counts = payments_sweep()

    assert counts == {"checked": 2, "paid": 1, "expired": 0, "unchanged": 0, "not_found": 0, "given_up": 0, "failed": 1}
    # The one that failed was never synced, so it comes first next time, and heals.
    assert payments_sweep()["paid"] == 1
    for payment in (first, second):
        payment, order = refreshed(payment)
        assert order.status == OrderStatus.PAID


def test_batch_is_bounded_and_least_recently_synced_first(placed_order, xendit_simulator):
    payments = [placed_order(quantity=1) for _ in range(3)]

    assert payments_sweep(limit=2)["checked"] == 2
    # The third, synced longest ago (when its invoice was attached), is first in line now.
    assert swept(limit=1) == [payments[2].pk]


def test_payment_without_invoice_is_not_a_candidate():
    payment = order_with_payment(invoice_id=None)
    assert payment.pk not in swept()


def test_a_pass_stops_starting_look_ups_when_its_time_budget_is_spent(placed_order, xendit_simulator):
    payments = [placed_order(quantity=1) for _ in range(3)]
    for payment in payments:
        xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "delay", seconds=1.0, count=3)  # Xendit answers slowly

    started = time.monotonic()
    counts = payments_sweep(time_budget=timedelta(seconds=0.5))
    elapsed = time.monotonic() - started

    # The first look-up starts within the budget and ends past it (it cannot take less than
    # Xendit's delay); no second one starts: the simulator was asked once, so two of the
    # three slow answers are left. Counted there rather than bounded by the wall clock,
    # which a loaded CI machine could break.
    assert counts == {"checked": 1, "paid": 1, "expired": 0, "unchanged": 0, "not_found": 0, "given_up": 0, "failed": 0}
    assert elapsed >= 1.0
    assert SimulatedFault.objects.get(kind="get").remaining == 2
    # The two not reached are first in line for the next pass, which heals them.
    assert swept(limit=2) == [payments[1].pk, payments[2].pk]
    xendit_simulator.clear_faults()
    assert payments_sweep()["paid"] == 2


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
        payments_sweep()

    # Neither payment was counted as a failure and carried on from: the pass ended.
    for payment in (first, second):
        payment, order = refreshed(payment)
        assert payment.status == PaymentStatus.PENDING and order.status == OrderStatus.PENDING


# --- invoices our expiry or cancel left open -------------------------------------------------


def later():
    return timezone.now() + INVOICE_LEFT_OPEN_AFTER + timedelta(seconds=1)


def stale(payment):
    Order.objects.filter(pk=payment.order_id).update(expires_at=timezone.now() - timedelta(minutes=1))


@pytest.fixture
def left_open(placed_order, broker_down, caplog):
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

    # Right after the expiry the expiry task is normally still at work: the sweep only reads
    # the invoice (a payment would be recorded) and leaves it open.
    assert payments_sweep() == {
        "checked": 1,
        "paid": 0,
        "expired": 0,
        "unchanged": 1,
        "not_found": 0,
        "given_up": 0,
        "failed": 0,
    }
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.PENDING
    counts = payments_sweep(now=later())

    assert counts == {"checked": 1, "paid": 0, "expired": 1, "unchanged": 0, "not_found": 0, "given_up": 0, "failed": 0}
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_status) == (PaymentStatus.EXPIRED, InvoiceStatus.EXPIRED)
    assert expiring(now=later()) == []


def test_a_step_starts_only_while_all_its_gateway_calls_fit_in_the_budget(left_open, placed_order, gateway):
    """An expiry is up to three gateway calls, a read one: with a budget of two worst-case
    calls a read still starts, an expiry does not (its last call could end past the soft
    limit); it waits, first in line, for the next pass."""
    left = left_open(quantity=1)  # an expiry once the grace is over
    pending = placed_order(quantity=1)  # a read
    payment_mark_asked(payment_id=left.pk)  # the read comes first in line
    assert swept(now=later()) == [pending.pk, left.pk]
    two_calls = 2 * gateway.worst_call

    counts = payments_sweep(now=later(), time_budget=two_calls, gateway=gateway)

    assert (counts["checked"], counts["unchanged"], counts["expired"]) == (1, 1, 0)
    assert expiring(now=later()) == [left.pk]
    # Room for its three calls: the expiry runs.
    assert payments_sweep(now=later(), time_budget=two_calls + gateway.worst_call, gateway=gateway)["expired"] == 1


def test_a_payment_made_on_the_open_invoice_is_recorded_as_a_late_payment(left_open, xendit_simulator):
    payment = left_open(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")  # and its callback was lost

    counts = payments_sweep(now=later())

    assert (counts["checked"], counts["paid"]) == (1, 1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    order = payment.order
    assert order.status == OrderStatus.PAID  # the seats were still there
    assert order.issued_tickets.count() == 2
    assert expiring(now=later()) == []


def test_a_cancelled_orders_invoice_is_closed_too(placed_order, broker_down, xendit_simulator):
    payment = placed_order(quantity=1)
    order_cancel(order_id=payment.order_id, note="test")  # its close could not be queued

    assert payments_sweep(now=later())["expired"] == 1

    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_status) == (PaymentStatus.CANCELLED, InvoiceStatus.EXPIRED)


def test_xendit_down_is_counted_and_the_next_run_closes_it(left_open, xendit_simulator):
    payment = left_open(quantity=1)
    xendit_simulator.inject_fault("expire", "error", status=503, count=1)

    assert payments_sweep(now=later())["failed"] == 1
    assert expiring(now=later()) == [payment.pk]
    assert payments_sweep(now=later())["expired"] == 1
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED


def test_the_sweep_leaves_pending_and_paid_orders_alone(placed_order, xendit_simulator):
    pending = placed_order(quantity=1)  # not expired: the buyer may still pay
    paid = placed_order(quantity=1)
    xendit_simulator.pay(paid.invoice_id, callback="send")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID

    assert expiring(now=later()) == []
    # The pending one is only read (its callback may be lost); the paid one is settled.
    assert payments_sweep(now=later()) == {
        "checked": 1,
        "paid": 0,
        "expired": 0,
        "unchanged": 1,
        "not_found": 0,
        "given_up": 0,
        "failed": 0,
    }
    assert xendit_simulator.invoice(pending.invoice_id)["status"] == InvoiceStatus.PENDING


def test_the_beat_task_runs_the_sweep(left_open, xendit_simulator):
    payment = left_open(quantity=1)
    Order.objects.filter(pk=payment.order_id).update(updated_at=timezone.now() - INVOICE_LEFT_OPEN_AFTER)

    counts = payments_sweep_task.apply().get()

    assert counts["expired"] == 1
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == InvoiceStatus.EXPIRED


def test_an_invoice_xendit_keeps_failing_on_goes_to_the_back_of_the_queue(left_open, xendit_simulator):
    stuck, other = left_open(quantity=1), left_open(quantity=1)
    xendit_simulator.inject_fault("expire", "error", status=503, count=1)

    assert payments_sweep(now=later(), limit=1)["failed"] == 1
    # The failed one was asked just now; the one never asked comes first next time.
    assert expiring(now=later()) == [
        other.pk,
        stuck.pk,
    ]
