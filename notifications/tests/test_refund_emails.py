"""The money-back emails, as the buyer reads them: order cancelled (paid or pending),
refund started (with the time its channel takes), refund done, refund by bank transfer;
Indonesian and English, HTML and text, one per refund."""

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from notifications.services import notification_queue, notification_send
from notifications.tests.conftest import make_order
from payments.models import Payment, PaymentStatus, Refund

pytestmark = pytest.mark.django_db


def paid_by(order, *, method: str, channel: str) -> Payment:
    Payment.objects.filter(order=order).update(
        status=PaymentStatus.PAID, paid_amount=order.total, method=method, channel=channel, paid_at=timezone.now()
    )
    return Payment.objects.get(order=order)


def refund_of(payment, amount=850_000, **fields) -> Refund:
    return Refund.objects.create(payment=payment, order=payment.order, amount=amount, requested_by="finance", **fields)


def send(order, kind, refund=None):
    notification = notification_queue(order=order, kind=kind, refund_reference=refund.reference if refund else "")
    mail.outbox.clear()
    notification_send(notification_id=notification.pk)
    [message] = mail.outbox
    [(html, _)] = message.alternatives
    return message, html


@pytest.mark.parametrize(
    ("language", "subject", "said"),
    [
        ("en", "Your refund for order", "usually within 1 to 3 working days"),
        ("id", "Pengembalian dana pesanan", "biasanya dalam 1 sampai 3 hari kerja"),
    ],
)
def test_refund_started_names_the_amount_channel_and_expected_time(language, subject, said):
    order = make_order(language=language)
    refund = refund_of(paid_by(order, method="EWALLET", channel="DANA"), amount=350_000)

    message, html = send(order, NotificationKind.REFUND_STARTED, refund)

    assert subject in message.subject and order.code in message.subject
    for body in (message.body, html):
        assert "Rp 350.000" in body and "DANA" in body and said in body and refund.reference in body


def test_card_refunds_promise_a_longer_wait():
    order = make_order()
    refund = refund_of(paid_by(order, method="CREDIT_CARD", channel="CREDIT_CARD"))

    message, _ = send(order, NotificationKind.REFUND_STARTED, refund)

    assert "7 to 14 working days" in message.body


@pytest.mark.parametrize(("language", "asks"), [("en", "account number"), ("id", "nomor rekening")])
def test_a_manual_refund_asks_for_bank_details(language, asks):
    order = make_order(language=language)
    refund = refund_of(paid_by(order, method="BANK_TRANSFER", channel="BCA"))

    message, html = send(order, NotificationKind.REFUND_MANUAL, refund)

    for body in (message.body, html):
        assert asks in body and "Rp 850.000" in body and "BCA" in body


def test_refund_done_by_transfer_quotes_the_transfer():
    order = make_order(language="id")
    refund = refund_of(paid_by(order, method="BANK_TRANSFER", channel="BCA"), transfer_reference="TRF-0099")

    message, html = send(order, NotificationKind.REFUND_DONE, refund)

    assert "telah selesai" in message.subject
    assert "TRF-0099" in message.body and "TRF-0099" in html


@pytest.mark.parametrize(
    ("paid", "language", "said"),
    [
        (True, "en", "will be refused at the door"),
        (True, "id", "ditolak di pintu masuk"),
        (False, "en", "You have not been charged"),
        (False, "id", "Anda tidak dikenai biaya"),
    ],
)
def test_order_cancelled_says_what_it_means_for_paid_and_pending_orders(paid, language, said):
    order = make_order(language=language)
    if paid:
        paid_by(order, method="EWALLET", channel="OVO")

    message, html = send(order, NotificationKind.ORDER_CANCELLED)

    assert order.code in message.subject
    assert said in message.body and said in html


def test_two_partial_refunds_get_an_email_each_but_a_repeat_does_not():
    order = make_order()
    payment = paid_by(order, method="EWALLET", channel="OVO")
    first, second = refund_of(payment, amount=100_000), refund_of(payment, amount=200_000)

    for refund in (first, second, first):
        notification_queue(order=order, kind=NotificationKind.REFUND_STARTED, refund_reference=refund.reference)

    assert Notification.objects.filter(order=order, kind=NotificationKind.REFUND_STARTED).count() == 2
