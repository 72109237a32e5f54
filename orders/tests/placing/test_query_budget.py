"""Query budgets of the flash-sale hot paths: a regression shows here, in `make test`.

Counted as a sale runs: the API key and the ticket already read by this process (one
order placed first), the same as every request after the first few of a sale. Left out:
the simulator's own queries (it answers the invoice call on the live server, which shares
the in-memory SQLite connection) and SQLite's BEGIN, COMMIT and ROLLBACK, which on MariaDB
are not statements Django counts. docs/performance.md has what the benchmark measures.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.conftest import buyer_fields
from payments.gateways.simulator.models import SimulatedFault, SimulatedInvoice
from tickets.tests.factories import TicketFactory

PLACED_ORDER_QUERIES = 8
SOLD_OUT_QUERIES = 3

_SIMULATOR_TABLES = (SimulatedInvoice._meta.db_table, SimulatedFault._meta.db_table)


def ours(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries
        if not any(table in query["sql"] for table in _SIMULATOR_TABLES)
        and query["sql"] not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
    ]


def order_body(ticket, quantity: int, n: int) -> dict:
    # One buyer per order, as in a sale (and as the per-buyer limits want).
    buyer = buyer_fields(email=f"buyer{n}@example.com", phone=f"0812 3456 {n:04d}")
    return {"buyer": buyer, "items": [{"ticket_id": ticket.pk, "quantity": quantity}]}


@pytest.mark.django_db(transaction=True)
def test_a_placed_order_stays_within_its_query_budget(xendit_simulator, orders_api):
    ticket = TicketFactory(quota=100, max_per_order=5)
    assert orders_api.post(order_body(ticket, 1, 1)).status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = orders_api.post(order_body(ticket, 2, 2))

    assert response.status_code == 201, response.content
    assert response.json()["invoice_url"]
    sql = ours(queries)
    assert len(sql) <= PLACED_ORDER_QUERIES, "\n".join(sql)


@pytest.mark.django_db(transaction=True)
def test_a_sold_out_answer_stays_within_its_query_budget(xendit_simulator, orders_api):
    ticket = TicketFactory(quota=3, max_per_order=5)
    assert orders_api.post(order_body(ticket, 2, 1)).status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = orders_api.post(order_body(ticket, 2, 2))

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"ticket_id": ticket.pk, "requested": 2, "available": 1}
    sql = ours(queries)
    assert len(sql) <= SOLD_OUT_QUERIES, "\n".join(sql)
