"""`python manage.py xendit_simulator --port 8001`: the simulator as its own process.

Serves only the `/_xendit/` paths of this project (Xendit's invoice API, the hosted page,
the control API) from a small threaded WSGI server, with state in the project's database,
and sends callbacks to XENDIT_CALLBACK_URL. Its clock (clock.py) runs in the background:
invoices expire by themselves at their expiry date with an EXPIRED callback, and failed
callbacks are retried on the configured schedule. Chunked request bodies are read whole. Point the shop at it with
`XENDIT_BASE_URL=http://127.0.0.1:8001/_xendit`: useful with multi-worker gunicorn and in
benchmarks, where the simulator must not compete with the shop for its workers.
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import get_internal_wsgi_application
from django.test.utils import override_settings

from payments.gateways.simulator import clock as simulator_clock
from payments.gateways.simulator.chunked import serve
from payments.gateways.simulator.guards import live_key_configured

PREFIX = "/_xendit/"
# The hosted invoice page: the one page here, served with the shop's whole middleware
# (CSRF for its form, security headers, language).
PAGE_PREFIX = PREFIX + "web/"
# Everything else here is JSON for the SDK and for tests (Xendit's API, the control API):
# it needs the request id and the access line, none of the page middleware (sessions,
# CSRF, CSP, language, messages), which measured as a quarter of the simulator's CPU per
# call. In a benchmark that CPU is taken from the shop on the same machine, where the real
# Xendit would take none.
API_MIDDLEWARE = ["tedxpay.core.request_id.RequestIdMiddleware", "tedxpay.core.access_log.AccessLogMiddleware"]


class ApiHandler(WSGIHandler):
    """Django's WSGI handler with the middleware of `API_MIDDLEWARE` instead of the
    settings' (read once, when the handler is built)."""

    def load_middleware(self, is_async=False):
        with override_settings(MIDDLEWARE=API_MIDDLEWARE):
            super().load_middleware(is_async)


def only_simulator(page_application, api_application):
    """WSGI middleware: 404 for everything outside /_xendit/ (no shop, no admin here); the
    hosted page through `page_application`, the JSON APIs through `api_application`."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error_code": "NOT_FOUND", "message": "Only /_xendit/ is served here"}']
        if path.startswith(PAGE_PREFIX):
            return page_application(environ, start_response)
        return api_application(environ, start_response)

    return app


class Command(BaseCommand):
    help = "Run the Xendit simulator (/_xendit/) as a standalone threaded HTTP server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--clock",
            type=float,
            default=1.0,
            help="Seconds between ticks of the simulator's clock (self-expiry, callback retries); 0 turns it off.",
        )

    def handle(self, *args, host, port, clock, **options):
        if live_key_configured():
            raise CommandError("Refusing to run the Xendit simulator with a live Xendit key (xnd_production_…).")
        if not settings.XENDIT_SIMULATOR_ENABLED:
            raise CommandError("XENDIT_SIMULATOR_ENABLED is off: /_xendit/ is not mounted.")
        self.stdout.write(
            f"Xendit simulator on http://{host}:{port}{PREFIX} "
            f"(callbacks to {settings.XENDIT_CALLBACK_URL}); Ctrl-C to stop."
        )
        self.stdout.flush()
        simulator_clock.clock_start(clock)
        serve(host, port, only_simulator(get_internal_wsgi_application(), ApiHandler()))
