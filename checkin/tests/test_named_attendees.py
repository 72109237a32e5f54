"""Named attendees: an event that asks each attendee's name gets one per seat, through the
API and the checkout, and the e-tickets, the email, the door and the list show it. Free
tickets keep these tests off Xendit: a free order is PAID (tickets issued) at once."""

import json
import re

import pytest
from django.core import mail
from django.utils import translation

from checkin.models import CheckInSource
from checkin.services import checkin_admit
from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import IssuedTicket, Order
from orders.tests.conftest import api_key, assert_error, orders_api  # noqa: F401  (fixtures)
from orders.tests.pages.test_checkout_pages import checkout_post
from tedxpay.core.errors import InvalidInput
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

BUYER = {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "0812-3456-7890"}


@pytest.fixture
def named(db):
    """A free phase of an event that asks each attendee's name."""
    return TicketFactory(
        event__slug="tedxnamed", event__ask_attendee_names=True, name="Community", price=0, max_per_order=4
    )


@pytest.fixture
def unnamed(db):
    return TicketFactory(event__slug="tedxplain", name="Community", price=0, max_per_order=4)


def place(ticket, quantity, attendees=()):
    return order_place(**BUYER, items=[OrderLineRequest(ticket.pk, quantity, tuple(attendees))])


def test_each_seat_gets_its_name_on_its_eticket(
    named,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(named, 2, ["Ayu Lestari", "  Made Wirawan "])

    assert order.items.get().attendee_names == ["Ayu Lestari", "Made Wirawan"]
    tickets = list(order.issued_tickets.order_by("seat_number"))
    assert [ticket.attendee_name for ticket in tickets] == ["Ayu Lestari", "Made Wirawan"]
    assert [ticket.holder_name for ticket in tickets] == ["Ayu Lestari", "Made Wirawan"]
    # The confirmation email names each e-ticket.
    [message] = mail.outbox
    assert "Ayu Lestari" in message.body and "Made Wirawan" in message.body
    # And the door.
    admitted = checkin_admit(code=tickets[1].short_code, event=named.event, source=CheckInSource.DOOR)
    assert admitted.ticket.holder_name == "Made Wirawan"


@pytest.mark.parametrize(
    "attendees",
    [[], ["Ayu Lestari"], ["Ayu Lestari", "Made", "Kadek"], ["Ayu Lestari", "   "], ["Ayu", "x" * 201]],
)
def test_the_wrong_number_of_names_or_a_blank_one_places_nothing(named, attendees):
    with pytest.raises(InvalidInput) as refused:
        place(named, 2, attendees)
    assert refused.value.code == "validation_error" and refused.value.details["items"]
    assert not Order.objects.exists()
    named.refresh_from_db()
    assert named.held == 0


def test_names_are_kept_in_one_spelling_and_refused_with_direction_overrides(named, unnamed):
    # Inner whitespace made one space, "e" + combining acute made "é" (NFC): the door's
    # search and the list find one spelling.
    order = place(named, 2, ["Ayu\t\tLestari", "Rene\u0301  Made"])
    assert order.items.get().attendee_names == ["Ayu Lestari", "Ren\u00e9 Made"]
    # A right-to-left override would show "Budi" reversed on the e-ticket and the door list;
    # a NUL or an escape has no place in a name either. Refused whether or not names are asked.
    for bad in ("\u202eidub", "Ayu\x00", "Ayu\x1b[31m", "\u2066Made\u2069"):
        for ticket in (named, unnamed):
            with pytest.raises(InvalidInput) as refused:
                place(ticket, 2, ["Ayu Lestari", bad])
            assert "text-direction" in refused.value.details["items"][0]
    with pytest.raises(InvalidInput) as refused, translation.override("en"):
        order_place(**{**BUYER, "full_name": "\u202eotnasS iduB"}, items=[OrderLineRequest(unnamed.pk, 1)])
    assert refused.value.details["buyer"]["full_name"] == [
        "A name cannot contain control or text-direction characters."
    ]
    # What names legitimately hold stays: joiners (emoji, Indic scripts), direction marks.
    kept = ["Ni Kadek 👩\u200d💻", "\u200fسارة"]
    assert place(named, 2, kept).items.get().attendee_names == kept
    assert Order.objects.count() == 2
    # A name of invisible characters only is a blank name on the e-ticket: none at all.
    for blank in ("\u200b\u200b", "\u2060", "\ufeff \u200d"):
        with pytest.raises(InvalidInput):
            place(named, 2, ["Ayu Lestari", blank])
        with pytest.raises(InvalidInput) as refused:
            order_place(**{**BUYER, "full_name": blank}, items=[OrderLineRequest(unnamed.pk, 1)])
        assert "full_name" in refused.value.details["buyer"]
    assert Order.objects.count() == 2


def test_without_the_setting_the_buyer_stands_in(unnamed):
    order = place(unnamed, 2)
    assert {ticket.holder_name for ticket in order.issued_tickets.all()} == {"Budi Santoso"}
    assert {ticket.attendee_name for ticket in order.issued_tickets.all()} == {""}
    # Blank names (a form's empty inputs) are no names.
    assert {t.attendee_name for t in place(unnamed, 2, ["", " "]).issued_tickets.all()} == {""}
    # Names sent anyway are kept, but their count must be right.
    with pytest.raises(InvalidInput):
        place(unnamed, 2, ["Only one"])


def test_api_items_attendees(named, orders_api, checkin_key, client):  # noqa: F811
    body = {
        "buyer": BUYER,
        "items": [{"ticket_id": named.pk, "quantity": 2, "attendees": [{"name": "Ayu"}, {"name": "Made"}]}],
    }
    response = orders_api.post(body)
    assert response.status_code == 201, response.content
    order = Order.objects.get(code=response.json()["code"])
    assert sorted(order.issued_tickets.values_list("attendee_name", flat=True)) == ["Ayu", "Made"]

    wrong = {"buyer": BUYER, "items": [{"ticket_id": named.pk, "quantity": 2, "attendees": [{"name": "Ayu"}]}]}
    assert_error(orders_api.post(wrong), 400, "validation_error")
    missing = {"buyer": BUYER, "items": [{"ticket_id": named.pk, "quantity": 1}]}
    assert_error(orders_api.post(missing), 400, "validation_error")
    malformed = {"buyer": BUYER, "items": [{"ticket_id": named.pk, "quantity": 1, "attendees": ["Ayu"]}]}
    assert_error(orders_api.post(malformed), 400, "validation_error")
    assert Order.objects.count() == 1

    ticket = order.issued_tickets.get(attendee_name="Made")
    admitted = client.post(
        "/api/checkins",
        json.dumps({"code": ticket.code}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {checkin_key[1]}"},
    )
    assert admitted.json()["ticket"]["attendee_name"] == "Made"


def test_checkout_asks_one_name_per_seat(client, named):
    page = client.get("/events/tedxnamed/").content.decode()
    assert f'name="attendee_{named.pk}_1"' in page and f'name="attendee_{named.pk}_4"' in page
    assert "checkout-attendees.js" in page and "{#" not in page and "comment" not in page
    assert f'<label for="id_attendee_{named.pk}_1">Peserta 1</label>' in page  # Indonesian first

    # "confirmed": as the checkout script sends it (the total was shown before submitting).
    fields = {**BUYER, "language": "en", f"quantity_{named.pk}": "2", "confirmed": "1"}
    refused = checkout_post(client, "tedxnamed", {**fields, f"attendee_{named.pk}_1": "Ayu Lestari"})
    assert refused.status_code == 400 and not Order.objects.exists()
    # The missing name on its own input, named and linked in the summary, in the page's
    # language (Indonesian unless chosen), not the API's English.
    html = refused.content.decode()
    assert f'<a href="#id_attendee_{named.pk}_2">Peserta 2 (Community): Bidang ini harus diisi.</a>' in html
    assert f'id="id_attendee_{named.pk}_2" value="" maxlength="200" autocomplete="off" aria-invalid="true"' in html
    assert f"#id_attendee_{named.pk}_1" not in html and f"#id_attendee_{named.pk}_3" not in html
    assert 'value="Ayu Lestari"' in html  # what was typed stays

    placed = checkout_post(
        client,
        "tedxnamed",
        {
            **fields,
            f"attendee_{named.pk}_1": "Ayu Lestari",
            f"attendee_{named.pk}_2": "Made Wirawan",
            f"attendee_{named.pk}_3": "not chosen",
        },
    )
    assert placed.status_code == 302
    names = sorted(IssuedTicket.objects.values_list("attendee_name", flat=True))
    assert names == ["Ayu Lestari", "Made Wirawan"]
    order = Order.objects.get()
    assert "Made Wirawan" in client.get(order.get_absolute_url()).content.decode()


def test_checkout_of_an_event_without_names_has_no_name_inputs(client, unnamed):
    page = client.get("/events/tedxplain/").content.decode()
    assert "attendee_" not in page and "checkout-attendees.js" not in page


def test_checkout_without_javascript_keeps_the_names_through_the_review(client, named):
    # No "confirmed": the server shows the review step first, and its form must carry the
    # names, or confirming would be refused for names the buyer did type.
    fields = {**BUYER, f"quantity_{named.pk}": "2", f"attendee_{named.pk}_1": " Ayu  Lestari ", "language": "id"}
    review = checkout_post(client, "tedxnamed", {**fields, f"attendee_{named.pk}_2": "Made Wirawan"})
    assert review.status_code == 200 and 'id="review"' in review.content.decode()
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', review.content.decode()))
    assert carried[f"attendee_{named.pk}_1"] == " Ayu  Lestari " and carried[f"attendee_{named.pk}_2"] == "Made Wirawan"

    placed = client.post("/events/tedxnamed/", carried)
    assert placed.status_code == 302
    assert sorted(IssuedTicket.objects.values_list("attendee_name", flat=True)) == ["Ayu Lestari", "Made Wirawan"]


def test_every_seat_up_to_the_most_has_a_name_input_and_names_are_checked_in_the_first_round(client, db):
    # A phase sold in pairs or more (2, 3 or 4): four inputs, not three.
    pairs = TicketFactory(
        event__slug="tedxpairs", event__ask_attendee_names=True, name="Pair", price=0, min_per_order=2, max_per_order=4
    )
    page = client.get("/events/tedxpairs/").content.decode()
    assert f'name="attendee_{pairs.pk}_4"' in page and f'name="attendee_{pairs.pk}_5"' not in page

    # A bad name and a bad email: both told at once.
    refused = checkout_post(
        client,
        "tedxpairs",
        {
            **BUYER,
            "email": "budi@",
            f"quantity_{pairs.pk}": "2",
            f"attendee_{pairs.pk}_1": "Ayu\u202eLestari",
            f"attendee_{pairs.pk}_2": "Made",
            "confirmed": "1",
        },
    )
    html = refused.content.decode()
    assert refused.status_code == 400 and not Order.objects.exists()
    assert f'<a href="#id_attendee_{pairs.pk}_1">' in html and '<a href="#id_email">' in html
