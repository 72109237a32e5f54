"""An Indonesian buyer reads every notice in Indonesian: a voucher that cannot be used, the
per-buyer limit, the hoarding cap, a cancelled order's void tickets and its refunds; the
same notices in English when English is chosen. (The API keeps its English messages:
orders/tests/vouchers/test_vouchers_api.py.)"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import EventSource
from orders.services import order_cancel_paid
from orders.tests.back_office.test_admin_orders import pay
from orders.tests.pages.test_checkout_pages import checkout_post, in_english
from payments.models import Refund, RefundStatus
from payments.tests.conftest import order_with_payment
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

BUYER = {"full_name": "Siti Rahma", "email": "siti@example.com", "phone": "0812 3456 7890", "confirmed": "1"}
ENGLISH_WORDS = ("voucher code is not valid", "used up", "not valid at this time", "per buyer", "held unpaid")


@pytest.fixture
def event():
    return EventFactory(slug="tedxbahasa")


def page_of(response) -> str:
    return response.content.decode()


def test_voucher_refusals_in_the_page_language(client, event):
    ticket = TicketFactory(event=event, name="Regular", price=350_000)
    VoucherFactory(event=event, code="HABIS", max_uses=1, used=1, tickets=[ticket])
    VoucherFactory(event=event, code="NANTI", valid_from=timezone.now() + timedelta(days=3), tickets=[ticket])
    VoucherFactory(event=event, code="SEPULUH", kind=VoucherKind.PERCENT, value=10, tickets=[ticket])
    indonesian = {
        "NOPE": "Kode voucher ini tidak berlaku untuk acara ini.",
        "HABIS": "Voucher ini sudah habis dipakai.",
        "NANTI": "Voucher ini tidak berlaku saat ini.",
    }
    for code, words in indonesian.items():
        page = page_of(client.get(f"/events/tedxbahasa/?voucher={code}"))
        assert words in page, code
        assert not any(english in page for english in ENGLISH_WORDS), code
    assert "diskon 10%" in page_of(client.get("/events/tedxbahasa/?voucher=SEPULUH"))

    in_english(client)
    assert "This voucher has been used up." in page_of(client.get("/events/tedxbahasa/?voucher=HABIS"))
    assert "10% off" in page_of(client.get("/events/tedxbahasa/?voucher=SEPULUH"))


def test_the_per_buyer_limit_and_the_hoarding_cap_in_the_page_language(client, event, settings):
    capped = TicketFactory(event=event, name="Komunitas", price=0, max_per_buyer=1, max_per_order=4)
    assert checkout_post(client, "tedxbahasa", {**BUYER, f"quantity_{capped.pk}": "1"}).status_code == 302

    again = checkout_post(client, "tedxbahasa", {**BUYER, f"quantity_{capped.pk}": "1"})
    assert again.status_code == 400
    assert "Maksimal 1 tiket Komunitas per pembeli; email atau nomor ponsel Anda sudah memiliki 1." in page_of(again)

    settings.HOLD_MAX_SEATS_PER_ADDRESS = 1
    paid_phase = TicketFactory(event=event, name="Regular", price=350_000, max_per_order=4)
    held = checkout_post(client, "tedxbahasa", {**BUYER, "email": "budi@example.com", f"quantity_{paid_phase.pk}": "2"})
    assert "Terlalu banyak kursi yang ditahan tanpa dibayar dari koneksi Anda." in page_of(held)
    assert not any(english in page_of(held) for english in ENGLISH_WORDS)

    in_english(client)
    held = checkout_post(client, "tedxbahasa", {**BUYER, "email": "budi@example.com", f"quantity_{paid_phase.pk}": "2"})
    assert "Too many seats are held unpaid from your connection." in page_of(held)


def test_a_cancelled_orders_void_tickets_and_refunds_in_the_page_language(client):
    payment = order_with_payment(quantity=2, price=150_000)
    order = pay(payment, channel="BCA")
    order_cancel_paid(order_id=order.pk, source=EventSource.ADMIN)
    for status, amount in (
        (RefundStatus.SUCCEEDED, 100_000),
        (RefundStatus.MANUAL, 150_000),
        (RefundStatus.FAILED, 50_000),
    ):
        Refund.objects.create(payment=payment, order=order, amount=amount, status=status, requested_by="finance")
    order.refresh_from_db()
    url = order.get_absolute_url()

    page = page_of(client.get(url))  # no choice made: the order's language, Indonesian
    for words in (
        "E-tiketnya <strong>tidak berlaku</strong>",
        "Tidak berlaku",
        "tiket 1",
        "Pengembalian dana",
        "Selesai",
        "Menunggu: tim kami mentransfernya",  # a manual refund still to be made is not done
        "Gagal, akan kami ulangi",
    ):
        assert words in page, words
    # What the buyer reads (the text, not the markup's class names) from the notice to the summary.
    notices = re.sub(r"<[^>]+>", " ", page.split('id="cancelled"')[1].split('class="card-title">Ringkasan')[0])
    for english in ("VOID", "void", "seat", "Refunds", "Done", "Waiting", "Failed"):
        assert english not in notices, english

    in_english(client)
    page = page_of(client.get(url))
    for words in (
        "Its e-tickets are <strong>void</strong>",
        "Void",
        "ticket 1",
        "Refunds",
        "Done",
        "Waiting: our team transfers it once you reply",
        "Failed; we will try again",
    ):
        assert words in page, words
    assert "Pengembalian" not in page and "Selesai" not in page
