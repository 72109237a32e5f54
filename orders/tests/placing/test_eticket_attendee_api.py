"""PATCH /api/orders/<code>/etickets/<eticket_code>: the integrator that placed an order
corrects an attendee's name (orders/attendees.py, the rule of the order page); every
refusal is a 4xx with its code and a request id, and changes nothing."""

import json

import pytest

from checkin.models import CheckInSource
from checkin.services import checkin_admit_ticket
from orders.models import EventSource, Order, OrderEvent
from orders.tests.conftest import assert_error, order_body
from tedxpay.core.services import api_key_create
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(orders_api) -> Order:
    """Two free seats (paid at once), named, for an event that asks each attendee's name."""
    ticket = TicketFactory(name="Community", price=0, quota=10, event__ask_attendee_names=True)
    placed = orders_api.post(
        order_body(
            (ticket, 2),
            items=[{"ticket_id": ticket.pk, "quantity": 2, "attendees": [{"name": "Ayu"}, {"name": "Budi"}]}],
        )
    )
    assert placed.status_code == 201, placed.content
    return Order.objects.get()


def patch(client, order, eticket_code: str, body, raw_key: str | None):
    headers = {"Authorization": f"Api-Key {raw_key}"} if raw_key else {}
    data = body if isinstance(body, str) else json.dumps(body)
    url = f"/api/orders/{order.code}/etickets/{eticket_code}"
    return client.patch(url, data, content_type="application/json", headers=headers)


def test_the_integrator_renames_an_attendee_and_reads_it_back(client, api_key, order):
    first = order.issued_tickets.order_by("seat_number").first()

    answer = patch(client, order, first.code, {"attendee_name": "  Ayu   Lestari "}, api_key[1])

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "code": first.code,
        "ticket_id": first.ticket_id,
        "name": "Community",
        "attendee_name": "Ayu Lestari",
    }
    etickets = client.get(f"/api/orders/{order.code}", headers={"Authorization": f"Api-Key {api_key[1]}"}).json()
    assert sorted(e["attendee_name"] for e in etickets["etickets"]) == ["Ayu Lestari", "Budi"]
    [audit] = OrderEvent.objects.filter(order=order, source=EventSource.API, note__contains="renamed")
    assert "by API key event site: Ayu → Ayu Lestari" in audit.note


def test_refusals_are_4xx_with_their_code_and_change_nothing(client, api_key, order):
    first, second = order.issued_tickets.order_by("seat_number")
    other_key = api_key_create(name="another site")[1]

    assert_error(patch(client, order, first.code, {"attendee_name": "X"}, None), 401, "authentication_failed")
    assert_error(patch(client, order, first.code, {"attendee_name": "X"}, other_key), 404, "order_not_found")
    assert_error(patch(client, order, "x" * 500, {"attendee_name": "X"}, api_key[1]), 404, "eticket_not_found")
    error = assert_error(patch(client, order, first.code, {"attendee_name": " "}, api_key[1]), 400, "validation_error")
    assert "1 to 200 characters" in error["details"]["attendee_name"][0]
    error = assert_error(patch(client, order, first.code, {}, api_key[1]), 400, "validation_error")
    assert "attendee_name" in error["details"]
    assert_error(patch(client, order, first.code, "{not json", api_key[1]), 400, "malformed_request")
    error = assert_error(
        patch(client, order, first.code, {"attendee_name": "Ayu\u202eX"}, api_key[1]), 400, "validation_error"
    )
    assert "text-direction" in error["details"]["attendee_name"][0]
    checkin_admit_ticket(issued=second, event=None, source=CheckInSource.DOOR)
    assert_error(patch(client, order, second.code, {"attendee_name": "Z"}, api_key[1]), 409, "already_checked_in")

    assert sorted(order.issued_tickets.values_list("attendee_name", flat=True)) == ["Ayu", "Budi"]
    assert not OrderEvent.objects.filter(order=order, note__contains="renamed").exists()
