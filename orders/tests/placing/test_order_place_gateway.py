"""order_place with the invoice step: the real Xendit SDK over HTTP against the simulator
on the live server, with its fault injection for the failure paths."""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from orders.checkout.placing import OrderLineRequest, order_place
from orders.errors import PaymentGatewayUnavailable
from orders.models import EventSource, Order, OrderStatus
from payments.gateways.simulator.models import SimulatedFault, SimulatedInvoice
from payments.models import PaymentStatus
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = {"full_name": "  Budi   Santoso ", "email": " Budi@Example.COM ", "phone": "0812-3456-7890"}


def place(*lines, **overrides):
    return order_place(**{**BUYER, "items": [OrderLineRequest(t.pk, q) for t, q in lines], **overrides})


def held(ticket) -> int:
    ticket.refresh_from_db()
    return ticket.held


def assert_cancelled_with_seats_back(*tickets):
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert order.payment.status == PaymentStatus.CANCELLED
    assert [held(ticket) for ticket in tickets] == [0] * len(tickets)
    statuses = list(order.events.filter(subject="order").values_list("from_status", "to_status"))
    assert statuses == [("", "PENDING"), ("PENDING", "CANCELLED")]
    return order


def test_places_an_order_with_its_invoice(xendit_simulator):
    event = EventFactory(name="TEDxJakarta 2026")
    regular = TicketFactory(event=event, name="Regular", price=350_000)
    student = TicketFactory(event=event, name="Student", price=150_000)
    before = timezone.now()

    order = place((student, 2), (regular, 1), language="id", source=EventSource.CHECKOUT)

    assert order.status == OrderStatus.PENDING
    assert (order.total, order.currency, order.language, order.event) == (650_000, "IDR", "id", event)
    assert before + settings.ORDER_TTL <= order.expires_at <= timezone.now() + settings.ORDER_TTL
    assert (order.buyer.full_name, order.buyer.email, order.buyer.phone) == (
        "Budi Santoso",
        "budi@example.com",
        "+6281234567890",
    )
    lines = [(item.ticket, item.quantity, item.unit_price, item.subtotal) for item in order.items.all()]
    assert lines == [(regular, 1, 350_000, 350_000), (student, 2, 150_000, 300_000)]
    assert (held(regular), held(student)) == (1, 2)
    event_row = order.events.get()
    assert (event_row.from_status, event_row.to_status, event_row.source) == ("", "PENDING", "checkout")

    payment = order.payment
    assert (payment.status, payment.external_id, payment.amount) == (PaymentStatus.PENDING, order.code, 650_000)
    assert payment.invoice_url == f"{xendit_simulator.base_url}/web/{payment.invoice_id}"

    invoice = xendit_simulator.invoice(payment.invoice_id)
    assert (invoice["external_id"], invoice["amount"], invoice["status"]) == (order.code, 650_000, "PENDING")
    assert invoice["payer_email"] == "budi@example.com"
    # Back to the buyer's private link (the code alone shows nothing personal).
    private_link = f"{settings.SITE_URL}/orders/{order.code}/{order.link_secret}/"
    assert invoice["success_redirect_url"] == invoice["failure_redirect_url"] == private_link
    assert len(order.link_secret) >= 43
    assert invoice["locale"] == "id"
    assert [(i["name"], i["price"], i["quantity"]) for i in invoice["items"]] == [
        ("Regular", 350_000, 1),
        ("Student", 150_000, 2),
    ]
    assert invoice["customer"]["mobile_number"] == "+6281234567890"
    # invoice_duration matches the order's expiry (to the second, never later).
    stored = SimulatedInvoice.objects.get(pk=payment.invoice_id)
    assert timedelta(0) <= order.expires_at - stored.expiry_date < timedelta(seconds=5)


def look_ups_made(xendit_simulator) -> Callable[[], int]:
    """Arm the simulator so that every `GET /v2/invoices?external_id=` (the look-up) uses up
    one fault, and return a function telling how many were made since."""
    xendit_simulator.inject_fault("list", "error", status=500, count=10)
    fault = SimulatedFault.objects.get(kind="list")
    return lambda: 10 - SimulatedFault.objects.get(pk=fault.pk).remaining


def test_gateway_error_cancels_the_order_and_gives_the_seats_back(xendit_simulator, ticket):
    xendit_simulator.inject_fault("create", "error", status=503)
    look_ups = look_ups_made(xendit_simulator)

    with pytest.raises(PaymentGatewayUnavailable) as caught:
        place((ticket, 3))

    assert (caught.value.code, caught.value.status_code) == ("payment_gateway_unavailable", 503)
    assert caught.value.details == {"retryable": True}
    # A 5xx may have made the invoice with its reply lost: it is looked up, once.
    assert look_ups() == 1
    order = assert_cancelled_with_seats_back(ticket)
    assert not SimulatedInvoice.objects.filter(external_id=order.code).exists()


def test_gateway_refusal_is_a_502_without_a_look_up(xendit_simulator, ticket):
    xendit_simulator.inject_fault("create", "error", status=400)
    look_ups = look_ups_made(xendit_simulator)

    with pytest.raises(PaymentGatewayUnavailable) as caught:
        place((ticket, 1))

    assert caught.value.status_code == 502 and caught.value.details == {"retryable": False}
    assert look_ups() == 0  # Xendit refused, so it made nothing to find
    assert_cancelled_with_seats_back(ticket)


def test_a_request_xendit_refuses_is_not_looked_up(settings, xendit_simulator, ticket):
    # Valid for us, refused by Xendit: MINIMUM_CHARGE set below what any channel takes, and
    # no payment channel takes Rp 50.
    settings.MINIMUM_CHARGE = 1
    ticket.price = 50
    ticket.save(update_fields=["price"])
    look_ups = look_ups_made(xendit_simulator)

    with pytest.raises(PaymentGatewayUnavailable) as caught:
        place((ticket, 1))

    assert caught.value.status_code == 502
    assert (caught.value.__cause__.code, caught.value.__cause__.status) == ("NO_COLLECTION_METHODS_ERROR", 400)
    assert look_ups() == 0
    order = assert_cancelled_with_seats_back(ticket)
    assert not SimulatedInvoice.objects.filter(external_id=order.code).exists()


def test_gateway_unreachable_leaves_no_seat_held(settings, closed_port, ticket):
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(PaymentGatewayUnavailable) as caught:
        place((ticket, 2))

    assert caught.value.status_code == 503
    assert_cancelled_with_seats_back(ticket)


def test_gateway_timeout_leaves_no_seat_held(xendit_simulator, settings, ticket):
    settings.XENDIT_READ_TIMEOUT = 0.5
    hang = 2.0
    xendit_simulator.inject_fault("create", "hang", seconds=hang)

    started = time.monotonic()
    with pytest.raises(PaymentGatewayUnavailable) as caught:
        place((ticket, 2))

    # Gave up at the read timeout: a TIMEOUT, not the 504 the hanging simulator answers at
    # `hang` seconds. No wall-clock bound, which a loaded CI machine could break.
    assert caught.value.__cause__.code == "TIMEOUT"
    assert caught.value.status_code == 503
    order = assert_cancelled_with_seats_back(ticket)
    assert not SimulatedInvoice.objects.filter(external_id=order.code).exists()
    # Let the simulator's hanging request end within this test: on SQLite the live server
    # shares this test's connection, which is gone once the test is over.
    time.sleep(max(0.0, started + hang + 0.2 - time.monotonic()))


def test_invoice_created_but_reply_lost_is_found_by_external_id(xendit_simulator, settings, ticket, caplog):
    # The create answers only after our read timeout (the invoice is made at ~1.2 s, the
    # reply is lost); the one look-up is held back by the simulator until after that.
    settings.XENDIT_READ_TIMEOUT = 1.0
    xendit_simulator.inject_fault("create", "delay", seconds=1.2)
    xendit_simulator.inject_fault("list", "delay", seconds=0.6)

    with caplog.at_level(logging.INFO, logger="orders.checkout.placing"):
        order = place((ticket, 2))

    assert "found after a failed create" in caplog.text
    assert order.status == OrderStatus.PENDING and held(ticket) == 2
    invoices = SimulatedInvoice.objects.filter(external_id=order.code)
    assert invoices.count() == 1  # found, not created a second time
    assert order.payment.invoice_id == invoices.get().id
    assert order.payment.invoice_url.endswith(f"/web/{order.payment.invoice_id}")


def test_create_and_look_up_both_failing_cancels(xendit_simulator, ticket):
    xendit_simulator.inject_fault("create", "non_json", status=502)
    xendit_simulator.inject_fault("list", "error", status=500)

    with pytest.raises(PaymentGatewayUnavailable):
        place((ticket, 1))

    assert_cancelled_with_seats_back(ticket)
