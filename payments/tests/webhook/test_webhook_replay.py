"""Replaying an unmatched callback (webhook_replay), through the same processing as a
delivery: the match by invoice id, then the adoption by external id.

Adoption already handles, at first delivery, an invoice whose create reply we lost. A
callback is still left unmatched when Xendit's read API does not know the invoice yet
(it can lag its own callback: the adoption's read answers 404); a replay later adopts it.
An invoice for an order made in another system stays unmatched however often it is
replayed, and changes nothing."""

import json

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from orders.checkout.callbacks import webhook_receive, webhook_replay
from orders.models import Order, OrderStatus
from payments.gateways.base import GatewayError, InvoiceRequest
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, order_with_payment, post_callback
from payments.webhooks import Callback
from tedxpay.core.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(client, xendit_simulator):
    return client  # the callback's confirmation read goes to the simulator


def invoice_whose_reply_we_lost(gateway, payment):
    """Xendit made an invoice for `payment`, but its id never reached us."""
    return gateway.create_invoice(
        InvoiceRequest(
            external_id=payment.external_id,
            amount=payment.amount,
            payer_email="budi@example.com",
            description="create reply lost",
            invoice_duration=1800,
            success_redirect_url=f"{settings.SITE_URL}/orders/{payment.external_id}/",
            failure_redirect_url=f"{settings.SITE_URL}/orders/{payment.external_id}/",
        )
    )


def unmatched_because_xendit_lagged(client, gateway, xendit_simulator):
    """A paid invoice we never stored, whose callback came while Xendit's read API still
    answered 404 for it: stored unmatched. Returns (payment, invoice, event, body)."""
    payment = order_with_payment(quantity=2, invoice_id=None)
    invoice = invoice_whose_reply_we_lost(gateway, payment)
    xendit_simulator.pay(invoice.id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=404, count=1)
    body = callback_body(invoice_id=invoice.id, external_id=payment.external_id, amount=payment.amount)

    response = post_callback(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == WebhookOutcome.UNMATCHED
    event = WebhookEvent.objects.get(pk=response.json()["event_id"])
    payment.refresh_from_db()
    assert payment.invoice_id is None and payment.status == PaymentStatus.PENDING
    return payment, invoice, event, body


def test_an_unmatched_callback_is_adopted_on_replay_once_xendit_knows_the_invoice(client, gateway, xendit_simulator):
    payment, invoice, event, body = unmatched_because_xendit_lagged(client, gateway, xendit_simulator)
    # While it is unmatched, Xendit's own redeliveries stay duplicates: only a person replays.
    assert post_callback(client, body).json()["outcome"] == WebhookOutcome.DUPLICATE

    replayed = webhook_replay(event_id=event.pk)

    assert (replayed.outcome, replayed.attempts, replayed.payment_id) == (WebhookOutcome.PROCESSED, 2, payment.pk)
    payment.refresh_from_db()
    order = Order.objects.get(pk=payment.order_id)
    assert (payment.invoice_id, payment.status, payment.paid_amount) == (invoice.id, PaymentStatus.PAID, payment.amount)
    assert order.status == OrderStatus.PAID and order.issued_tickets.count() == 2
    confirmation = Notification.objects.get(order=order)
    assert confirmation.kind == NotificationKind.ORDER_CONFIRMATION
    with pytest.raises(Conflict):
        webhook_replay(event_id=event.pk)  # processed is final
    assert post_callback(client, body).json()["outcome"] == WebhookOutcome.DUPLICATE
    assert Notification.objects.filter(order=order).count() == 1  # one confirmation owed, not two


def test_an_invoice_for_an_order_made_elsewhere_stays_unmatched_however_often_it_is_replayed(client):
    body = callback_body(invoice_id="6748105a77f16ebe0cc5else", external_id="TDX-OTHERSYS", amount=250_000)
    event_id = post_callback(client, body).json()["event_id"]
    ours = order_with_payment(quantity=1)  # an order of ours that must not be touched
    payments_before = list(Payment.objects.values())

    first = webhook_replay(event_id=event_id)
    second = webhook_replay(event_id=event_id)

    assert (first.outcome, second.outcome) == (WebhookOutcome.UNMATCHED, WebhookOutcome.UNMATCHED)
    assert second.attempts == 3 and second.payment_id is None
    assert second.dedupe_key == "6748105a77f16ebe0cc5else:PAID"  # still holds its key
    assert list(Payment.objects.values()) == payments_before
    assert Order.objects.get(pk=ours.order_id).status == OrderStatus.PENDING
    assert not Notification.objects.exists()


def test_processed_and_duplicate_callbacks_are_still_refused(client):
    body = callback_body(invoice_id="6748105a77f16ebe0cc5dup1", external_id="TDX-OTHERSYS", amount=250_000)
    post_callback(client, body)
    duplicate = WebhookEvent.objects.get(pk=post_callback(client, body).json()["event_id"])
    processed = WebhookEvent.objects.create(
        invoice_id="inv-done", status="PAID", raw_body="{}", outcome=WebhookOutcome.PROCESSED
    )

    for event in (duplicate, processed):
        with pytest.raises(Conflict) as refused:
            webhook_replay(event_id=event.pk)
        assert refused.value.details == {"outcome": event.outcome}
        assert WebhookEvent.objects.values_list("outcome", "attempts").get(pk=event.pk) == (
            event.outcome,
            event.attempts,
        )  # not even counted as an attempt


def test_a_failed_refund_webhook_is_not_replayed_here():
    """docs/payments.md: received, failed and unmatched invoice callbacks can be replayed; a
    refund webhook shares the inbox but never goes through the invoice rules (the refund
    sweep reads a pending refund from Xendit instead)."""
    refund_event = WebhookEvent.objects.create(
        invoice_id="inv-refunded",
        refund_id="rfd-1",
        status="REFUND_SUCCEEDED",
        raw_body="{}",
        outcome=WebhookOutcome.FAILED,
    )

    with pytest.raises(Conflict) as refused:
        webhook_replay(event_id=refund_event.pk)

    assert refused.value.details == {"refund_id": "rfd-1"}
    assert WebhookEvent.objects.values_list("outcome", "attempts").get(pk=refund_event.pk) == (WebhookOutcome.FAILED, 0)


class AdoptedMeanwhileGateway:
    """Delegates to the real gateway; on the first invoice read, a concurrent replay runs to
    the end first (it adopts the invoice and processes the event), and this read then
    answers 404 as Xendit's lagging read API might. Makes a race between two replays
    deterministic."""

    def __init__(self, gateway, concurrent_replay):
        self._gateway = gateway
        self._concurrent_replay = concurrent_replay

    def get_invoice(self, invoice_id):
        if self._concurrent_replay is not None:
            run, self._concurrent_replay = self._concurrent_replay, None
            run()
            raise GatewayError("invoice not found", retryable=False, status=404)
        return self._gateway.get_invoice(invoice_id)

    def __getattr__(self, name):
        return getattr(self._gateway, name)


def test_a_replay_that_finds_nothing_does_not_overwrite_a_concurrent_replay_that_processed_it(
    client, gateway, xendit_simulator
):
    payment, _, event, _ = unmatched_because_xendit_lagged(client, gateway, xendit_simulator)
    # The slow replay looks for a payment with no invoice yet, then (inside its read) the
    # other replay adopts the invoice and processes the event.
    slow = AdoptedMeanwhileGateway(gateway, lambda: webhook_replay(event_id=event.pk, gateway=gateway))

    result = webhook_replay(event_id=event.pk, gateway=slow)

    assert result.outcome == WebhookOutcome.PROCESSED
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED and event.payment_id == payment.pk
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PAID


def test_a_first_delivery_is_not_confused_by_the_replay_rules(gateway, xendit_simulator):
    # webhook_receive keeps its own rules: a new delivery of an unknown invoice is unmatched.
    event = webhook_receive(
        callback=Callback(invoice_id="inv-unknown", status="PAID", external_id="TDX-NOTOURS1"),
        raw_body=json.dumps({"id": "inv-unknown"}),
        gateway=gateway,
    )
    assert event.outcome == WebhookOutcome.UNMATCHED


def test_the_admin_replays_an_unmatched_callback_and_says_it_is_still_unmatched(admin_client, client):
    body = callback_body(invoice_id="6748105a77f16ebe0cc5adm1", external_id="TDX-OTHERSYS", amount=250_000)
    event = WebhookEvent.objects.get(pk=post_callback(client, body).json()["event_id"])

    response = admin_client.post(
        reverse("admin:payments_webhookevent_changelist"),
        {"action": "replay_webhook_events", "_selected_action": [str(event.pk)]},
    )

    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == [
        f"Failed callback {event.pk} (6748105a77f16ebe0cc5adm1 PAID): unmatched: no payment has this invoice"
    ]
    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookOutcome.UNMATCHED, 2)
