"""Finance cancels and refunds a paid order from the admin, in Debian's Chromium, and the
buyer's order page shows it cancelled with its e-tickets void."""

# ruff: noqa: F811

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from orders.models import OrderStatus
from payments.models import Refund, RefundStatus
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_cancels_and_refunds_a_paid_order_and_the_order_page_shows_it_void(
    page, live_server, xendit_simulator, placed_order, tmp_path
):
    payment = placed_order(quantity=2, price=150_000)
    xendit_simulator.pay(payment.invoice_id, channel="DANA")
    order = payment.order
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    User.objects.create_superuser("siti", "siti@example.com", "a-long-password-1")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "siti")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    page.click("#cancel-refund-link")

    expect(page.locator("td.refundable")).to_have_text("Rp 300.000")
    expect(page.locator("#id_amount")).to_have_value("300000")
    page.fill("#id_note", "Buyer cannot attend")
    page.click("#refund-submit")

    expect(page).to_have_url(re.compile(rf"/admin/orders/order/{order.pk}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Xendit accepted the refund")
    refund = Refund.objects.get(order=order)
    expect(page.get_by_text(refund.reference, exact=True)).to_be_visible()  # the refunds inline
    assert refund.status == RefundStatus.PENDING and refund.requested_by == "siti"
    assert [r["amount"] for r in xendit_simulator.refunds(payment.invoice_id)] == [300_000]

    # The buyer's page, on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{order.get_absolute_url()}")  # the private link of the emails
    expect(page.locator("#order-status")).to_have_text("Dibatalkan")  # Indonesian first: "Cancelled"
    expect(page.locator("#cancelled")).to_contain_text("tidak berlaku")  # the e-tickets are void
    expect(page.locator("#void-tickets li")).to_have_count(2)
    expect(page.locator("#etickets")).to_have_count(0)  # no QR code left to scan
    expect(page.locator("#refunds .refund-status")).to_have_text("Diproses")  # in progress, in one language
    page.screenshot(path=str(tmp_path / "order-void-phone.png"), full_page=True)

    xendit_simulator.refund_succeed(refund.gateway_refund_id)
    page.reload()
    expect(page.locator("#refunds .refund-status")).to_have_text("Selesai")
