from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tickets.errors import NotOnSale, SoldOut, TicketNotFound
from tickets.services import stock_release, stock_reserve
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def held(ticket) -> int:
    ticket.refresh_from_db()
    return ticket.held


def test_reserve_and_release_move_held():
    ticket = TicketFactory(quota=5)
    with transaction.atomic():
        stock_reserve(quantities={ticket.pk: 3}, now=timezone.now())
    assert held(ticket) == 3
    with transaction.atomic():
        stock_release(quantities={ticket.pk: 2})
    assert held(ticket) == 1


def test_reserve_all_or_nothing_and_says_what_is_left():
    plenty, scarce = TicketFactory(quota=10), TicketFactory(quota=2)
    with pytest.raises(SoldOut) as error, transaction.atomic():
        stock_reserve(quantities={plenty.pk: 4, scarce.pk: 3}, now=timezone.now())
    assert error.value.details == {"ticket_id": scarce.pk, "requested": 3, "available": 2}
    assert held(plenty) == 0 and held(scarce) == 0


def test_reserve_refuses_outside_the_sale_window_and_inactive_phases():
    now = timezone.now()
    over = TicketFactory(valid_from=now - timedelta(days=5), valid_until=now - timedelta(days=1))
    inactive = TicketFactory(is_active=False)
    for ticket in (over, inactive):
        with pytest.raises(NotOnSale), transaction.atomic():
            stock_reserve(quantities={ticket.pk: 1}, now=now)
    # A late payment may take seats back after the window closed.
    with transaction.atomic():
        stock_reserve(quantities={over.pk: 1}, now=now, require_on_sale=False)
    assert held(over) == 1


def test_reserve_unknown_ticket():
    with pytest.raises(TicketNotFound), transaction.atomic():
        stock_reserve(quantities={999_999: 1}, now=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_reserve_outside_a_transaction_is_a_programming_error():
    ticket = TicketFactory()
    with pytest.raises(RuntimeError):
        stock_reserve(quantities={ticket.pk: 1}, now=timezone.now())
