"""GET /api/orders/<code> for integrators: only the client that placed the order reads it
back; the private order link comes with POST and GET; GET /api/tickets names the event."""

import pytest
from django.utils import timezone

from orders.models import EventSource, Order
from orders.services import order_mark_paid
from orders.tests.conftest import assert_error, order_body
from tedxpay.core.services import api_key_create
from tickets.models import EventTimeZone
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def free_ticket(db):
    return TicketFactory(name="Community", price=0, quota=10, event__time_zone=EventTimeZone.WITA)


def get(client, code: str, raw_key: str | None):
    headers = {"Authorization": f"Api-Key {raw_key}"} if raw_key else {}
    return client.get(f"/api/orders/{code}", headers=headers)


def test_the_client_that_placed_an_order_reads_it_back_with_its_etickets(client, orders_api, api_key, free_ticket):
    placed = orders_api.post(order_body((free_ticket, 2)))
    assert placed.status_code == 201, placed.content
    order = Order.objects.get()
    assert placed.json()["order_url"].endswith(f"/orders/{order.code}/{order.link_secret}/")

    response = get(client, order.code.lower(), api_key[1])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == order.code and body["status"] == "PAID" and body["status_display"] == "Paid"
    assert body["order_url"] == placed.json()["order_url"]
    assert body["payment"]["status"] == "PAID"
    assert body["payment"]["channel_name"] == "Free (nothing to pay)"
    assert body["items"] == [
        {
            "ticket_id": free_ticket.pk,
            "name": "Community",
            "quantity": 2,
            "unit_price": 0,
            "unit_discount": 0,
            "subtotal": 0,
        }
    ]
    codes = set(order.issued_tickets.values_list("code", flat=True))
    assert {eticket["code"] for eticket in body["etickets"]} == codes and len(codes) == 2


def test_another_clients_order_is_404_like_an_unknown_code(client, orders_api, free_ticket):
    orders_api.post(order_body((free_ticket, 1)))
    order = Order.objects.get()
    _, other_key = api_key_create(name="someone else")

    assert_error(get(client, order.code, other_key), 404, "order_not_found")
    assert_error(get(client, "TDX-NOTREAL1", other_key), 404, "order_not_found")
    assert get(client, order.code, None).status_code == 401


def test_an_order_from_the_checkout_page_is_no_clients(client, api_key, free_ticket):
    from orders.checkout.placing import OrderLineRequest, order_place

    order = order_place(
        full_name="Budi",
        email="budi@example.com",
        phone="08123456789",
        items=[OrderLineRequest(free_ticket.pk, 1)],
        source=EventSource.CHECKOUT,
    )
    assert_error(get(client, order.code, api_key[1]), 404, "order_not_found")


def test_a_pending_order_has_no_etickets_and_says_when_it_expires(client, api_key):
    from notifications.tests.conftest import make_order

    order = make_order()
    Order.objects.filter(pk=order.pk).update(api_key=api_key[0])
    body = get(client, order.code, api_key[1]).json()
    assert body["status"] == "PENDING" and body["etickets"] == [] and body["expires_at"]
    assert body["invoice_url"] == order.payment.invoice_url
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    assert len(get(client, order.code, api_key[1]).json()["etickets"]) == 3


def test_ticket_list_names_the_event_with_its_time_zone(client, free_ticket):
    [row] = client.get("/api/tickets").json()
    event = free_ticket.event
    assert row["event"]["name"] == event.name and row["event"]["venue"] == event.venue
    assert row["event"]["time_zone"] == "Asia/Makassar" and row["event"]["time_zone_abbreviation"] == "WITA"
    assert row["event"]["starts_at"]


def test_the_schema_documents_the_new_operation(client):
    schema = client.get("/api/schema/", headers={"accept": "application/json"}).content.decode()
    assert "orders_retrieve" in schema and "order_url" in schema
