"""Xendit's invoice HTTP API (`/v2/invoices`, `/invoices/<id>/expire!`), as the SDK calls it."""

import json
from datetime import UTC, datetime

from django.db.models import Q
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone

from payments.gateways.simulator import callbacks, faults, services
from payments.gateways.simulator.guards import method_not_allowed, xendit_api
from payments.gateways.simulator.models import SimulatedInvoice, SimulatedInvoiceStatus
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


def _moment(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", f'"{name}" must be an ISO 8601 date') from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _statuses(request) -> list[str]:
    # The SDK repeats the key (statuses=PAID&statuses=SETTLED); a JSON array is accepted too.
    values = []
    for raw in request.GET.getlist("statuses"):
        values.extend(json.loads(raw) if raw.startswith("[") else raw.split(","))
    unknown = set(values) - set(SimulatedInvoiceStatus.values)
    if unknown:
        raise XenditError(400, "API_VALIDATION_ERROR", f'"statuses" must be among {SimulatedInvoiceStatus.values}')
    return values


# Query parameter -> the lookup it filters on (Xendit's names).
_MOMENT_FILTERS = {
    "created_after": "created__gte",
    "created_before": "created__lte",
    "paid_after": "paid_at__gte",
    "paid_before": "paid_at__lte",
    "expired_after": "expiry_date__gte",
    "expired_before": "expiry_date__lte",
}


def _invoice_list(request):
    """Xendit's list: filters, newest first, `limit` per page, `last_invoice` the cursor
    (the id of the last invoice of the previous page)."""
    queryset = SimulatedInvoice.objects.order_by("-created", "-id")
    if external_id := request.GET.get("external_id"):
        queryset = queryset.filter(external_id=external_id)
    if statuses := _statuses(request):
        services.invoices_expire_due()  # so that the filter sees the statuses Xendit would
        queryset = queryset.filter(status__in=statuses)
    for name, lookup in _MOMENT_FILTERS.items():
        if value := request.GET.get(name):
            queryset = queryset.filter(**{lookup: _moment(name, value)})
    if "expired_after" in request.GET or "expired_before" in request.GET:
        queryset = queryset.filter(status=SimulatedInvoiceStatus.EXPIRED)
    if last_invoice := request.GET.get("last_invoice"):
        cursor = SimulatedInvoice.objects.filter(pk=last_invoice).values("created", "id").first()
        if cursor is None:
            raise XenditError(400, "API_VALIDATION_ERROR", '"last_invoice" is not a known invoice id')
        queryset = queryset.filter(Q(created__lt=cursor["created"]) | Q(created=cursor["created"], id__lt=cursor["id"]))
    invoices = list(queryset[: _limit(request.GET.get("limit"))])
    # One query for the page; only an invoice past its expiry date is read again (expired now).
    now = timezone.now()
    invoices = [
        services.invoice_get(invoice.pk)
        if invoice.status == SimulatedInvoiceStatus.PENDING and invoice.expiry_date <= now
        else invoice
        for invoice in invoices
    ]
    return JsonResponse([invoice_json(invoice) for invoice in invoices], safe=False)


@xendit_api
def invoices(request):
    """POST: create. GET: the list (filters below), a bare JSON array, newest first."""
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
        return _invoice_list(request)
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
