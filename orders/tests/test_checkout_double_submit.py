"""One order per checkout form, however often it is sent: a double click, a reload of the
POST, the back button from Xendit's page. Each rendering carries a one-time token (a hidden
field, no JavaScript needed); its first POST places the order, every later one gets that
POST's answer. Django's test client, the simulator over HTTP for the invoices."""

import threading
import time

import pytest
from django.db import OperationalError, connection
from django.test import Client

from orders.models import Order, OrderStatus
from payments.gateways.simulator.models import SimulatedFault, SimulatedInvoice
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticket():
    # Two seats only: the first order takes both, so the form's "2" is no longer on offer
    # when it is sent again.
    return TicketFactory(event__slug="tedxtwice", name="Regular", price=350_000, quota=2, max_per_order=2)


def form_data(ticket, token: str) -> dict:
    return {
        f"quantity_{ticket.pk}": "2",
        "full_name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "0812 3456 7890",
        "confirmed": "1",
        "checkout_token": token,
    }


def rendered_token(client) -> str:
    page = client.get("/events/tedxtwice/")
    token = page.context["checkout_token"]
    assert f'name="checkout_token" value="{token}"' in page.content.decode()  # no JavaScript needed
    return token


def create_reached_the_simulator() -> bool:
    # The simulator takes up the delay fault when the create arrives, then sleeps.
    return not SimulatedFault.objects.filter(kind="create", remaining__gt=0).exists()


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass  # SQLite's shared test database: another connection is writing right now
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_same_form_sent_twice_places_one_order_and_both_go_to_its_invoice(xendit_simulator, client, ticket):
    token = rendered_token(client)

    first = client.post("/events/tedxtwice/", form_data(ticket, token))
    second = client.post("/events/tedxtwice/", form_data(ticket, token))

    order = Order.objects.select_related("payment").get()
    assert order.status == OrderStatus.PENDING
    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"] == second["Location"] == order.payment.invoice_url
    assert SimulatedInvoice.objects.filter(external_id=order.code).count() == 1
    ticket.refresh_from_db()
    assert ticket.held == 2


def test_a_double_click_is_answered_at_once_and_its_page_ends_on_the_first_submissions_invoice(
    xendit_simulator, client, ticket
):
    # The first POST is still waiting for Xendit when the second arrives: the browser shows
    # the second one's answer, which must lead to the first one's invoice, not a second
    # order. The second is not held until the first is done: it is sent at once to a page
    # that reloads itself, and that page goes on to the invoice once there is one.
    token = rendered_token(client)
    xendit_simulator.inject_fault("create", "delay", seconds=3.0)
    responses = {}

    def submit(name: str):
        other = Client()
        # The same browser: its session cookie.
        other.cookies.load({name: morsel.value for name, morsel in client.cookies.items()})
        try:
            responses[name] = other.post("/events/tedxtwice/", form_data(ticket, token))
        finally:
            connection.close()

    first = threading.Thread(target=submit, args=("first",))
    first.start()
    # The second click lands while the first is inside Xendit's create (held by the fault).
    wait_until(create_reached_the_simulator)
    submit("second")
    waiting = client.get(responses["second"]["Location"])
    assert first.is_alive(), "the second click was answered only after the first was done"
    first.join(30)
    assert not first.is_alive()

    order = Order.objects.select_related("payment").get()
    assert responses["second"].status_code == 302
    assert responses["second"]["Location"].startswith("/events/tedxtwice/placing/")
    assert waiting.status_code == 202
    page = waiting.content.decode()
    assert '<meta http-equiv="refresh" content="1">' in page and "Pesanan Anda sedang dibuat" in page
    assert waiting["Cache-Control"] == "no-store"
    # The page's next look, now that the first submission is done.
    again = client.get(responses["second"]["Location"])
    assert (again.status_code, again["Location"]) == (302, order.payment.invoice_url)
    assert responses["first"].status_code == 302 and responses["first"]["Location"] == order.payment.invoice_url
    assert SimulatedInvoice.objects.filter(external_id=order.code).count() == 1


def test_a_form_whose_first_submission_failed_is_shown_again_and_a_new_one_can_be_sent(
    settings, closed_port, client, ticket
):
    # Xendit unreachable: the first submission's order is cancelled, the form comes back.
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}/_xendit"
    token = rendered_token(client)

    first = client.post("/events/tedxtwice/", form_data(ticket, token))
    again = client.post("/events/tedxtwice/", form_data(ticket, token))

    assert (first.status_code, again.status_code) == (400, 400)
    for response in (first, again):
        # Told in the page's language (Indonesian unless chosen otherwise).
        assert "Layanan pembayaran tidak dapat dihubungi" in response.content.decode()
        # The form, as filled in, with a new token for a deliberate new attempt.
        assert response.context["form"]["full_name"].value() == "Budi Santoso"
        assert response.context["checkout_token"] not in (token, "")
    assert Order.objects.get().status == OrderStatus.CANCELLED  # the repeat placed nothing

    client.post("/events/tedxtwice/", form_data(ticket, again.context["checkout_token"]))
    assert Order.objects.count() == 2


def test_each_rendering_has_its_own_token_and_both_can_be_used(xendit_simulator, client, ticket, settings):
    # Two tabs: two forms, two orders (one seat each). The same buyer: allow them two unpaid
    # orders (by default the second would lead to the first's payment page, test_holds.py).
    settings.HOLD_MAX_PENDING_ORDERS_PER_BUYER = 2
    tokens = [rendered_token(client), rendered_token(client)]
    assert tokens[0] != tokens[1]

    for token in tokens:
        response = client.post("/events/tedxtwice/", {**form_data(ticket, token), f"quantity_{ticket.pk}": "1"})
        assert response.status_code == 302

    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 2
