"""An attendee's name corrected by the buyer on the order page (orders/attendees.py): on a
paid ticket not yet used, before the event starts, for an event that asks each attendee's
name. The door and the PDF read the new name; the QR code is the same ticket."""

import html
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checkin.models import CheckInSource
from checkin.selectors import issued_ticket_find
from checkin.services import checkin_admit_ticket
from notifications.tests.conftest import make_order
from orders.attendees import attendee_rename
from orders.models import EventSource, Order, OrderEvent
from orders.services import order_cancel_paid, order_mark_paid
from tedxpay.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def order() -> Order:
    """Paid, three e-tickets, named at checkout, the event in ten days."""
    order = make_order(language="en")
    order.event.ask_attendee_names = True
    order.event.starts_at = timezone.now() + timedelta(days=10)
    order.event.save(update_fields=["ask_attendee_names", "starts_at"])
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    for number, issued in enumerate(order.issued_tickets.all(), start=1):
        issued.attendee_name = f"Peserta {number}"
        issued.save(update_fields=["attendee_name"])
    return Order.objects.select_related("buyer", "event").get(pk=order.pk)


def page(order) -> str:
    return reverse("order-detail", args=[order.code, order.link_secret])


def rename_url(order, issued) -> str:
    return reverse("order-attendee-rename", args=[order.code, order.link_secret, issued.code])


def test_the_buyer_renames_a_ticket_and_the_door_and_the_pdf_read_the_new_name(order):
    buyer = Client(enforce_csrf_checks=True)
    first = order.issued_tickets.first()
    shown = buyer.get(page(order))
    assert shown.text.count("Change the name") == 3
    token = shown.cookies["csrftoken"].value

    answer = buyer.post(rename_url(order, first), {"name": "  Ayu   Lestari ", "csrfmiddlewaretoken": token})

    assert answer.status_code == 302
    assert answer["Location"] == f"{page(order)}?renamed={first.short_code}#etickets"
    first.refresh_from_db()
    assert first.attendee_name == "Ayu Lestari"  # kept as a name is kept at checkout
    assert issued_ticket_find(first.code).holder_name == "Ayu Lestari"  # what the door shows
    after = buyer.get(answer["Location"]).text
    assert "Name saved." in after and "Ayu Lestari" in after
    [audit] = OrderEvent.objects.filter(order=order, source=EventSource.BUYER)
    assert "Peserta 1 → Ayu Lestari" in audit.note and first.short_code_display in audit.note
    pdf = buyer.get(reverse("order-tickets-pdf", args=[order.code, order.link_secret]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_without_the_csrf_token_or_with_a_wrong_link_nothing_changes(order):
    first = order.issued_tickets.first()
    assert Client(enforce_csrf_checks=True).post(rename_url(order, first), {"name": "X"}).status_code == 403
    wrong = reverse("order-attendee-rename", args=[order.code, order.link_secret[:-1] + "x", first.code])
    assert Client().post(wrong, {"name": "X"}).status_code == 404
    other = make_order()
    order_mark_paid(order_id=other.pk, paid_amount=other.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    not_this_orders = other.issued_tickets.first()
    assert Client().post(rename_url(order, not_this_orders), {"name": "X"}).status_code == 404
    assert Client().get(rename_url(order, first))["Location"] == page(order)  # a reload: the order's page
    first.refresh_from_db()
    not_this_orders.refresh_from_db()
    assert (first.attendee_name, not_this_orders.attendee_name) == ("Peserta 1", "")


@pytest.mark.parametrize(
    "name, words",
    [
        ("   ", "Give the attendee's name, 1 to 200 characters."),
        ("A" * 201, "Give the attendee's name, 1 to 200 characters."),
        ("Ayu\u202eLestari", "A name cannot contain control or text-direction characters."),
    ],
)
def test_a_name_that_cannot_be_one_is_refused_on_the_ticket(client, order, name, words):
    first = order.issued_tickets.first()
    answer = client.post(rename_url(order, first), {"name": name})
    assert answer.status_code == 400
    assert words in html.unescape(answer.text) and 'aria-invalid="true"' in answer.text
    assert f'value="{html.escape(name)}"' in answer.text  # what was typed, to correct it
    first.refresh_from_db()
    assert first.attendee_name == "Peserta 1"
    assert not OrderEvent.objects.filter(order=order, source=EventSource.BUYER).exists()


def test_in_indonesian(client, order):
    first = order.issued_tickets.first()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    assert "Ubah nama" in client.get(page(order)).text
    assert "Isi nama peserta, 1 sampai 200 karakter." in client.post(rename_url(order, first), {"name": ""}).text


def test_a_ticket_used_at_the_door_keeps_its_name(client, order):
    first, second = order.issued_tickets.all()[:2]
    checkin_admit_ticket(issued=first, event=None, source=CheckInSource.DOOR)

    shown = client.get(page(order)).text
    answer = client.post(rename_url(order, first), {"name": "Someone Else"})

    assert shown.count("Change the name") == 2  # not offered on the ticket used
    assert answer.status_code == 409 and "used to enter" in answer.text
    first.refresh_from_db()
    assert first.attendee_name == "Peserta 1"
    assert attendee_rename(order_id=order.pk, ticket_code=second.code, name="B", source=EventSource.BUYER)


def test_once_the_event_has_started_names_no_longer_change(client, order):
    order.event.starts_at = timezone.now() - timedelta(minutes=1)
    order.event.save(update_fields=["starts_at"])
    first = order.issued_tickets.first()
    assert "Change the name" not in client.get(page(order)).text
    answer = client.post(rename_url(order, first), {"name": "Late Comer"})
    assert answer.status_code == 409 and "The event has started" in answer.text


def test_a_cancelled_orders_tickets_and_an_event_without_names_offer_nothing(client, order):
    first = order.issued_tickets.first()
    order.event.ask_attendee_names = False
    order.event.save(update_fields=["ask_attendee_names"])
    assert "Change the name" not in client.get(page(order)).text
    with pytest.raises(Conflict) as refused:
        attendee_rename(order_id=order.pk, ticket_code=first.code, name="X", source=EventSource.BUYER)
    assert refused.value.code == "names_not_asked"

    order.event.ask_attendee_names = True
    order.event.save(update_fields=["ask_attendee_names"])
    order_cancel_paid(order_id=order.pk, source=EventSource.ADMIN, note="refunded by hand")
    with pytest.raises(Conflict) as refused:
        attendee_rename(order_id=order.pk, ticket_code=first.code, name="X", source=EventSource.BUYER)
    assert refused.value.code == "ticket_void"


def test_the_same_name_again_writes_nothing(order):
    first = order.issued_tickets.first()
    attendee_rename(order_id=order.pk, ticket_code=first.code, name=" Peserta  1", source=EventSource.BUYER)
    assert not OrderEvent.objects.filter(order=order, source=EventSource.BUYER).exists()
    with pytest.raises(InvalidInput) as refused:
        attendee_rename(order_id=order.pk, ticket_code=first.code, name="\u200b", source=EventSource.BUYER)
    assert refused.value.code == "name_length"
