"""No oversell under a real race (docs/architecture.md, "Stock without oversell"): many
buyers, each on its own thread and database connection, go through order_place at once for
the last seats, on MariaDB, with the invoice created at the simulator over HTTP."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import OrderItem, OrderStatus
from payments.models import Payment
from tedxpay.core.errors import ApplicationError
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

BUYERS = 60
SEATS = 10


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_buyers_racing_for_the_last_seats_never_oversell(xendit_simulator):
    ticket = TicketFactory(quota=SEATS, max_per_order=3)
    wanted = [random.Random(seed).randint(1, 3) for seed in range(BUYERS)]
    start = threading.Barrier(BUYERS)
    outcomes: list[tuple[str, int, str]] = [None] * BUYERS  # (outcome, quantity, code or error)

    def buy(index: int) -> None:
        try:
            start.wait()
            order = order_place(
                full_name=f"Buyer {index}",
                email=f"buyer{index}@example.com",
                phone=f"0812{index:08d}",
                items=[OrderLineRequest(ticket.pk, wanted[index])],
            )
            outcomes[index] = ("placed", wanted[index], order.code)
        except ApplicationError as error:
            outcomes[index] = (error.code, wanted[index], error.message)
        except Exception as error:  # a deadlock or a crash must fail the test, visibly
            outcomes[index] = ("crash", wanted[index], repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    kinds = Counter(outcome for outcome, _, _ in outcomes)
    assert set(kinds) <= {"placed", "sold_out"}, [o for o in outcomes if o[0] not in ("placed", "sold_out")]

    held = Ticket.objects.get(pk=ticket.pk).held
    placed = [quantity for outcome, quantity, _ in outcomes if outcome == "placed"]
    assert held <= SEATS
    assert held == sum(placed)
    live_lines = OrderItem.objects.filter(order__status__in=[OrderStatus.PENDING, OrderStatus.PAID])
    assert live_lines.aggregate(units=Sum("quantity"))["units"] == held
    assert live_lines.count() == len(placed) == kinds["placed"]
    # Nobody was refused seats that were there: every loser asked for more than what is
    # left even now, and there was never more left than when they asked.
    losers = [quantity for outcome, quantity, _ in outcomes if outcome == "sold_out"]
    assert losers and min(losers) > SEATS - held
    codes = {code for outcome, _, code in outcomes if outcome == "placed"}
    with_invoice = Payment.objects.filter(external_id__in=codes, invoice_id__isnull=False)
    assert with_invoice.count() == len(codes)  # each winner got its Xendit invoice
