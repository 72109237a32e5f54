from rest_framework.settings import api_settings

from tedxpay.core.client_address import client_address
from tedxpay.core.models import ApiKey
from tedxpay.core.rate_counter import WindowRateThrottle


class _RateFromSettings(WindowRateThrottle):
    def get_rate(self):
        # Read at call time, not at import like DRF's class attribute, so a changed
        # setting (and override_settings in tests) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiKeyRateThrottle(_RateFromSettings):
    """Requests per API key, at REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"].

    Counted in the default cache: per process with the local-memory cache, shared by all
    workers when CACHE_URL points at Redis (as it should in production).
    """

    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None  # unauthenticated requests are refused before this counts
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class CheckoutRateThrottle(_RateFromSettings):
    """Checkout form submissions per client address (a Django view, not DRF: call
    `allow_request(request, None)`; `wait()` says when to come back)."""

    scope = "checkout"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class ClientAddressRateThrottle(_RateFromSettings):
    """Requests per client address (tedxpay/core/client_address.py), for anonymous callers.

    Replaces DRF's AnonRateThrottle, whose address trusts `X-Forwarded-For` unless
    NUM_PROXIES is set: a made-up header would give every request a fresh allowance.
    """

    scope = "anon"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
