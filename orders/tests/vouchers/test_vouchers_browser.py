"""A buyer applies a voucher at checkout in Debian's Chromium, sees the discounted price,
pays the discounted total at the simulator and finds the discount on the order page; a
hidden phase appears only through its voucher link."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order, OrderStatus
from orders.tests.conftest import checkout_fill_buyer
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import Voucher, VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("typed", "outcome"), [("komunitas", "Rp 280.000"), ("NOPE", "tidak berlaku")])
def test_a_voucher_typed_but_not_applied_goes_with_the_order(page, live_server, xendit_simulator, typed, outcome):
    # The buyer types the code and goes straight to "Lanjut ke pembayaran" without "Pakai".
    event = EventFactory(slug="tedxlupa", name="TEDxLupa")
    ticket = TicketFactory(event=event, name="Regular", price=350_000, quota=10)
    VoucherFactory(event=event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20, max_uses=5)

    page.goto(f"{live_server.url}/events/tedxlupa/")
    page.fill("#id_voucher", typed)
    page.select_option(f"select[name=quantity_{ticket.pk}]", "1")
    checkout_fill_buyer(page, full_name="Siti Rahma", email="siti@example.com", phone="0812-3456-7890")
    page.click("#buy")

    if typed == "NOPE":  # refused with the reason, the cart and details kept, nothing placed
        expect(page.locator("#error-summary")).to_contain_text(outcome)
        expect(page.locator("#id_full_name")).to_have_value("Siti Rahma")
        assert not Order.objects.exists()
        return
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    expect(page.get_by_text(outcome).first).to_be_visible()
    assert Order.objects.get().voucher.code == "KOMUNITAS"


def test_voucher_at_checkout_discounted_total_paid_and_shown_on_the_order_page(page, live_server, xendit_simulator):
    event = EventFactory(slug="tedxdiskon", name="TEDxDiskon")
    ticket = TicketFactory(event=event, name="Regular", price=350_000, quota=10)
    VoucherFactory(event=event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20, max_uses=5)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    page.goto(f"{live_server.url}/events/tedxdiskon/")
    page.fill("#id_voucher", "komunitas")
    page.click("#apply-voucher")
    expect(page.locator("#voucher-applied")).to_contain_text("KOMUNITAS")
    expect(page.locator("#voucher-applied")).to_contain_text("diskon 20%")
    expect(page.locator(".price .discounted").first).to_have_text("Rp 280.000")

    page.select_option(f"select[name=quantity_{ticket.pk}]", "2")
    checkout_fill_buyer(page, full_name="Siti Rahma", email="siti@example.com", phone="0812-3456-7890")
    page.click("#buy")

    # Xendit's page asks for the discounted total.
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    expect(page.get_by_text("Rp 560.000").first).to_be_visible()
    page.check("input[name=channel][value=OVO]")
    page.click("#pay")

    expect(page).to_have_url(re.compile(r"/orders/TDX-[A-Z0-9]{8}/[A-Za-z0-9_-]{43}/$"))  # the private link
    expect(page.locator("#order-status")).to_have_text("Lunas")  # Indonesian: nobody switched
    expect(page.locator("#order-discount")).to_contain_text("KOMUNITAS")
    expect(page.locator("#order-discount")).to_contain_text("Rp 140.000")
    expect(page.locator("#etickets .eticket svg")).to_have_count(2)

    order = Order.objects.select_related("payment").get()
    assert (order.status, order.total, order.discount) == (OrderStatus.PAID, 560_000, 140_000)
    assert order.payment.paid_amount == 560_000
    assert Voucher.objects.get(code="KOMUNITAS").used == 2


def test_a_hidden_phase_appears_only_with_its_voucher_link(page, live_server):
    event = EventFactory(slug="tedxundangan", name="TEDxUndangan")
    TicketFactory(event=event, name="Regular", price=350_000)
    hidden = TicketFactory(event=event, name="Tamu Pembicara", price=150_000, requires_voucher=True)
    VoucherFactory(event=event, code="TAMU-2026", kind=VoucherKind.UNLOCK, value=0, tickets=[hidden])

    page.goto(f"{live_server.url}/events/tedxundangan/")
    expect(page.get_by_text("Regular", exact=True)).to_be_visible()
    expect(page.get_by_text("Tamu Pembicara")).to_have_count(0)

    page.goto(f"{live_server.url}/events/tedxundangan/?voucher=TAMU-2026")
    expect(page.locator("#id_voucher")).to_have_value("TAMU-2026")
    expect(page.get_by_text("Tamu Pembicara", exact=True)).to_be_visible()
    expect(page.locator(f"select[name=quantity_{hidden.pk}]")).to_be_visible()


def test_applying_a_voucher_keeps_the_chosen_tickets_and_the_typed_details(page, live_server, xendit_simulator):
    # The buyer chooses first and remembers the code at the end: "Pakai" must not empty the cart.
    event = EventFactory(slug="tedxkeranjang", name="TEDxKeranjang")
    ticket = TicketFactory(event=event, name="Regular", price=350_000, quota=10)
    hidden = TicketFactory(event=event, name="Komunitas", price=200_000, quota=10, requires_voucher=True)
    VoucherFactory(event=event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20, max_uses=5)
    VoucherFactory(event=event, code="TEMAN", kind=VoucherKind.UNLOCK, value=0, max_uses=5, tickets=[hidden])
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/events/tedxkeranjang/")
    page.select_option(f"select[name=quantity_{ticket.pk}]", "2")
    checkout_fill_buyer(page, full_name="Siti Rahma", email="siti@example.com", phone="0812-3456-7890")
    page.fill("#id_voucher", "nope")
    page.click("#apply-voucher")
    # A wrong code: said where it was typed, nothing else flagged, nothing lost.
    expect(page.locator("#voucher-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.locator(f"select[name=quantity_{ticket.pk}]")).to_have_value("2")
    expect(page.locator("#id_full_name")).to_have_value("Siti Rahma")

    page.fill("#id_voucher", "komunitas")
    page.press("#id_voucher", "Enter")  # Enter in the box applies, it does not place the order
    expect(page.locator("#voucher-applied")).to_contain_text("KOMUNITAS")
    expect(page.locator(f"select[name=quantity_{ticket.pk}]")).to_have_value("2")
    expect(page.locator("#id_email")).to_have_value("siti@example.com")
    expect(page.locator("#total")).to_have_text("Rp 560.000")
    assert not Order.objects.exists()

    # A voucher that unlocks a phase shows it, the cart still as it was.
    page.fill("#id_voucher", "teman")
    page.click("#apply-voucher")
    expect(page.locator(f"select[name=quantity_{hidden.pk}]")).to_be_visible()
    expect(page.locator(f"select[name=quantity_{ticket.pk}]")).to_have_value("2")

    page.select_option(f"select[name=quantity_{hidden.pk}]", "1")
    page.click("#buy")
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    order = Order.objects.get()
    assert (order.voucher.code, order.total) == ("TEMAN", 900_000)
