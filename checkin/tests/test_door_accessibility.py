"""axe-core finds no serious or critical accessibility problem on the door's pages (sign-in,
the door page idle, after a refusal, with search results, and the printable list), on a
phone, in both languages."""

import re

import pytest
from playwright.sync_api import expect

from orders.tests.pages.test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # bypass_csp: axe is injected as a script of the test's own (see orders' accessibility test).
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}, "bypass_csp": True}


@pytest.mark.parametrize("language", ["id", "en"])
def test_door_pages(page, live_server, door_user, paid_order, event, language):
    order = paid_order(quantity=2)
    ticket = order.issued_tickets.first()
    page.goto(f"{live_server.url}/language/{language}/?next=/checkin/")
    expect(page).to_have_url(re.compile(r"/checkin/login/"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert serious_violations(page) == [], "sign-in"
    page.fill("#id_username", "gate-a")
    page.fill("#id_password", "door-pass-123")
    page.click("#login")
    expect(page).to_have_url(re.compile(r"/checkin/$"))
    assert serious_violations(page) == [], "idle"

    for tone in ("green", "red"):  # admitted, then the same ticket again: already in
        page.fill("#code", ticket.short_code)
        page.click("#check")
        expect(page.locator("#result")).to_have_class(re.compile(rf"\b{tone}\b"))
        assert serious_violations(page) == [], tone
    page.fill("#code", "ZZZZ-ZZZZ-ZZ")
    page.click("#check")
    expect(page.locator("#result")).to_have_class(re.compile(r"\bamber\b"))
    assert serious_violations(page) == [], "amber"

    page.fill("#q", "siti")
    page.click("#search-form button")
    expect(page.locator("#found .found-row")).to_have_count(2)
    assert serious_violations(page) == [], "search"

    page.goto(f"{live_server.url}/checkin/list/?event={event.slug}")
    assert serious_violations(page) == [], "list"
