import logging

import pytest
from django.core.management import call_command

from tedxpay.core.models import ApiKey

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tedxpay.core.tests.urls")]


def assert_error_body(response, status, code):
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_request_id_is_echoed_when_sent(client):
    response = client.get("/api/conflict", headers={"X-Request-ID": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


def test_request_id_is_generated_when_missing_or_unsafe(client):
    first = client.get("/api/conflict")["X-Request-ID"]
    second = client.get("/api/conflict")["X-Request-ID"]
    assert len(first) == 32 and first != second
    unsafe = client.get("/api/conflict", headers={"X-Request-ID": "bad id\nwith newline"})
    assert unsafe["X-Request-ID"] != "bad id\nwith newline"
    assert len(unsafe["X-Request-ID"]) == 32


def test_validation_error_body_names_the_field(client):
    response = client.post("/api/echo", {"quantity": 0}, content_type="application/json")
    body = assert_error_body(response, 400, "validation_error")
    assert "quantity" in body["error"]["details"]


def test_broken_json_is_a_400_not_a_500(client):
    response = client.post("/api/echo", "{not json", content_type="application/json")
    assert_error_body(response, 400, "malformed_request")


def test_application_error_keeps_code_status_and_details(client):
    body = assert_error_body(client.get("/api/conflict"), 409, "conflict")
    assert body["error"]["details"] == {"ticket_id": 7}


def test_unknown_api_path_answers_json_404(client):
    assert_error_body(client.get("/api/no-such-thing"), 404, "not_found")


def test_uncaught_error_is_json_and_logged_with_the_request_id(client, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/crash", headers={"X-Request-ID": "crash-42"})
    assert_error_body(response, 500, "internal_error")
    records = [r for r in caplog.records if r.name == "tedxpay.api"]
    assert records and records[0].exc_info
    # The handler attached to the root logger stamps every record with the request id.
    from tedxpay.core.request_id import RequestIdLogFilter

    RequestIdLogFilter().filter(records[0])
    assert records[0].request_id == "crash-42"


def test_log_lines_outside_a_request_get_a_placeholder():
    from tedxpay.core.request_id import RequestIdLogFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "msg", None, None)
    RequestIdLogFilter().filter(record)
    assert record.request_id == "-"


def test_api_key_is_required_and_checked(client, capsys):
    assert_error_body(client.get("/api/private"), 401, "authentication_failed")
    wrong = client.get("/api/private", headers={"Authorization": "Api-Key tdx_wrong"})
    assert_error_body(wrong, 401, "authentication_failed")
    assert wrong["WWW-Authenticate"] == "Api-Key"

    call_command("create_api_key", "event website")
    raw_key = capsys.readouterr().out.strip().splitlines()[-1]
    ok = client.get("/api/private", headers={"Authorization": f"Api-Key {raw_key}"})
    assert ok.status_code == 200 and ok.json() == {"key": "event website"}

    api_key = ApiKey.objects.get()
    assert raw_key not in (api_key.key_hash, api_key.prefix) and raw_key.startswith(api_key.prefix)
    assert api_key.last_used_at is not None
    api_key.is_active = False
    api_key.save()
    revoked = client.get("/api/private", headers={"Authorization": f"Api-Key {raw_key}"})
    assert_error_body(revoked, 401, "authentication_failed")


def test_djangos_own_error_log_line_carries_the_request_id(client, caplog):
    # django.request logs after the middleware has returned; the filter finds the id on
    # the request it is given.
    from tedxpay.core.request_id import RequestIdLogFilter

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/api/conflict", headers={"X-Request-ID": "late-log-7"})
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    RequestIdLogFilter().filter(records[0])
    assert records[0].request_id == "late-log-7"
