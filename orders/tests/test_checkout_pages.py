"""The checkout and order pages through Django's test client: what is offered, how bad
input is answered, and that nothing is written for it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.tests.factories import OrderItemFactory
from orders.views import CHECKOUT_TOKEN_SIGNER
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db


def checkout_post(client, slug: str, data: dict):
    """POST the checkout form as a browser does: with the one-time token of its rendering."""
    token = client.get(f"/events/{slug}/").context["checkout_token"]
    return client.post(f"/events/{slug}/", {**data, "checkout_token": token})


def test_home_lists_events_with_phases_on_sale(client):
    TicketFactory(event__name="TEDxUbud", name="Regular", price=1_250_000)
    page = client.get("/").content.decode()
    assert "TEDxUbud" in page and "Rp 1.250.000" in page


def test_checkout_offers_only_phases_on_sale_and_at_most_what_is_left(client):
    event = EventFactory(slug="tedxcheckout")
    now = timezone.now()
    on_sale = TicketFactory(event=event, name="Regular", quota=10, max_per_order=5)
    scarce = TicketFactory(event=event, name="Student", quota=2, max_per_order=5)
    TicketFactory(
        event=event, name="Early Bird", valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1)
    )
    response = client.get("/events/tedxcheckout/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'name="quantity_{on_sale.pk}"' in page and f'name="quantity_{scarce.pk}"' in page
    assert "Sale ended" in page
    form = response.context["phases"]
    options = {row["ticket"].name: len(row["field"].field.choices) if row["field"] else None for row in form}
    assert options == {"Regular": 6, "Student": 3, "Early Bird": None}  # 0..5, 0..2


def test_checkout_with_no_ticket_chosen_writes_nothing(client):
    ticket = TicketFactory(event__slug="tedxempty")
    response = checkout_post(
        client,
        "tedxempty",
        {
            f"quantity_{ticket.pk}": "0",
            "full_name": "A B",
            "email": "a@example.com",
            "phone": "08123456789",
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert "Choose at least one ticket" in response.content.decode()
    assert not Order.objects.exists()


def test_checkout_with_an_unreadable_phone_shows_it_on_the_field(client):
    ticket = TicketFactory(event__slug="tedxphone")
    response = checkout_post(
        client,
        "tedxphone",
        {
            f"quantity_{ticket.pk}": "1",
            "full_name": "A B",
            "email": "a@example.com",
            "phone": "call me",
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert not Order.objects.exists()
    ticket.refresh_from_db()
    assert ticket.held == 0


def test_checkout_refuses_a_quantity_that_was_not_offered(client):
    ticket = TicketFactory(event__slug="tedxtamper", max_per_order=2)
    response = checkout_post(
        client,
        "tedxtamper",
        {
            f"quantity_{ticket.pk}": "9",
            "full_name": "A B",
            "email": "a@example.com",
            "phone": "08123456789",
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_checkout_without_a_token_we_issued_places_nothing(client):
    # A form with the field missing or made up: shown again, with a new token.
    ticket = TicketFactory(event__slug="tedxstale")
    data = {
        f"quantity_{ticket.pk}": "1",
        "full_name": "A B",
        "email": "a@example.com",
        "phone": "08123456789",
        "language": "en",
    }
    for token in (None, "not-one-we-gave"):
        response = client.post("/events/tedxstale/", data if token is None else {**data, "checkout_token": token})
        assert response.status_code == 400
        assert "This form was out of date" in response.content.decode()
        CHECKOUT_TOKEN_SIGNER.unsign(response.context["checkout_token"])  # a fresh one of ours
    assert not Order.objects.exists()
    ticket.refresh_from_db()
    assert ticket.held == 0


def test_order_page_by_public_code_and_unknown_code_is_404(client):
    item = OrderItemFactory(quantity=2, unit_price=350_000, order__total=700_000)
    page = client.get(f"/orders/{item.order.code}/")
    assert page.status_code == 200
    assert "Rp 700.000" in page.content.decode() and item.order.get_status_display() in page.content.decode()
    assert item.order.status == OrderStatus.PENDING
    assert client.get("/orders/TDX-NOTREAL1/").status_code == 404
