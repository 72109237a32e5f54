"""Xendit's invoice HTTP API (`/v2/invoices`, `/invoices/<id>/expire!`), as the SDK calls it."""

import json

from django.http import JsonResponse
from django.urls import reverse

from payments.gateways.simulator import callbacks, faults, services
from payments.gateways.simulator.guards import method_not_allowed, xendit_api
from payments.gateways.simulator.models import SimulatedInvoice
from payments.gateways.simulator.serializers import invoice_json
from payments.gateways.simulator.validation import XenditError, validate_create


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", "Request body is not valid JSON") from exc


def _limit(value: str | None) -> int:
    # Xendit's default page is 10, at most 100; the SDK sends the limit as a float ("10.0").
    try:
        return max(1, min(int(float(value)), 100)) if value else 10
    except ValueError as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", '"limit" must be a number') from exc


@xendit_api
def invoices(request):
    """POST: create. GET ?external_id=: a bare JSON array, newest first."""
    if request.method == "POST":
        if fault := faults.apply("create"):
            return fault
        data = validate_create(_json_body(request))
        invoice_id = services.new_invoice_id()
        # The hosted page on whatever host the caller used (live server, standalone port).
        invoice_url = request.build_absolute_uri(reverse("xendit_simulator:web", args=[invoice_id]))
        invoice = services.invoice_create(data=data, invoice_id=invoice_id, invoice_url=invoice_url)
        return JsonResponse(invoice_json(invoice))
    if request.method == "GET":
        if fault := faults.apply("list"):
            return fault
        queryset = SimulatedInvoice.objects.order_by("-created", "-id")
        if external_id := request.GET.get("external_id"):
            queryset = queryset.filter(external_id=external_id)
        limit = _limit(request.GET.get("limit"))
        ids = list(queryset.values_list("id", flat=True)[:limit])
        return JsonResponse([invoice_json(services.invoice_get(pk)) for pk in ids], safe=False)
    return method_not_allowed()


@xendit_api
def invoice_detail(request, invoice_id: str):
    if request.method != "GET":
        return method_not_allowed()
    if fault := faults.apply("get"):
        return fault
    return JsonResponse(invoice_json(services.invoice_get(invoice_id)))


@xendit_api
def invoice_expire(request, invoice_id: str):
    if request.method != "POST":
        return method_not_allowed()
    if fault := faults.apply("expire"):
        return fault
    invoice, changed = services.invoice_expire(invoice_id)
    if changed:
        # Sent after the commit above and before answering: simpler than a background
        # thread and deterministic in tests; the callback timeout is short.
        callbacks.deliver(invoice.id)
    return JsonResponse(invoice_json(invoice))
