"""A buyer on a phone (360 px wide), in Debian's Chromium: the language they chose all the
way through Xendit's page, the order page and the email; every error at once; the total
before paying; the stock dropping meanwhile; the private link and the bare code; "find my
tickets"; the PDF and the calendar file they keep."""

import base64
import re
import subprocess

import icalendar
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from notifications.emails import notification_message
from notifications.models import Notification, NotificationKind
from notifications.tests.conftest import make_order
from orders.models import EventSource, Order, OrderStatus
from orders.services import issued_tickets_create, order_mark_paid
from orders.tests.conftest import checkout_fill_buyer
from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.tests.factories import PaymentFactory
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
PRIVATE_LINK = re.compile(r"/orders/TDX-[A-Z0-9]{8}/[A-Za-z0-9_-]{43}/$")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True}


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_english_from_the_event_page_through_xendit_to_the_order_page_and_the_email(
    page, live_server, xendit_simulator, celery_eager, tmp_path
):
    ticket = TicketFactory(
        event__slug="tedxphone", event__name="TEDxPhone", name="Regular", price=350_000, quota=10, max_per_order=4
    )
    page.goto(f"{live_server.url}/events/tedxphone/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    assert fits_the_phone(page)
    page.select_option(f"#id_quantity_{ticket.pk}", "2")
    page.fill("#id_full_name", "Siti Rahma")

    page.click("#switch-language")  # "English": the page again, in English, with the cart
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(f"#id_quantity_{ticket.pk}")).to_have_value("2")
    expect(page.locator("#id_full_name")).to_have_value("Siti Rahma")

    # The total, live, before "Continue to payment".
    expect(page.locator("#total")).to_have_text("Rp 700.000")
    page.select_option(f"#id_quantity_{ticket.pk}", "3")
    expect(page.locator("#total")).to_have_text("Rp 1.050.000")
    page.select_option(f"#id_quantity_{ticket.pk}", "2")
    expect(page.locator("#total")).to_have_text("Rp 700.000")
    page.fill("#id_email", "siti@example.com")
    page.fill("#id_phone", "0812-3456-7890")
    page.screenshot(path=str(tmp_path / "checkout-360.png"), full_page=True)
    page.click("#buy")

    # Xendit's page (the simulator's) in the invoice's locale.
    expect(page).to_have_url(re.compile(r"/_xendit/web/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#pay")).to_have_text("Pay Rp 700.000")
    page.check("input[name=channel][value=OVO]")
    page.click("#pay")

    expect(page).to_have_url(PRIVATE_LINK)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.get_by_text("with OVO")).to_be_visible()
    expect(page.get_by_text("Ticket 2 of 2")).to_be_visible()
    assert fits_the_phone(page)
    order = Order.objects.select_related("buyer").get()
    assert (order.status, order.language) == (OrderStatus.PAID, "en")

    # The email, in English, with the PDF of the e-tickets.
    [message] = [m for m in mail.outbox if order.code in m.subject]
    assert message.subject == f"Your e-tickets for TEDxPhone — order {order.code}"
    assert "Thank you" in message.body and order.get_absolute_url() in message.body
    [(filename, pdf, mimetype)] = message.attachments[-1:]
    assert (filename, mimetype) == (f"e-tickets-{order.code}.pdf", "application/pdf")
    text = pdf_text(pdf)
    assert text.count("Siti Rahma") == 2 and order.code in text and "Ticket 2 of 2" in text
    for code in order.issued_tickets.values_list("code", flat=True):
        assert code in text

    # The same PDF from the order page, and the calendar file.
    with page.expect_download() as download:
        page.click("#download-pdf")
    assert "Siti Rahma" in pdf_text(download.value.path().read_bytes())
    with page.expect_download() as download:
        page.click("#add-to-calendar")
    [event] = icalendar.Calendar.from_ical(download.value.path().read_bytes()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "TEDxPhone"


def test_every_error_at_once_with_the_summary_focused(page, live_server):
    ticket = TicketFactory(event__slug="tedxerr")
    page.goto(f"{live_server.url}/language/en/?next=/events/tedxerr/")
    page.fill("#id_email", "not an email")
    page.click("#buy")

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(4)  # no ticket, no name, the email, no phone
    expect(summary).to_contain_text("Choose at least one ticket.")
    expect(page.locator("#id_email")).to_have_value("not an email")
    summary.get_by_role("link", name="Enter a valid email address.").click()
    expect(page).to_have_url(re.compile("#id_email$"))
    assert not Order.objects.exists() and Ticket.objects.get(pk=ticket.pk).held == 0
    assert fits_the_phone(page)


def test_the_stock_dropping_meanwhile_changes_the_selection_and_keeps_the_form(page, live_server):
    ticket = TicketFactory(event__slug="tedxstock", name="Student", price=150_000, quota=3)
    page.goto(f"{live_server.url}/language/en/?next=/events/tedxstock/")
    page.select_option(f"#id_quantity_{ticket.pk}", "2")
    checkout_fill_buyer(page, full_name="Rudi Hartono", email="rudi@example.com", phone="0813 1111 2222")
    Ticket.objects.filter(pk=ticket.pk).update(held=2)  # two bought by others meanwhile
    page.click("#buy")

    expect(page.locator("#error-summary")).to_contain_text(
        "Only 1 Student ticket is left; we changed your selection to 1."
    )
    expect(page.locator(f"#id_quantity_{ticket.pk}")).to_have_value("1")
    expect(page.locator("#total")).to_have_text("Rp 150.000")
    expect(page.locator("#id_full_name")).to_have_value("Rudi Hartono")
    assert not Order.objects.exists()


def test_the_private_link_works_while_the_bare_code_shows_nothing_personal(page, live_server, celery_eager, settings):
    settings.SITE_URL = live_server.url  # the emailed link points at this server
    order = make_order(language="id")
    page.goto(f"{live_server.url}/orders/{order.code.lower()}/")
    content = page.content()
    for personal in (order.buyer.email, order.buyer.phone, order.buyer.full_name, order.link_secret):
        assert personal not in content
    page.click("#email-link")
    expect(page.locator("#link-sent")).to_be_visible()
    [message] = mail.outbox
    [link] = re.findall(r"https?://\S+/orders/\S+/", message.body)

    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_text(order.buyer.email)).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Menunggu pembayaran")


def test_find_my_tickets_sends_the_email(page, live_server, celery_eager):
    order = make_order(language="en")
    page.goto(f"{live_server.url}/find-my-tickets/")
    page.fill("#id_email", order.buyer.email)
    page.click("#send-links")
    expect(page.locator("#links-sent")).to_be_visible()
    [message] = mail.outbox
    assert message.to == [order.buyer.email]
    assert order.get_absolute_url() in message.body


def test_api_docs_load_without_any_request_leaving_the_machine(page, live_server):
    outside = []
    here = re.compile(rf"^{re.escape(live_server.url)}/")  # the test server, on loopback

    def only_here(route):
        if here.match(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("Place an order")).to_be_visible()
    expect(page.get_by_text("/api/tickets").first).to_be_visible()
    assert outside == []


def test_an_order_page_with_a_voucher_discount_fits_the_phone(page, live_server):
    ticket = TicketFactory(event__slug="tedxdiskon", name="Reguler", price=350_000)
    voucher = VoucherFactory(event=ticket.event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20)
    order = OrderFactory(
        event=ticket.event, status=OrderStatus.PAID, voucher=voucher, total=560_000, discount=140_000, language="id"
    )
    # The widest code there can be: "Pesanan TDX-WMWMWMWM" kept on one line overflowed a
    # 360 px screen (codes are random, so this failed now and then).
    type(order).objects.filter(pk=order.pk).update(code="TDX-WMWMWMWM")
    order.refresh_from_db()
    OrderItemFactory(order=order, ticket=ticket, quantity=2, unit_discount=70_000)
    issued_tickets_create(order=order)

    page.goto(f"{live_server.url}{order.get_absolute_url()}")

    # The old and the new unit price, the line's subtotal and the voucher line: all on screen.
    expect(page.locator("#order-discount")).to_contain_text("−Rp 140.000")
    assert fits_the_phone(page)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_confirmation_email_fits_the_phone(page, language):
    """With its QR images in place (the cid: parts as data URIs, as a mail app shows them) and
    a voucher line, the widest case: no sideways scrolling, the short code in one piece."""
    ticket = TicketFactory(event__name="TEDxJakarta 2026", name="Early bird", price=350_000)
    voucher = VoucherFactory(event=ticket.event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20)
    order = OrderFactory(event=ticket.event, voucher=voucher, total=560_000, discount=140_000, language=language)
    OrderItemFactory(order=order, ticket=ticket, quantity=2, unit_discount=70_000)
    PaymentFactory(order=order)
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    message = notification_message(Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION))
    html = message.alternatives[0][0]
    for part in message.attachments:
        if not isinstance(part, tuple):  # an inline QR image
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            html = html.replace(f"cid:{part['Content-ID'].strip('<>')}", f"data:image/png;base64,{data}")

    page.set_content(html)

    assert page.evaluate("[...document.images].every(image => image.naturalWidth > 0)")
    assert fits_the_phone(page)
    for short_code in order.issued_tickets.values_list("short_code", flat=True):
        [box] = [b for b in page.locator("strong").all() if b.inner_text().replace("-", "") == short_code]
        assert box.bounding_box()["height"] < 30  # one line
