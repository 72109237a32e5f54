"""Errors that services raise and the API turns into the JSON error body of docs/api.md, "Errors".

Services raise an `ApplicationError` (or a subclass) with a stable machine-readable code;
the API exception handler renders it as
`{"error": {"code", "message", "details"}, "request_id"}` with the error's HTTP status.
"""

from typing import Any


class ApplicationError(Exception):
    code = "error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details or {}
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    code = "validation_error"
    status_code = 400
    default_message = "The request is not valid."


class NotFound(ApplicationError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


class IllegalTransition(ApplicationError):
    """A status move the state machine (docs/architecture.md, "State machines") does not allow."""

    code = "illegal_transition"
    status_code = 409
    default_message = "That status change is not allowed."


class ServiceUnavailable(ApplicationError):
    """A dependency (database, gateway) is down for now: retrying later may help."""

    code = "service_unavailable"
    status_code = 503
    default_message = "The service is temporarily unavailable; please retry."


class MalformedRequest(ApplicationError):
    """A body we will not read: not JSON, nested too deep, a number too long to be one."""

    code = "malformed_request"
    status_code = 400
    default_message = "The body is not valid JSON."


class RequestTooLarge(ApplicationError):
    code = "request_too_large"
    status_code = 413
    default_message = "The request body is too large."
