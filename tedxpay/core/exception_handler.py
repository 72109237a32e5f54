"""The one DRF exception handler: every API error leaves as the JSON body of docs/api.md, "Errors"."""

import logging

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from tedxpay.core.errors import ApplicationError
from tedxpay.core.request_id import get_request_id

logger = logging.getLogger("tedxpay.api")

# DRF's own exceptions, by class, to our stable codes.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.ValidationError, "validation_error"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.NotAuthenticated, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {
        "error": {"code": code, "message": message, "details": details or {}},
        "request_id": get_request_id(),
    }


def error_response(code: str, message: str, status_code: int, details: dict | None = None):
    return Response(error_body(code, message, details), status=status_code)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return error_response(exc.code, exc.message, exc.status_code, exc.details)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            response = error_response(code, "The request is not valid.", exc.status_code, details)
        else:
            response = error_response(code, str(exc.detail), exc.status_code)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(int(exc.wait))
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        return response

    if isinstance(exc, DatabaseError):
        # A locked or unreachable database: the caller may retry.
        logger.exception("database error while handling an API request")
        return error_response(
            "service_unavailable",
            "The service is temporarily unavailable; please retry.",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    logger.exception("unexpected error while handling an API request")
    return error_response("internal_error", "Something went wrong on our side.", status.HTTP_500_INTERNAL_SERVER_ERROR)
