"""An order cancelled (finance, in the admin) while order_place waits for Xendit to create
its invoice: the invoice is recorded and closed at Xendit, and nobody is sent to pay it.

The simulator's delay fault holds the create; the cancel runs in another thread, with its
own database connection, in that window. Runs on SQLite and on MariaDB."""

# Fixtures are shared by importing them from other test modules; pytest then passes them by
# parameter name, which ruff reads as shadowing.

import threading
import time

import pytest
from django.db import OperationalError, connection

from orders.checkout.placing import OrderLineRequest, order_place
from orders.errors import OrderCancelled
from orders.models import EventSource, Order, OrderStatus
from orders.services import order_cancel
from orders.tests.conftest import assert_error, order_body
from orders.tests.pages.test_checkout_pages import checkout_post
from payments.gateways.simulator.models import SimulatedFault, SimulatedInvoice
from payments.models import Payment, PaymentStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough for the other thread to see the order and cancel it, even on a loaded machine;
# far below the read timeout (15 s).
CREATE_DELAY = 4.0


@pytest.fixture
def ticket():
    return TicketFactory(event__slug="tedxcancel", name="Regular", price=350_000, quota=10)


class CancelDuringCreate:
    """Cancels the one order from another thread while the simulator holds the create, and
    records whether the order still had no invoice then (the case under test: nothing for
    the cancel to close).

    The cue is the simulator taking up its delay fault: from then on the placing thread
    waits for HTTP and the simulator sleeps, so the cancel is the only writer. SQLite's
    shared in-memory test database answers "table is locked" at once, with no busy wait,
    to a connection that meets another's open transaction; only the polling retries that.
    """

    def __init__(self):
        self.invoice_id_at_cancel = "not cancelled"
        self.error = None
        self._thread = threading.Thread(target=self._run)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._thread.join(30)
        assert not self._thread.is_alive()

    @staticmethod
    def _create_held() -> bool:
        try:
            return not SimulatedFault.objects.filter(kind="create", remaining__gt=0).exists()
        except OperationalError:  # SQLite: another connection is writing right now
            return False

    def _run(self):
        try:
            deadline = time.monotonic() + 10
            while not self._create_held():
                assert time.monotonic() < deadline, "the create never reached the simulator"
                time.sleep(0.02)
            order = Order.objects.get(status=OrderStatus.PENDING)
            order_cancel(order_id=order.pk, source=EventSource.ADMIN, note="cancelled by finance")
            self.invoice_id_at_cancel = Payment.objects.get(order=order).invoice_id
        except Exception as error:
            self.error = error
        finally:
            connection.close()


def assert_closed_at_xendit_and_recorded() -> Order:
    order = Order.objects.select_related("payment").get()
    assert order.status == OrderStatus.CANCELLED
    assert order.payment.status == PaymentStatus.CANCELLED
    # Created after the cancel, then expired at the simulator: nobody can pay it.
    invoice = SimulatedInvoice.objects.get(external_id=order.code)
    assert invoice.status == "EXPIRED"
    # Recorded on the payment, so the webhook and reconcile know it.
    assert (order.payment.invoice_id, order.payment.gateway_status) == (invoice.id, "EXPIRED")
    ticket = order.items.get().ticket
    assert ticket.held == 0
    return order


def test_order_place_closes_the_invoice_and_raises_when_the_order_was_cancelled_meanwhile(
    xendit_simulator, celery_eager, ticket
):
    xendit_simulator.inject_fault("create", "delay", seconds=CREATE_DELAY)

    with CancelDuringCreate() as cancel, pytest.raises(OrderCancelled) as caught:
        order_place(
            full_name="Budi Santoso",
            email="budi@example.com",
            phone="0812 3456 7890",
            items=[OrderLineRequest(ticket.pk, 2)],
        )

    assert cancel.error is None, cancel.error
    assert cancel.invoice_id_at_cancel is None  # the cancel had no invoice to close
    order = assert_closed_at_xendit_and_recorded()
    assert (caught.value.code, caught.value.status_code) == ("order_cancelled", 409)
    assert caught.value.details == {"code": order.code, "status": "CANCELLED"}
    transitions = list(order.events.filter(subject="order").values_list("to_status", "source"))
    assert transitions == [("PENDING", "api"), ("CANCELLED", "admin")]


def test_api_answers_409_order_cancelled_with_no_invoice_url(xendit_simulator, celery_eager, orders_api, ticket):
    xendit_simulator.inject_fault("create", "delay", seconds=CREATE_DELAY)

    with CancelDuringCreate() as cancel:
        response = orders_api.post(order_body((ticket, 1)))

    assert cancel.invoice_id_at_cancel is None
    order = assert_closed_at_xendit_and_recorded()
    error = assert_error(response, 409, "order_cancelled")
    assert error["details"] == {"code": order.code, "status": "CANCELLED"}
    assert "invoice_url" not in response.content.decode()


def test_checkout_shows_the_form_again_instead_of_sending_the_buyer_to_pay(
    xendit_simulator, celery_eager, client, ticket
):
    xendit_simulator.inject_fault("create", "delay", seconds=CREATE_DELAY)
    data = {
        f"quantity_{ticket.pk}": "1",
        "full_name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "0812 3456 7890",
        "confirmed": "1",
    }

    with CancelDuringCreate() as cancel:
        response = checkout_post(client, "tedxcancel", data)

    assert cancel.invoice_id_at_cancel is None
    assert_closed_at_xendit_and_recorded()
    assert response.status_code == 400  # no redirect to Xendit's page
    assert "Pesanan ini dibatalkan saat sedang dibuat" in response.content.decode()
