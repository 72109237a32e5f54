"""Celery task log lines carry the request id that queued the task and the order it is about.

A request that places an order queues its email and invoice tasks; an operator following
that request's id through the logs must find the worker's lines too. The id travels in a
message header set when the task is published, and the worker puts it back in the context
variable the log filter reads (tedxpay/core/request_id.py). The order code is looked up from
the task's argument (an order, payment or notification id) when the task starts.
"""

import inspect
import logging

from celery.signals import before_task_publish, task_postrun, task_prerun

from notifications.models import Notification
from orders.models import Order
from payments.models import Payment
from tedxpay.core.request_id import get_request_id, reset_order_code, reset_request_id, set_order_code, set_request_id

HEADER = "tedxpay_request_id"
logger = logging.getLogger("tedxpay.tasks")


@before_task_publish.connect
def _request_id_to_header(headers=None, **kwargs):
    request_id = get_request_id()
    if headers is not None and request_id != "-":
        headers[HEADER] = request_id


def _order_code(task, args, kwargs) -> str:
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
    except TypeError:
        return "-"
    lookups = {
        "order_id": lambda pk: Order.objects.filter(pk=pk).values_list("code", flat=True).first(),
        "payment_id": lambda pk: Payment.objects.filter(pk=pk).values_list("order__code", flat=True).first(),
        "notification_id": lambda pk: Notification.objects.filter(pk=pk).values_list("order__code", flat=True).first(),
    }
    for name, lookup in lookups.items():
        if name in bound:
            try:
                return lookup(bound[name]) or "-"
            except Exception:  # a log nicety must never fail the task
                logger.debug("no order code for %s=%r", name, bound[name], exc_info=True)
                return "-"
    return "-"


@task_prerun.connect
def _context_in(task_id=None, task=None, args=None, kwargs=None, **extra):
    # A worker sees the message's custom headers in request.headers (and as attributes);
    # an eager `apply(headers=…)` only in request.headers.
    request_id = (task.request.headers or {}).get(HEADER) or task.request.get(HEADER) or f"task-{task_id}"
    task.request.tedxpay_log_tokens = (set_request_id(request_id), set_order_code(_order_code(task, args, kwargs)))


@task_postrun.connect
def _context_out(task=None, **extra):
    tokens = getattr(task.request, "tedxpay_log_tokens", None)
    if tokens:
        reset_request_id(tokens[0])
        reset_order_code(tokens[1])
        task.request.tedxpay_log_tokens = None
