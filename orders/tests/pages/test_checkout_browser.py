"""An attendee buys through the checkout page and the simulator's hosted invoice page, in
Debian's Chromium, and sees the paid order page with one QR code per seat."""

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from notifications.tests.conftest import make_order
from orders.form_submissions import checkout_token_key, submission_claim, submission_placed
from orders.models import Order, OrderStatus
from orders.tests.conftest import checkout_fill_buyer
from orders.tests.placing.test_checkout_double_submit import create_reached_the_simulator, wait_until
from payments.models import Payment, PaymentStatus
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buy_two_seats_pay_with_ovo_and_see_the_etickets(page, live_server, xendit_simulator):
    ticket = TicketFactory(
        event__slug="tedxbrowser", event__name="TEDxBrowser", name="Regular", price=350_000, quota=10
    )

    page.goto(f"{live_server.url}/events/tedxbrowser/")
    expect(page.get_by_role("heading", name="TEDxBrowser")).to_be_visible()
    page.select_option(f"select[name=quantity_{ticket.pk}]", "2")
    checkout_fill_buyer(page, full_name="Siti Rahma", email="Siti@Example.com", phone="0812-3456-7890")
    page.click("#buy")

    # Xendit's hosted invoice page (the simulator's), with the server's price.
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    expect(page.get_by_text("Rp 700.000").first).to_be_visible()
    page.check("input[name=channel][value=OVO]")
    page.click("#pay")

    # Back on the order's private link, in Indonesian (nobody switched to English).
    expect(page).to_have_url(re.compile(r"/orders/TDX-[A-Z0-9]{8}/[A-Za-z0-9_-]{43}/$"))
    expect(page.locator("#order-status")).to_have_text("Lunas")
    expect(page.locator("#etickets .eticket svg")).to_have_count(2)

    order = Order.objects.select_related("payment", "buyer").get()
    assert order.status == OrderStatus.PAID and order.total == 700_000
    assert order.buyer.email == "siti@example.com" and order.buyer.phone == "+6281234567890"
    assert order.payment.status == PaymentStatus.PAID
    assert (order.payment.channel, order.payment.paid_amount) == ("OVO", 700_000)
    codes = set(order.issued_tickets.values_list("code", flat=True))
    assert len(codes) == 2
    for code in codes:
        expect(page.get_by_text(code)).to_be_visible()
    for issued in order.issued_tickets.all():
        expect(page.get_by_text(issued.short_code_display)).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.held == 2


def test_letting_the_invoice_expire_shows_the_expired_order(page, live_server, xendit_simulator):
    ticket = TicketFactory(event__slug="tedxlate", quota=5)

    page.goto(f"{live_server.url}/events/tedxlate/")
    page.select_option(f"select[name=quantity_{ticket.pk}]", "1")
    checkout_fill_buyer(page, full_name="Andi Wijaya", email="andi@example.com", phone="+62 811 222 333")
    page.click("#buy")
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    page.click("#expire")

    expect(page).to_have_url(re.compile(r"/orders/TDX-"))
    expect(page.locator("#order-status")).to_have_text("Kedaluwarsa")
    ticket.refresh_from_db()
    assert ticket.held == 0


@pytest.mark.parametrize("javascript", [True, False])
def test_enter_in_a_field_places_the_order_and_keeps_the_language(browser, live_server, xendit_simulator, javascript):
    # The header's language switch is a submit button of this form too (it keeps the cart);
    # Enter must not be taken for it.
    ticket = TicketFactory(event__slug="tedxenter", quota=5)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()

    page.goto(f"{live_server.url}/events/tedxenter/")
    page.select_option(f"select[name=quantity_{ticket.pk}]", "1")
    checkout_fill_buyer(page, full_name="Andi Wijaya", email="andi@example.com", phone="0811 222 333")
    page.press("#id_phone", "Enter")

    if not javascript:  # no live total: the review step shows it, in Indonesian still
        expect(page.locator("#review")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "id")
        page.click("#buy")
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    assert Order.objects.get().language == "id"
    assert not any(cookie["name"] == "tedxpay_language" for cookie in context.cookies())
    context.close()


def test_sent_again_while_the_first_is_placing_waits_on_a_page_that_moves_on_to_the_first_invoice(
    page, live_server, xendit_simulator
):
    # The same rendering of the form sent twice, the first still waiting for Xendit (another
    # tab of the restored page, a reload): the browser's submission is answered at once with
    # a page that reloads itself (no script: the CSP allows none inline) and lands on the
    # first submission's invoice once it exists. One order.
    ticket = TicketFactory(event__slug="tedxtwin", event__name="TEDxTwin", quota=10)
    # The waiting page's script runs under the Content-Security-Policy, without an error.
    problems: list[str] = []
    page.on(
        "console", lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/events/tedxtwin/")
    page.select_option(f"select[name=quantity_{ticket.pk}]", "1")
    checkout_fill_buyer(page, full_name="Siti Rahma", email="siti@example.com", phone="0812-3456-7890")
    # What the click will send, read from the form (its script has set the `confirmed` flag).
    fields: dict[str, list[str]] = {}
    for name, value in page.evaluate("() => [...new FormData(document.getElementById('checkout')).entries()]"):
        fields.setdefault(name, []).append(value)
    xendit_simulator.inject_fault("create", "delay", seconds=3.0)

    def first_submission():
        try:
            Client().post("/events/tedxtwin/", fields)
        finally:
            connection.close()

    first = threading.Thread(target=first_submission)
    first.start()
    wait_until(create_reached_the_simulator)
    page.click("#buy")

    expect(page.locator("#placing")).to_contain_text("Pesanan Anda sedang dibuat")
    expect(page).to_have_url(re.compile(r"/_xendit/web/"), timeout=15_000)
    first.join(30)
    order = Order.objects.select_related("payment").get()
    assert page.url == order.payment.invoice_url
    assert problems == []


def test_without_javascript_the_waiting_page_moves_on_by_itself_too(browser, live_server, client):
    # No script: the page's <noscript> refresh asks again until the order exists.
    TicketFactory(event__slug="tedxtwin", event__name="TEDxTwin", quota=10)
    token = client.get("/events/tedxtwin/").context["checkout_token"]
    record, _ = submission_claim(key=checkout_token_key(token), fingerprint="the first submission")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/events/tedxtwin/placing/{token}/")
    expect(page.locator("#placing")).to_contain_text("Pesanan Anda sedang dibuat")

    # The first submission's order, here one whose invoice is not there yet: its own page.
    order = make_order(language="id")
    Payment.objects.filter(order=order).update(invoice_url="")
    submission_placed(record=record, order=order)

    expect(page).to_have_url(re.compile(re.escape(order.get_absolute_url()) + "$"), timeout=10_000)
    context.close()
