"""Recording a refund finance made outside tedxpay (payment_refund_record): what may be
recorded, the audit row, and when the order's refund flag is resolved by it."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from orders.dashboard import sales_overview
from orders.models import AttentionReason, EventSource, Order, OrderEvent, OrderStatus
from orders.services import order_attention_resolve, order_cancel, order_expire, order_refund_record
from orders.tests.back_office.test_admin_orders import pay
from payments.models import Payment, PaymentStatus, refund_outstanding_sql
from payments.refunds import RefundNotPossible, refund_request
from payments.tests.conftest import order_with_payment
from tedxpay.core.errors import Conflict, InvalidInput
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def late_payment_without_seats(invoice_id: str = "inv_late") -> Payment:
    """Rp 350.000 received for an order that expired and whose seat was sold meanwhile."""
    ticket = TicketFactory(price=350_000, quota=1)
    payment = order_with_payment(quantity=1, ticket=ticket, invoice_id=invoice_id)
    order_expire(order_id=payment.order_id)
    order_with_payment(quantity=1, ticket=ticket)  # someone else takes the last seat
    pay(payment)
    return Payment.objects.select_related("order").get(pk=payment.pk)


def record(payment, amount, reference="XENDIT-RFD-1", **kwargs) -> Payment:
    return order_refund_record(
        payment_id=payment.pk, amount=amount, reference=reference, requested_by="finance.sari", **kwargs
    )


def refund_events(order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, note__startswith="refund recorded"))


def test_a_full_refund_is_recorded_audited_and_resolves_the_refund_flag():
    payment = late_payment_without_seats()
    order = payment.order
    assert (order.status, order.attention_reason) == (OrderStatus.EXPIRED, AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK)
    assert payment.refund_outstanding == 350_000

    recorded = record(payment, 350_000, reference="rfd_6748aa01")

    payment.refresh_from_db()
    order.refresh_from_db()
    assert recorded.refunded_amount == payment.refunded_amount == 350_000
    assert payment.refunded_at is not None
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.EXPIRED  # no status moves
    assert not order.needs_attention and order.attention_reason == ""
    [event] = refund_events(order)
    assert (event.subject, event.from_status, event.to_status, event.source) == (
        OrderEvent.Subject.PAYMENT,
        PaymentStatus.PAID,
        PaymentStatus.PAID,
        EventSource.ADMIN,
    )
    assert "Rp 350.000" in event.note and "rfd_6748aa01" in event.note and "finance.sari" in event.note
    resolved = OrderEvent.objects.filter(order=order, note__startswith="attention resolved").get()
    assert "paid_after_expiry_no_stock" in resolved.note and "cover the Rp 350.000 owed" in resolved.note
    assert resolved.pk > event.pk


def test_a_partial_refund_keeps_the_flag_until_the_rest_is_recorded():
    payment = late_payment_without_seats()

    record(payment, 100_000, reference="transfer 1")
    order = Order.objects.get(pk=payment.order_id)
    assert order.needs_attention and order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    assert Payment.objects.select_related("order").get(pk=payment.pk).refund_outstanding == 250_000

    record(payment, 250_000, reference="transfer 2")
    order.refresh_from_db()
    assert not order.needs_attention
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 350_000
    assert len(refund_events(order)) == 2


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True, None])
def test_an_amount_that_is_not_whole_positive_rupiah_is_refused(amount):
    payment = late_payment_without_seats()

    with pytest.raises(InvalidInput) as refused:
        record(payment, amount)

    assert refused.value.status_code == 400 and "amount" in refused.value.details
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 0
    assert refund_events(payment.order) == []


def test_more_than_was_received_and_not_yet_refunded_is_refused():
    payment = late_payment_without_seats()
    with pytest.raises(InvalidInput) as refused:
        record(payment, 350_001)
    assert "At most Rp 350.000" in refused.value.details["amount"][0]

    record(payment, 300_000)
    with pytest.raises(InvalidInput) as refused:
        record(payment, 50_001)
    assert "At most Rp 50.000" in refused.value.details["amount"][0]
    assert "Rp 300.000 already refunded" in refused.value.details["amount"][0]
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 300_000


@pytest.mark.parametrize("reference", ["", "   ", "x" * 201])
def test_a_reference_is_required_and_bounded(reference):
    payment = late_payment_without_seats()
    with pytest.raises(InvalidInput) as refused:
        record(payment, 1_000, reference=reference)
    assert "reference" in refused.value.details
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 0


def test_a_payment_with_no_money_received_cannot_be_refunded():
    payment = order_with_payment(quantity=1, price=350_000, invoice_id="inv_pending")
    with pytest.raises(Conflict) as refused:
        record(payment, 1_000)
    assert refused.value.status_code == 409
    order_cancel(order_id=payment.order_id, source=EventSource.ADMIN)
    with pytest.raises(Conflict):
        record(payment, 1_000)
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 0


def test_a_stale_view_of_what_was_refunded_is_refused_so_a_double_submit_counts_once():
    payment = late_payment_without_seats()
    record(payment, 100_000, expected_refunded_amount=0)

    with pytest.raises(Conflict) as refused:
        record(payment, 100_000, expected_refunded_amount=0)  # the same form, submitted again

    assert refused.value.details == {"refunded_amount": 100_000}
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 100_000
    assert len(refund_events(payment.order)) == 1


def test_money_paid_for_a_cancelled_order_resolves_when_refunded_in_full():
    payment = order_with_payment(quantity=2, price=150_000, invoice_id="inv_cancelled")
    order_cancel(order_id=payment.order_id, source=EventSource.ADMIN)
    order = pay(payment)
    assert order.attention_reason == AttentionReason.PAID_AFTER_CANCEL

    record(payment, 300_000)

    order.refresh_from_db()
    assert not order.needs_attention and order.status == OrderStatus.CANCELLED


def test_an_overpayment_owes_the_excess_and_refunding_it_resolves_the_flag_keeping_the_tickets():
    payment = order_with_payment(quantity=1, price=350_000, invoice_id="inv_over")
    order = pay(payment, paid_amount=400_000)
    assert order.status == OrderStatus.PAID and order.attention_reason == AttentionReason.AMOUNT_MISMATCH
    assert Payment.objects.select_related("order").get(pk=payment.pk).refund_outstanding == 50_000

    record(payment, 50_000)

    order.refresh_from_db()
    assert not order.needs_attention and order.status == OrderStatus.PAID
    assert order.issued_tickets.count() == 1


def test_an_underpayment_owes_nothing_back_so_a_refund_leaves_the_flag_to_finance():
    payment = order_with_payment(quantity=1, price=350_000, invoice_id="inv_under")
    pay(payment, paid_amount=300_000)
    assert Payment.objects.select_related("order").get(pk=payment.pk).refund_owed == 0

    record(payment, 300_000)

    order = Order.objects.get(pk=payment.order_id)
    assert order.needs_attention and order.attention_reason == AttentionReason.AMOUNT_MISMATCH


def test_a_refund_on_an_unflagged_paid_order_is_recorded_and_changes_nothing_else():
    payment = order_with_payment(quantity=1, price=350_000, invoice_id="inv_goodwill")
    pay(payment)

    record(payment, 350_000, reference="event postponed, buyer asked")

    order = Order.objects.get(pk=payment.order_id)
    assert (order.status, order.needs_attention) == (OrderStatus.PAID, False)
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 350_000
    assert not OrderEvent.objects.filter(order=order, note__startswith="attention resolved").exists()


def test_the_database_refuses_a_refunded_amount_above_what_was_paid():
    payment = late_payment_without_seats()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=350_001)


def payments_in_every_refund_state() -> dict[str, Payment]:
    """One payment per case of the refund-owed rule, each of its own event."""
    no_seats = late_payment_without_seats()
    partly = late_payment_without_seats("inv_late_partly")
    record(partly, 100_000)
    over = order_with_payment(quantity=1, price=350_000, invoice_id="inv_over_sql")
    pay(over, paid_amount=420_000)
    under = order_with_payment(quantity=1, price=350_000, invoice_id="inv_under_sql")
    pay(under, paid_amount=300_000)
    record(under, 10_000)  # refunded more than "owed" (0): never negative, never an error on MySQL
    resolved = late_payment_without_seats("inv_late_resolved")
    order_attention_resolve(order_id=resolved.order_id, note="refunded before tedxpay recorded refunds")
    pending = order_with_payment(quantity=1, price=350_000, invoice_id="inv_pending_sql")
    # Refunds under way (asked of Xendit, or a transfer finance has to make) are not owed
    # again: counting them is how an overpayment gets refunded twice.
    under_way = order_with_payment(quantity=1, price=350_000, invoice_id="inv_under_way_sql")
    pay(under_way, paid_amount=400_000)
    refund_request(payment_id=under_way.pk, amount=30_000, requested_by="finance.sari")
    covered = late_payment_without_seats("inv_late_covered")
    refund_request(payment_id=covered.pk, amount=None, owed_only=True, requested_by="finance.sari")
    return {
        "no_seats": no_seats,
        "partly": partly,
        "over": over,
        "under": under,
        "resolved": resolved,
        "pending": pending,
        "under_way": under_way,
        "covered": covered,
    }


# Still owed back in each case.
OUTSTANDING = {
    "no_seats": 350_000,
    "partly": 250_000,
    "over": 70_000,
    "under": 0,
    "resolved": 0,
    "pending": 0,
    "under_way": 20_000,
    "covered": 0,
}


def test_the_sql_rule_for_what_is_still_owed_matches_the_python_one():
    payments = payments_in_every_refund_state()

    in_sql = dict(Payment.objects.annotate(outstanding=refund_outstanding_sql()).values_list("pk", "outstanding"))

    for case, outstanding in OUTSTANDING.items():
        payment = Payment.objects.select_related("order").get(pk=payments[case].pk)
        assert payment.refund_outstanding == in_sql[payment.pk] == outstanding, case


def test_the_dashboard_and_a_refund_of_what_is_owed_read_the_one_rule_alike():
    """What is owed back is written once (`refund_owed_sql`). The dashboard sums it over
    every payment in one query; the refund of what a flagged order is owed (`refund_request`
    with `owed_only`, behind the order page's button) reads it for one payment under its
    locks. Both give the same rupiah, payment by payment."""
    payments = payments_in_every_refund_state()

    on_the_dashboard = {sales.event.pk: sales.to_refund for sales in sales_overview().events}

    by_the_button = {}
    for case, payment in payments.items():
        try:
            refund = refund_request(payment_id=payment.pk, amount=None, owed_only=True, requested_by="finance.sari")
        except RefundNotPossible:
            by_the_button[case] = 0
        else:
            by_the_button[case] = refund.amount
    assert by_the_button == OUTSTANDING
    assert {case: on_the_dashboard.get(payment.order.event_id, 0) for case, payment in payments.items()} == OUTSTANDING


@pytest.mark.skipif(not connection.features.has_select_for_update, reason="row locks need MariaDB/MySQL")
def test_the_order_is_locked_before_the_payment():
    payment = late_payment_without_seats()
    with CaptureQueriesContext(connection) as queries:
        record(payment, 1_000)
    locks = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    assert "orders_order" in locks[0] and "payments_payment" in locks[1]
