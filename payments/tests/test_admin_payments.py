"""Payments and the webhook inbox in the admin: read-only pages, "sync with Xendit" (the
simulator over HTTP) from the payment and the order lists, and replaying a callback."""

import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import EventSource, OrderEvent, OrderStatus
from orders.tests.back_office.test_admin_orders import pay
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, order_with_payment
from payments.tests.factories import WebhookEventFactory

PAYMENTS = reverse("admin:payments_payment_changelist")
INBOX = reverse("admin:payments_webhookevent_changelist")
ORDERS = reverse("admin:orders_order_changelist")


def run_action(client, url: str, action: str, objects):
    response = client.post(url, {"action": action, "_selected_action": [str(obj.pk) for obj in objects]})
    assert response.status_code == 302
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_payment_pages_render_read_only(admin_client):
    paid = pay(order_with_payment(quantity=2, price=350_000, invoice_id="inv_dana"), channel="DANA").payment
    pending = order_with_payment(quantity=1)
    WebhookEventFactory(invoice_id=paid.invoice_id, payment=paid, outcome=WebhookOutcome.PROCESSED)

    listing = admin_client.get(PAYMENTS)
    page = admin_client.get(reverse("admin:payments_payment_change", args=[paid.pk]))

    assert listing.status_code == 200 and page.status_code == 200
    assert paid.external_id in listing.content.decode() and pending.external_id in listing.content.decode()
    assert "Rp 700.000" in listing.content.decode() and "DANA" in listing.content.decode()
    assert "Xendit callbacks" in page.content.decode() and 'name="_save"' not in page.content.decode()
    for query in [{"status__exact": "PAID"}, {"channel__exact": "DANA"}, {"q": paid.invoice_id}]:
        response = admin_client.get(PAYMENTS, query)
        assert [payment.pk for payment in response.context["cl"].result_list] == [paid.pk], query


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["payment", "webhookevent"])
def test_no_add_no_delete(admin_client, name):
    payment = order_with_payment(quantity=1)
    obj = payment if name == "payment" else WebhookEventFactory(payment=payment)

    assert admin_client.get(reverse(f"admin:payments_{name}_add")).status_code == 403
    assert (
        admin_client.post(reverse(f"admin:payments_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    )
    assert admin_client.post(reverse(f"admin:payments_{name}_change", args=[obj.pk]), {}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_inbox_filters_and_pretty_prints_the_raw_body(admin_client):
    body = callback_body(invoice_id="inv_unknown", external_id="TDX-NOPE", amount=350_000)
    unmatched = WebhookEventFactory(
        invoice_id="inv_unknown", raw_body=json.dumps(body, separators=(",", ":")), outcome=WebhookOutcome.UNMATCHED
    )
    failed = WebhookEventFactory(outcome=WebhookOutcome.FAILED, outcome_detail="gateway: timed out")
    WebhookEventFactory(outcome=WebhookOutcome.PROCESSED)
    not_json = WebhookEventFactory(raw_body="<html>oops</html>", outcome=WebhookOutcome.FAILED)

    for outcome, expected in [("unmatched", [unmatched.pk]), ("failed", [not_json.pk, failed.pk])]:
        response = admin_client.get(INBOX, {"outcome__exact": outcome})
        assert [event.pk for event in response.context["cl"].result_list] == expected

    page = admin_client.get(reverse("admin:payments_webhookevent_change", args=[unmatched.pk])).content.decode()
    assert "  &quot;external_id&quot;: &quot;TDX-NOPE&quot;,\n" in page  # indented, one key a line
    assert "Unmatched invoice" in page
    page = admin_client.get(reverse("admin:payments_webhookevent_change", args=[not_json.pk])).content.decode()
    assert "&lt;html&gt;oops&lt;/html&gt;" in page  # shown as it came, escaped


@pytest.mark.django_db
def test_replay_refuses_a_processed_callback(admin_client):
    processed = WebhookEventFactory(outcome=WebhookOutcome.PROCESSED)

    messages = run_action(admin_client, INBOX, "replay_webhook_events", [processed])

    assert messages == [
        f"Skipped callback {processed.pk} ({processed.invoice_id} PAID): is processed; "
        "only received, failed or unmatched callbacks are replayed"
    ]


# --- against the simulator (live server: transactional tests) -----------------------------


@pytest.mark.django_db(transaction=True)
def test_sync_from_the_payment_list_records_a_payment_whose_callback_was_lost(
    admin_client, placed_order, xendit_simulator
):
    paid = placed_order(quantity=2)
    untouched = placed_order(quantity=1)
    no_invoice = order_with_payment(quantity=1)
    xendit_simulator.pay(paid.invoice_id, channel="MANDIRI", callback="none")

    messages = run_action(admin_client, PAYMENTS, "sync_payments_with_xendit", [paid, untouched, no_invoice])

    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID and paid.channel == "MANDIRI"
    assert paid.order.status == OrderStatus.PAID
    assert OrderEvent.objects.filter(order=paid.order, to_status="PAID", source=EventSource.ADMIN).count() == 2
    untouched.refresh_from_db()
    assert untouched.status == PaymentStatus.PENDING and untouched.last_synced_at is not None
    assert messages == [
        f"Synced 2: {paid.external_id} (paid at Xendit: payment recorded), "
        f"{untouched.external_id} (no change, Xendit says PENDING).",
        f"Skipped {no_invoice.external_id}: no Xendit invoice yet",
    ]


@pytest.mark.django_db(transaction=True)
def test_sync_from_the_order_list_expires_an_order_expired_at_xendit(admin_client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    xendit_simulator.expire(payment.invoice_id, callback="none")

    messages = run_action(admin_client, ORDERS, "sync_with_xendit", [payment.order])

    payment.refresh_from_db()
    ticket.refresh_from_db()
    assert payment.order.status == OrderStatus.EXPIRED and ticket.held == 0
    assert OrderEvent.objects.get(order=payment.order, to_status="EXPIRED", subject="order").source == EventSource.ADMIN
    assert messages == [f"Synced 1: {payment.external_id} (expired at Xendit: order expired, seats back)."]


@pytest.mark.django_db(transaction=True)
def test_sync_reports_xendit_being_down_per_order(admin_client, placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.inject_fault("get", "error", status=503, count=10)

    messages = run_action(admin_client, ORDERS, "sync_with_xendit", [payment.order])

    xendit_simulator.clear_faults()
    assert len(messages) == 1 and messages[0].startswith(f"Failed {payment.external_id}: Xendit:")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_replay_of_a_failed_callback_applies_it(admin_client, placed_order, xendit_simulator):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id, channel="BCA", callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)
    event = WebhookEvent.objects.create(
        invoice_id=payment.invoice_id,
        external_id=payment.external_id,
        status="PAID",
        dedupe_key=f"{payment.invoice_id}:PAID",
        raw_body=json.dumps(body),
        outcome=WebhookOutcome.FAILED,
        outcome_detail="gateway: timed out",
    )

    messages = run_action(admin_client, INBOX, "replay_webhook_events", [event])

    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED and event.attempts == 1
    assert payment.status == PaymentStatus.PAID and payment.order.status == OrderStatus.PAID
    assert messages == [
        f"Replayed 1: callback {event.pk} ({payment.invoice_id} PAID) (processed: {event.outcome_detail})."
    ]
