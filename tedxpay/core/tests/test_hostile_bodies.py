"""Hostile JSON bodies on every endpoint that reads one: 400 or 413 in the JSON error body,
never a 500, and nothing written."""

import json

import pytest

from orders.models import Order
from payments.models import WebhookEvent
from tedxpay.core.json_body import MAX_DEPTH, MAX_NUMBER_LENGTH
from tedxpay.core.services import api_key_create

pytestmark = pytest.mark.django_db

DEEP = ("[" * 5000 + "]" * 5000).encode()
# Depth just over the limit: deeper than any real request, far from Python's recursion limit.
JUST_TOO_DEEP = ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)).encode()
LONG_NUMBER = ('{"id": ' + "9" * 5000 + "}").encode()
LONG_FLOAT = ('{"amount": 1.' + "5" * 500 + "}").encode()
HUGE = b'{"id": "' + b"x" * (3 * 1024 * 1024) + b'"}'
NOT_JSON_CONSTANT = b'{"amount": NaN}'
# Valid JSON text that no float can hold: read as infinity unless refused.
OVERFLOWING_NUMBERS = b'{"amount": 1e999, "buyer": {"full_name": "Budi"}, "items": [], "x": -1e400}'
LONE_SURROGATE = b'{"buyer": {"full_name": "\\ud800"}}'

CASES = [
    pytest.param(DEEP, 400, "malformed_request", id="nested-5000-deep"),
    pytest.param(JUST_TOO_DEEP, 400, "malformed_request", id="nested-just-over-the-limit"),
    pytest.param(LONG_NUMBER, 400, "malformed_request", id="5000-digit-number"),
    pytest.param(LONG_FLOAT, 400, "malformed_request", id="500-digit-fraction"),
    pytest.param(HUGE, 413, "request_too_large", id="3-MB-body"),
    pytest.param(NOT_JSON_CONSTANT, 400, "malformed_request", id="NaN"),
    pytest.param(OVERFLOWING_NUMBERS, 400, "malformed_request", id="1e999"),
    pytest.param(LONE_SURROGATE, 400, "malformed_request", id="lone-surrogate"),
]


def _assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == code
    assert body["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize(("body", "status", "code"), CASES)
def test_orders_api_refuses_hostile_bodies(client, body, status, code):
    _, raw_key = api_key_create(name="hostile")
    response = client.post(
        "/api/orders", body, content_type="application/json", headers={"Authorization": f"Api-Key {raw_key}"}
    )
    _assert_refused(response, status, code)
    assert not Order.objects.exists()


@pytest.mark.parametrize(("body", "status", "code"), CASES)
def test_orders_api_with_idempotency_key_refuses_hostile_bodies(client, body, status, code):
    _, raw_key = api_key_create(name="hostile")
    response = client.post(
        "/api/orders",
        body,
        content_type="application/json",
        headers={"Authorization": f"Api-Key {raw_key}", "Idempotency-Key": "k-1"},
    )
    _assert_refused(response, status, code)


@pytest.mark.parametrize(("body", "status", "code"), CASES)
def test_payment_callback_refuses_hostile_bodies(client, settings, body, status, code):
    response = client.post(
        "/api/payment-callback",
        body,
        content_type="application/json",
        headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN},
    )
    _assert_refused(response, status, code)
    assert not WebhookEvent.objects.exists()


def test_size_is_refused_from_content_length_before_reading(client):
    # Even an endpoint that takes no body: the limit is checked on the header.
    response = client.generic("GET", "/api/tickets", HUGE, content_type="application/json")
    _assert_refused(response, 413, "request_too_large")


def test_ordinary_bodies_still_parse():
    from tedxpay.core.json_body import json_body_parse

    number = int("9" * MAX_NUMBER_LENGTH)
    nested = {"a": [{"b": [1, 2.5, "x[{"]}]}
    assert json_body_parse(json.dumps({"n": number}).encode()) == {"n": number}
    assert json_body_parse(json.dumps(nested).encode()) == nested
    # Brackets inside strings do not count as depth.
    assert json_body_parse(json.dumps({"s": "[" * 1000}).encode()) == {"s": "[" * 1000}
    # A surrogate pair is a character (an emoji in a name), not an error.
    assert json_body_parse(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


@pytest.mark.parametrize(
    ("body", "details"),
    [
        pytest.param(LONG_NUMBER, {"max_number_length": MAX_NUMBER_LENGTH}, id="long-number"),
        pytest.param(NOT_JSON_CONSTANT, {}, id="NaN"),
        pytest.param(OVERFLOWING_NUMBERS, {}, id="1e999"),
    ],
)
def test_the_details_name_only_the_limit_that_was_crossed(client, body, details):
    """NaN and 1e999 are short: a `max_number_length` beside them would send a client
    looking for a long number that is not there."""
    _, raw_key = api_key_create(name="hostile")
    response = client.post(
        "/api/orders", body, content_type="application/json", headers={"Authorization": f"Api-Key {raw_key}"}
    )
    assert response.status_code == 400 and response.json()["error"]["details"] == details
