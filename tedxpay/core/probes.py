"""Answer the operator probes before host validation.

A load balancer or the container's HEALTHCHECK asks `http://<pod ip>:8000/healthz`; that
Host is not in ALLOWED_HOSTS, and CommonMiddleware would answer 400 (DisallowedHost). The
probes reveal nothing and change nothing, so they are answered here, before it.
"""

from tedxpay.core import views

_PROBES = {"/healthz": views.healthz, "/readyz": views.readyz}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
