"""The public catalog: GET /api/tickets and the on-sale selector behind it."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tickets.selectors import ticket_list_on_sale, tickets_on_sale_by_event
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()


def test_lists_only_active_phases_inside_their_sale_window(client):
    now = timezone.now()
    on_sale = TicketFactory(name="Regular")
    TicketFactory(name="Inactive", is_active=False)
    TicketFactory(name="Not yet", valid_from=now + timedelta(hours=1), valid_until=now + timedelta(days=2))
    TicketFactory(name="Over", valid_from=now - timedelta(days=3), valid_until=now - timedelta(seconds=1))

    body = client.get("/api/tickets").json()

    assert [row["id"] for row in body] == [on_sale.pk]


def test_row_shape_available_and_sold_out(client):
    event = EventFactory(slug="tedxbandung", name="TEDxBandung 2026")
    ticket = TicketFactory(event=event, name="Early bird", description="Cheaper", price=250_000, quota=10)
    sold_out = TicketFactory(event=event, name="Student", quota=3, sort_order=1)
    type(ticket).objects.filter(pk=ticket.pk).update(held=4)
    type(ticket).objects.filter(pk=sold_out.pk).update(held=3)

    first, second = client.get("/api/tickets").json()

    assert first == {
        "id": ticket.pk,
        "event": {
            "slug": "tedxbandung",
            "name": "TEDxBandung 2026",
            "starts_at": first["event"]["starts_at"],
            "venue": event.venue,
            "city": event.city,
            "time_zone": "Asia/Jakarta",
            "time_zone_abbreviation": "WIB",
        },
        "name": "Early bird",
        "description": "Cheaper",
        "price": 250_000,
        "currency": "IDR",
        "valid_from": first["valid_from"],
        "valid_until": first["valid_until"],
        "max_per_order": 5,
        "available": 6,
        "sold_out": False,
    }
    assert first["valid_from"].endswith("+07:00")  # shown in Jakarta time, ISO 8601
    assert (second["id"], second["available"], second["sold_out"]) == (sold_out.pk, 0, True)


def test_filter_by_event_slug(client):
    jakarta = TicketFactory(event=EventFactory(slug="tedxjakarta"))
    TicketFactory(event=EventFactory(slug="tedxbali"))

    body = client.get("/api/tickets", {"event": "tedxjakarta"}).json()

    assert [row["id"] for row in body] == [jakarta.pk]


def test_known_event_with_nothing_on_sale_is_an_empty_list(client):
    TicketFactory(event=EventFactory(slug="tedxmedan"), is_active=False)

    response = client.get("/api/tickets", {"event": "tedxmedan"})

    assert response.status_code == 200 and response.json() == []


def test_unknown_event_slug_is_a_404_with_a_code(client):
    response = client.get("/api/tickets", {"event": "no-such-event"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "event_not_found"


def test_catalog_is_one_query_however_many_events(client, django_assert_num_queries):
    for event in EventFactory.create_batch(3):
        TicketFactory.create_batch(3, event=event)

    with django_assert_num_queries(1):
        body = client.get("/api/tickets").json()

    assert len(body) == 9


def test_selector_orders_by_event_start_then_phase_order():
    now = timezone.now()
    later = EventFactory(starts_at=now + timedelta(days=60))
    sooner = EventFactory(starts_at=now + timedelta(days=10))
    regular = TicketFactory(event=sooner, sort_order=2)
    early = TicketFactory(event=sooner, sort_order=1)
    other = TicketFactory(event=later)

    assert list(ticket_list_on_sale()) == [early, regular, other]
    assert tickets_on_sale_by_event() == {sooner: [early, regular], later: [other]}


def test_selector_answers_for_a_given_moment():
    now = timezone.now()
    next_week = TicketFactory(valid_from=now + timedelta(days=7), valid_until=now + timedelta(days=9))

    assert list(ticket_list_on_sale()) == []
    assert list(ticket_list_on_sale(now=now + timedelta(days=8))) == [next_week]
