"""One rule for what Xendit says about an invoice: a callback, a reconcile and the sweep
that meet the same invoice state go through the same function (`invoice_apply`) and reach
the same result. Each case sets up three identical orders and lets each caller meet one.
The sweep meets the invoice by reading it, or, when our own expiry or cancel left it open
past its grace, by expiring it at Xendit (`invoice_expire`), which ends in the same rule."""

# The placed_order fixture is shared by importing it; pytest passes it by parameter name,
# which ruff reads as shadowing.
# ruff: noqa: F811

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from orders.checkout import invoices
from orders.checkout.invoices import InvoiceResult, payment_reconcile
from orders.checkout.sweeps import INVOICE_LEFT_OPEN_AFTER, payments_sweep
from orders.models import EventSource, Order, OrderEvent
from orders.services import order_cancel, order_expire
from payments.models import Payment
from payments.selectors import payments_to_sweep
from payments.tests.conftest import callback_body, placed_order, post_callback  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def xendit_paid(payment, simulator):
    simulator.pay(payment.invoice_id, callback="none")
    return "PAID"


def xendit_expired(payment, simulator):
    simulator.expire(payment.invoice_id, callback="none")
    return "EXPIRED"


def our_order_expired(payment):
    order_expire(order_id=payment.order_id, expire_invoice=False)


def our_order_cancelled(payment):
    order_cancel(order_id=payment.order_id, source=EventSource.ADMIN)


# (what we did first, what Xendit says, the result every caller must reach, the sweep's step)
CASES = {
    "paid": (None, xendit_paid, InvoiceResult.PAID, "read"),
    "expired": (None, xendit_expired, InvoiceResult.EXPIRED, "read"),
    "paid after our expiry": (our_order_expired, xendit_paid, InvoiceResult.PAID, "read"),
    "expired after our cancel": (our_order_cancelled, xendit_expired, InvoiceResult.UNCHANGED, "read"),
    # Our expiry could not expire the invoice at Xendit (the broker was down), a buyer paid
    # it, the callback is delivered; the sweep, past the grace, expires it at Xendit, finds
    # it paid, and applies that.
    "paid after our expiry, left open past its grace": (our_order_expired, xendit_paid, InvoiceResult.PAID, "expire"),
}


def snapshot(payment) -> dict:
    payment = Payment.objects.get(pk=payment.pk)
    order = Order.objects.get(pk=payment.order_id)
    ticket = order.items.get().ticket
    return {
        "order": (order.status, order.attention_reason),
        "payment": (payment.status, payment.paid_amount, payment.gateway_status),
        "held": ticket.held,
        "e-tickets": order.issued_tickets.count(),
        "emails": sorted(Notification.objects.filter(order=order).values_list("kind", flat=True)),
        "moves": list(
            OrderEvent.objects.filter(order=order).order_by("pk").values_list("subject", "from_status", "to_status")
        ),
    }


@pytest.mark.parametrize("case", CASES)
def test_a_callback_a_reconcile_and_the_sweep_reach_the_same_result_through_invoice_apply(
    case, placed_order, xendit_simulator
):
    ours, xendit, expected, sweep_step = CASES[case]
    by_callback, by_reconcile, by_sweep = (placed_order(quantity=2) for _ in range(3))
    for payment in (by_callback, by_reconcile, by_sweep):
        if ours:
            ours(payment)
        status = xendit(payment, xendit_simulator)
    # "expire": the sweep runs once our expiry or cancel is older than its grace.
    now = timezone.now() + (INVOICE_LEFT_OPEN_AFTER + timedelta(seconds=1) if sweep_step == "expire" else timedelta())
    steps = payments_to_sweep(
        now=now, late_window=timedelta(hours=48), left_open_after=INVOICE_LEFT_OPEN_AFTER, limit=10
    )
    assert (by_sweep.pk, sweep_step) in steps
    results: dict[int, list] = {}
    real_apply = invoices.invoice_apply

    def spy(*, payment_id, invoice, source, **rest):
        applied = real_apply(payment_id=payment_id, invoice=invoice, source=source, **rest)
        results.setdefault(payment_id, []).append(applied.result)
        return applied

    with (
        mock.patch("orders.checkout.invoices.invoice_apply", side_effect=spy),
        mock.patch("orders.checkout.callbacks.invoice_apply", side_effect=spy),
    ):
        body = callback_body(
            invoice_id=by_callback.invoice_id,
            external_id=by_callback.external_id,
            amount=by_callback.amount,
            status=status,
        )
        assert post_callback(Client(), body).status_code == 200
        payment_reconcile(payment_id=by_reconcile.pk)
        payments_sweep(now=now)

    assert results[by_callback.pk] == [expected]
    assert results[by_reconcile.pk] == [expected]
    assert results[by_sweep.pk] == [expected]
    assert snapshot(by_callback) == snapshot(by_reconcile) == snapshot(by_sweep)
