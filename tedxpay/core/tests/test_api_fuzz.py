"""A bounded property-based fuzz of the public API from its own OpenAPI schema
(schemathesis + hypothesis): every operation gets a few hundred generated requests, without
credentials and with valid ones, and no answer may be a 5xx. The API runs in-process (WSGI)
against the test database, with the Xendit simulator behind it on the live server, so an
order the fuzz happens to get right goes all the way to an invoice."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from tedxpay.core.services import api_key_create
from tickets.tests.factories import TicketFactory

EXAMPLES = 100  # per operation and credentials case: 2 × 100 per operation in all
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),
)


# Read from the running application, as a client would (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def _sale(xendit_simulator, settings):
    # Throttles would only answer 429 to most of the run; they are tested on their own.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": None, "anon": None, "checkout": None},
    }
    settings.HOLD_MAX_SEATS_PER_API_KEY = 0
    # Tickets on sale with the smallest ids, which hypothesis tries often: generated orders
    # then sometimes name one and are placed, invoice and all.
    for ticket_id in (1, 2, 3):
        TicketFactory(pk=ticket_id, quota=10_000, max_per_order=10)
    cache.clear()


def _assert_no_server_error(case, response) -> None:
    assert response.status_code < 500, (
        f"{case.method} {case.path} answered {response.status_code}: {response.text[:500]}\n"
        f"body: {case.body!r}\nheaders: {case.headers!r}\nquery: {case.query!r}"
    )


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_without_credentials(case):
    response = case.call()
    _assert_no_server_error(case, response)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_with_credentials(case, django_settings_token):
    api_key = django_settings_token["api_key"]
    headers = {
        **(case.headers or {}),
        "Authorization": f"Api-Key {api_key}",
        "x-callback-token": django_settings_token["callback_token"],
    }
    response = case.call(headers=headers)
    _assert_no_server_error(case, response)


@pytest.fixture
def django_settings_token(settings):
    return {"api_key": api_key_create(name="fuzz")[1], "callback_token": settings.XENDIT_CALLBACK_TOKEN}
