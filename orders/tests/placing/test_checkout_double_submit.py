"""One order per checkout form, however often it is sent: a double click, a reload of the
POST, the back button from Xendit's page. Each rendering carries a one-time token (a hidden
field, no JavaScript needed), the form's idempotency key in the database
(orders/form_submissions.py); its first POST places the order, every later one gets that
POST's answer, or a page that waits for it. Django's test client, the simulator over HTTP
for the invoices."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from orders.form_submissions import checkout_token_key, submission_claim, submission_refused
from orders.models import Order, OrderStatus
from payments.gateways.simulator.models import SimulatedFault, SimulatedInvoice
from tedxpay.core.errors import ApplicationError
from tedxpay.core.models import IdempotencyKey
from tedxpay.core.tests.concurrency import run_together
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
    assert "Pesanan Anda sedang dibuat" in page
    # It asks again by itself: a script without reloading, or without JavaScript a refresh.
    assert "js/checkout-placing.js" in page and '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
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


def test_the_same_form_sent_again_with_other_choices_is_refused_and_comes_back_with_a_new_token(
    xendit_simulator, client, ticket
):
    # Back from Xendit's page, a detail changed, sent again: the token stood for the first
    # request only. Refused in words, nothing more placed; the form comes back as now filled
    # in, with a new token, so sending it again is a deliberate new order.
    token = rendered_token(client)

    first = client.post("/events/tedxtwice/", form_data(ticket, token))
    changed = client.post("/events/tedxtwice/", {**form_data(ticket, token), "full_name": "Budi S."})

    assert first.status_code == 302
    assert changed.status_code == 409
    assert "Formulir ini sudah dikirim dengan pilihan yang berbeda" in changed.content.decode()
    assert changed.context["form"]["full_name"].value() == "Budi S."
    assert changed.context["checkout_token"] not in (token, "")
    assert Order.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.held == 2


def test_a_repeat_finds_the_first_order_in_the_database_not_in_this_processs_cache(xendit_simulator, client, ticket):
    # Another gunicorn worker, or this one after a restart, has none of this process's
    # memory: the outcome must come from the database.
    token = rendered_token(client)

    first = client.post("/events/tedxtwice/", form_data(ticket, token))
    cache.clear()
    again = client.post("/events/tedxtwice/", form_data(ticket, token))

    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"] == Order.objects.select_related("payment").get().payment.invoice_url


def placing_url(token: str) -> str:
    return f"/events/tedxtwice/placing/{token}/"


def test_the_waiting_page_tells_what_refused_the_first_submission(client, ticket):
    # The first submission was refused while its twin's browser waited: no order to go to,
    # the reason in words and the way back.
    token = rendered_token(client)
    record, _ = submission_claim(key=checkout_token_key(token), fingerprint="the first submission")
    assert client.get(placing_url(token)).status_code == 202

    refusal = ApplicationError("Only 0 left.", code="sold_out", status_code=409, details={"ticket_id": ticket.pk})
    submission_refused(record=record, error=refusal)
    page = client.get(placing_url(token))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Tiket yang Anda pilih tidak lagi tersedia sebanyak itu." in html
    assert 'http-equiv="refresh"' not in html and "checkout-placing.js" not in html
    assert 'href="/events/tedxtwice/"' in html


def test_the_waiting_page_of_a_submission_whose_worker_died_stops_waiting(client, ticket, settings):
    token = rendered_token(client)
    record, _ = submission_claim(key=checkout_token_key(token), fingerprint="the first submission")
    long_ago = timezone.now() - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    IdempotencyKey.objects.filter(pk=record.pk).update(created_at=long_ago)

    page = client.get(placing_url(token))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Pesanan Anda tidak dapat diselesaikan" in html
    assert 'http-equiv="refresh"' not in html and "checkout-placing.js" not in html


def test_the_waiting_page_knows_only_tokens_we_issued(client, ticket):
    forged = rendered_token(client)[:-1] + "x"

    assert client.get(placing_url(forged)).status_code == 404


@pytest.mark.mysql
def test_many_copies_of_one_form_at_once_place_one_order_and_none_waits_for_it(xendit_simulator, client, ticket):
    # Twelve submissions of one rendering at the same moment (a double click, a reload and
    # a second tab at once), two of them with another name typed in. The first is held 2 s
    # in Xendit's create; the others must each be answered at once, by one row in the
    # database, without any of them waiting for the first.
    token = rendered_token(client)
    xendit_simulator.inject_fault("create", "delay", seconds=2.0)
    same = form_data(ticket, token)
    other = {**same, "full_name": "Budi Santoso Jr"}

    def submit(data: dict):
        def send():
            started = time.monotonic()
            response = Client().post("/events/tedxtwice/", data)
            return data, response, time.monotonic() - started

        return send

    results = run_together(*[submit(same) for _ in range(10)], *[submit(other) for _ in range(2)])

    assert not [result for result in results if isinstance(result, Exception)]
    order = Order.objects.select_related("payment").get()
    placed = [result for result in results if result[1].status_code == 302 and "/placing/" not in result[1]["Location"]]
    assert len(placed) == 1
    winner_data, winner, winner_seconds = placed[0]
    assert winner["Location"] == order.payment.invoice_url and winner_seconds >= 2.0
    for data, response, seconds in results:
        if response is winner:
            continue
        if data == winner_data:
            assert (response.status_code, response["Location"]) == (302, placing_url(token))
        else:
            assert response.status_code == 409
        assert seconds < 2.0, "a twin waited for the first submission"
    # Every twin's waiting page now leads to the one order's invoice.
    assert client.get(placing_url(token))["Location"] == order.payment.invoice_url
    assert SimulatedInvoice.objects.filter(external_id=order.code).count() == 1
    ticket.refresh_from_db()
    assert ticket.held == 2
