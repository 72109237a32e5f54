"""Refunds end to end over real HTTP: the real SDK against the simulator on the live
server, its refund webhooks delivered to our `/api/refund-callback`, emails rendered by
the send task (eager)."""

import json

import pytest
from django.conf import settings
from django.core import mail

from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.checkout.refunds import order_refund, refund_complete_manual, refund_submit, refunds_resume
from orders.dashboard import sales_overview
from orders.models import AttentionReason, Order, OrderEvent, OrderStatus
from payments.models import Payment, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.refunds import RefundTooLarge
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture)
from tedxpay.core.errors import IllegalTransition

pytestmark = pytest.mark.django_db(transaction=True)

REFUND_CALLBACK = "/api/refund-callback"


@pytest.fixture
def paid(placed_order, xendit_simulator, celery_eager):  # noqa: F811
    """A paid order: placed, paid at the simulator through `channel`, and its PAID
    callback delivered to our webhook over HTTP."""

    def make(channel="DANA", quantity=2, price=150_000):
        payment = placed_order(quantity=quantity, price=price)
        result = xendit_simulator.pay(payment.invoice_id, channel=channel)
        assert [delivery["status_code"] for delivery in result["callbacks"]] == [200]
        payment.refresh_from_db()
        assert payment.status == "PAID" and payment.order.status == OrderStatus.PAID
        mail.outbox.clear()
        return payment

    return make


def post_refund_webhook(client, body: dict):
    """A refund webhook as Xendit sends it: JSON with the callback token."""
    return client.post(
        REFUND_CALLBACK,
        data=json.dumps(body),
        content_type="application/json",
        headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
    )


def ticket_of(payment):
    return payment.order.items.get().ticket


def emails_of(order) -> list[str]:
    return sorted(
        Notification.objects.filter(order=order, status=NotificationStatus.SENT).values_list("kind", flat=True)
    )


def test_full_refund_of_an_ewallet_payment_voids_tickets_returns_seats_and_tells_the_buyer(paid, xendit_simulator):
    payment = paid("DANA")
    ticket = ticket_of(payment)
    held_before = ticket.held

    refund = order_refund(order_id=payment.order_id, requested_by="finance@tedx", cancel=True, note="event moved")

    assert refund.status == RefundStatus.PENDING and refund.amount == 300_000
    order = payment.order
    order.refresh_from_db()
    ticket.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert ticket.held == held_before - 2
    assert order.issued_tickets.count() == 2 and all(t.is_void for t in order.issued_tickets.all())
    [at_xendit] = xendit_simulator.refunds(payment.invoice_id)
    assert at_xendit["id"] == refund.gateway_refund_id
    assert at_xendit["reference_id"] == refund.reference and at_xendit["amount"] == 300_000
    payment.refresh_from_db()
    assert (payment.refund_in_flight, payment.refunded_amount) == (300_000, 0)
    assert emails_of(order) == [
        NotificationKind.ORDER_CANCELLED,
        NotificationKind.ORDER_CONFIRMATION,
        NotificationKind.REFUND_STARTED,
    ]
    started = next(m for m in mail.outbox if "on its way" in m.subject or "sedang diproses" in m.subject)
    assert "Rp 300.000" in started.body and "DANA" in started.body

    result = xendit_simulator.refund_succeed(refund.gateway_refund_id)

    assert [delivery["status_code"] for delivery in result["callbacks"]] == [200]
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.completed_by == "Xendit"
    assert (payment.refund_in_flight, payment.refunded_amount) == (0, 300_000)
    assert NotificationKind.REFUND_DONE in emails_of(order)
    audit = list(OrderEvent.objects.filter(order=order, subject="refund").values_list("from_status", "to_status"))
    assert audit == [("", "requested"), ("requested", "pending"), ("pending", "succeeded")]


def test_a_partial_refund_keeps_the_order_paid_and_its_tickets_valid(paid, xendit_simulator):
    payment = paid("QRIS")

    refund = order_refund(
        order_id=payment.order_id, requested_by="finance", amount=100_000, reason="REQUESTED_BY_CUSTOMER"
    )

    assert refund.status == RefundStatus.PENDING
    order = payment.order
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not any(t.is_void for t in order.issued_tickets.all())
    payment.refresh_from_db()
    assert payment.refundable == 200_000
    with pytest.raises(RefundTooLarge):
        order_refund(order_id=payment.order_id, requested_by="finance", amount=200_001)
    second = order_refund(order_id=payment.order_id, requested_by="finance", amount=200_000)
    assert sorted(r["amount"] for r in xendit_simulator.refunds(payment.invoice_id)) == [100_000, 200_000]
    assert second.status == RefundStatus.PENDING
    # One "refund started" email per refund.
    assert Notification.objects.filter(order=order, kind=NotificationKind.REFUND_STARTED).count() == 2


@pytest.mark.parametrize("channel", ["BCA", "ALFAMART"])
def test_a_virtual_account_payment_becomes_a_manual_refund_task(paid, xendit_simulator, channel):
    payment = paid(channel)

    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    assert refund.status == RefundStatus.MANUAL and refund.failure_code == "REFUND_NOT_SUPPORTED"
    assert xendit_simulator.refunds(payment.invoice_id) == []
    payment.refresh_from_db()
    assert payment.refund_in_flight == 300_000 and payment.refundable == 0  # reserved for finance's transfer
    assert NotificationKind.REFUND_MANUAL in emails_of(payment.order)
    manual_email = next(m for m in mail.outbox if "bank transfer" in m.subject or "transfer bank" in m.subject)
    assert "account number" in manual_email.body or "nomor rekening" in manual_email.body

    done = refund_complete_manual(refund_id=refund.pk, completed_by="siti@finance", transfer_reference="BCA 123456")

    assert done.status == RefundStatus.SUCCEEDED
    assert (done.completed_by, done.transfer_reference) == ("siti@finance", "BCA 123456")
    assert done.completed_at is not None
    payment.refresh_from_db()
    assert (payment.refund_in_flight, payment.refunded_amount) == (0, 300_000)
    assert NotificationKind.REFUND_DONE in emails_of(payment.order)
    # Marking it done twice (a double click) changes nothing.
    again = refund_complete_manual(refund_id=refund.pk, completed_by="budi@finance", transfer_reference="other")
    assert again.completed_by == "siti@finance"


def test_a_refund_webhook_delivered_twice_moves_the_refund_once(paid, xendit_simulator):
    payment = paid("OVO")
    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    result = xendit_simulator.refund_succeed(refund.gateway_refund_id, callback="twice")

    assert [delivery["status_code"] for delivery in result["callbacks"]] == [200, 200]
    events = WebhookEvent.objects.filter(refund_id=refund.gateway_refund_id).order_by("pk")
    assert [e.outcome for e in events] == [WebhookOutcome.PROCESSED, WebhookOutcome.DUPLICATE]
    payment.refresh_from_db()
    assert payment.refunded_amount == 300_000
    assert OrderEvent.objects.filter(order=payment.order, subject="refund", to_status="succeeded").count() == 1
    assert Notification.objects.filter(order=payment.order, kind=NotificationKind.REFUND_DONE).count() == 1


def test_a_refund_failed_webhook_after_success_changes_nothing_and_is_labelled_ignored(client, paid, xendit_simulator):
    payment = paid("OVO")
    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)
    xendit_simulator.refund_succeed(refund.gateway_refund_id)
    body = {
        "event": "refund.failed",
        "data": {"id": refund.gateway_refund_id, "reference_id": refund.reference, "status": "FAILED"},
    }

    response = post_refund_webhook(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == WebhookOutcome.IGNORED
    event = WebhookEvent.objects.get(refund_id=refund.gateway_refund_id, status="REFUND_FAILED")
    assert event.outcome_detail.startswith("webhook said FAILED but Xendit says SUCCEEDED")
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.status, payment.refunded_amount) == (RefundStatus.SUCCEEDED, 300_000)
    succeeded = WebhookEvent.objects.get(refund_id=refund.gateway_refund_id, status="REFUND_SUCCEEDED")
    assert succeeded.outcome == WebhookOutcome.PROCESSED


def test_a_failed_refund_leaves_the_order_refundable(paid, xendit_simulator):
    payment = paid("SHOPEEPAY")
    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    xendit_simulator.refund_fail(refund.gateway_refund_id, failure_code="ACCOUNT_NOT_FOUND")

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and refund.failure_code == "ACCOUNT_NOT_FOUND"
    assert (payment.refund_in_flight, payment.refunded_amount, payment.refundable) == (0, 0, 300_000)
    # The order stays cancelled (its tickets void); the money can be refunded again.
    again = order_refund(order_id=payment.order_id, requested_by="finance")
    assert again.status == RefundStatus.PENDING and again.reference != refund.reference
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 2


def test_a_cancelled_order_whose_refund_failed_is_flagged_as_owed_until_a_refund_succeeds(paid, xendit_simulator):
    payment = paid("SHOPEEPAY")
    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    xendit_simulator.refund_fail(refund.gateway_refund_id, failure_code="ACCOUNT_NOT_FOUND")

    # The money is still here: the order says so, and "to refund" counts it.
    order = Order.objects.get(pk=payment.order_id)
    assert (order.status, order.attention_reason) == (OrderStatus.CANCELLED, AttentionReason.REFUND_FAILED)
    assert refund.reference in order.attention_note and "ACCOUNT_NOT_FOUND" in order.attention_note
    assert Payment.objects.get(pk=payment.pk).refund_outstanding == 300_000
    assert sales_overview().events[0].to_refund == 300_000
    # Asked again: under way, no longer "to refund"; once it succeeds, the flag is resolved.
    again = order_refund(order_id=payment.order_id, requested_by="finance")
    assert Payment.objects.get(pk=payment.pk).refund_outstanding == 0
    xendit_simulator.refund_succeed(again.gateway_refund_id)
    order.refresh_from_db()
    assert not order.needs_attention
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 300_000


def test_a_lost_create_answer_is_asked_again_with_the_same_key_and_refunds_once(paid, xendit_simulator):
    payment = paid("DANA")
    xendit_simulator.inject_fault("refund", "error", status=503)

    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    assert refund.status == RefundStatus.REQUESTED  # Xendit could not be asked: kept for the sweep
    payment.refresh_from_db()
    assert payment.refundable == 0  # still reserved: no second refund can start meanwhile
    Refund.objects.filter(pk=refund.pk).update(updated_at=refund.updated_at.replace(year=2020))
    counts = refunds_resume()
    assert counts["resubmitted"] == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund_submit(refund_id=refund.pk).status == RefundStatus.PENDING  # nothing to do now
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1


def test_an_unreadable_answer_to_a_refund_is_not_taken_for_a_refusal(paid, xendit_simulator):
    # A 200 whose body is no refund: Xendit may have made it. Marked failed, the amount would
    # be free for a second refund (and "refund owed" would offer one).
    payment = paid("DANA")
    xendit_simulator.inject_fault("refund", "malformed")

    refund = order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    assert refund.status == RefundStatus.REQUESTED
    payment.refresh_from_db()
    assert payment.refundable == 0
    Refund.objects.filter(pk=refund.pk).update(updated_at=refund.updated_at.replace(year=2020))
    assert refunds_resume()["resubmitted"] == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1


def test_a_refusal_by_xendit_marks_the_refund_failed(paid, xendit_simulator):
    payment = paid("DANA")
    xendit_simulator.inject_fault("refund", "error", status=400)
    refund = order_refund(order_id=payment.order_id, requested_by="finance")
    assert refund.status == RefundStatus.FAILED
    payment.refresh_from_db()
    assert payment.refundable == payment.paid_amount


def test_a_pending_order_cannot_be_refunded_and_a_paid_one_cancelled_twice_refunds_once(paid, placed_order):  # noqa: F811
    pending = placed_order(quantity=1)
    with pytest.raises(Exception) as caught:
        order_refund(order_id=pending.order_id, requested_by="finance", cancel=True)
    assert isinstance(caught.value, IllegalTransition)

    payment = paid("DANA")
    order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)
    with pytest.raises(RefundTooLarge):
        order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)


def test_a_refund_webhook_needs_the_token(client, xendit_simulator):
    body = {"event": "refund.succeeded", "data": {"id": "rfd-x", "status": "SUCCEEDED"}}

    response = client.post(REFUND_CALLBACK, data=json.dumps(body), content_type="application/json")
    wrong = client.post(
        REFUND_CALLBACK, data=json.dumps(body), content_type="application/json", headers={"x-callback-token": "nope"}
    )
    bad = client.post(
        REFUND_CALLBACK,
        data="[1]",
        content_type="application/json",
        headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
    )

    assert response.status_code == 401 and wrong.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert bad.status_code == 400 and "request_id" in bad.json()
    assert WebhookEvent.objects.count() == 0


def test_an_authenticated_body_that_is_no_refund_webhook_is_kept_unmatched_and_answered_200(client, xendit_simulator):
    # A 400 would make Xendit send it again for a day, and nobody would ever see it.
    body = {"event": "refund.succeeded", "data": {"status": "SUCCEEDED"}}  # no refund id

    response = post_refund_webhook(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == WebhookOutcome.UNMATCHED
    event = WebhookEvent.objects.get(pk=response.json()["event_id"])
    assert json.loads(event.raw_body) == body and event.outcome_detail.startswith("not a refund webhook")


def test_an_unknown_refund_is_stored_unmatched(client, xendit_simulator):
    body = {
        "event": "refund.succeeded",
        "data": {"id": "rfd-unknown", "reference_id": "RFD-NOPE", "status": "SUCCEEDED"},
    }

    response = post_refund_webhook(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == WebhookOutcome.UNMATCHED


def late_payment_without_seats(placed_order, xendit_simulator):  # noqa: F811
    """An order that expired, whose seat was sold meanwhile, paid late over OVO: the PAID
    callback reaches our webhook over HTTP and flags it "paid after expiry, no stock"."""
    from orders.services import order_expire
    from payments.gateways.simulator.models import SimulatedInvoice
    from tickets.models import Ticket

    payment = placed_order(quantity=1, price=200_000)
    order_expire(order_id=payment.order_id, expire_invoice=False)
    Ticket.objects.filter(pk=payment.order.items.get().ticket_id).update(quota=0)
    SimulatedInvoice.objects.filter(pk=payment.invoice_id).update(expiry_date="2100-01-01T00:00:00Z")
    xendit_simulator.pay(payment.invoice_id, channel="OVO")
    payment.refresh_from_db()
    assert payment.order.attention_reason == "paid_after_expiry_no_stock"
    return payment


def test_late_payments_without_seats_are_refunded_automatically_when_set(
    placed_order,  # noqa: F811
    xendit_simulator,
    celery_eager,
    settings,
):
    settings.REFUND_LATE_PAYMENTS_AUTOMATICALLY = True

    payment = late_payment_without_seats(placed_order, xendit_simulator)

    [refund] = Refund.objects.filter(payment=payment)
    assert (refund.status, refund.amount, refund.requested_by) == (
        RefundStatus.PENDING,
        200_000,
        "system (late payment)",
    )
    assert [r["amount"] for r in xendit_simulator.refunds(payment.invoice_id)] == [200_000]
    xendit_simulator.refund_succeed(refund.gateway_refund_id)
    payment.order.refresh_from_db()
    assert not payment.order.needs_attention  # the refund covered what was owed


def test_late_payments_wait_for_finance_by_default(placed_order, xendit_simulator, celery_eager):  # noqa: F811
    assert settings.REFUND_LATE_PAYMENTS_AUTOMATICALLY is False

    payment = late_payment_without_seats(placed_order, xendit_simulator)

    assert not Refund.objects.filter(payment=payment).exists()
    assert xendit_simulator.refunds(payment.invoice_id) == []


def test_cancelling_a_paid_order_gives_its_voucher_use_back_with_its_seats(paid, xendit_simulator):
    from orders.models import Order
    from vouchers.models import Voucher
    from vouchers.tests.factories import VoucherFactory

    payment = paid("DANA")
    voucher = VoucherFactory(event=payment.order.event, max_uses=1)
    Voucher.objects.filter(pk=voucher.pk).update(used=1)  # this order took the only use
    Order.objects.filter(pk=payment.order_id).update(voucher=voucher, voucher_uses=1)

    order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    voucher.refresh_from_db()
    assert voucher.used == 0
