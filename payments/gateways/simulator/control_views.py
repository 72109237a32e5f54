"""Control API for tests and benchmarks (not part of Xendit's API).

`POST /_xendit/simulate/<id>/pay` {"channel": "BCA", "callback": "send"|"none"|"twice"|"late",
                                  "delay": seconds?, "amount": int?}
`POST /_xendit/simulate/<id>/expire` {"callback": ...}
`POST /_xendit/simulate/tick` one tick of the clock now (expire what is due, try due callbacks)
`POST /_xendit/simulate/<id>/settle`
`GET  /_xendit/simulate/<id>` the invoice plus its recorded callback deliveries
`POST /_xendit/simulate/faults` {"kind", "mode", "count", "status", "seconds"}; DELETE clears them
Callbacks are delivered synchronously within the request, after the state change is
committed, and their results are returned; "late" ones go out `delay` seconds later, by
the clock; "none" is a callback lost for good.
"""

import json

from django.http import JsonResponse

from payments.gateways.simulator import callbacks, clock, faults, services
from payments.gateways.simulator.guards import method_not_allowed, xendit_api
from payments.gateways.simulator.models import FaultKind, FaultMode
from payments.gateways.simulator.serializers import invoice_json
from payments.gateways.simulator.validation import XenditError

CALLBACK_TIMES = {"send": 1, "none": 0, "twice": 2, "late": 0}


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise XenditError(400, "API_VALIDATION_ERROR", "Request body must be a JSON object")
    return body


def _callback_times(body: dict) -> int:
    option = body.get("callback", "send")
    if option not in CALLBACK_TIMES:
        raise XenditError(400, "API_VALIDATION_ERROR", f'"callback" must be one of {sorted(CALLBACK_TIMES)}')
    return CALLBACK_TIMES[option]


def _deliver(invoice_id: str, body: dict) -> list[dict]:
    """The callback as the control call asked for it: now (once, twice), late, or never."""
    if body.get("callback") == "late":
        try:
            delay = float(body.get("delay", 60))
        except (TypeError, ValueError) as exc:
            raise XenditError(400, "API_VALIDATION_ERROR", '"delay" must be a number of seconds') from exc
        callbacks.deliver_late(invoice_id, delay_seconds=delay)
        return []
    times = _callback_times(body)
    return callbacks.deliver(invoice_id, times=times) if times else []


def _answer(invoice_id: str, deliveries: list[dict]) -> JsonResponse:
    invoice = services.invoice_get(invoice_id)
    return JsonResponse({"invoice": invoice_json(invoice), "callbacks": deliveries})


@xendit_api
def simulate_pay(request, invoice_id: str):
    if request.method != "POST":
        return method_not_allowed()
    body = _body(request)
    _callback_times(body)  # refused before anything changes
    amount = body.get("amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise XenditError(400, "API_VALIDATION_ERROR", '"amount" must be an integer number of rupiah')
    services.invoice_pay(invoice_id, channel=body.get("channel") or "BCA", amount=amount)
    return _answer(invoice_id, _deliver(invoice_id, body))


@xendit_api
def simulate_expire(request, invoice_id: str):
    if request.method != "POST":
        return method_not_allowed()
    body = _body(request)
    _callback_times(body)
    services.invoice_expire(invoice_id)
    return _answer(invoice_id, _deliver(invoice_id, body))


@xendit_api
def simulate_settle(request, invoice_id: str):
    if request.method != "POST":
        return method_not_allowed()
    services.invoice_settle(invoice_id)
    return _answer(invoice_id, [])


@xendit_api
def simulate_invoice(request, invoice_id: str):
    if request.method != "GET":
        return method_not_allowed()
    invoice = services.invoice_get(invoice_id)
    return JsonResponse({"invoice": invoice_json(invoice), "callbacks": invoice.callback_deliveries})


@xendit_api
def simulate_tick(request):
    if request.method != "POST":
        return method_not_allowed()
    return JsonResponse(clock.tick())


@xendit_api
def simulate_faults(request):
    if request.method == "DELETE":
        return JsonResponse({"deleted": faults.clear()})
    if request.method != "POST":
        return method_not_allowed()
    body = _body(request)
    kind, mode = body.get("kind", FaultKind.ANY), body.get("mode")
    if kind not in FaultKind.values or mode not in FaultMode.values:
        raise XenditError(
            400, "API_VALIDATION_ERROR", f'"kind" must be one of {FaultKind.values}, "mode" one of {FaultMode.values}'
        )
    try:
        count = int(body.get("count", 1))
        status = int(body["status"]) if body.get("status") is not None else None
        seconds = float(body.get("seconds", 0))
    except (TypeError, ValueError) as exc:
        raise XenditError(400, "API_VALIDATION_ERROR", '"count", "status", "seconds" must be numbers') from exc
    fault = faults.add(kind=kind, mode=mode, count=count, status_code=status, seconds=seconds)
    return JsonResponse(
        {
            "id": fault.pk,
            "kind": fault.kind,
            "mode": fault.mode,
            "count": fault.remaining,
            "status": fault.status_code,
            "seconds": fault.seconds,
        },
        status=201,
    )
