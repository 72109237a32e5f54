"""The real Xendit SDK (payments/gateways/xendit.py) over HTTP against the simulator."""

from datetime import UTC, datetime

import pytest

from payments.gateways.base import Customer, GatewayError, InvoiceItem, InvoiceRequest, InvoiceStatus
from payments.gateways.xendit import XenditGateway

pytestmark = pytest.mark.django_db(transaction=True)


def make_request(external_id="TDX-GW0001", amount=300_000, **overrides) -> InvoiceRequest:
    fields = {
        "external_id": external_id,
        "amount": amount,
        "payer_email": "budi@example.com",
        "description": f"TEDxJakarta 2026 — order {external_id}",
        "invoice_duration": 1800,
        "success_redirect_url": "http://shop.test/orders/ok",
        "failure_redirect_url": "http://shop.test/orders/failed",
        "items": (InvoiceItem(name="Regular", price=150_000, quantity=2),),
        "customer": Customer(given_names="Budi", email="budi@example.com", mobile_number="+628123456789"),
    }
    return InvoiceRequest(**{**fields, **overrides})


def test_create_returns_a_pending_invoice_with_integer_amounts(gateway, xendit_simulator):
    invoice = gateway.create_invoice(make_request())

    assert len(invoice.id) == 24
    assert invoice.external_id == "TDX-GW0001"
    assert invoice.status == InvoiceStatus.PENDING
    assert invoice.amount == 300_000 and type(invoice.amount) is int
    assert invoice.invoice_url == f"{xendit_simulator.base_url}/web/{invoice.id}"
    assert invoice.expiry_date is not None
    remaining = (invoice.expiry_date - datetime.now(UTC)).total_seconds()
    assert 1700 < remaining <= 1800
    assert invoice.paid_amount is None and invoice.paid_at is None
    assert invoice.raw["items"] == [{"name": "Regular", "price": 150_000.0, "quantity": 2.0}]
    assert invoice.raw["customer"]["email"] == "budi@example.com"


def test_get_returns_the_stored_invoice(gateway):
    created = gateway.create_invoice(make_request())

    fetched = gateway.get_invoice(created.id)

    assert fetched == created


def test_get_unknown_invoice_is_a_not_retryable_not_found(gateway):
    with pytest.raises(GatewayError) as caught:
        gateway.get_invoice("0123456789abcdef01234567")

    assert caught.value.code == "INVOICE_NOT_FOUND_ERROR"
    assert caught.value.status == 404
    assert caught.value.retryable is False


def test_find_invoices_lists_every_invoice_of_an_external_id_newest_first(gateway):
    first = gateway.create_invoice(make_request("TDX-SAME01"))
    second = gateway.create_invoice(make_request("TDX-SAME01", amount=450_000))
    gateway.create_invoice(make_request("TDX-OTHER1"))

    found = gateway.find_invoices("TDX-SAME01")

    assert [invoice.id for invoice in found] == [second.id, first.id]
    assert [invoice.amount for invoice in found] == [450_000, 300_000]
    assert gateway.find_invoices("TDX-NOBODY") == []


def test_expire_marks_the_invoice_expired(gateway):
    created = gateway.create_invoice(make_request())

    expired = gateway.expire_invoice(created.id)

    assert expired.status == InvoiceStatus.EXPIRED
    assert expired.is_expired
    assert gateway.get_invoice(created.id).status == InvoiceStatus.EXPIRED
    # Expiring again answers the same expired invoice, as Xendit does.
    assert gateway.expire_invoice(created.id).status == InvoiceStatus.EXPIRED


def test_paid_invoice_carries_payment_details(gateway, xendit_simulator):
    created = gateway.create_invoice(make_request())
    xendit_simulator.pay(created.id, channel="DANA", callback="none")

    paid = gateway.get_invoice(created.id)

    assert paid.status == InvoiceStatus.PAID and paid.is_paid
    assert paid.paid_amount == 300_000 and type(paid.paid_amount) is int
    assert paid.payment_method == "EWALLET"
    assert paid.payment_channel == "DANA"
    assert isinstance(paid.paid_at, datetime) and paid.paid_at.tzinfo is not None


def test_settled_invoice_counts_as_paid(gateway, xendit_simulator):
    created = gateway.create_invoice(make_request())
    xendit_simulator.pay(created.id, callback="none")
    xendit_simulator.settle(created.id)

    settled = gateway.get_invoice(created.id)

    assert settled.status == InvoiceStatus.SETTLED
    assert settled.is_paid


def test_expiring_a_paid_invoice_is_refused(gateway, xendit_simulator):
    created = gateway.create_invoice(make_request())
    xendit_simulator.pay(created.id, callback="none")

    with pytest.raises(GatewayError) as caught:
        gateway.expire_invoice(created.id)

    assert caught.value.status == 400
    assert caught.value.code == "INVOICE_ALREADY_PAID_ERROR"
    assert caught.value.retryable is False
    assert gateway.get_invoice(created.id).status == InvoiceStatus.PAID


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"currency": "USD"}, "UNSUPPORTED_CURRENCY"),
        ({"payer_email": "not-an-email"}, "EMAIL_FORMAT_ERROR"),
        ({"amount": 100_000_000_000}, "MAXIMUM_TRANSFER_AMOUNT_ERROR"),
        ({"amount": 50}, "NO_COLLECTION_METHODS_ERROR"),
        ({"external_id": "   "}, "API_VALIDATION_ERROR"),
    ],
)
def test_invalid_create_is_a_not_retryable_xendit_error(gateway, overrides, code):
    with pytest.raises(GatewayError) as caught:
        gateway.create_invoice(make_request(**overrides))

    assert caught.value.code == code
    assert caught.value.status == 400
    assert caught.value.retryable is False


def test_wrong_secret_key_is_refused_and_not_retryable(xendit_simulator, settings):
    # The simulator shares settings with the test, so the wrong key goes to the gateway only.
    wrong = XenditGateway(
        secret_key="xnd_development_wrong", base_url=settings.XENDIT_BASE_URL, connect_timeout=2, read_timeout=5
    )
    with pytest.raises(GatewayError) as caught:
        wrong.create_invoice(make_request())

    assert caught.value.status == 401
    assert caught.value.code == "INVALID_API_KEY"
    assert caught.value.retryable is False
