"""payment_mark_paid and the order's late-payment rules, called as the webhook and the
reconciler call them: with an Invoice as the gateway returned it."""

import re
from datetime import UTC, datetime

import pytest
from django.utils import translation

from notifications.models import Notification, NotificationKind
from orders.models import AttentionReason, EventSource, OrderEvent, OrderStatus
from orders.services import order_cancel, order_expire, order_mark_paid, order_pay
from payments.gateways.base import Invoice
from payments.models import PaymentStatus
from payments.tests.conftest import order_with_payment
from tedxpay.core.errors import IllegalTransition
from tedxpay.core.money import format_rupiah

pytestmark = pytest.mark.django_db

PAID_AT = datetime(2026, 11, 28, 6, 41, 29, tzinfo=UTC)


def invoice_for(payment, *, status="PAID", paid_amount=None, channel="BCA", method="BANK_TRANSFER") -> Invoice:
    return Invoice(
        id=payment.invoice_id,
        external_id=payment.external_id,
        status=status,
        amount=payment.amount,
        invoice_url=payment.invoice_url,
        paid_amount=payment.amount if paid_amount is None else paid_amount,
        paid_at=PAID_AT,
        payment_method=method,
        payment_channel=channel,
    )


def kinds(order) -> set[str]:
    return set(Notification.objects.filter(order=order).values_list("kind", flat=True))


def test_pending_payment_becomes_paid_with_tickets_and_one_confirmation():
    payment = order_with_payment(quantity=3)

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment, channel="OVO", method="EWALLET"))

    payment.refresh_from_db()
    order = payment.order
    order.refresh_from_db()
    assert (payment.status, payment.paid_amount, payment.paid_at) == (PaymentStatus.PAID, 450_000, PAID_AT)
    assert (payment.method, payment.channel, payment.gateway_status) == ("EWALLET", "OVO", "PAID")
    assert order.status == OrderStatus.PAID and order.paid_at == PAID_AT and not order.needs_attention
    assert order.issued_tickets.count() == 3
    assert kinds(order) == {NotificationKind.ORDER_CONFIRMATION}
    moves = list(OrderEvent.objects.filter(order=order).values_list("subject", "from_status", "to_status", "source"))
    assert ("payment", "PENDING", "PAID", EventSource.WEBHOOK) in moves
    assert ("order", "PENDING", "PAID", EventSource.WEBHOOK) in moves


def test_marking_paid_twice_changes_nothing_the_second_time():
    payment = order_with_payment(quantity=2)
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))
    events = OrderEvent.objects.count()

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment, status="SETTLED"))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and payment.gateway_status == "SETTLED"
    assert payment.order.issued_tickets.count() == 2
    assert Notification.objects.filter(order=payment.order).count() == 1
    assert OrderEvent.objects.count() == events


def test_settled_counts_as_paid():
    payment = order_with_payment()
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment, status="SETTLED"))
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID


@pytest.mark.parametrize("status", ["PENDING", "EXPIRED", "UNKNOWN_ENUM_VALUE"])
def test_an_invoice_that_is_not_paid_is_refused(status):
    payment = order_with_payment()
    with pytest.raises(IllegalTransition):
        order_pay(payment_id=payment.pk, invoice=invoice_for(payment, status=status))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.paid_amount is None


@pytest.mark.parametrize("paid_amount", [299_999, 300_001, 10_000])
def test_amount_mismatch_is_paid_but_flagged(paid_amount):
    payment = order_with_payment(quantity=2, price=150_000)

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment, paid_amount=paid_amount))

    order = payment.order
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.paid_amount == paid_amount
    assert order.status == OrderStatus.PAID
    assert order.needs_attention and order.attention_reason == AttentionReason.AMOUNT_MISMATCH
    assert f"paid {format_rupiah(paid_amount)}, total Rp 300.000" in order.attention_note


def test_late_payment_with_seats_left_takes_them_back():
    payment = order_with_payment(quantity=2)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)
    ticket.refresh_from_db()
    assert ticket.held == 0

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))

    order = payment.order
    order.refresh_from_db()
    ticket.refresh_from_db()
    assert order.status == OrderStatus.PAID and not order.needs_attention
    assert ticket.held == 2
    assert order.issued_tickets.count() == 2
    assert NotificationKind.ORDER_CONFIRMATION in kinds(order)
    assert OrderEvent.objects.filter(order=order, to_status="PAID", note__contains="late payment").exists()


def test_late_payment_without_seats_keeps_the_money_and_flags_for_refund():
    payment = order_with_payment(quantity=2, price=150_000)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)
    order_with_payment(quantity=5, ticket=ticket)  # others bought out the rest
    order_with_payment(quantity=5, ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.available == 0

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))

    order = payment.order
    order.refresh_from_db()
    payment.refresh_from_db()
    ticket.refresh_from_db()
    # The money is recorded on the payment…
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == 300_000
    # …the order keeps no seats, is flagged for a refund, and the buyer is told.
    assert order.status == OrderStatus.EXPIRED
    assert order.needs_attention and order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    assert "Rp 300.000 received after expiry" in order.attention_note
    assert ticket.held == ticket.quota == 10
    assert not order.issued_tickets.exists()
    assert NotificationKind.PAID_AFTER_EXPIRY in kinds(order)
    assert NotificationKind.ORDER_CONFIRMATION not in kinds(order)


def late_payment_without_seats():
    """A payment whose order expired and whose seats were bought by others meanwhile."""
    payment = order_with_payment(quantity=2)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)
    order_with_payment(quantity=5, ticket=ticket)
    order_with_payment(quantity=5, ticket=ticket)
    return payment


def attention_rows(order) -> int:
    return OrderEvent.objects.filter(order=order, note__contains="needs attention").count()


def test_late_payment_without_seats_confirmed_twice_records_and_flags_once():
    # The webhook's PAID, then reconcile's SETTLED: the second stops at the PAID payment.
    payment = late_payment_without_seats()
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment, status="SETTLED"))

    assert attention_rows(payment.order) == 1
    assert Notification.objects.filter(order=payment.order, kind=NotificationKind.PAID_AFTER_EXPIRY).count() == 1


def test_order_taking_a_late_payment_without_seats_twice_flags_once():
    # The order-level rule itself, run twice (what any second caller of order_mark_paid does).
    payment = late_payment_without_seats()
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))  # runs order_mark_paid once
    order = payment.order
    order.refresh_from_db()
    note = order.attention_note

    order_mark_paid(order_id=order.pk, paid_amount=payment.amount, paid_at=PAID_AT, source=EventSource.RECONCILE)

    order.refresh_from_db()
    assert (order.status, order.attention_reason) == (OrderStatus.EXPIRED, AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK)
    assert order.attention_note == note
    assert attention_rows(order) == 1
    assert Notification.objects.filter(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY).count() == 1


def test_payment_on_a_cancelled_order_is_kept_and_flagged():
    payment = order_with_payment(quantity=1)
    order_cancel(order_id=payment.order_id, source=EventSource.ADMIN)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED

    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))

    order = payment.order
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == payment.amount
    assert order.status == OrderStatus.CANCELLED
    assert order.attention_reason == AttentionReason.PAID_AFTER_CANCEL
    assert not order.issued_tickets.exists()


def test_audit_notes_state_amounts_and_channels_as_people_read_them():
    payment = order_with_payment(quantity=2, price=200_000)
    other = order_with_payment(quantity=1, price=150_000)

    # A Celery worker runs in the default language (Indonesian): the back office's notes
    # stay English all the same.
    with translation.override("id"):
        order_pay(payment_id=payment.pk, invoice=invoice_for(payment))
        order_pay(
            payment_id=other.pk, invoice=invoice_for(other, paid_amount=140_000, channel="", method="CREDIT_CARD")
        )

    notes = list(OrderEvent.objects.filter(order__in=[payment.order, other.order]).values_list("note", flat=True))
    assert "Rp 400.000 via BCA Virtual Account" in notes
    assert "Rp 140.000 via Credit or debit card" in notes
    assert "needs attention: amount_mismatch: paid Rp 140.000, total Rp 150.000" in notes
    assert not [note for note in notes if "IDR" in note or re.search(r"\d{4}", note)]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "Rp 0"), (999, "Rp 999"), (400_000, "Rp 400.000"), (1_250_000, "Rp 1.250.000"), (-50_000, "-Rp 50.000")],
)
def test_the_one_rupiah_format(amount, text):
    assert format_rupiah(amount) == text


def test_the_paid_transition_writes_its_e_tickets_and_email_once_and_a_second_set_is_refused_whole():
    """The paid step inserts the e-tickets and the confirmation without looking for them
    first (made nowhere else, once, under the order's lock). Should a second set ever be
    written, the database refuses it and nothing of that attempt stays."""
    from django.db import IntegrityError, transaction

    from notifications.services import notification_queue_first
    from orders.services import _issued_tickets_insert

    payment = order_with_payment(quantity=2)
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))
    order_pay(payment_id=payment.pk, invoice=invoice_for(payment))  # a repeat changes nothing
    order = payment.order
    assert order.issued_tickets.count() == 2
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CONFIRMATION).count() == 1

    for second_set in (
        lambda: _issued_tickets_insert(order=order),
        lambda: notification_queue_first(order=order, kind=NotificationKind.ORDER_CONFIRMATION),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            second_set()
    assert order.issued_tickets.count() == 2
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CONFIRMATION).count() == 1
