"""Answer the operator endpoints before host validation and the HTTPS redirect.

A load balancer or the container's HEALTHCHECK asks `http://<pod ip>:8000/healthz`, and
Prometheus scrapes `http://<pod ip>:8000/metrics`; that Host is not in ALLOWED_HOSTS, and
CommonMiddleware would answer 400 (DisallowedHost), or SecurityMiddleware would redirect
the plain-HTTP request to HTTPS. The probes reveal nothing and change nothing; /metrics
checks its own bearer token. So they are answered here, before both.
"""

from tedxpay.core import views

_PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            request.log_route = request.path_info  # no URL resolving here: for the access line
            return probe(request)
        return self.get_response(request)
