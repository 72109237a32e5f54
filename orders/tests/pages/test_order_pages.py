"""The buyer's order pages: the private link, the bare code that shows nothing personal,
"find my tickets", the PDF and the calendar file."""

import subprocess
from datetime import UTC

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from notifications.tests.conftest import make_order
from orders.models import EventSource, Order
from orders.services import order_mark_paid
from orders.tests.factories import OrderItemFactory

pytestmark = pytest.mark.django_db


def paid_order(**kwargs) -> Order:
    order = make_order(**kwargs)
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    return Order.objects.select_related("buyer", "event").get(pk=order.pk)


def test_the_private_link_shows_the_order_privately(client):
    order = paid_order(language="en")
    response = client.get(f"/orders/{order.code}/{order.link_secret}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert order.buyer.email in page and order.buyer.phone in page
    assert 'lang="en"' in page  # no cookie: the language of the order
    for code in order.issued_tickets.values_list("code", flat=True):
        assert code in page
        assert f'aria-label="QR code of e-ticket {code}"' in page
    assert "Ticket 1 of 3" in page and "Ticket 3 of 3" in page
    assert len(order.link_secret) >= 43  # 256 bits, URL-safe base64


def test_codes_are_case_insensitive_and_a_wrong_secret_is_404(client):
    order = paid_order()
    assert client.get(f"/orders/{order.code.lower()}/{order.link_secret}/").status_code == 200
    assert client.get(f"/orders/{order.code}/{order.link_secret[:-1]}x/").status_code == 404
    assert client.get(f"/orders/TDX-NOTREAL1/{order.link_secret}/").status_code == 404


def test_the_bare_code_shows_nothing_personal_and_emails_the_link(client, celery_eager):
    order = paid_order(language="id")
    response = client.get(f"/orders/{order.code.lower()}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert order.code in page and order.event.name in page
    assert order.buyer.email not in page and order.buyer.phone not in page
    assert order.buyer.full_name not in page
    for code in order.issued_tickets.values_list("code", flat=True):
        assert code not in page
    assert order.link_secret not in page
    assert "Rp 850.000" not in page

    response = client.post(f"/orders/{order.code}/")
    assert response.status_code == 200 and 'id="link-sent"' in response.content.decode()
    [message] = mail.outbox
    assert message.to == [order.buyer.email]
    assert f"/orders/{order.code}/{order.link_secret}/" in message.body
    assert client.get("/orders/TDX-NOTREAL1/").status_code == 404


def test_find_my_tickets_answers_the_same_for_known_and_unknown_addresses(client, celery_eager):
    first = paid_order(language="en")
    second = make_order()
    second.buyer.email = first.buyer.email
    second.buyer.save()

    known = client.post("/find-my-tickets/", {"email": first.buyer.email.upper()})
    unknown = client.post("/find-my-tickets/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace(first.buyer.email.upper(), "X") == unknown.content.decode().replace(
        "nobody@example.com", "X"
    )
    [message] = mail.outbox  # one email, to the known address only, with both orders
    assert message.to == [first.buyer.email]
    for order in (first, second):
        assert f"/orders/{order.code}/{order.link_secret}/" in message.body


def test_find_my_tickets_matches_the_address_exactly_not_a_look_alike(client, celery_eager):
    # gmaïl.com is a domain anyone can register; MariaDB's usual collation ignores accents.
    order = paid_order(language="id")
    order.buyer.email = "budi@gmail.com"
    order.buyer.save()

    assert client.post("/find-my-tickets/", {"email": "budi@gmaïl.com"}).status_code == 200
    assert mail.outbox == []
    client.post("/find-my-tickets/", {"email": "Budi@Gmail.com"})  # the same address, as typed
    [message] = mail.outbox
    assert message.to == ["budi@gmail.com"] and order.link_secret in message.body


@pytest.mark.parametrize("typed", ["bukan-email", "siti@", "siti@localhost"])
def test_find_my_tickets_says_a_malformed_address_is_one_instead_of_sent(client, celery_eager, typed):
    response = client.post("/find-my-tickets/", {"email": typed})

    page = response.content.decode()
    assert response.status_code == 400
    assert "Masukkan alamat email yang benar." in page and 'aria-invalid="true"' in page
    assert "sudah kami kirim" not in page  # not "sent"
    assert not mail.outbox


def test_find_my_tickets_is_throttled(client, celery_eager, settings):
    order = paid_order()
    settings.ORDER_LINKS_PER_EMAIL_PER_HOUR = 2
    settings.ORDER_LINKS_PER_CLIENT_PER_HOUR = 4
    answers = [client.post("/find-my-tickets/", {"email": order.buyer.email}).status_code for _ in range(5)]
    # Per address: silently not sent after the limit (the page must not tell who bought);
    # per client: refused.
    assert answers == [200, 200, 200, 200, 429]
    assert len(mail.outbox) == 2


def test_the_pdf_holds_every_eticket_with_name_code_event_and_time(client):
    order = paid_order(language="en", full_name="Dewi Lestari")
    response = client.get(f"/orders/{order.code}/{order.link_secret}/e-tickets.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True)
    text = text.stdout.decode()
    assert text.count("Dewi Lestari") == 3
    assert "TEDxJakarta 2026" in text and "Teater Jakarta" in text
    assert "Saturday, 5 December 2026, 10:00 WIB" in text
    assert "Ticket 1 of 3" in text and order.code in text
    for code in order.issued_tickets.values_list("code", flat=True):
        assert code in text
    # Not for an unpaid order, nor without the secret.
    unpaid = make_order()
    assert client.get(f"/orders/{unpaid.code}/{unpaid.link_secret}/e-tickets.pdf").status_code == 404
    assert client.get(f"/orders/{order.code}/nope/e-tickets.pdf").status_code == 404


def test_the_calendar_file_parses_with_the_event_time(client):
    order = paid_order(language="id")
    item = OrderItemFactory(order__event__name="TEDx; Bali, 2026", order__event__venue="Ubud")
    for subject in (order, item.order):
        response = client.get(f"/orders/{subject.code}/{subject.link_secret}/event.ics")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = icalendar.Calendar.from_ical(response.content)
        [event] = calendar.walk("VEVENT")
        assert str(event["SUMMARY"]) == subject.event.name
        assert event.decoded("DTSTART") == subject.event.starts_at.astimezone(UTC).replace(microsecond=0)
        # The public page, which emails the private link: a calendar is shared with others.
        description = str(event["DESCRIPTION"]).replace("\n", "")
        assert f"/orders/{subject.code}/" in description and subject.link_secret not in description
