"""One access line per request, written by us rather than the web server.

gunicorn's access log writes the full URL: admin search terms (a buyer's email or phone),
query strings, and the order pages' secret links. Ours writes the matched route pattern
instead of the path (`orders/<str:code>/`, never the code), no query string, and what an
operator needs to follow a request: its id, method, status, duration and API key name.
"""

import logging
import time

logger = logging.getLogger("tedxpay.access")
UNMATCHED = "<unmatched>"


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        match = getattr(request, "resolver_match", None)
        # The pattern, not the path: a path may carry an order's secret or a typo of one.
        route = "/" + match.route if match is not None and match.route else getattr(request, "log_route", UNMATCHED)
        api_key = getattr(request, "api_key_name", None) or "-"
        logger.info(
            "%s %s %s %.1fms key=%s",
            request.method,
            route,
            response.status_code,
            duration_ms,
            api_key,
            extra={
                "http_method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "api_key": api_key,
            },
        )
        return response
