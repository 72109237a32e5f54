"""Sessions, CSRF, users, messages and the page language are for pages, not for /api/
(tedxpay/core/page_middleware.py)."""

import pytest
from django.conf import settings

from orders.tests.conftest import OrdersApi, order_body
from tedxpay.core.services import api_key_create
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_an_api_request_skips_the_page_middleware(client):
    client.cookies[settings.SESSION_COOKIE_NAME] = "a-session-key"
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32
    orders_api = OrdersApi(client, api_key_create(name="event site")[1])

    response = orders_api.post(order_body((TicketFactory(quota=0), 1)))

    assert response.status_code == 409
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "_messages")
    assert "Cookie" not in response.get("Vary", "") and "Accept-Language" not in response.get("Vary", "")
    assert not response.cookies


def test_an_api_request_is_answered_in_english_whatever_the_browser_says(client):
    orders_api = OrdersApi(client, api_key_create(name="event site")[1])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "id"

    response = orders_api.post({"items": []})

    assert response.status_code == 400
    assert response.json()["error"]["details"]["buyer"] == ["This field is required."]
    assert "Content-Language" not in response


def test_pages_keep_them(client):
    TicketFactory()

    response = client.get("/", headers={"Accept-Language": "id"})

    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "session") and hasattr(response.wsgi_request, "user")
    assert response["Content-Language"] == "id"
    # The page's language is the buyer's choice (a cookie), not the browser's announcement.
    assert "Cookie" in response["Vary"]
