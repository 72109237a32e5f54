"""The callback end to end: the simulator (Xendit's API over HTTP on the live server) pays,
expires or settles an invoice and delivers the callback; our endpoint confirms with the
gateway and moves the order."""

import json

import pytest

from notifications.models import Notification, NotificationKind
from orders.checkout.callbacks import webhook_receive, webhook_replay
from orders.models import AttentionReason, EventSource, OrderEvent, OrderStatus
from orders.services import order_expire
from payments.gateways.base import InvoiceRequest
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, order_with_payment, post_callback
from payments.webhooks import Callback
from tedxpay.core.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(client, xendit_simulator):
    # Posting with the test client still confirms through the gateway: the simulator.
    return client


def body_for(payment, **kwargs) -> dict:
    return callback_body(
        invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount, **kwargs
    )


def refreshed(payment):
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    return payment, payment.order


def kinds(order) -> list[str]:
    return sorted(Notification.objects.filter(order=order).values_list("kind", flat=True))


FAMILIES = [
    ("BCA", "BANK_TRANSFER"),
    ("OVO", "EWALLET"),
    ("QRIS", "QR_CODE"),
    ("ALFAMART", "RETAIL_OUTLET"),
    ("CREDIT_CARD", "CREDIT_CARD"),
]


@pytest.mark.parametrize(("channel", "method"), FAMILIES)
def test_callback_delivered_by_the_simulator_pays_the_order(placed_order, xendit_simulator, channel, method):
    payment = placed_order(quantity=2, price=150_000)

    result = xendit_simulator.pay(payment.invoice_id, channel=channel)

    assert [delivery["status_code"] for delivery in result["callbacks"]] == [200]
    payment, order = refreshed(payment)
    assert (payment.status, payment.paid_amount, payment.method, payment.channel) == ("PAID", 300_000, method, channel)
    assert order.status == OrderStatus.PAID and not order.needs_attention
    assert order.issued_tickets.count() == 2
    assert kinds(order) == [NotificationKind.ORDER_CONFIRMATION]
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.payment_id, event.external_id) == ("processed", payment.pk, order.code)
    assert event.attempts == 1 and '"paid_amount": 300000' in event.raw_body
    assert OrderEvent.objects.filter(order=order, to_status="PAID", source=EventSource.WEBHOOK).count() == 2


@pytest.mark.parametrize(("channel", "method"), FAMILIES)
def test_realistic_callback_body_per_channel_family(client, placed_order, xendit_simulator, channel, method):
    payment = placed_order(quantity=1, price=250_000)
    xendit_simulator.pay(payment.invoice_id, channel=channel, callback="none")

    response = post_callback(client, body_for(payment, channel=channel))

    assert response.status_code == 200 and response.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    # The channel is what Xendit's record says, read back through the gateway.
    assert (payment.status, payment.method, payment.channel) == ("PAID", method, channel)
    assert order.status == OrderStatus.PAID


def test_callback_sent_twice_is_one_transition(placed_order, xendit_simulator):
    payment = placed_order(quantity=3, price=100_000)

    result = xendit_simulator.pay(payment.invoice_id, callback="twice")

    assert [delivery["status_code"] for delivery in result["callbacks"]] == [200, 200]
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID and order.issued_tickets.count() == 3
    assert kinds(order) == [NotificationKind.ORDER_CONFIRMATION]
    assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == ["duplicate", "processed"]
    assert OrderEvent.objects.filter(order=order, subject="order", to_status="PAID").count() == 1


def test_expired_callback_expires_a_pending_order_and_gives_seats_back(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket

    xendit_simulator.expire(payment.invoice_id)

    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and payment.status == PaymentStatus.EXPIRED
    assert ticket.held == 0
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED
    assert OrderEvent.objects.filter(order=order, to_status="EXPIRED", source=EventSource.WEBHOOK).exists()


def test_expired_after_paid_changes_nothing(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id)
    events_before = OrderEvent.objects.count()

    response = post_callback(client, body_for(payment, status="EXPIRED"))

    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID and payment.status == PaymentStatus.PAID
    assert order.issued_tickets.count() == 2 and payment.order.items.get().ticket.held == 2
    assert OrderEvent.objects.count() == events_before
    assert "EXPIRED after PAID" in WebhookEvent.objects.get(status="EXPIRED").outcome_detail


def test_paid_after_expiry_with_seats_left_takes_them_back(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)  # our sweep won the race; the buyer pays anyway

    xendit_simulator.pay(payment.invoice_id, channel="DANA")

    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.PAID and payment.status == PaymentStatus.PAID
    assert ticket.held == 2 and order.issued_tickets.count() == 2
    assert NotificationKind.ORDER_CONFIRMATION in kinds(order)
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED


def test_paid_after_expiry_without_seats_is_flagged_and_the_money_kept(placed_order, xendit_simulator):
    payment = placed_order(quantity=2, price=150_000)
    ticket = payment.order.items.get().ticket
    order_expire(order_id=payment.order_id)
    order_with_payment(quantity=5, ticket=ticket)
    order_with_payment(quantity=5, ticket=ticket)

    result = xendit_simulator.pay(payment.invoice_id, channel="BNI")

    assert result["callbacks"][0]["status_code"] == 200
    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and payment.paid_amount == 300_000 and payment.channel == "BNI"
    assert order.status == OrderStatus.EXPIRED
    assert order.needs_attention and order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    assert ticket.held == ticket.quota and not order.issued_tickets.exists()
    assert kinds(order) == sorted([NotificationKind.ORDER_EXPIRED, NotificationKind.PAID_AFTER_EXPIRY])
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED


def test_amount_mismatch_is_flagged(placed_order, xendit_simulator):
    payment = placed_order(quantity=2, price=150_000)

    xendit_simulator.pay(payment.invoice_id, amount=250_000)

    payment, order = refreshed(payment)
    assert payment.paid_amount == 250_000 and order.status == OrderStatus.PAID
    assert order.needs_attention and order.attention_reason == AttentionReason.AMOUNT_MISMATCH


def test_paid_callback_xendit_does_not_confirm_yet_answers_503_and_the_redelivery_pays(
    client, placed_order, xendit_simulator
):
    payment = placed_order(quantity=2)  # still PENDING at Xendit: its record lags, or nobody paid
    body = body_for(payment)

    first = post_callback(client, body)

    assert first.status_code == 503 and first.json()["error"]["code"] == "service_unavailable"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PENDING and payment.paid_amount is None
    assert order.status == OrderStatus.PENDING and not order.issued_tickets.exists()
    assert not Notification.objects.filter(order=order).exists()
    unconfirmed = WebhookEvent.objects.get()
    assert unconfirmed.pk == first.json()["error"]["details"]["event_id"]
    assert unconfirmed.outcome == WebhookOutcome.FAILED
    assert unconfirmed.outcome_detail == "not confirmed yet: Xendit says PENDING, not paid"

    # Xendit's record catches up; its redelivery takes the key over and is confirmed.
    xendit_simulator.pay(payment.invoice_id, callback="none")
    again = post_callback(client, body)

    assert again.status_code == 200 and again.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.PAID
    assert kinds(order) == [NotificationKind.ORDER_CONFIRMATION]


def test_paid_callback_for_an_expired_invoice_pays_nothing_and_applies_what_xendit_says(
    client, placed_order, xendit_simulator
):
    payment = placed_order(quantity=1)
    ticket = payment.order.items.get().ticket
    xendit_simulator.expire(payment.invoice_id, callback="none")

    response = post_callback(client, body_for(payment))

    # Not paid: Xendit's EXPIRED is the truth, applied as a reconcile would (the one rule):
    # the order expires and its seat is back.
    assert response.status_code == 200 and response.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED and payment.paid_amount is None
    assert order.status == OrderStatus.EXPIRED and not order.issued_tickets.exists()
    assert ticket.held == 0
    assert WebhookEvent.objects.get().outcome_detail == (
        "callback said PAID but Xendit says EXPIRED: payment EXPIRED, order EXPIRED"
    )


def test_paid_callback_for_an_invoice_xendit_expired_after_our_expiry_is_ignored(
    client, placed_order, xendit_simulator
):
    payment = placed_order(quantity=1)
    order_expire(order_id=payment.order_id, expire_invoice=False)
    xendit_simulator.expire(payment.invoice_id, callback="none")

    response = post_callback(client, body_for(payment))

    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.EXPIRED and order.status == OrderStatus.EXPIRED
    assert WebhookEvent.objects.get().outcome_detail == "Xendit says EXPIRED, not paid"


def test_paid_callback_for_an_invoice_xendit_does_not_know_is_rejected(client):
    payment = order_with_payment(invoice_id="6748105a77f16ebe0cc5ffff")  # never created at Xendit

    response = post_callback(client, body_for(payment), token="default")

    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_gateway_down_answers_503_and_xendit_redelivery_is_processed(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=503, count=1)
    body = body_for(payment)

    first = post_callback(client, body)

    assert first.status_code == 503
    assert first.json()["error"]["code"] == "service_unavailable"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PENDING and order.status == OrderStatus.PENDING
    failed = WebhookEvent.objects.get()
    assert failed.outcome == WebhookOutcome.FAILED and failed.dedupe_key

    again = post_callback(client, body)  # Xendit's retry, 15 minutes later

    assert again.status_code == 200 and again.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID and kinds(order) == [NotificationKind.ORDER_CONFIRMATION]
    failed.refresh_from_db()
    assert failed.dedupe_key is None and failed.outcome == WebhookOutcome.FAILED
    assert WebhookEvent.objects.get(dedupe_key=f"{payment.invoice_id}:PAID").pk == again.json()["event_id"]
    # A third copy is a plain duplicate again.
    assert post_callback(client, body).json()["outcome"] == "duplicate"


def test_gateway_down_then_replay_processes_the_stored_event(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=502, count=1)
    event_id = post_callback(client, body_for(payment)).json()["error"]["details"]["event_id"]

    event = webhook_replay(event_id=event_id)

    assert event.outcome == WebhookOutcome.PROCESSED and event.attempts == 2
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PAID
    with pytest.raises(Conflict):
        webhook_replay(event_id=event_id)  # done is done


def test_settled_after_paid_records_settlement_without_a_second_email(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id)
    xendit_simulator.settle(payment.invoice_id)

    response = post_callback(client, body_for(payment, status="SETTLED"))

    assert response.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and payment.gateway_status == "SETTLED"
    assert kinds(order) == [NotificationKind.ORDER_CONFIRMATION]


class CountingGateway:
    """The real gateway (the SDK over HTTP to the simulator), counting the invoice reads."""

    def __init__(self, gateway):
        self._gateway = gateway
        self.reads: list[str] = []

    def get_invoice(self, invoice_id):
        self.reads.append(invoice_id)
        return self._gateway.get_invoice(invoice_id)

    def __getattr__(self, name):
        return getattr(self._gateway, name)


def lost_reply_invoice(gateway, template, payment):
    """An invoice Xendit made for `payment` whose create reply never reached us."""
    return gateway.create_invoice(
        InvoiceRequest(
            external_id=payment.external_id,
            amount=payment.amount,
            payer_email="budi@example.com",
            description="lost reply",
            invoice_duration=1800,
            success_redirect_url=template.invoice_url,
            failure_redirect_url=template.invoice_url,
        )
    )


def test_paid_invoice_we_never_stored_is_adopted_by_external_id(placed_order, gateway, xendit_simulator):
    # The create call's reply was lost: Xendit has the invoice, we have no id for it.
    template = placed_order(quantity=1)
    payment = order_with_payment(quantity=2, invoice_id=None)
    invoice = lost_reply_invoice(gateway, template, payment)

    xendit_simulator.pay(invoice.id)

    payment, order = refreshed(payment)
    assert payment.invoice_id == invoice.id and payment.status == PaymentStatus.PAID
    assert order.status == OrderStatus.PAID
    assert WebhookEvent.objects.get(invoice_id=invoice.id).outcome == WebhookOutcome.PROCESSED


def test_adopting_an_invoice_reads_it_from_xendit_once(placed_order, gateway, xendit_simulator):
    template = placed_order(quantity=1)
    payment = order_with_payment(quantity=1, invoice_id=None)
    invoice = lost_reply_invoice(gateway, template, payment)
    xendit_simulator.pay(invoice.id, callback="none")
    counting = CountingGateway(gateway)
    body = body_for(payment) | {"id": invoice.id}

    event = webhook_receive(
        callback=Callback(invoice_id=invoice.id, status="PAID", external_id=payment.external_id),
        raw_body=json.dumps(body),
        gateway=counting,
    )

    # The read that confirmed the adoption is the confirmation: Xendit waits for one call.
    assert counting.reads == [invoice.id]
    assert event.outcome == WebhookOutcome.PROCESSED
    payment, order = refreshed(payment)
    assert payment.invoice_id == invoice.id and order.status == OrderStatus.PAID


def test_a_callback_for_an_invoice_nobody_knows_with_one_of_our_codes_is_unmatched(client, xendit_simulator):
    payment = order_with_payment(quantity=1, invoice_id=None)  # ours, never got an invoice
    body = body_for(payment) | {"id": "6748105a77f16ebe0cc5eeee"}  # unknown at Xendit too

    response = post_callback(client, body)

    assert response.status_code == 200 and response.json()["outcome"] == "unmatched"
    payment.refresh_from_db()
    assert payment.invoice_id is None and payment.status == PaymentStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_an_expired_callback_remembers_xendits_status(placed_order, xendit_simulator):
    payment = placed_order()
    xendit_simulator.expire(payment.invoice_id, callback="send")
    payment.refresh_from_db()
    assert payment.order.status == "EXPIRED"
    assert payment.gateway_status == "EXPIRED"


@pytest.mark.django_db(transaction=True)
def test_an_expired_callback_for_a_cancelled_order_still_remembers_xendits_status(placed_order, xendit_simulator):
    from orders.services import order_cancel

    payment = placed_order()
    order_cancel(order_id=payment.order_id, note="test")
    # Xendit's EXPIRED (ours or its own) arrives for the cancelled order.
    xendit_simulator.expire(payment.invoice_id, callback="send")
    payment.refresh_from_db()
    assert payment.order.status == "CANCELLED"
    assert payment.gateway_status == "EXPIRED"


# --- de-duplication of callbacks Xendit does not confirm yet ---------------------------------


def test_a_forged_expired_callback_does_not_keep_the_key_from_the_genuine_one(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket

    # A valid token, but Xendit has the invoice open: forged (or early), ignored.
    forged = post_callback(client, body_for(payment, status="EXPIRED"))

    assert forged.status_code == 200 and forged.json()["outcome"] == "ignored"
    payment, order = refreshed(payment)
    assert order.status == OrderStatus.PENDING and payment.status == PaymentStatus.PENDING
    ignored = WebhookEvent.objects.get()
    assert ignored.outcome_detail == "Xendit says PENDING, not EXPIRED" and ignored.dedupe_key is None

    # Xendit expires it and sends its own EXPIRED: processed, not a duplicate of the forgery.
    xendit_simulator.expire(payment.invoice_id)

    genuine = WebhookEvent.objects.exclude(pk=ignored.pk).get()
    assert genuine.outcome == WebhookOutcome.PROCESSED, genuine.outcome_detail
    assert genuine.dedupe_key == f"{payment.invoice_id}:EXPIRED"
    payment, order = refreshed(payment)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and payment.status == PaymentStatus.EXPIRED
    assert ticket.held == 0


def test_a_paid_callback_read_back_before_xendit_shows_it_does_not_keep_the_key(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    # Xendit's read API does not show the invoice yet (it lags its own callback).
    xendit_simulator.inject_fault("get", "error", status=404, count=1)
    body = body_for(payment)

    early = post_callback(client, body)

    assert early.status_code == 200 and early.json()["outcome"] == "ignored"
    ignored = WebhookEvent.objects.get()
    assert ignored.outcome_detail == "Xendit does not know this invoice" and ignored.dedupe_key is None
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PENDING

    # The next delivery of the same PAID, once Xendit shows it, is processed.
    again = post_callback(client, body)

    assert again.status_code == 200 and again.json()["outcome"] == "processed"
    payment, order = refreshed(payment)
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.PAID
    assert kinds(order) == [NotificationKind.ORDER_CONFIRMATION]
