"""Everything under /api/ answers in the JSON error body, including what Django answers
before or around our views: a body over the size limit (413), an unknown path or method
(404/405, which with DEBUG on would be Django's HTML debug page), a Host we do not serve
(400), a CSRF refusal (403)."""

from django.conf import settings
from django.http import JsonResponse

from tedxpay.core.exception_handler import error_body

API_PREFIX = "/api/"
_CODES = {
    400: ("malformed_request", "The request is not valid."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("request_too_large", "The request body is too large."),
}


class ApiGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        refusal = _body_refusal(request)
        if refusal is not None:
            return refusal
        response = self.get_response(request)
        return _as_json(response)


def _body_refusal(request):
    # Refused from the header, before a byte of the body is read.
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        return JsonResponse(error_body("malformed_request", "Content-Length is not a number."), status=400)
    limit = settings.API_MAX_BODY_BYTES
    if length > limit:
        return JsonResponse(
            error_body("request_too_large", f"The body may be at most {limit} bytes.", {"max_bytes": limit}),
            status=413,
        )
    return None


def _as_json(response):
    if response.status_code not in _CODES or response.get("Content-Type", "").startswith("application/json"):
        return response
    code, message = _CODES[response.status_code]
    replacement = JsonResponse(error_body(code, message), status=response.status_code)
    for header in ("Allow", "Retry-After"):
        if header in response:
            replacement[header] = response[header]
    return replacement
