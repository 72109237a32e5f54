"""What the buyer receives: HTML + plain text, English or Indonesian, e-tickets as inline
QR images (one per seat, by Content-ID), amounts in rupiah, event time in WIB."""

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.qr import qr_png
from notifications.services import notification_send
from notifications.tests.conftest import make_order
from orders.models import EventSource
from orders.services import order_expire, order_mark_paid
from payments.models import Payment
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def sent_message():
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def inline_images(message) -> dict[str, bytes]:
    """{content id: PNG bytes} of the inline image parts of the real MIME message."""
    images = {}
    for part in message.message().walk():
        if part.get_content_type() == "image/png":
            assert part.get("Content-Disposition", "").startswith("inline")
            images[part["Content-ID"].strip("<>")] = part.get_payload(decode=True)
    return images


def test_confirmation_carries_one_inline_qr_per_seat_referenced_from_the_html(confirmation):
    notification = confirmation("en")
    notification_send(notification_id=notification.pk)
    message = sent_message()
    order = notification.order
    issued = list(order.issued_tickets.all())
    assert len(issued) == 3

    html = html_of(message)
    images = inline_images(message)
    assert len(images) == 3
    for ticket in issued:
        content_id = f"eticket-{ticket.pk}@tedxpay"
        # The image encodes this seat's code, and the HTML shows it by cid: (not data:).
        assert images[content_id] == qr_png(ticket.code)
        assert f'src="cid:{content_id}"' in html
        assert ticket.code in message.body  # readable in the plain-text part too
        # The short code, for typing at the door when a QR will not scan.
        assert ticket.short_code_display in message.body and ticket.short_code_display in html
    assert "data:image" not in html

    # multipart/related around multipart/alternative (text + HTML): the structure Gmail,
    # Outlook and Apple Mail show inline.
    mime = message.message()
    assert mime.get_content_type() == "multipart/related"
    alternative = mime.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.get_payload()] == ["text/plain", "text/html"]


def test_confirmation_in_english_has_the_order_event_and_amounts(confirmation):
    notification = confirmation("en")
    notification_send(notification_id=notification.pk)
    message = sent_message()
    order = notification.order
    html = html_of(message)

    assert message.subject == f"Your e-tickets for TEDxJakarta 2026 — order {order.code}"
    assert message.to == [order.buyer.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    for body in (html, message.body):
        assert "Rp 350.000" in body  # unit price
        assert "Rp 700.000" in body  # 2 × Regular
        assert "Rp 150.000" in body
        assert "Rp 850.000" in body  # total
        assert "Saturday, 5 December 2026, 10:00 WIB" in body  # 03:00 UTC shown in Jakarta
        assert "Teater Jakarta, Taman Ismail Marzuki" in body
        assert f"{settings.SITE_URL}/orders/{order.code}/{order.link_secret}/" in body
        assert order.code in body
    assert "Thank you" in message.body


def test_confirmation_in_indonesian(confirmation):
    notification = confirmation("id")
    notification_send(notification_id=notification.pk)
    message = sent_message()
    html = html_of(message)
    order = notification.order

    assert message.subject == f"E-tiket Anda untuk TEDxJakarta 2026 — pesanan {order.code}"
    for body in (html, message.body):
        assert "Terima kasih" in body
        assert "Sabtu, 5 Desember 2026, 10:00 WIB" in body
        assert "Rp 850.000" in body
        assert "Thank you" not in body
    assert "Tiket 1 dari 3" in html and "Tiket 3 dari 3" in html  # seats are not numbered
    assert len(inline_images(message)) == 3


def test_plain_text_is_not_html_escaped(confirmation):
    notification = confirmation("en", full_name="Dewi O'Neil & Co")
    notification_send(notification_id=notification.pk)
    message = sent_message()
    assert "Hi Dewi O'Neil & Co," in message.body
    assert "Dewi O&#x27;Neil &amp; Co" in html_of(message)  # and escaped where it must be


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("en", "Order {code} has expired — TEDxJakarta 2026", "You have not been charged."),
        ("id", "Pesanan {code} telah kedaluwarsa — TEDxJakarta 2026", "Anda tidak dikenai biaya."),
    ],
)
def test_order_expired_email(language, subject, phrase, django_capture_on_commit_callbacks):
    order = make_order(language=language)
    with django_capture_on_commit_callbacks():
        order_expire(order_id=order.pk, source=EventSource.WEBHOOK)
    notification = order.notifications.get(kind=NotificationKind.ORDER_EXPIRED)

    notification_send(notification_id=notification.pk)

    message = sent_message()
    assert message.subject == subject.format(code=order.code)
    assert phrase in message.body and phrase in html_of(message)
    assert f"{settings.SITE_URL}/events/{order.event.slug}/" in message.body
    assert not inline_images(message)


@pytest.mark.parametrize(
    ("language", "subject_start", "phrases"),
    [
        ("en", "Payment for order", ["Rp 850.000", "our finance team will refund the full amount"]),
        ("id", "Pembayaran pesanan", ["Rp 850.000", "tim keuangan kami akan mengembalikan seluruh dana"]),
    ],
)
def test_paid_after_expiry_email_says_what_happens_next(language, subject_start, phrases):
    order = make_order(language=language)
    order_expire(order_id=order.pk, source=EventSource.WEBHOOK)
    Ticket.objects.update(held=0, quota=0)  # fixture: the seats sold out meanwhile
    Payment.objects.filter(order=order).update(paid_amount=850_000)  # fixture: recorded by payments
    order_mark_paid(order_id=order.pk, paid_amount=850_000, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    notification = order.notifications.get(kind=NotificationKind.PAID_AFTER_EXPIRY)

    notification_send(notification_id=notification.pk)

    message = sent_message()
    assert message.subject.startswith(subject_start) and order.code in message.subject
    for phrase in phrases:
        assert phrase in message.body and phrase in html_of(message)
