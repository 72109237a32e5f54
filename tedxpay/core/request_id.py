"""Request ids: taken from `X-Request-ID` when the caller sends a sane one, else generated.

The id lives in a context variable so that every log line written while handling the
request (and the error body, and the audit rows) can carry it without passing it around.
"""

import contextvars
import logging
import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The order a Celery task works on (tedxpay/core/task_logging.py), for its log lines.
_order_code: contextvars.ContextVar[str] = contextvars.ContextVar("order_code", default="-")


def get_request_id() -> str:
    """The current request's id, or "-" outside a request."""
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def get_order_code() -> str:
    return _order_code.get()


def set_order_code(value: str) -> contextvars.Token:
    return _order_code.set(value)


def reset_order_code(token: contextvars.Token) -> None:
    _order_code.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from_header(value: str | None) -> str:
    # A caller-supplied id goes into logs and headers: accept only a short, plain token.
    if value and _ACCEPTABLE.match(value):
        return value
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            reset_request_id(token)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs a 4xx/5xx ("django.request") after the middleware has returned and
            # the context variable is reset; the request itself still carries the id.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or get_request_id()
        if not getattr(record, "order_code", None):
            record.order_code = get_order_code()
        return True
