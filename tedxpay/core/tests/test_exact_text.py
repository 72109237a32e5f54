"""text_equals: the same text, character for character, on MariaDB's accent- and
case-blind collation too (tedxpay/core/exact_text.py)."""

import pytest

from orders.buyer_limits import buyer_tickets_held
from orders.models import Buyer, OrderStatus
from orders.tests.factories import BuyerFactory, OrderFactory, OrderItemFactory
from tedxpay.core.exact_text import text_equals

pytestmark = pytest.mark.django_db


def test_only_the_exact_address_matches():
    budi = BuyerFactory(email="budi@gmail.com")
    assert list(Buyer.objects.filter(text_equals("email", "budi@gmail.com"))) == [budi]
    for other in ("budi@gmaïl.com", "BUDI@gmail.com", "büdi@gmail.com"):
        assert not Buyer.objects.filter(text_equals("email", other)).exists(), other


def test_a_look_alike_address_does_not_use_up_the_buyers_limit():
    item = OrderItemFactory(order=OrderFactory(status=OrderStatus.PAID, buyer__email="budi@gmail.com"), quantity=2)
    assert buyer_tickets_held(ticket_id=item.ticket_id, email="budi@gmail.com", phone="") == 2
    assert buyer_tickets_held(ticket_id=item.ticket_id, email="budi@gmaïl.com", phone="") == 0
