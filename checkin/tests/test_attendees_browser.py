"""The checkout of an event that asks each attendee's name, in Chromium on a phone: one
name input per ticket chosen, and the e-tickets carry the names."""

import re

import pytest
from playwright.sync_api import expect

from checkin.tests.test_door_browser import PHONE, watch_for_errors
from orders.models import IssuedTicket
from orders.tests.conftest import checkout_fill_buyer
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_one_name_per_ticket_chosen_then_on_the_etickets(browser, live_server):
    ticket = TicketFactory(
        event__slug="tedxnamed", event__ask_attendee_names=True, name="Community", price=0, max_per_order=4
    )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_for_errors(page)
    page.goto(f"{live_server.url}/events/tedxnamed/")

    def seat(number):
        return page.locator(f"#id_attendee_{ticket.pk}_{number}")

    expect(seat(1)).to_be_hidden()  # nothing chosen yet
    page.select_option(f"select[name=quantity_{ticket.pk}]", "2")
    expect(seat(1)).to_be_visible()
    expect(seat(2)).to_be_visible()
    expect(seat(3)).to_be_hidden()
    seat(1).fill("Ayu Lestari")
    seat(2).fill("Made Wirawan")
    checkout_fill_buyer(page, full_name="Budi Santoso", email="budi@example.com", phone="0812 3456 7890")
    page.click("#buy")

    expect(page).to_have_url(re.compile(r"/orders/TDX-"))
    expect(page.locator("#etickets")).to_contain_text("Ayu Lestari")
    expect(page.locator("#etickets")).to_contain_text("Made Wirawan")
    assert sorted(IssuedTicket.objects.values_list("attendee_name", flat=True)) == ["Ayu Lestari", "Made Wirawan"]
    assert errors == []
    context.close()
