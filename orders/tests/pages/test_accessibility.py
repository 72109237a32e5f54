"""axe-core (from npm, package.json; used by the tests only) finds no serious or critical
accessibility problem on the buyer's pages, on a phone, in both languages."""

from pathlib import Path

import pytest
from django.utils import timezone

from notifications.tests.conftest import make_order
from orders.form_submissions import checkout_token_key, submission_claim, submission_refused
from orders.models import EventSource
from orders.services import order_mark_paid
from tedxpay.core.errors import ApplicationError
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def browser_context_args(browser_context_args):
    # bypass_csp: axe is injected as a script of the test's own, which a Content-Security-
    # Policy of script-src 'self' would (rightly) refuse.
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}, "bypass_csp": True}


def serious_violations(page) -> list[str]:
    assert AXE.is_file(), "axe-core is missing: `npm ci` (make test runs it)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("language", ["id", "en"])
def test_checkout_page_with_and_without_errors(page, live_server, language):
    TicketFactory(event__slug="tedxaxe", name="Regular", description="Seat in the main hall, lunch included.")
    TicketFactory(event__slug="tedxaxe2", quota=0)
    page.goto(f"{live_server.url}/language/{language}/?next=/events/tedxaxe/")
    assert serious_violations(page) == []
    page.click("#buy")  # every error at once
    page.wait_for_selector("#error-summary")
    assert serious_violations(page) == []


def test_order_pages_find_my_tickets_and_the_not_found_page(page, live_server):
    order = make_order(language="id")
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    for path in (order.get_absolute_url(), order.get_public_url(), "/find-my-tickets/", "/", "/tidak-ada/"):
        page.goto(f"{live_server.url}{path}")
        assert serious_violations(page) == [], path


def test_the_page_a_form_sent_twice_waits_on(page, live_server, client):
    # orders/views.py::checkout_placing: still placing, then refused (the reason, the way back).
    TicketFactory(event__slug="tedxwait")
    token = client.get("/events/tedxwait/").context["checkout_token"]
    record, _ = submission_claim(key=checkout_token_key(token), fingerprint="the first submission")
    page.goto(f"{live_server.url}/events/tedxwait/placing/{token}/")
    assert serious_violations(page) == []
    submission_refused(record=record, error=ApplicationError("Sold out.", code="sold_out", status_code=409))
    # The waiting page moves on by itself (its script asks every second, then replaces the
    # page). A goto of our own here raced that replace and was aborted on a loaded machine.
    page.wait_for_selector("[role=alert]")
    assert serious_violations(page) == []
