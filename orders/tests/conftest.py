import json
import socket

import pytest
from django.core.cache import cache

from tedxpay.core.services import api_key_create
from tickets.tests.factories import TicketFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle counts live in the (per-process) cache and would leak between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(db):
    return TicketFactory(name="Regular", price=350_000, quota=100, max_per_order=5)


def buyer_fields(**overrides) -> dict:
    return {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "0812-3456-7890", **overrides}


def checkout_fill_buyer(page, *, full_name: str, email: str, phone: str) -> None:
    """In a browser, type the buyer's details into the checkout form (as sent: the server
    normalises them)."""
    page.fill("#id_full_name", full_name)
    page.fill("#id_email", email)
    page.fill("#id_phone", phone)


def order_body(*lines, **overrides) -> dict:
    """`lines`: (ticket, quantity) pairs."""
    return {
        "buyer": buyer_fields(),
        "items": [{"ticket_id": ticket.pk, "quantity": quantity} for ticket, quantity in lines],
        **overrides,
    }


class OrdersApi:
    """POST /api/orders through Django's test client with an API key."""

    def __init__(self, client, raw_key: str):
        self.client = client
        self.raw_key = raw_key

    def post(self, body, *, idempotency_key: str | None = None, raw_key: str | None = None, raw: bool = False):
        headers = {"Authorization": f"Api-Key {raw_key or self.raw_key}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = body if raw else json.dumps(body)
        return self.client.post("/api/orders", data, content_type="application/json", headers=headers)


@pytest.fixture
def api_key(db):
    return api_key_create(name="event site")


@pytest.fixture
def orders_api(client, api_key):
    return OrdersApi(client, api_key[1])


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["request_id"]
    return body["error"]
