"""The gateway sends what the SDK's models would send and reads what the SDK's models
would read, without building them (payments/gateways/xendit.py)."""

import json

import pytest
from xendit import ApiClient
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.invoice.model.customer_object import CustomerObject
from xendit.invoice.model.invoice import Invoice as SdkInvoice
from xendit.invoice.model.invoice_item import InvoiceItem as SdkInvoiceItem

from payments.gateways.base import Customer, InvoiceItem
from payments.gateways.xendit import _create_body, _invoice_from_json
from payments.tests.gateway.test_xendit_gateway import make_request
from payments.tests.xendit_stub import invoice_body


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"items": (), "customer": None, "description": ""},
        {"customer": Customer(given_names="Siti", email="siti@example.com"), "locale": "id"},
        {"items": (InvoiceItem("Regular", 150_000, 2), InvoiceItem("Student", 75_000, 1)), "amount": 375_000},
    ],
    ids=["full", "bare", "customer-without-phone", "two-lines"],
)
def test_the_create_body_is_the_one_the_sdk_model_sends(overrides):
    request = make_request(**overrides)
    optional = {
        "payer_email": request.payer_email,
        "description": request.description,
        "invoice_duration": float(request.invoice_duration),
        "currency": request.currency,
        "success_redirect_url": request.success_redirect_url,
        "failure_redirect_url": request.failure_redirect_url,
        "locale": request.locale,
    }
    if request.items:
        optional["items"] = [
            SdkInvoiceItem(name=item.name, price=float(item.price), quantity=float(item.quantity))
            for item in request.items
        ]
    if request.customer:
        customer = vars(request.customer)
        optional["customer"] = CustomerObject(**{key: value for key, value in customer.items() if value})
    model = CreateInvoiceRequest(
        external_id=request.external_id,
        amount=float(request.amount),
        **{key: value for key, value in optional.items() if value not in (None, "")},
    )

    assert _create_body(request) == ApiClient.sanitize_for_serialization(model)


def test_a_reply_reads_as_the_sdk_model_reads_it():
    body = invoice_body(
        "TDX-GW0001",
        status="PAID",
        amount=350000,
        paid_amount=350000,
        paid_at="2026-11-28T06:41:29.776Z",
        payment_method="BANK_TRANSFER",
        payment_channel="BCA",
    )
    sdk = ApiClient().deserialize(_Reply(body), (SdkInvoice,), True)

    invoice = _invoice_from_json(body)

    assert (invoice.id, invoice.external_id, invoice.status) == (sdk.id, sdk.external_id, sdk.status.value)
    assert invoice.amount == round(sdk.amount) and invoice.invoice_url == sdk.invoice_url
    assert invoice.expiry_date == sdk.expiry_date
    assert invoice.payment_method == sdk.payment_method.value and invoice.payment_channel == sdk.payment_channel
    assert invoice.paid_amount == 350_000 and invoice.paid_at.isoformat() == "2026-11-28T06:41:29.776000+00:00"
    assert invoice.currency == sdk.currency.value == "IDR"


class _Reply:
    """What the SDK deserialises: a response with its body as text."""

    def __init__(self, body: dict):
        self.data = json.dumps(body)
