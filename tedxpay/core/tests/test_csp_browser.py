"""The pages live under the Content-Security-Policy: Chromium reports no violation on the
API docs page, the admin (its JavaScript included) and the checkout."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orders.tests.factories import OrderFactory
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def violations(page):
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_api_docs_render_swagger_ui(page, live_server, violations):
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name="tedxpay API")).to_be_visible()
    expect(page.get_by_text("/api/orders").first).to_be_visible()
    assert violations == []


def test_admin_pages_and_their_javascript(page, live_server, violations):
    get_user_model().objects.create_superuser("root", password="a-long-correct-password-42")
    OrderFactory.create_batch(2)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-correct-password-42")
    page.click("input[type=submit]")
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()

    page.goto(f"{live_server.url}/admin/orders/order/")
    # actions.js: ticking "select all" updates the counter.
    page.check("#action-toggle")
    expect(page.locator(".action-counter")).to_contain_text("2 of 2 selected")
    page.goto(f"{live_server.url}/admin/tickets/ticket/add/")
    expect(page.locator("#ticket_form")).to_be_visible()
    assert violations == []


def test_checkout_page(page, live_server, violations):
    TicketFactory(event__slug="tedxcsp", event__name="TEDxCSP")
    page.goto(f"{live_server.url}/events/tedxcsp/")
    expect(page.get_by_role("heading", name="TEDxCSP")).to_be_visible()
    assert violations == []
