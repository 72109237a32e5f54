"""Callbacks the simulator sends when an invoice is paid or expired (control API)."""

import re

import pytest

from payments.gateways.simulator.testing import SimulatorError
from payments.tests.callback_receiver import running_receiver
from payments.tests.gateway.test_xendit_gateway import make_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def callback_receiver(xendit_simulator, settings):
    with running_receiver(settings) as receiver:
        yield receiver


ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
COMMON_KEYS = {
    "id",
    "external_id",
    "user_id",
    "status",
    "merchant_name",
    "amount",
    "currency",
    "payer_email",
    "description",
    "created",
    "updated",
}


@pytest.mark.parametrize(
    ("channel", "method", "family_keys"),
    [
        ("BCA", "BANK_TRANSFER", {"bank_code": "BCA"}),
        ("MANDIRI", "BANK_TRANSFER", {"bank_code": "MANDIRI"}),
        ("OVO", "EWALLET", {"ewallet_type": "OVO"}),
        ("SHOPEEPAY", "EWALLET", {"ewallet_type": "SHOPEEPAY"}),
        ("QRIS", "QR_CODE", {}),
        ("ALFAMART", "RETAIL_OUTLET", {"retail_outlet_name": "ALFAMART"}),
        ("INDOMARET", "RETAIL_OUTLET", {"retail_outlet_name": "INDOMARET"}),
        ("CREDIT_CARD", "CREDIT_CARD", {}),
    ],
)
def test_paid_callback_per_channel_family(
    gateway, xendit_simulator, callback_receiver, settings, channel, method, family_keys
):
    invoice = gateway.create_invoice(make_request())

    result = xendit_simulator.pay(invoice.id, channel=channel)

    assert len(callback_receiver.received) == 1
    callback = callback_receiver.received[0]
    assert callback.headers["x-callback-token"] == settings.XENDIT_CALLBACK_TOKEN
    assert callback.headers["content-type"] == "application/json"
    assert callback.headers["webhook-id"].startswith("wh_")
    body = callback.body
    assert body.keys() >= COMMON_KEYS
    assert body["id"] == invoice.id and body["external_id"] == "TDX-GW0001"
    assert body["status"] == "PAID"
    assert body["payment_method"] == method and body["payment_channel"] == channel
    for key, value in family_keys.items():
        assert body[key] == value
    other_family_keys = {"bank_code", "ewallet_type", "retail_outlet_name"} - family_keys.keys()
    assert not other_family_keys & body.keys()
    # Integer rupiah, as real IDR callbacks carry them (the SDK's own model would refuse).
    assert body["amount"] == 300_000 and type(body["amount"]) is int
    assert body["paid_amount"] == 300_000 and type(body["paid_amount"]) is int
    assert ISO_Z.match(body["paid_at"]) and ISO_Z.match(body["created"]) and ISO_Z.match(body["updated"])
    if method in ("BANK_TRANSFER", "RETAIL_OUTLET"):
        assert body["payment_destination"]
    # The delivery is recorded on the invoice and returned by the control API.
    assert result["callbacks"] == [
        {
            "status": "PAID",
            "webhook_id": callback.headers["webhook-id"],
            "url": callback_receiver.url,
            "status_code": 200,
            "error": None,
            "at": result["callbacks"][0]["at"],
            "attempt": 1,
        }
    ]
    assert xendit_simulator.invoice(invoice.id)["callbacks"] == result["callbacks"]


def test_callback_is_sent_after_the_payment_is_committed(gateway, xendit_simulator, callback_receiver):
    # The receiver re-reads the invoice, as our webhook will: it must already be PAID.
    invoice = gateway.create_invoice(make_request())
    seen_by_receiver = []
    callback_receiver.on_receive = lambda body: seen_by_receiver.append(gateway.get_invoice(body["id"]).status)

    xendit_simulator.pay(invoice.id)

    assert seen_by_receiver == ["PAID"]


def test_twice_sends_two_identical_callbacks_and_none_sends_nothing(gateway, xendit_simulator, callback_receiver):
    twice = gateway.create_invoice(make_request("TDX-TWICE1"))
    silent = gateway.create_invoice(make_request("TDX-SILNT1"))

    xendit_simulator.pay(twice.id, callback="twice")
    result = xendit_simulator.pay(silent.id, callback="none")

    assert [c.body["external_id"] for c in callback_receiver.received] == ["TDX-TWICE1", "TDX-TWICE1"]
    assert callback_receiver.received[0].body == callback_receiver.received[1].body
    assert result["callbacks"] == []
    assert result["invoice"]["status"] == "PAID"


def test_paid_amount_can_differ_from_the_invoice_amount(gateway, xendit_simulator, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    xendit_simulator.pay(invoice.id, amount=250_000)

    body = callback_receiver.received[0].body
    assert body["amount"] == 300_000 and body["paid_amount"] == 250_000
    assert gateway.get_invoice(invoice.id).paid_amount == 250_000


def test_expired_callback_has_no_payment_fields(gateway, xendit_simulator, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    result = xendit_simulator.expire(invoice.id)

    assert result["invoice"]["status"] == "EXPIRED"
    (callback,) = callback_receiver.received
    assert callback.body["status"] == "EXPIRED"
    assert callback.body["id"] == invoice.id
    assert not {"paid_amount", "paid_at", "payment_method", "payment_channel"} & callback.body.keys()


def test_expire_through_the_api_sends_the_expired_callback(gateway, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    gateway.expire_invoice(invoice.id)
    gateway.expire_invoice(invoice.id)  # already expired: no second callback

    assert [c.body["status"] for c in callback_receiver.received] == ["EXPIRED"]


def test_settle_sends_no_callback(gateway, xendit_simulator, callback_receiver):
    invoice = gateway.create_invoice(make_request())
    xendit_simulator.pay(invoice.id, callback="none")

    result = xendit_simulator.settle(invoice.id)

    assert result["invoice"]["status"] == "SETTLED"
    assert callback_receiver.received == []


def test_a_failing_receiver_is_recorded_and_does_not_break_the_payment(gateway, xendit_simulator, callback_receiver):
    callback_receiver.status = 500
    invoice = gateway.create_invoice(make_request())

    result = xendit_simulator.pay(invoice.id)

    assert result["invoice"]["status"] == "PAID"
    assert result["callbacks"][0]["status_code"] == 500
    assert result["callbacks"][0]["error"] == "HTTP 500"


def test_an_unreachable_callback_url_is_recorded(gateway, xendit_simulator, settings):
    settings.XENDIT_CALLBACK_URL = "http://127.0.0.1:9/nothing-listens-here"
    invoice = gateway.create_invoice(make_request())

    result = xendit_simulator.pay(invoice.id)

    assert result["invoice"]["status"] == "PAID"
    assert result["callbacks"][0]["status_code"] is None
    assert "Connection" in result["callbacks"][0]["error"] or "refused" in result["callbacks"][0]["error"]


def test_missing_webhook_endpoint_404_does_not_break_the_simulator(gateway, xendit_simulator, settings):
    # Default fixture URL: our own /api/payment-callback, which may not exist yet.
    invoice = gateway.create_invoice(make_request())

    result = xendit_simulator.pay(invoice.id)

    assert result["invoice"]["status"] == "PAID"
    assert result["callbacks"][0]["url"] == settings.XENDIT_CALLBACK_URL
    assert gateway.get_invoice(invoice.id).is_paid


def test_an_expired_invoice_cannot_be_paid_nor_a_paid_one_paid_again(gateway, xendit_simulator):
    expired = gateway.create_invoice(make_request("TDX-EXP001"))
    paid = gateway.create_invoice(make_request("TDX-PAID01"))
    xendit_simulator.expire(expired.id, callback="none")
    xendit_simulator.pay(paid.id, callback="none")

    with pytest.raises(SimulatorError) as expired_error:
        xendit_simulator.pay(expired.id)
    with pytest.raises(SimulatorError) as paid_error:
        xendit_simulator.pay(paid.id)

    assert expired_error.value.body["error_code"] == "INVOICE_EXPIRED_ERROR"
    assert paid_error.value.body["error_code"] == "INVOICE_ALREADY_PAID_ERROR"


def test_a_channel_the_amount_does_not_fit_is_refused(gateway, xendit_simulator):
    invoice = gateway.create_invoice(make_request(amount=3_000_000, items=()))

    with pytest.raises(SimulatorError) as caught:
        xendit_simulator.pay(invoice.id, channel="OVO")  # e-wallets stop at 2,000,000

    assert caught.value.status == 400
    assert caught.value.body["error_code"] == "UNAVAILABLE_PAYMENT_METHOD_ERROR"
    assert xendit_simulator.invoice(invoice.id)["status"] == "PENDING"
