"""`"voucher"` in POST /api/orders: the 4xx codes, and what a redeemed voucher looks like."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.tests.conftest import assert_error, order_body
from tickets.tests.factories import TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_xendit(settings, closed_port):
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}"


@pytest.mark.parametrize(
    ("voucher", "status", "code"),
    [
        ("NOPE", 400, "voucher_invalid"),
        ("OTHERPHASE", 400, "voucher_not_applicable"),
        ("OVER", 409, "voucher_expired"),
        ("GONE", 409, "voucher_used_up"),
    ],
)
def test_voucher_errors_are_4xx_with_their_code(orders_api, ticket, voucher, status, code):
    other = TicketFactory(event=ticket.event, name="Workshop")
    VoucherFactory(event=ticket.event, code="OTHERPHASE", tickets=[other])
    VoucherFactory(event=ticket.event, code="OVER", valid_until=timezone.now() - timedelta(seconds=1))
    VoucherFactory(event=ticket.event, code="GONE", max_uses=1, used=1)

    error = assert_error(orders_api.post(order_body((ticket, 1), voucher=voucher)), status, code)

    assert error["details"]["voucher"] == voucher
    assert Order.objects.count() == 0


def test_a_total_no_channel_takes_is_a_400_before_anything_is_written(orders_api, ticket):
    VoucherFactory(event=ticket.event, code="NEARLYFREE", kind=VoucherKind.SET_PRICE, value=1)

    error = assert_error(orders_api.post(order_body((ticket, 3), voucher="NEARLYFREE")), 400, "total_below_minimum")

    assert error["details"] == {"total": 3, "minimum": 100, "with_voucher": True}
    assert Order.objects.count() == 0


def test_a_redeemed_voucher_is_in_the_answer(orders_api, ticket):
    VoucherFactory(event=ticket.event, code="CREW", kind=VoucherKind.SET_PRICE, value=0, max_uses=2)

    response = orders_api.post(order_body((ticket, 2), voucher="crew"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["total"], body["discount"], body["voucher"]) == ("PAID", 0, 700_000, "CREW")
    assert body["invoice_url"] is None
    assert body["items"][0] | {"name": None} == {
        "ticket_id": ticket.pk,
        "name": None,
        "quantity": 2,
        "unit_price": 350_000,
        "unit_discount": 350_000,
        "subtotal": 0,
    }


def test_no_voucher_means_no_discount(orders_api):
    free = TicketFactory(price=0)
    body = orders_api.post(order_body((free, 1))).json()
    assert (body["discount"], body["voucher"]) == (0, None)


def test_buyer_limit_is_a_409_naming_the_limit(orders_api):
    capped = TicketFactory(name="Community", price=0, max_per_buyer=1)
    assert orders_api.post(order_body((capped, 1))).status_code == 201
    error = assert_error(orders_api.post(order_body((capped, 1))), 409, "buyer_limit")
    assert error["details"]["max_per_buyer"] == 1
    assert "At most 1 of 'Community' per buyer" in error["message"]
