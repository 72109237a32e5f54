"""What the OpenAPI schema promises clients: the callback's body, the Idempotency-Key rule,
429 where throttled, 413 for bodies over the limit."""

import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tedxpay.core.idempotency import _ACCEPTABLE_KEY


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_callback_documents_its_request_body(schema):
    body = schema["paths"]["/api/payment-callback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[1]
    assert {"id", "external_id", "status"} <= set(schema["components"]["schemas"][name]["properties"])


def test_idempotency_key_has_its_pattern_and_length(schema):
    (parameter,) = [p for p in schema["paths"]["/api/orders"]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    rule = parameter["schema"]
    assert (rule["minLength"], rule["maxLength"]) == (1, 255)
    assert rule["pattern"] == _ACCEPTABLE_KEY.pattern
    assert re.fullmatch(rule["pattern"], "order-2026-11-28-0001") and not re.fullmatch(rule["pattern"], "a b")


def test_throttled_operations_document_429_and_body_limits_413(schema):
    assert "429" in schema["paths"]["/api/tickets"]["get"]["responses"]
    assert {"413", "429"} <= set(schema["paths"]["/api/orders"]["post"]["responses"])
    assert "413" in schema["paths"]["/api/payment-callback"]["post"]["responses"]


def test_the_payment_status_names_every_status_a_payment_can_have(schema):
    from payments.models import PaymentStatus

    texts = re.findall(r'"description": "([^"]*PENDING[^"]*)"', json.dumps(schema))
    payment_words = [text for text in texts if "PAID" in text and "EXPIRED" in text]
    assert payment_words, "no payment status description in the schema"
    for text in payment_words:
        named = set(re.findall(r"[A-Z]{4,}", text))
        assert set(PaymentStatus.values) <= named and named <= set(PaymentStatus.values) | {"PENDING"}, text
