"""One helper decides the client's address; a made-up X-Forwarded-For lifts no throttle."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from tedxpay.core.client_address import client_address


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_one_trusted_proxy_takes_the_address_it_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "1.2.3.4" itself; our proxy appended the address it saw.
    assert client_address(_request("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert client_address(_request("10.0.0.2", "198.51.100.7")) == "198.51.100.7"


def test_two_trusted_proxies_count_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request("10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2")) == "198.51.100.7"


def test_garbage_in_the_header_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("10.0.0.2", "not-an-address")) == "10.0.0.2"
    assert client_address(_request("10.0.0.2", "")) == "10.0.0.2"


@pytest.mark.django_db
@pytest.mark.parametrize("proxies", [0, 1])
def test_made_up_forwarded_for_does_not_lift_the_anonymous_throttle(client, settings, proxies):
    cache.clear()
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/min", "api_key": "9/min"},
    }
    statuses = []
    for attempt in range(6):
        # A fresh made-up address on every request, always before the one our proxy appends.
        forwarded = f"192.0.2.{attempt}, 198.51.100.7" if proxies else f"192.0.2.{attempt}"
        statuses.append(client.get("/api/tickets", HTTP_X_FORWARDED_FOR=forwarded).status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]
    cache.clear()
