"""The 201 of POST /api/orders is built from the rows in memory, not read back: it must be
what the database holds."""

import pytest

from orders.apis import OrderCreateApi
from orders.checkout.placing import _order_read
from orders.models import Order
from orders.tests.test_query_budget import order_body
from tickets.tests.factories import EventFactory, TicketFactory


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
