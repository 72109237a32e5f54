"""Xendit's refund API (`/refunds`) and its control endpoints (`/simulate/refunds/...`)."""

import json

from django.http import JsonResponse

from payments.gateways.simulator import faults, refund_callbacks, refunds
from payments.gateways.simulator.control_views import _body, _callback_times
from payments.gateways.simulator.guards import method_not_allowed, xendit_api
from payments.gateways.simulator.models import SimulatedRefund
from payments.gateways.simulator.validation import XenditError


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", "Request body is not valid JSON") from exc


@xendit_api
def refund_collection(request):
    """POST: create (idempotency-key header honoured). GET: the refunds, newest first."""
    if request.method == "POST":
        if fault := faults.apply("refund"):
            return fault
        body = _json_body(request)
        data = refunds.validate_refund_create(body)
        refund, _created = refunds.refund_create(
            data=data,
            idempotency_key=request.headers.get("idempotency-key") or None,
            digest=refunds.request_digest(body),
        )
        return JsonResponse(refund_callbacks.refund_json(refund))
    if request.method == "GET":
        queryset = SimulatedRefund.objects.select_related("invoice").order_by("-created", "-id")
        if invoice_id := request.GET.get("invoice_id"):
            queryset = queryset.filter(invoice_id=invoice_id)
        return JsonResponse({"data": [refund_callbacks.refund_json(refund) for refund in queryset[:100]]})
    return method_not_allowed()


@xendit_api
def refund_detail(request, refund_id: str):
    if request.method != "GET":
        return method_not_allowed()
    if fault := faults.apply("refund_get"):
        return fault
    return JsonResponse(refund_callbacks.refund_json(refunds.refund_get(refund_id)))


def _settle(request, refund_id: str, *, succeeded: bool):
    if request.method != "POST":
        return method_not_allowed()
    body = _body(request)
    times = _callback_times(body)
    refund, _changed = refunds.refund_settle(
        refund_id, succeeded=succeeded, failure_code=str(body.get("failure_code") or "")
    )
    deliveries = refund_callbacks.deliver(refund.id, times=times) if times else []
    refund = refunds.refund_get(refund_id)
    return JsonResponse({"refund": refund_callbacks.refund_json(refund), "callbacks": deliveries})


@xendit_api
def simulate_refund_succeed(request, refund_id: str):
    return _settle(request, refund_id, succeeded=True)


@xendit_api
def simulate_refund_fail(request, refund_id: str):
    return _settle(request, refund_id, succeeded=False)


@xendit_api
def simulate_refund(request, refund_id: str):
    """The refund as Xendit would answer it, plus its recorded webhook deliveries."""
    if request.method != "GET":
        return method_not_allowed()
    refund = refunds.refund_get(refund_id)
    return JsonResponse({"refund": refund_callbacks.refund_json(refund), "callbacks": refund.callback_deliveries})
