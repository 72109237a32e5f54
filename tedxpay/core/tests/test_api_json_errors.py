"""Under /api/, every error is the JSON error body, even with DEBUG on and even when Django
answers before our views."""

import pytest

pytestmark = pytest.mark.django_db


def _assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert body["error"]["code"] == code
    assert body["request_id"] == response["X-Request-ID"]


def test_unknown_api_path_is_json_even_with_debug_on(client, settings):
    settings.DEBUG = True  # Django's HTML debug 404 page otherwise
    _assert_json_error(client.get("/api/no-such-thing"), 404, "not_found")
    _assert_json_error(client.get("/api/tickets/"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    from tedxpay.core.services import api_key_create

    _, raw_key = api_key_create(name="methods")
    response = client.get("/api/orders", headers={"Authorization": f"Api-Key {raw_key}"})
    _assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]
    _assert_json_error(client.delete("/api/tickets"), 405, "method_not_allowed")
    _assert_json_error(client.put("/api/payment-callback"), 405, "method_not_allowed")


def test_unknown_host_is_json_400(client, settings):
    settings.ALLOWED_HOSTS = ["tickets.example.org"]
    _assert_json_error(client.get("/api/tickets", HTTP_HOST="evil.example"), 400, "malformed_request")


def test_unreadable_content_length_is_json_400(client):
    _assert_json_error(client.post("/api/orders", CONTENT_LENGTH="lots"), 400, "malformed_request")


def test_pages_outside_the_api_keep_html(client):
    response = client.get("/events/no-such-event/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
