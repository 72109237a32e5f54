"""Vouchers and comps where finance and buyers see them: the comp form in the admin, the
order page in the admin, the CSV export, the dashboard and the confirmation email."""

import csv
import io
import subprocess

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.checkout.comps import CompRecipient, comps_issue
from orders.checkout.placing import OrderLineRequest, order_place
from orders.dashboard import sales_overview
from orders.models import Order, OrderStatus
from orders.services import issued_tickets_create
from orders.tests.factories import OrderFactory, OrderItemFactory
from tickets.tests.factories import TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

ISSUE = "/admin/orders/order/issue-comps/"
CHANGELIST = "/admin/orders/order/"


@pytest.fixture(autouse=True)
def no_xendit(settings, closed_port):
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}"


@pytest.fixture
def ticket():
    return TicketFactory(name="Regular", price=350_000, quota=10, event__name="TEDxUbud")


def issue(client, data):
    """Send the comps form as a browser does: with the one-time token of its rendering."""
    token = client.get(ISSUE).context["form"]["token"].value()
    return client.post(ISSUE, {**data, "token": token})


def free_voucher_order(ticket, quantity=2):
    VoucherFactory(event=ticket.event, code="CREW", kind=VoucherKind.PERCENT, value=100, max_uses=5)
    return order_place(
        full_name="Budi Santoso",
        email="budi@example.com",
        phone="0812 3456 7890",
        items=[OrderLineRequest(ticket.pk, quantity)],
        voucher="CREW",
    )


def test_finance_issues_comps_from_a_pasted_list_and_a_csv_upload(admin_client, ticket):
    upload = SimpleUploadedFile("speakers.csv", "name,email\nSari Dewi,sari@example.com\n".encode("utf-8-sig"))
    response = issue(
        admin_client,
        {
            "ticket": ticket.pk,
            "recipients": "Ni Luh Putu Ayu, ayu@example.com",
            "csv_file": upload,
            "language": "id",
            "note": "speakers",
        },
    )
    assert response.status_code == 302 and response.url.endswith("?is_comp__exact=1")
    comps = Order.objects.filter(is_comp=True).select_related("buyer")
    assert sorted(order.buyer.email for order in comps) == ["ayu@example.com", "sari@example.com"]
    assert all(
        order.events.first().note.startswith("complimentary ticket issued by admin: speakers") for order in comps
    )
    ticket.refresh_from_db()
    assert ticket.held == 2
    assert admin_client.get(ISSUE).status_code == 200


def test_a_comp_list_larger_than_what_is_left_is_refused_whole(admin_client, ticket):
    ticket.quota = 1
    ticket.save()
    response = issue(
        admin_client, {"ticket": ticket.pk, "recipients": "A, a@example.com\nB, b@example.com", "language": "en"}
    )
    assert response.status_code == 200
    assert "Only 1 left" in response.content.decode()
    assert Order.objects.count() == 0


def test_a_bad_line_is_shown_with_its_number(admin_client, ticket):
    response = issue(admin_client, {"ticket": ticket.pk, "recipients": "A, a@example.com\nB b", "language": "en"})
    assert "line 2" in response.content.decode()
    assert Order.objects.count() == 0


def test_the_comps_form_sent_again_issues_nothing_more(admin_client, ticket):
    # A double click, a reload of the POST, a second tab: one batch per rendering.
    token = admin_client.get(ISSUE).context["form"]["token"].value()
    body = {"ticket": ticket.pk, "recipients": "A, a@example.com\nB, b@example.com", "language": "en", "token": token}
    first = admin_client.post(ISSUE, body)
    again = admin_client.post(ISSUE, body, follow=True)
    assert first.status_code == 302 and again.status_code == 200
    assert any("sent before" in str(m) for m in again.context["messages"])
    assert Order.objects.filter(is_comp=True).count() == 2
    # The same rendering sent with other people: refused, shown again with a new token.
    other = admin_client.post(ISSUE, {**body, "recipients": "C, c@example.com"})
    assert other.status_code == 200 and "already sent with other choices" in other.content.decode()
    assert other.context["form"]["token"].value() != token
    # A forged token counts for nothing.
    forged = admin_client.post(ISSUE, {**body, "token": "made-up"})
    assert "out of date" in forged.content.decode() and Order.objects.filter(is_comp=True).count() == 2


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_the_comps_form_sent_five_times_at_once_issues_one_batch(ticket):
    from django.contrib.auth.models import User
    from django.test import Client

    from tedxpay.core.tests.concurrency import run_together

    User.objects.create_superuser("root", password="x")
    browser = Client()
    browser.force_login(User.objects.get())
    token = browser.get(ISSUE).context["form"]["token"].value()
    body = {"ticket": ticket.pk, "recipients": "A, a@example.com\nB, b@example.com", "language": "en", "token": token}

    def send():
        tab = Client()
        tab.force_login(User.objects.get())
        return tab.post(ISSUE, body).status_code

    assert run_together(*[send] * 5) == [302] * 5
    assert Order.objects.filter(is_comp=True).count() == 2
    ticket.refresh_from_db()
    assert ticket.held == 2


def test_csv_export_and_admin_page_show_voucher_discount_and_comp(admin_client, ticket):
    with_voucher = free_voucher_order(ticket)
    [comp] = comps_issue(ticket_id=ticket.pk, recipients=[CompRecipient("Ayu", "ayu@example.com")], issued_by="f")

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [with_voucher.pk, comp.pk]})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    by_code = {row["code"]: row for row in rows}
    assert (by_code[with_voucher.code]["kind"], by_code[with_voucher.code]["voucher"]) == ("sale", "CREW")
    assert by_code[with_voucher.code]["discount (IDR)"] == "700000"
    assert (by_code[comp.code]["kind"], by_code[comp.code]["total (IDR)"]) == ("comp", "0")

    page = admin_client.get(f"{CHANGELIST}{with_voucher.pk}/change/").content.decode()
    assert "CREW" in page and "Rp 700.000" in page
    listing = admin_client.get(f"{CHANGELIST}?is_comp__exact=1").content.decode()
    assert comp.code in listing and with_voucher.code not in listing


def test_dashboard_shows_discounts_given_and_comps_issued(admin_client, ticket):
    free_voucher_order(ticket)
    comps_issue(
        ticket_id=ticket.pk,
        recipients=[CompRecipient("Ayu", "ayu@example.com"), CompRecipient("Sari", "sari@example.com")],
        issued_by="f",
    )

    overview = sales_overview()
    [sales] = overview.events
    assert (sales.discounts, sales.comps, sales.revenue) == (700_000, 2, 0)
    assert (overview.discounts, overview.comps) == (700_000, 2)
    html = admin_client.get(f"{CHANGELIST}dashboard/").content.decode()
    assert "Discounts given" in html and "Comps issued" in html and "Rp 700.000" in html


def test_the_confirmation_email_shows_the_voucher_or_the_comp(
    ticket,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        free_voucher_order(ticket)
        comps_issue(
            ticket_id=ticket.pk, recipients=[CompRecipient("Ayu", "ayu@example.com")], issued_by="f", language="id"
        )
    by_address = {message.to[0]: message for message in mail.outbox}
    voucher_mail = by_address["budi@example.com"]
    assert "Voucher CREW: −Rp 700.000" in voucher_mail.body
    assert "Voucher CREW" in voucher_mail.alternatives[0][0]
    comp_mail = by_address["ayu@example.com"]
    assert "Tiket undangan (gratis) dari panitia." in comp_mail.body
    assert "Anda mendapat tiket undangan (gratis) dari panitia" in comp_mail.body
    assert "Pembayaran" not in comp_mail.body and "Pembayaran" not in comp_mail.alternatives[0][0]
    assert "Your payment for order" in voucher_mail.body  # a bought ticket keeps its wording (English order)


def pdf_text(client, order: Order) -> str:
    response = client.get(f"/orders/{order.code}/{order.link_secret}/e-tickets.pdf")
    assert response.status_code == 200
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout
    return " ".join(text.decode().split())  # a long line wraps on the narrow page


def test_the_pdf_names_the_voucher_and_the_price_with_it_in_the_order_language(client, ticket):
    voucher = VoucherFactory(event=ticket.event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20, max_uses=5)
    order = OrderFactory(
        event=ticket.event, status=OrderStatus.PAID, voucher=voucher, total=560_000, discount=140_000, language="id"
    )
    OrderItemFactory(order=order, ticket=ticket, quantity=2, unit_discount=70_000)
    issued_tickets_create(order=order)

    text = pdf_text(client, order)

    # On both tickets, in Indonesian (the order's language; the browser chose none).
    assert text.count("Voucher KOMUNITAS Rp 280.000 (harga normal Rp 350.000)") == 2
    assert "Tiket 1 dari 2" in text and "undangan" not in text


def test_the_pdf_says_a_comp_is_complimentary_in_either_language(client, ticket):
    [english] = comps_issue(
        ticket_id=ticket.pk, recipients=[CompRecipient("Ayu", "ayu@example.com")], issued_by="f", language="en"
    )
    [indonesian] = comps_issue(
        ticket_id=ticket.pk, recipients=[CompRecipient("Sari", "sari@example.com")], issued_by="f", language="id"
    )

    assert "Complimentary ticket" in pdf_text(client, english)
    assert "Tiket undangan (gratis)" in pdf_text(client, indonesian)
    # A ticket bought at the phase's price carries no such line.
    bought = OrderFactory(event=ticket.event, status=OrderStatus.PAID, total=350_000, language="en")
    OrderItemFactory(order=bought, ticket=ticket)
    issued_tickets_create(order=bought)
    text = pdf_text(client, bought)
    assert "Complimentary" not in text and "Voucher" not in text and "Ticket 1 of 1" in text


def test_a_comps_order_page_says_it_was_given_not_paid(client, ticket):
    [comp] = comps_issue(
        ticket_id=ticket.pk, recipients=[CompRecipient("Ayu", "ayu@example.com")], issued_by="f", language="id"
    )

    page = client.get(comp.get_absolute_url()).content.decode()

    assert "Tiket undangan (gratis) dari panitia." in page and 'id="order-comp"' in page
    assert "Dibayar pada" not in page and "Comp." not in page  # not "paid with Comp"
    assert "ayu@example.com</p>" in page  # no dangling separator where a comp has no phone
