"""The simulator's HTTP surface: contract with the SDK, auth, safety, the hosted page."""

import base64
import inspect
import json

import pytest
import urllib3
from xendit.invoice.model.bank_code import BankCode
from xendit.invoice.model.ewallet_type import EwalletType
from xendit.invoice.model.invoice import Invoice as SdkInvoice
from xendit.invoice.model.invoice_status import InvoiceStatus as SdkInvoiceStatus
from xendit.invoice.model.retail_outlet_name import RetailOutletName

from payments.tests.callback_receiver import running_receiver
from payments.tests.gateway.test_xendit_gateway import make_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def callback_receiver(xendit_simulator, settings):
    with running_receiver(settings) as receiver:
        yield receiver


class http:  # reads like the module-level pool it replaces
    """One pool per request, closed at once: no keep-alive connection outlives a test."""

    @staticmethod
    def request(*args, **kwargs):
        with urllib3.PoolManager(retries=False) as pool:
            return pool.request(*args, **kwargs)


def call(method, url, key, body=None, **kwargs):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    return http.request(method, url, headers=headers, body=data, redirect=False, **kwargs)


CREATE_BODY = {
    "external_id": "TDX-RAW001",
    "amount": 300000,
    "payer_email": "budi@example.com",
    "description": "Two tickets",
    "invoice_duration": 1800,
    "items": [{"name": "Regular", "price": 150000, "quantity": 2}],
}


def sdk_required_fields() -> list[str]:
    # Straight from the SDK's model, so an SDK upgrade that requires more shows up here.
    parameters = inspect.signature(SdkInvoice._from_openapi_data).parameters
    return [name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD and name != "cls"]


def test_invoice_reply_has_every_field_the_sdk_requires_in_xendit_spelling(xendit_simulator, settings):
    base = xendit_simulator.base_url
    created = call("POST", f"{base}/v2/invoices/", settings.XENDIT_SECRET_KEY, CREATE_BODY)
    assert created.status == 200
    invoice_id = created.json()["id"]
    xendit_simulator.pay(invoice_id, channel="BCA", callback="none")
    replies = [created.json(), call("GET", f"{base}/v2/invoices/{invoice_id}", settings.XENDIT_SECRET_KEY).json()]

    required = sdk_required_fields()
    assert "available_paylaters" in required and "merchant_profile_picture_url" in required
    statuses = set(SdkInvoiceStatus.allowed_values[("value",)].values())
    for reply in replies:
        for name in [*required, "id"]:
            assert reply.get(name) is not None, name
        assert reply["status"] in statuses
        assert isinstance(reply["amount"], int)
        for name in ("expiry_date", "created", "updated"):
            assert reply[name].endswith("Z")
        assert {bank["bank_code"] for bank in reply["available_banks"]} <= set(
            BankCode.allowed_values[("value",)].values()
        )
        assert {"BCA", "BNI", "BRI", "MANDIRI", "PERMATA"} <= {b["bank_code"] for b in reply["available_banks"]}
        assert all(b["collection_type"] and b["account_holder_name"] for b in reply["available_banks"])
        assert {e["ewallet_type"] for e in reply["available_ewallets"]} == {"OVO", "DANA", "SHOPEEPAY", "LINKAJA"}
        assert {e["ewallet_type"] for e in reply["available_ewallets"]} <= set(
            EwalletType.allowed_values[("value",)].values()
        )
        assert {r["retail_outlet_name"] for r in reply["available_retail_outlets"]} == {"ALFAMART", "INDOMARET"}
        assert {r["retail_outlet_name"] for r in reply["available_retail_outlets"]} <= set(
            RetailOutletName.allowed_values[("value",)].values()
        )
        assert reply["available_qr_codes"] == [{"qr_code_type": "QRIS"}]
    assert replies[0]["status"] == "PENDING"
    paid = replies[1]
    assert paid["status"] == "PAID"
    assert (paid["payment_method"], paid["payment_channel"], paid["bank_code"]) == ("BANK_TRANSFER", "BCA", "BCA")
    assert paid["paid_amount"] == 300000 and paid["paid_at"].endswith("Z")


def test_channels_the_amount_does_not_fit_are_hidden(xendit_simulator, settings):
    reply = call(
        "POST",
        f"{xendit_simulator.base_url}/v2/invoices",
        settings.XENDIT_SECRET_KEY,
        {**CREATE_BODY, "amount": 5000, "items": []},
    ).json()

    assert reply["available_banks"] == []  # VA needs at least 10,000
    assert reply["available_retail_outlets"] == []
    assert len(reply["available_ewallets"]) == 4


def test_create_accepts_both_paths_and_list_is_a_bare_array_newest_first(xendit_simulator, settings):
    base, key = xendit_simulator.base_url, settings.XENDIT_SECRET_KEY
    first = call("POST", f"{base}/v2/invoices/", key, CREATE_BODY).json()
    second = call("POST", f"{base}/v2/invoices", key, CREATE_BODY).json()

    listed = call("GET", f"{base}/v2/invoices?external_id=TDX-RAW001", key).json()

    assert isinstance(listed, list)
    assert [invoice["id"] for invoice in listed] == [second["id"], first["id"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"external_id": "X"}, "API_VALIDATION_ERROR"),
        ({"external_id": "X", "amount": -5}, "API_VALIDATION_ERROR"),
        ({"external_id": "X", "amount": "lots"}, "API_VALIDATION_ERROR"),
        ({"amount": 10000}, "API_VALIDATION_ERROR"),
        ({"external_id": "X", "amount": 10000, "currency": "PHP"}, "UNSUPPORTED_CURRENCY"),
        ({"external_id": "X", "amount": 10000, "customer": {"email": "nope"}}, "EMAIL_FORMAT_ERROR"),
    ],
)
def test_invalid_create_gets_a_xendit_shaped_error(xendit_simulator, settings, body, code):
    response = call("POST", f"{xendit_simulator.base_url}/v2/invoices/", settings.XENDIT_SECRET_KEY, body)

    assert response.status == 400
    assert set(response.json()) == {"error_code", "message"}
    assert response.json()["error_code"] == code


@pytest.mark.parametrize("key", [None, "xnd_development_wrong"])
def test_api_requires_the_secret_key(xendit_simulator, key):
    response = call("GET", f"{xendit_simulator.base_url}/v2/invoices?external_id=X", key)

    assert response.status == 401
    assert response.json()["error_code"] == "INVALID_API_KEY"


def test_simulator_refuses_to_run_with_a_live_key(xendit_simulator, settings, client):
    settings.XENDIT_SECRET_KEY = "xnd_production_real_money"

    api = call("POST", f"{xendit_simulator.base_url}/v2/invoices/", settings.XENDIT_SECRET_KEY, CREATE_BODY)
    page = client.get("/_xendit/web/0123456789abcdef01234567")

    assert api.status == 403 and api.json()["error_code"] == "SIMULATOR_DISABLED"
    assert page.status_code == 403


# --- hosted invoice page ------------------------------------------------------------------


def test_hosted_page_shows_amount_merchant_items_and_channels(gateway, settings):
    invoice = gateway.create_invoice(make_request())

    page = http.request("GET", invoice.invoice_url)

    html = page.data.decode()
    assert page.status == 200
    assert "Rp 300.000" in html and "Rp 150.000" not in html  # line total shown: 2 × 150.000
    assert settings.XENDIT_MERCHANT_NAME in html
    assert "Regular × 2" in html and "TDX-GW0001" in html
    for code in [
        "BCA",
        "BNI",
        "BRI",
        "MANDIRI",
        "PERMATA",
        "OVO",
        "DANA",
        "SHOPEEPAY",
        "LINKAJA",
        "QRIS",
        "ALFAMART",
        "INDOMARET",
        "CREDIT_CARD",
    ]:
        assert f'name="channel" id="channel-{code}" value="{code}"' in html
    assert 'id="pay"' in html and 'id="expire"' in html


def test_hosted_page_pay_sends_callback_and_redirects_to_success(gateway, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    response = http.request(
        "POST", invoice.invoice_url, fields={"action": "pay", "channel": "QRIS"}, encode_multipart=False, redirect=False
    )

    assert response.status == 302
    assert response.headers["Location"] == "http://shop.test/orders/ok"
    paid = gateway.get_invoice(invoice.id)
    assert (paid.status, paid.payment_method, paid.payment_channel) == ("PAID", "QR_CODE", "QRIS")
    assert [(c.body["status"], c.body["payment_channel"]) for c in callback_receiver.received] == [("PAID", "QRIS")]


def test_hosted_page_expire_sends_callback_and_redirects_to_failure(gateway, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    response = http.request(
        "POST", invoice.invoice_url, fields={"action": "expire"}, encode_multipart=False, redirect=False
    )

    assert response.status == 302
    assert response.headers["Location"] == "http://shop.test/orders/failed"
    assert gateway.get_invoice(invoice.id).status == "EXPIRED"
    assert [c.body["status"] for c in callback_receiver.received] == ["EXPIRED"]
    # Afterwards the page says so and offers nothing to click.
    html = http.request("GET", invoice.invoice_url).data.decode()
    assert 'data-status="EXPIRED"' in html and 'id="pay"' not in html


def test_hosted_page_refuses_a_channel_the_amount_does_not_fit(gateway, callback_receiver):
    invoice = gateway.create_invoice(make_request(amount=3_000_000, items=()))

    response = http.request(
        "POST", invoice.invoice_url, fields={"action": "pay", "channel": "OVO"}, encode_multipart=False, redirect=False
    )

    assert response.status == 400
    assert 'id="error"' in response.data.decode()
    assert gateway.get_invoice(invoice.id).status == "PENDING"
    assert callback_receiver.received == []


def test_hosted_page_of_unknown_invoice_is_404(xendit_simulator):
    assert http.request("GET", f"{xendit_simulator.base_url}/web/nope").status == 404
