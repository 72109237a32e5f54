"""Fault injection: make invoice API calls slow, failing, non-JSON or hanging.

Two sources, checked on every Xendit API call (never on the control API or the page):
- settings: `XENDIT_SIMULATOR_LATENCY_MS` (added to every call) and
  `XENDIT_SIMULATOR_FAULTS`, a list of always-on faults like
  `[{"kind": "create", "mode": "error", "status": 503}]`;
- the database: `SimulatedFault` rows ("the next N calls of kind K"), written through
  `POST /_xendit/simulate/faults`, so they work across processes.
"""

import functools
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.http import HttpResponse, JsonResponse

from payments.gateways.simulator.models import FaultKind, FaultMode, SimulatedFault
from payments.gateways.simulator.serializers import error_json

HANG_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    mode: str
    status_code: int | None = None
    seconds: float = 0.0


@functools.cache
def _any_queued_sql() -> tuple[str, tuple]:
    # Built by the ORM once per process, then run as it is: this question is asked before
    # every API call, and nearly always answered "none", while compiling the query took
    # more CPU than the rest of a get_invoice.
    return SimulatedFault.objects.filter(remaining__gt=0).values("id")[:1].query.sql_with_params()


def _any_fault_queued() -> bool:
    sql, params = _any_queued_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _claim_database_fault(kind: str) -> Fault | None:
    if not _any_fault_queued():
        return None
    # Claimed by a conditional UPDATE so two processes never both use the last count.
    for _ in range(5):
        row = (
            SimulatedFault.objects.filter(Q(kind=kind) | Q(kind=FaultKind.ANY), remaining__gt=0).order_by("id").first()
        )
        if row is None:
            return None
        claimed = SimulatedFault.objects.filter(pk=row.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
        if claimed:
            return Fault(row.mode, row.status_code, row.seconds)
    return None


def _settings_fault(kind: str) -> Fault | None:
    for spec in getattr(settings, "XENDIT_SIMULATOR_FAULTS", None) or []:
        if spec.get("kind", FaultKind.ANY) in (kind, FaultKind.ANY):
            return Fault(spec["mode"], spec.get("status"), float(spec.get("seconds", 0)))
    return None


def apply(kind: str) -> HttpResponse | None:
    """Sleep as configured; return the faulty response to send instead, or None."""
    latency_ms = getattr(settings, "XENDIT_SIMULATOR_LATENCY_MS", 0) or 0
    if latency_ms:
        time.sleep(latency_ms / 1000)
    fault = _settings_fault(kind) or _claim_database_fault(kind)
    if fault is None:
        return None
    if fault.mode == FaultMode.DELAY:
        # Slow, then done: a create that timed out on the client still made the invoice,
        # which is the case order placement heals by listing by external_id.
        time.sleep(fault.seconds or 1.0)
        return None
    if fault.mode == FaultMode.HANG:
        # The caller has long given up; do nothing, so no write lands after a test ended.
        time.sleep(fault.seconds or HANG_SECONDS)
        return JsonResponse(error_json("SERVER_ERROR", "Simulated hang"), status=504)
    if fault.mode == FaultMode.NON_JSON:
        return HttpResponse(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            status=fault.status_code or 502,
            content_type="text/html",
        )
    if fault.mode == FaultMode.MALFORMED:
        return JsonResponse({"id": "0" * 24, "status": "PENDING", "amount": None}, status=fault.status_code or 200)
    status = fault.status_code or 503
    code = "SERVER_ERROR" if status >= 500 else ("RATE_LIMIT_EXCEEDED" if status == 429 else "API_VALIDATION_ERROR")
    return JsonResponse(error_json(code, f"Simulated fault: HTTP {status}"), status=status)


def add(*, kind: str, mode: str, count: int = 1, status_code: int | None = None, seconds: float = 0) -> SimulatedFault:
    return SimulatedFault.objects.create(
        kind=kind, mode=mode, remaining=count, status_code=status_code, seconds=seconds
    )


def clear() -> int:
    deleted, _ = SimulatedFault.objects.all().delete()
    return deleted
