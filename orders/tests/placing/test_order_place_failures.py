"""order_place never leaves a PENDING order behind an error: whatever fails after the
commit (an unreadable Xendit reply, our database while recording the invoice, a slow
look-up), the order is cancelled, its seats are back and the caller gets
`payment_gateway_unavailable`. The SDK runs for real, over HTTP."""

import logging
import time
from unittest import mock

import pytest
from django.db import OperationalError

from orders.checkout import placing
from orders.checkout.placing import OrderLineRequest, order_place
from orders.errors import PaymentGatewayUnavailable
from orders.models import Order, OrderStatus
from payments.gateways.simulator.models import SimulatedInvoice
from payments.models import PaymentStatus
from payments.tests.xendit_stub import running_xendit_stub
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticket():
    return TicketFactory(name="Regular", price=350_000, quota=10)


def place(ticket, quantity=2):
    return order_place(
        full_name="Budi Santoso",
        email="budi@example.com",
        phone="0812 3456 7890",
        items=[OrderLineRequest(ticket.pk, quantity)],
    )


def assert_cancelled_with_seats_back(ticket) -> Order:
    order = Order.objects.select_related("payment").get()
    assert order.status == OrderStatus.CANCELLED
    assert order.payment.status == PaymentStatus.CANCELLED
    ticket.refresh_from_db()
    assert ticket.held == 0
    return order


def test_an_invoice_reply_we_cannot_read_cancels_the_order(settings, ticket):
    # Xendit made the invoice, and the create and the look-up both answer with a `paid_at`
    # that is not a date. Before, the ValueError escaped and the order stayed PENDING.
    with (
        running_xendit_stub(settings, paid_at="yesterday afternoon") as stub,
        pytest.raises(PaymentGatewayUnavailable) as caught,
    ):
        place(ticket)

    assert [method for method, _ in stub.requests] == ["POST", "GET"]  # create, one look-up
    # An unreadable reply may read fine next time: "try again" (503), not "refused" (502).
    assert (caught.value.status_code, caught.value.details) == (503, {"retryable": True})
    assert_cancelled_with_seats_back(ticket)


def test_a_database_failure_recording_the_invoice_cancels_and_closes_it(xendit_simulator, celery_eager, ticket):
    # No real fault makes this one UPDATE fail while the database stays usable for the
    # cancel, so our own function is patched (placing's reference only: the task that
    # closes the invoice records it through the real one).
    failure = OperationalError(1205, "Lock wait timeout exceeded")
    with (
        mock.patch.object(placing, "payment_attach_invoice_to_pending", side_effect=failure),
        pytest.raises(PaymentGatewayUnavailable) as caught,
    ):
        place(ticket)

    assert (caught.value.status_code, caught.value.details) == (503, {"retryable": True})
    order = assert_cancelled_with_seats_back(ticket)
    invoice = SimulatedInvoice.objects.get(external_id=order.code)
    # Closed at Xendit, and recorded on the payment so reconcile and the webhook know it.
    assert invoice.status == "EXPIRED"
    assert order.payment.invoice_id == invoice.id
    assert order.payment.gateway_status == "EXPIRED"
    cancel_note = order.events.get(subject="order", to_status="CANCELLED").note
    assert invoice.id in cancel_note


def test_the_look_up_after_a_failed_create_has_a_short_timeout(xendit_simulator, settings, monkeypatch, ticket, caplog):
    settings.XENDIT_READ_TIMEOUT = 5.0  # what the create gets
    monkeypatch.setattr(placing, "INVOICE_LOOKUP_READ_TIMEOUT", 0.5)  # what the look-up gets
    hang = 2.0  # the simulator answers the look-up with a 504 after this long
    xendit_simulator.inject_fault("create", "error", status=503)
    xendit_simulator.inject_fault("list", "hang", seconds=hang)

    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="orders.checkout.placing"),
        pytest.raises(PaymentGatewayUnavailable) as caught,
    ):
        place(ticket)

    # The look-up gave up on its own short timeout: with the create's 5 s it would have got
    # the simulator's 504 at 2 s instead of a TIMEOUT. (The mechanism, not a wall-clock
    # bound, which a loaded CI machine could break.)
    look_up_errors = [
        record.args[1] for record in caplog.records if record.msg.startswith("invoice look-up failed for %s")
    ]
    assert [(error.code, error.status) for error in look_up_errors] == [("TIMEOUT", None)]
    assert caught.value.status_code == 503
    assert_cancelled_with_seats_back(ticket)
    # Let the simulator's hanging request end within this test (its live server thread
    # shares this test's database).
    time.sleep(max(0.0, started + hang + 0.2 - time.monotonic()))
