"""The 201 of POST /api/orders is built from the rows in memory, not read back, and written
out by hand (`order_created_body`), not by the output serializer: it must be what the
serializer makes of the order as the database holds it."""

import pytest

from orders.apis import OrderCreateApi
from orders.checkout.placing import _order_read
from orders.models import Order
from orders.tests.placing.test_query_budget import order_body
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory


@pytest.mark.django_db(transaction=True)
def test_the_answer_from_memory_is_the_order_as_stored(xendit_simulator, orders_api):
    event = EventFactory()
    regular = TicketFactory(event=event, name="Regular", price=350_000, max_per_order=5)
    student = TicketFactory(event=event, name="Student", price=150_000, max_per_order=5)
    body = order_body(regular, 2, 1)
    body["items"].insert(0, {"ticket_id": student.pk, "quantity": 1})  # lines come back in ticket order

    response = orders_api.post(body)

    assert response.status_code == 201, response.content
    stored = _order_read(Order.objects.get(code=response.json()["code"]).pk)
    assert response.json() == OrderCreateApi.OutputSerializer(stored).data
    assert stored.payment.invoice_url and stored.total == 850_000


@pytest.mark.django_db
def test_a_free_order_answers_as_stored_too(orders_api):
    free = TicketFactory(name="Volunteer", price=0, max_per_order=5)

    response = orders_api.post(order_body(free, 2, 1))

    assert response.status_code == 201, response.content
    stored = _order_read(Order.objects.get(code=response.json()["code"]).pk)
    assert response.json() == OrderCreateApi.OutputSerializer(stored).data
    assert response.json()["status"] == "PAID" and response.json()["invoice_url"] is None


@pytest.mark.django_db(transaction=True)
def test_an_order_with_a_voucher_answers_as_stored_too(xendit_simulator, orders_api):
    regular = TicketFactory(name="Regular", price=200_000, max_per_order=5)
    VoucherFactory(event=regular.event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20, max_uses=5)
    body = order_body(regular, 2, 1)
    body["voucher"] = " komunitas "

    response = orders_api.post(body)

    assert response.status_code == 201, response.content
    stored = _order_read(Order.objects.get(code=response.json()["code"]).pk)
    assert response.json() == OrderCreateApi.OutputSerializer(stored).data
    assert response.json()["voucher"] == "KOMUNITAS" and response.json()["discount"] == 80_000
    assert response.json()["items"][0]["unit_discount"] == 40_000
