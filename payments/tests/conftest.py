"""Helpers for the webhook, reconcile and transition tests: realistic Xendit callback
bodies, posting them, and orders with a real invoice at the simulator."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.gateways.base import InvoiceRequest
from payments.services import payment_attach_invoice
from payments.tests.factories import PaymentFactory
from tickets.services import stock_reserve
from tickets.tests.factories import TicketFactory

CALLBACK_URL = "/api/payment-callback"

# What each channel family adds to a PAID callback, as Xendit sends it (docs/xendit.md).
CHANNEL_FAMILIES = {
    "BCA": {"payment_method": "BANK_TRANSFER", "bank_code": "BCA", "payment_destination": "880899912345678"},
    "MANDIRI": {"payment_method": "BANK_TRANSFER", "bank_code": "MANDIRI", "payment_destination": "8860812345678"},
    "OVO": {"payment_method": "EWALLET", "ewallet_type": "OVO"},
    "DANA": {"payment_method": "EWALLET", "ewallet_type": "DANA"},
    "QRIS": {"payment_method": "QR_CODE"},
    "ALFAMART": {
        "payment_method": "RETAIL_OUTLET",
        "retail_outlet_name": "ALFAMART",
        "payment_destination": "TDX12345678",
    },
    "CREDIT_CARD": {"payment_method": "CREDIT_CARD", "credit_card_charge_id": "6748110977f16ebe0cc58a0b"},
}


def callback_body(
    *,
    invoice_id: str,
    external_id: str,
    amount: int,
    status: str = "PAID",
    channel: str = "BCA",
    paid_amount: int | None = None,
) -> dict:
    """A callback body shaped like Xendit's: integer amounts, and keys we do not use."""
    body = {
        "id": invoice_id,
        "external_id": external_id,
        "user_id": "62440e32a1b2c3d4e5f60718",
        "is_high": False,
        "status": status,
        "merchant_name": "TEDxJakarta",
        "amount": amount,
        "payer_email": "budi@example.com",
        "description": f"TEDxJakarta 2026 — order {external_id}",
        "currency": "IDR",
        "created": "2026-11-28T06:40:26.508Z",
        "updated": "2026-11-28T06:41:34.702Z",
        "success_redirect_url": f"https://tickets.example.com/orders/{external_id}/",
    }
    if status in ("PAID", "SETTLED"):
        body |= CHANNEL_FAMILIES[channel] | {
            "payment_channel": channel,
            "paid_amount": amount if paid_amount is None else paid_amount,
            "paid_at": "2026-11-28T06:41:29.776Z",
            "payment_id": "pay-6748105a77f16ebe0cc583b1",
            "initial_amount": amount,
            "fees_paid_amount": 0,
        }
    return body


def post_callback(client, body, *, token: str | None = "default"):
    """POST a callback the way Xendit does; `token=None` sends no token header."""
    headers = {}
    if token is not None:
        headers["x-callback-token"] = settings.XENDIT_CALLBACK_TOKEN if token == "default" else token
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(CALLBACK_URL, data=data, content_type="application/json", headers=headers)


def order_with_payment(*, quantity: int = 2, price: int = 150_000, ticket=None, invoice_id=None):
    """A PENDING order holding its seats (Ticket.held moved through the stock service) and
    its PENDING payment. `invoice_id=None` leaves the payment without an invoice."""
    ticket = ticket or TicketFactory(price=price, quota=10)
    order = OrderFactory(event=ticket.event, total=ticket.price * quantity)
    OrderItemFactory(order=order, ticket=ticket, quantity=quantity)
    with transaction.atomic():
        stock_reserve(quantities={ticket.pk: quantity}, now=timezone.now())
    return PaymentFactory(order=order, invoice_id=invoice_id)


@pytest.fixture
def placed_order(gateway):
    """Make orders whose payment has a real invoice at the simulator."""

    def make(**kwargs):
        payment = order_with_payment(**kwargs)
        order = payment.order
        invoice = gateway.create_invoice(
            InvoiceRequest(
                external_id=order.code,
                amount=order.total,
                payer_email=order.buyer.email,
                description=f"{order.event.name} — order {order.code}",
                invoice_duration=int((order.expires_at - timezone.now()) / timedelta(seconds=1)),
                success_redirect_url=f"{settings.SITE_URL}/orders/{order.code}/",
                failure_redirect_url=f"{settings.SITE_URL}/orders/{order.code}/",
            )
        )
        return payment_attach_invoice(payment_id=payment.pk, invoice=invoice)

    return make
