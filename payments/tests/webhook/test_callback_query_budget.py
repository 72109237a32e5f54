"""Query budget of a payment callback, first delivery and copy: a regression shows here.

Counted as orders/tests/placing/test_query_budget.py counts (the simulator's queries and SQLite's
BEGIN/COMMIT left out). The first delivery stores the callback, reads Xendit's invoice,
pays the order and its payment under their locks with their audit rows, issues the
e-tickets and queues the email, and finishes the inbox row; a copy is stored as a
duplicate and changes nothing.

13 for the first delivery: the callback stored (1), its payment found (1), the inbox row
locked (1), the order with its buyer and then the payment locked and read once each (2),
the payment and the order written with their audit rows (4), the e-tickets (the lines read
and the insert: 2), the confirmation email owed (1) and the outcome recorded with the
payment it matched (1). It was 28 when every step locked and read its row again under its
own savepoint, and 20 while the e-tickets and the email were looked for before they were
written (they are made only by this transition, under the order's lock) and the transition
took a savepoint of its own inside the inbox row's transaction.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import OrderStatus
from orders.tests.placing.test_query_budget import ours
from payments.models import WebhookOutcome
from payments.tests.conftest import callback_body, post_callback

FIRST_DELIVERY_QUERIES = 13
DUPLICATE_QUERIES = 3


@pytest.mark.django_db(transaction=True)
def test_a_callback_and_its_copy_stay_within_their_query_budgets(client, placed_order, xendit_simulator):
    payment = placed_order()
    xendit_simulator.pay(payment.invoice_id, callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)

    with CaptureQueriesContext(connection) as first:
        response = post_callback(client, body)
    with CaptureQueriesContext(connection) as copy:
        again = post_callback(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == WebhookOutcome.PROCESSED
    assert again.status_code == 200 and again.json()["outcome"] == WebhookOutcome.DUPLICATE
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID
    assert len(ours(copy)) <= DUPLICATE_QUERIES, "\n".join(ours(copy))
    assert len(ours(first)) <= FIRST_DELIVERY_QUERIES, "\n".join(ours(first))
    assert len(ours(copy)) <= DUPLICATE_QUERIES, "\n".join(ours(copy))
