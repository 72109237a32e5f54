"""Operator endpoints and the JSON fallbacks for errors raised outside DRF views."""

import hmac
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

from tedxpay.celery import app as celery_app
from tedxpay.core.exception_handler import error_body
from tedxpay.core.metrics import metrics_text

logger = logging.getLogger("tedxpay.health")


def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: the database and the Celery broker answer."""
    checks = {"database": _database_up(), "broker": _broker_up()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", **{name: "up" if up else "down" for name, up in checks.items()}}
    return JsonResponse(body, status=200 if ready else 503)


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("readiness check failed: database")
        return False
    return True


def _broker_up() -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            # One quick attempt: a readiness probe must answer fast, not retry for minutes.
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception:
        logger.exception("readiness check failed: broker")
        return False
    return True


def metrics(request):
    """Prometheus text format. With METRICS_TOKEN set, a scraper must send it as a bearer
    token (the figures include revenue). The settings refuse to start with DEBUG off and
    no token unless metrics are switched off (METRICS_ENABLED=false)."""
    if not settings.METRICS_ENABLED:
        return HttpResponse("metrics are switched off\n", status=404, content_type="text/plain")
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("internal_error", "Something went wrong on our side."), status=500)
    from django.views.defaults import server_error as default_server_error

    return default_server_error(request)
