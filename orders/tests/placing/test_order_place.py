"""order_place: validation, stock and rows, without the gateway (every case here fails
before the invoice is asked for). The gateway paths are in test_order_place_gateway.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.buyers import email_normalise, phone_normalise
from orders.checkout.placing import OrderLineRequest, order_place
from orders.errors import QuantityLimit, TotalAboveMaximum
from orders.models import Order
from tedxpay.core.errors import InvalidInput
from tickets.errors import NotOnSale, SoldOut, TicketNotFound
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db

BUYER = {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "081234567890"}


def place(*lines, **overrides):
    return order_place(**{**BUYER, "items": [OrderLineRequest(t.pk, q) for t, q in lines], **overrides})


def assert_nothing_written(*tickets):
    assert Order.objects.count() == 0
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.held == 0


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (812) 3456.789", "+628123456789"),
        (" 0857 1234 5678 ", "+6285712345678"),
    ],
)
def test_phone_is_normalised_to_e164(raw, normalised):
    assert phone_normalise(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "12345",
        "0812",
        "021 555 1234",
        "+1 415 555 0100",
        "+6208123456789",
        "08123456789012345",
        "0812-abcd-7890",
        "٠٨١٢٣٤٥٦٧٨٩٠",
        "+62+812345678",
    ],
)
def test_phone_garbage_is_refused(raw):
    with pytest.raises(ValueError):
        phone_normalise(raw)


def test_email_is_stripped_and_lower_cased():
    assert email_normalise("  Budi.Santoso@Example.COM ") == "budi.santoso@example.com"
    for bad in ("", "budi", "budi@", "@example.com", "budi@@example.com", "a" * 250 + "@x.co", "budi@localhost"):
        with pytest.raises(ValueError):
            email_normalise(bad)


def test_invalid_buyer_fields_are_all_reported_under_buyer(ticket):
    with pytest.raises(InvalidInput) as caught:
        place((ticket, 1), full_name="   ", email="not-an-email", phone="garbage")

    assert caught.value.code == "validation_error"
    assert set(caught.value.details["buyer"]) == {"full_name", "email", "phone"}
    assert_nothing_written(ticket)


def test_language_must_be_en_or_id(ticket):
    with pytest.raises(InvalidInput) as caught:
        place((ticket, 1), language="fr")
    assert "language" in caught.value.details


@pytest.mark.parametrize(
    "items",
    [
        [],
        [OrderLineRequest(1, 0)],
        [OrderLineRequest(1, -2)],
        [OrderLineRequest(0, 1)],
        [OrderLineRequest(True, 1)],
        [OrderLineRequest("1", 1)],
        [OrderLineRequest(1, 1.5)],
        [OrderLineRequest(n, 1) for n in range(1, 12)],
    ],
)
def test_malformed_items_are_refused(items):
    with pytest.raises(InvalidInput) as caught:
        order_place(**BUYER, items=items)
    assert "items" in caught.value.details


def test_a_repeated_ticket_is_refused(ticket):
    with pytest.raises(InvalidInput) as caught:
        place((ticket, 1), (ticket, 2))
    assert "appears twice" in caught.value.details["items"][0]
    assert_nothing_written(ticket)


def test_quantity_above_max_per_order(ticket):
    with pytest.raises(QuantityLimit) as caught:
        place((ticket, 6))

    assert (caught.value.code, caught.value.status_code) == ("quantity_limit", 400)
    assert caught.value.details == {"ticket_id": ticket.pk, "requested": 6, "max_per_order": 5}
    assert_nothing_written(ticket)


def test_a_huge_quantity_is_a_quantity_limit_not_a_crash(ticket):
    with pytest.raises(QuantityLimit):
        place((ticket, 10**30))
    assert_nothing_written(ticket)


def test_unknown_ticket(ticket):
    with pytest.raises(TicketNotFound) as caught:
        order_place(**BUYER, items=[OrderLineRequest(ticket.pk, 1), OrderLineRequest(ticket.pk + 1000, 1)])

    assert caught.value.status_code == 404
    assert caught.value.details == {"ticket_id": ticket.pk + 1000}
    assert_nothing_written(ticket)


def test_tickets_of_two_events_are_refused():
    one, other = TicketFactory(), TicketFactory(event=EventFactory())

    with pytest.raises(InvalidInput) as caught:
        place((one, 1), (other, 1))

    assert "same event" in caught.value.details["items"][0]
    assert_nothing_written(one, other)


def test_phase_outside_its_sale_window():
    now = timezone.now()
    upcoming = TicketFactory(valid_from=now + timedelta(hours=2), valid_until=now + timedelta(days=3))
    over = TicketFactory(valid_from=now - timedelta(days=3), valid_until=now - timedelta(minutes=1))

    for phase in (upcoming, over):
        with pytest.raises(NotOnSale) as caught:
            place((phase, 1))
        assert (caught.value.code, caught.value.status_code) == ("not_on_sale", 409)
    assert_nothing_written(upcoming, over)


def test_inactive_phase():
    inactive = TicketFactory(is_active=False)

    with pytest.raises(NotOnSale):
        place((inactive, 1))

    assert_nothing_written(inactive)


def test_sold_out_names_the_ticket_and_what_is_left_and_rolls_everything_back():
    event = EventFactory()
    plenty = TicketFactory(event=event, name="Regular", quota=50)
    scarce = TicketFactory(event=event, name="VIP", quota=3)
    type(scarce).objects.filter(pk=scarce.pk).update(held=2)

    with pytest.raises(SoldOut) as caught:
        place((plenty, 2), (scarce, 2))

    assert (caught.value.code, caught.value.status_code) == ("sold_out", 409)
    assert caught.value.details == {"ticket_id": scarce.pk, "requested": 2, "available": 1}
    assert "VIP" in caught.value.message
    plenty.refresh_from_db()
    scarce.refresh_from_db()
    assert (plenty.held, scarce.held) == (0, 2)
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_refuses_to_run_inside_a_callers_transaction(ticket):
    from django.db import transaction

    # The gateway call would then run while the ticket rows are still locked.
    with pytest.raises(RuntimeError), transaction.atomic():
        place((ticket, 1))
    ticket.refresh_from_db()
    assert ticket.held == 0


def test_a_total_above_what_one_payment_may_be_is_refused_with_nothing_written():
    # Rp 4 billion a seat (a price the database takes), ten of them: Rp 40 billion is within
    # Xendit's largest invoice, fifteen (Rp 60 billion) is not.
    ticket = TicketFactory(price=4_000_000_000, quota=100, max_per_order=20)

    with pytest.raises(TotalAboveMaximum) as refused:
        place((ticket, 15))

    assert refused.value.status_code == 400
    assert refused.value.details == {"total": 60_000_000_000, "maximum": 50_000_000_000}
    assert_nothing_written(ticket)
