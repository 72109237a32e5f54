"""POST /api/orders through the test client: body, auth, errors, throttling, schema."""

import pytest
from django.core.management import call_command

from orders.models import Order
from orders.tests.conftest import assert_error, buyer_fields, order_body
from tedxpay.core.models import ApiKey
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db


def xendit_simulator_site(simulator) -> str:
    return simulator.base_url.removesuffix("/_xendit")


@pytest.mark.django_db(transaction=True)
def test_places_an_order_and_answers_201_with_the_invoice_url(orders_api, xendit_simulator, ticket):
    response = orders_api.post(order_body((ticket, 2)))

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body == {
        "code": order.code,
        "status": "PENDING",
        "total": 700_000,
        "currency": "IDR",
        "expires_at": body["expires_at"],
        "invoice_url": order.payment.invoice_url,
        "discount": 0,
        "voucher": None,
        "items": [
            {
                "ticket_id": ticket.pk,
                "name": "Regular",
                "quantity": 2,
                "unit_price": 350_000,
                "unit_discount": 0,
                "subtotal": 700_000,
            }
        ],
        "order_url": f"{xendit_simulator_site(xendit_simulator)}/orders/{order.code}/{order.link_secret}/",
    }
    assert body["invoice_url"].startswith(f"{xendit_simulator.base_url}/web/")
    assert body["expires_at"].endswith("+07:00")
    assert order.events.get().source == "api"
    assert response["X-Request-ID"] == order.events.get().request_id


@pytest.mark.django_db(transaction=True)
def test_prices_sent_by_the_client_change_nothing(orders_api, xendit_simulator, ticket):
    body = order_body((ticket, 2), total=1, price=1, currency="USD")
    body["items"][0].update(price=1, unit_price=1, subtotal=2)

    response = orders_api.post(body)

    assert response.status_code == 201
    assert (response.json()["total"], response.json()["items"][0]["unit_price"]) == (700_000, 350_000)
    order = Order.objects.get()
    assert (order.total, order.currency, order.payment.amount) == (700_000, "IDR", 700_000)
    assert order.items.get().unit_price == 350_000
    assert xendit_simulator.invoice(order.payment.invoice_id)["amount"] == 700_000


@pytest.mark.django_db(transaction=True)
def test_gateway_down_is_a_503_and_holds_nothing(orders_api, xendit_simulator, ticket):
    xendit_simulator.inject_fault("create", "error", status=503, count=2)
    xendit_simulator.inject_fault("list", "error", status=503)

    response = orders_api.post(order_body((ticket, 2)))

    assert_error(response, 503, "payment_gateway_unavailable")
    ticket.refresh_from_db()
    assert ticket.held == 0
    assert Order.objects.get().status == "CANCELLED"


# --- authentication ------------------------------------------------------------------------


def test_no_api_key_is_a_401(client, ticket):
    response = client.post("/api/orders", order_body((ticket, 1)), content_type="application/json")

    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("header", ["Api-Key tdx_wrong", "Bearer tdx_wrong", "Api-Key", "Api-Key a b"])
def test_wrong_api_key_is_a_401(client, ticket, header):
    response = client.post(
        "/api/orders", order_body((ticket, 1)), content_type="application/json", headers={"Authorization": header}
    )
    assert_error(response, 401, "authentication_failed")
    assert Order.objects.count() == 0


def test_revoked_api_key_is_a_401(orders_api, api_key, ticket):
    ApiKey.objects.filter(pk=api_key[0].pk).update(is_active=False)

    assert_error(orders_api.post(order_body((ticket, 1))), 401, "authentication_failed")


# --- bad input: a 4xx with a code, never a 500, nothing written ---------------------------

BAD_BODIES = {
    "empty object": lambda t: {},
    "missing buyer": lambda t: {"items": [{"ticket_id": t.pk, "quantity": 1}]},
    "buyer null": lambda t: {"buyer": None, "items": [{"ticket_id": t.pk, "quantity": 1}]},
    "buyer a string": lambda t: {"buyer": "Budi", "items": [{"ticket_id": t.pk, "quantity": 1}]},
    "buyer without phone": lambda t: {"buyer": {"full_name": "B", "email": "b@example.com"}, "items": []},
    "garbage phone": lambda t: order_body((t, 1), buyer=buyer_fields(phone="call me maybe")),
    "garbage email": lambda t: order_body((t, 1), buyer=buyer_fields(email="budi at example")),
    "blank name": lambda t: order_body((t, 1), buyer=buyer_fields(full_name="   ")),
    "name too long": lambda t: order_body((t, 1), buyer=buyer_fields(full_name="x" * 1000)),
    "phone a number": lambda t: order_body((t, 1), buyer=buyer_fields(phone=81234567890)),
    "no items": lambda t: order_body(),
    "items not a list": lambda t: {"buyer": buyer_fields(), "items": "1 ticket"},
    "item null": lambda t: {"buyer": buyer_fields(), "items": [None]},
    "string ticket id": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": str(t.pk), "quantity": 1}]},
    "word ticket id": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": "abc", "quantity": 1}]},
    "float quantity": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": t.pk, "quantity": 1.5}]},
    "bool quantity": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": t.pk, "quantity": True}]},
    "zero quantity": lambda t: order_body((t, 0)),
    "negative quantity": lambda t: order_body((t, -3)),
    "negative ticket id": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": -1, "quantity": 1}]},
    "huge ticket id": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": 10**40, "quantity": 1}]},
    "missing quantity": lambda t: {"buyer": buyer_fields(), "items": [{"ticket_id": t.pk}]},
    "repeated ticket": lambda t: order_body((t, 1), (t, 2)),
    "too many lines": lambda t: {
        "buyer": buyer_fields(),
        "items": [{"ticket_id": n, "quantity": 1} for n in range(1, 12)],
    },
    "unknown language": lambda t: order_body((t, 1), language="fr"),
    "body a list": lambda t: [order_body((t, 1))],
    "body a string": lambda t: "order please",
    "body a number": lambda t: 42,
}


@pytest.mark.parametrize("make_body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_validation_errors(orders_api, ticket, make_body):
    error = assert_error(orders_api.post(make_body(ticket)), 400, "validation_error")

    assert error["details"]
    assert Order.objects.count() == 0


def test_validation_details_name_the_field(orders_api, ticket):
    error = assert_error(
        orders_api.post(order_body((ticket, 1), buyer=buyer_fields(phone="12"))), 400, "validation_error"
    )
    assert list(error["details"]) == ["buyer"] and list(error["details"]["buyer"]) == ["phone"]


def test_non_json_is_a_400(orders_api):
    assert_error(orders_api.post("{not json", raw=True), 400, "malformed_request")


def test_form_encoded_body_is_a_415(client, api_key):
    response = client.post("/api/orders", {"buyer": "x"}, headers={"Authorization": f"Api-Key {api_key[1]}"})
    assert_error(response, 415, "unsupported_media_type")


# --- business errors --------------------------------------------------------------------------


def test_unknown_ticket_is_a_404(orders_api, ticket):
    error = assert_error(
        orders_api.post(order_body((ticket, 1)) | {"items": [{"ticket_id": 999_999, "quantity": 1}]}),
        404,
        "ticket_not_found",
    )
    assert error["details"] == {"ticket_id": 999_999}


def test_quantity_over_the_limit_is_a_400(orders_api, ticket):
    error = assert_error(orders_api.post(order_body((ticket, 10**12))), 400, "quantity_limit")
    assert error["details"] == {"ticket_id": ticket.pk, "requested": 10**12, "max_per_order": 5}


def test_not_on_sale_is_a_409(orders_api):
    inactive = TicketFactory(is_active=False)
    assert_error(orders_api.post(order_body((inactive, 1))), 409, "not_on_sale")


def test_sold_out_is_a_409_naming_the_ticket_and_what_is_left(orders_api):
    ticket = TicketFactory(name="Early bird", quota=4)
    type(ticket).objects.filter(pk=ticket.pk).update(held=3)

    error = assert_error(orders_api.post(order_body((ticket, 2))), 409, "sold_out")

    assert error["details"] == {"ticket_id": ticket.pk, "requested": 2, "available": 1}
    assert "Early bird" in error["message"]
    ticket.refresh_from_db()
    assert ticket.held == 3


def test_mixed_events_is_a_validation_error(orders_api, ticket):
    other = TicketFactory(event=EventFactory())
    error = assert_error(orders_api.post(order_body((ticket, 1), (other, 1))), 400, "validation_error")
    assert "items" in error["details"]


# --- throttling --------------------------------------------------------------------------------


def test_requests_are_throttled_per_api_key(client, settings, orders_api, ticket):
    from tedxpay.core.services import api_key_create

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_key": "2/min"},
    }
    sold_out = TicketFactory(quota=0)  # answers fast, without the gateway

    for _ in range(2):
        assert orders_api.post(order_body((sold_out, 1))).status_code == 409
    throttled = orders_api.post(order_body((sold_out, 1)))

    assert_error(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 60
    _, other_key = api_key_create(name="mobile app")
    assert orders_api.post(order_body((sold_out, 1)), raw_key=other_key).status_code == 409


# --- OpenAPI -----------------------------------------------------------------------------------


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "ApiKeyAuth" in schema and "Idempotency-Key" in schema and "ErrorBody" in schema


def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("content_type", ["application/json", ""])
def test_an_empty_body_names_what_is_required_and_writes_nothing(client, api_key, content_type):
    """As docs/api.md says: an empty body counts as `{}` (a body that is there and not JSON
    is `malformed_request`)."""
    response = client.post(
        "/api/orders", data=b"", content_type=content_type, HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}"
    )

    error = assert_error(response, 400, "validation_error")
    assert set(error["details"]) == {"buyer", "items"}
    assert not Order.objects.exists()
