"""Each event has its own time zone (WIB, WITA, WIT): shown with its name, typed in it."""

import subprocess
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from notifications.emails import notification_message
from notifications.tests.conftest import make_order, pay
from tickets.event_time import event_time_text
from tickets.models import Event, EventTimeZone
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db

# 11:00 UTC: 18:00 in Jakarta, 19:00 in Bali, 20:00 in Jayapura.
STARTS = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "english", "indonesian"),
    [
        (EventTimeZone.WIB, "Saturday, 12 December 2026, 18:00 WIB", "Sabtu, 12 Desember 2026, 18:00 WIB"),
        (EventTimeZone.WITA, "Saturday, 12 December 2026, 19:00 WITA", "Sabtu, 12 Desember 2026, 19:00 WITA"),
        (EventTimeZone.WIT, "Saturday, 12 December 2026, 20:00 WIT", "Sabtu, 12 Desember 2026, 20:00 WIT"),
    ],
)
def test_times_are_shown_in_the_events_zone_with_its_name(zone, english, indonesian):
    event = EventFactory(starts_at=STARTS, time_zone=zone)
    with translation.override("en"):
        assert event_time_text(event.starts_at, event) == english
    with translation.override("id"):
        assert event_time_text(event.starts_at, event) == indonesian


def test_the_checkout_page_shows_a_bali_event_in_wita(client):
    TicketFactory(event__slug="tedxubud", event__starts_at=STARTS, event__time_zone=EventTimeZone.WITA)
    page = client.get("/events/tedxubud/").content.decode()
    assert "Sabtu, 12 Desember 2026, 19:00 WITA" in page
    assert "WIB" not in page


def test_the_back_office_takes_an_events_times_in_its_zone(admin_client):
    response = admin_client.post(
        reverse("admin:tickets_event_add"),
        {
            "name": "TEDxUbud",
            "slug": "tedxubud",
            "venue": "Ubud",
            "city": "Gianyar",
            "description": "",
            "time_zone": EventTimeZone.WITA,
            "starts_at_0": "12/12/2026",
            "starts_at_1": "19:00",
            "ends_at_0": "",
            "ends_at_1": "",
            "tickets-TOTAL_FORMS": 0,
            "tickets-INITIAL_FORMS": 0,
            "tickets-MIN_NUM_FORMS": 0,
            "tickets-MAX_NUM_FORMS": 1000,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Event.objects.get(slug="tedxubud").starts_at == STARTS  # 19:00 WITA is 11:00 UTC


def test_a_bali_orders_email_pdf_and_order_page_say_wita(client):
    """The confirmation email (rendered by the worker, whose clock is Jakarta's), its PDF
    and the order page all give a Bali event's time in WITA."""
    order = make_order(language="id")
    Event.objects.filter(pk=order.event_id).update(starts_at=STARTS, time_zone=EventTimeZone.WITA)
    message = notification_message(pay(order))

    wita, wib = "Sabtu, 12 Desember 2026, 19:00 WITA", "18:00"
    html = message.alternatives[0][0]
    assert wita in message.body and wita in html
    assert wib not in message.body and wib not in html
    # (The QR images are MIME parts of their own; the PDF is a (name, content, type) triple.)
    [pdf] = [part[1] for part in message.attachments if isinstance(part, tuple) and part[2] == "application/pdf"]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert wita in text and wib not in text
    page = client.get(order.get_absolute_url()).content.decode()
    assert wita in page and " WIB" not in page
