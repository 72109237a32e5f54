"""An invoice our create made unseen (Xendit answered after our read timeout, and placement's
one look-up ran before the invoice existed) is looked up by our code until it can no longer
be paid: paid, its money is recorded and the cancelled order flagged for a refund; still
open, it is expired at Xendit. Real SDK, real HTTP, the simulator's `delay` fault."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from orders.checkout.placing import UNKNOWN_INVOICE_LOOKUP_MARGIN, OrderLineRequest, order_place
from orders.checkout.sweeps import payments_sweep
from orders.errors import PaymentGatewayUnavailable
from orders.models import AttentionReason, Order, OrderStatus
from orders.tasks import payments_sweep_task
from payments.gateways.simulator.models import SimulatedInvoice
from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_with_payment
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def place_with_a_create_that_times_out(settings, xendit_simulator) -> tuple[Order, SimulatedInvoice]:
    settings.XENDIT_READ_TIMEOUT = 1.0  # and the look-up's (min of 5 s and this)
    xendit_simulator.inject_fault("create", "delay", seconds=2.0)  # Xendit answers after 2 s
    ticket = TicketFactory(price=200_000, quota=5)
    with pytest.raises(PaymentGatewayUnavailable):
        order_place(
            full_name="Budi Santoso",
            email="budi@example.com",
            phone="0812 3456 7890",
            items=[OrderLineRequest(ticket.pk, 1)],
        )
    order = Order.objects.select_related("payment").get()
    deadline = time.monotonic() + 10
    while not (invoice := SimulatedInvoice.objects.filter(external_id=order.code).first()):
        assert time.monotonic() < deadline, "Xendit never made the invoice"
        time.sleep(0.1)
    return order, invoice


def test_a_create_with_an_unknown_outcome_is_remembered(settings, xendit_simulator, celery_eager):
    order, _invoice = place_with_a_create_that_times_out(settings, xendit_simulator)

    payment = order.payment
    assert (order.status, payment.status, payment.invoice_id) == (OrderStatus.CANCELLED, PaymentStatus.CANCELLED, None)
    assert payment.invoice_lookup_until == order.expires_at + UNKNOWN_INVOICE_LOOKUP_MARGIN


def test_an_orphan_paid_with_its_callback_lost_is_recorded_and_flagged(settings, xendit_simulator, celery_eager):
    order, invoice = place_with_a_create_that_times_out(settings, xendit_simulator)
    xendit_simulator.pay(invoice.pk, channel="BCA", callback="none")  # a buyer paid; the callback is lost

    out = StringIO()
    call_command("sweep_payments", stdout=out)  # what an operator runs after an incident

    assert "checked=1 paid=1" in out.getvalue()
    payment = Payment.objects.select_related("order").get(pk=order.payment.pk)
    assert (payment.invoice_id, payment.status, payment.paid_amount) == (invoice.pk, PaymentStatus.PAID, 200_000)
    assert payment.invoice_lookup_until is None
    order = payment.order
    assert order.status == OrderStatus.CANCELLED
    assert (order.needs_attention, order.attention_reason) == (True, AttentionReason.PAID_AFTER_CANCEL)
    assert Notification.objects.filter(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY).exists()


def test_an_orphan_still_open_is_expired_at_xendit_by_the_beat_task(settings, xendit_simulator, celery_eager):
    order, invoice = place_with_a_create_that_times_out(settings, xendit_simulator)

    payments_sweep_task()

    invoice.refresh_from_db()
    assert invoice.status == "EXPIRED"
    payment = Payment.objects.get(pk=order.payment.pk)
    assert (payment.invoice_id, payment.gateway_status, payment.invoice_lookup_until) == (invoice.pk, "EXPIRED", None)


def test_nothing_found_is_asked_again_until_the_invoice_could_no_longer_be_paid(xendit_simulator):
    payment = order_with_payment(quantity=1, price=200_000)
    Payment.objects.filter(pk=payment.pk).update(invoice_lookup_until=timezone.now() + timedelta(minutes=5))

    assert payments_sweep()["not_found"] == 1
    assert Payment.objects.get(pk=payment.pk).invoice_lookup_until is not None  # asked again next pass

    Payment.objects.filter(pk=payment.pk).update(invoice_lookup_until=timezone.now() - timedelta(seconds=1))
    assert payments_sweep()["given_up"] == 1
    assert Payment.objects.get(pk=payment.pk).invoice_lookup_until is None
