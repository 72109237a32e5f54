"""Logs: one access line per request without personal data or secrets, JSON lines in
production, and Celery task lines carrying the queuing request's id and the order code."""

import json
import logging
import subprocess
import sys

import pytest
from celery import shared_task

from orders.tests.factories import OrderFactory
from tedxpay.core.request_id import RequestIdLogFilter
from tedxpay.core.services import api_key_create

pytestmark = pytest.mark.django_db


def _access_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "tedxpay.access"]


def test_one_access_line_per_request_with_route_status_duration_and_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="tedxpay.access")
    response = client.get("/api/tickets?event=budi@example.com", headers={"X-Request-ID": "req-abc"})
    (line,) = _access_lines(caplog)
    assert (line.http_method, line.route, line.status) == ("GET", "/api/tickets", 404)
    assert line.duration_ms >= 0 and line.api_key == "-"
    assert RequestIdLogFilter().filter(line) and line.request_id == "req-abc" == response["X-Request-ID"]
    assert "budi" not in line.getMessage()


def test_access_line_names_the_api_key_not_the_key(client, caplog):
    _, raw_key = api_key_create(name="event site")
    caplog.set_level(logging.INFO, logger="tedxpay.access")
    client.post("/api/orders", "{}", content_type="application/json", headers={"Authorization": f"Api-Key {raw_key}"})
    (line,) = _access_lines(caplog)
    assert line.api_key == "event site" and line.status == 400
    assert raw_key not in line.getMessage()


def test_order_pages_and_admin_searches_leave_no_secret_or_personal_data(admin_client, client, caplog):
    order = OrderFactory(buyer__email="siti@example.com", buyer__phone="+6281234567890")
    caplog.set_level(logging.INFO, logger="tedxpay.access")
    client.get(order.get_absolute_url())
    admin_client.get("/admin/orders/order/", {"q": "siti@example.com"})
    admin_client.get("/admin/orders/order/", {"q": "0812 3456 7890"})
    client.get(f"/order/{order.code}/")  # a mistyped link: no route
    lines = _access_lines(caplog)
    assert [line.route for line in lines] == [
        "/orders/<str:code>/<str:secret>/",
        "/admin/orders/order/",
        "/admin/orders/order/",
        "<unmatched>",
    ]
    text = " ".join(line.getMessage() for line in lines)
    for secret in (order.code, order.link_secret, "siti", "6281234567890", "3456"):
        assert secret not in text


def test_probes_get_an_access_line_too(client, caplog):
    caplog.set_level(logging.INFO, logger="tedxpay.access")
    client.get("/healthz")
    assert [line.route for line in _access_lines(caplog)] == ["/healthz"]


def test_production_logs_are_json_lines(tmp_path):
    code = (
        "import django, logging; django.setup(); "
        "from tedxpay.core.request_id import set_request_id; set_request_id('req-42'); "
        "logging.getLogger('tedxpay.access').info('GET /x 200', extra={'route': '/x', 'status': 200})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "TEDXPAY_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "tedxpay.settings",
            "DEBUG": "false",
            "SECRET_KEY": "k" * 50,
            "XENDIT_SECRET_KEY": "xnd_development_x",
            "XENDIT_CALLBACK_TOKEN": "t",
            "METRICS_TOKEN": "m",
        },
        capture_output=True,
        text=True,
    )
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "GET /x 200" and line["level"] == "INFO" and line["logger"] == "tedxpay.access"
    assert (line["request_id"], line["route"], line["status"]) == ("req-42", "/x", 200)
    assert "time" in line


@shared_task(name="tedxpay.tests.log_probe")
def log_probe(notification_id: int) -> None:
    logging.getLogger("tedxpay.tests.probe").info("working on notification %s", notification_id)


def test_celery_task_lines_carry_the_queuing_request_id_and_the_order_code(caplog):
    from notifications.tests.factories import NotificationFactory

    notification = NotificationFactory()
    seen = {}

    class Capture(logging.Handler):
        def emit(self, record):
            if record.name == "tedxpay.tests.probe":
                seen.setdefault("lines", []).append((record.request_id, record.order_code))

    handler = Capture()
    handler.addFilter(RequestIdLogFilter())
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.INFO)
    try:
        log_probe.apply(args=[notification.pk], headers={"tedxpay_request_id": "req-from-web"})
        log_probe.apply(args=[notification.pk])
    finally:
        logging.getLogger().removeHandler(handler)
    # Queued by a request: its id; queued by beat: the task's own id.
    (from_web, from_beat) = seen["lines"]
    assert from_web == ("req-from-web", notification.order.code)
    assert from_beat[0].startswith("task-") and from_beat[1] == notification.order.code


def test_publishing_a_task_puts_the_request_id_in_its_headers():
    from tedxpay.core.request_id import reset_request_id, set_request_id
    from tedxpay.core.task_logging import HEADER, _request_id_to_header

    token = set_request_id("req-7")
    try:
        headers = {}
        _request_id_to_header(headers=headers)
    finally:
        reset_request_id(token)
    assert headers == {HEADER: "req-7"}
