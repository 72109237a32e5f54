"""A callback whose read-back at Xendit meets a reply that cannot be read (the simulator's
`malformed` fault: a 200 the SDK refuses) is not final: it answers 503, so Xendit delivers
it again, and that delivery pays the order."""

import pytest

from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, post_callback

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_malformed_read_back_answers_503_and_the_redelivery_pays(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=1, price=250_000)
    xendit_simulator.pay(payment.invoice_id, channel="BCA", callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)
    xendit_simulator.inject_fault("get", "malformed")

    first = post_callback(client, body)

    assert first.status_code == 503, first.json()
    assert first.json()["error"]["code"] == "service_unavailable"
    failed = WebhookEvent.objects.get()
    assert failed.outcome == WebhookOutcome.FAILED and "could not be read" in failed.outcome_detail
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING

    again = post_callback(client, body)  # Xendit's retry

    assert again.status_code == 200 and again.json()["outcome"] == "processed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


def test_the_inbox_tells_the_order_as_it_is_after_the_callback(placed_order, xendit_simulator):
    # Before, a processed PAID callback read "order PENDING": a stale copy of the order.
    payment = placed_order(quantity=1, price=250_000)

    xendit_simulator.pay(payment.invoice_id, channel="DANA")

    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert event.outcome_detail == "payment PAID, order PAID"
    assert event.webhook_id.startswith("wh_")  # the simulator sends Xendit's webhook-id header


def test_a_failed_callback_still_names_the_payment_it_matched(client, placed_order, xendit_simulator):
    # The payment is recorded with the outcome (one UPDATE), on the failure paths too: a
    # read-back that fails, and a PAID that Xendit does not confirm yet.
    unreadable, unconfirmed = placed_order(quantity=1), placed_order(quantity=1)
    xendit_simulator.pay(unreadable.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "malformed")

    for payment in (unreadable, unconfirmed):
        body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)
        assert post_callback(client, body).status_code == 503

    for payment in (unreadable, unconfirmed):
        event = WebhookEvent.objects.get(invoice_id=payment.invoice_id)
        assert event.outcome == WebhookOutcome.FAILED and event.payment_id == payment.pk
