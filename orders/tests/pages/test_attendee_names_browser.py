"""The buyer corrects an attendee's name on a phone (360 px) in Debian's Chromium: the
form opens under the e-ticket, a blank name is refused on that ticket, a real one is saved
and said so, and the page stays free of serious accessibility faults (axe)."""

import pytest
from playwright.sync_api import expect

from orders.tests.pages.test_attendee_names import order  # noqa: F401 (a fixture)
from orders.tests.pages.test_event_moved_browser import browser_context_args, serious_violations  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_buyer_renames_an_attendee_on_the_phone(page, live_server, order):  # noqa: F811
    second = order.issued_tickets.all()[1]
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    ticket = page.locator(".eticket").nth(1)
    ticket.get_by_text("Change the name").click()
    field = ticket.get_by_label("Attendee's name")
    expect(field).to_have_value("Peserta 2")

    field.fill("   ")
    ticket.get_by_role("button", name="Save the name").click()
    ticket = page.locator(".eticket").nth(1)
    expect(ticket.get_by_role("alert")).to_have_text("Give the attendee's name, 1 to 200 characters.")
    assert serious_violations(page) == []

    ticket.get_by_label("Attendee's name").fill("Ayu Lestari")
    ticket.get_by_role("button", name="Save the name").click()

    expect(page.locator(".eticket").nth(1).locator(".attendee")).to_have_text("Ayu Lestari")
    expect(page.get_by_role("status")).to_contain_text("Name saved.")
    assert page.url.endswith(f"?renamed={second.short_code}#etickets")
    second.refresh_from_db()
    assert second.attendee_name == "Ayu Lestari"
