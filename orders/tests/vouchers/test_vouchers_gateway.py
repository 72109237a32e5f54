"""A discounted order through the real SDK and the simulator: the invoice asks for the
discounted amount, and the voucher's uses follow the order through expiry and a late
payment."""

import pytest
from django.utils import timezone

from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import AttentionReason, EventSource, OrderStatus
from orders.services import order_cancel, order_expire, order_mark_paid
from payments.gateways.simulator.models import SimulatedInvoice
from tickets.tests.factories import TicketFactory
from vouchers.models import Voucher, VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db(transaction=True)


def place(ticket, quantity, voucher, email="budi@example.com"):
    return order_place(
        full_name="Budi Santoso",
        email=email,
        phone="0812 3456 7890",
        items=[OrderLineRequest(ticket.pk, quantity)],
        voucher=voucher,
    )


def used(voucher) -> int:
    return Voucher.objects.get(pk=voucher.pk).used


def test_the_invoice_is_for_the_discounted_amount_and_its_items_add_up(xendit_simulator):
    ticket = TicketFactory(name="Regular", price=149_999, quota=10)
    voucher = VoucherFactory(event=ticket.event, code="ITB15", kind=VoucherKind.PERCENT, value=15, max_uses=5)

    order = place(ticket, 3, "itb15")

    assert order.status == OrderStatus.PENDING
    assert (order.total, order.discount) == (3 * 127_500, 3 * 22_499)
    invoice = SimulatedInvoice.objects.get(external_id=order.code)
    assert invoice.amount == order.total == 382_500
    assert [(item["name"], item["price"], item["quantity"]) for item in invoice.items] == [
        ("Regular (voucher ITB15)", 127_500, 3)
    ]
    assert used(voucher) == 3


def test_expiry_and_cancel_give_the_uses_back_and_a_late_payment_takes_them_again(xendit_simulator):
    ticket = TicketFactory(price=350_000, quota=10)
    voucher = VoucherFactory(event=ticket.event, code="HALF", value=50, max_uses=2)

    first = place(ticket, 2, "HALF")
    assert used(voucher) == 2
    order_expire(order_id=first.pk)
    assert used(voucher) == 0

    second = place(ticket, 1, "HALF", email="sari@example.com")
    order_cancel(order_id=second.pk, source=EventSource.ADMIN)
    assert used(voucher) == 0

    # Xendit confirms a payment of the first order after it expired: seats and uses are
    # there, so it becomes PAID and takes its 2 uses again.
    order_mark_paid(order_id=first.pk, paid_amount=first.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    first.refresh_from_db()
    assert first.status == OrderStatus.PAID and not first.needs_attention
    assert used(voucher) == 2


def test_a_late_payment_whose_voucher_was_used_up_meanwhile_is_flagged_for_refund(xendit_simulator):
    ticket = TicketFactory(price=350_000, quota=10)
    voucher = VoucherFactory(event=ticket.event, code="ONCE", value=50, max_uses=1)
    first = place(ticket, 1, "ONCE")
    order_expire(order_id=first.pk)
    place(ticket, 1, "ONCE", email="sari@example.com")  # takes the one use
    assert used(voucher) == 1

    order_mark_paid(order_id=first.pk, paid_amount=first.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)

    first.refresh_from_db()
    assert first.status == OrderStatus.EXPIRED
    assert first.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    assert "voucher" in first.attention_note
    assert used(voucher) == 1
    ticket.refresh_from_db()
    assert ticket.held == 1  # the seat taken back in the savepoint was given up again
