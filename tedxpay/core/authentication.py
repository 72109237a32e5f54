from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from tedxpay.core.models import ApiKey, ApiKeyScope, hash_api_key
from tedxpay.core.process_cache import ProcessCache

KEYWORD = "Api-Key"
LAST_USED_PRECISION = timedelta(minutes=1)

# Active keys by hash, for API_KEY_CACHE_SECONDS: a client's every request would otherwise
# read the same row. A key revoked in the admin stops working at once in the admin's own
# process and within those seconds in the others.
_active_keys: ProcessCache[ApiKey] = ProcessCache("api keys", seconds_setting="API_KEY_CACHE_SECONDS")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`; request.auth becomes the ApiKey row."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != KEYWORD.lower():
            raise exceptions.NotAuthenticated("Send an API key: 'Authorization: Api-Key <key>'.")
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        # Looked up by its hash: equal hashes mean equal keys, and the comparison leaks
        # nothing about the stored key.
        key_hash = hash_api_key(header[1])
        api_key = _active_keys.get(key_hash, lambda: ApiKey.objects.filter(key_hash=key_hash, is_active=True).first())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        _touch(api_key)
        # For the access line (tedxpay/core/access_log.py), which sees Django's request.
        request._request.api_key_name = api_key.name
        return (None, api_key)

    def authenticate_header(self, request) -> str:
        # Also keeps DRF answering 401 (not 403) when authentication fails.
        return KEYWORD


def _touch(api_key: ApiKey) -> None:
    # At most once a minute: a write on every request would make the key's row the hottest
    # row in a flash sale (every order from one client updating it).
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now  # the cached copy too, or it would write on every request


def api_keys_forget_on_save() -> None:
    _active_keys.forget_on_save(ApiKey)


class HasApiKey:
    """Permission: the request was authenticated with an API key."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)

    def has_object_permission(self, request, view, obj) -> bool:
        return True


class _HasApiKeyScope(HasApiKey):
    scope: str = ""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.auth.has_scope(self.scope):
            raise exceptions.PermissionDenied(f"This API key does not have the '{self.scope}' scope.")
        return True


class HasOrdersScope(_HasApiKeyScope):
    """Permission: an API key with the `orders` scope."""

    scope = ApiKeyScope.ORDERS


class HasCheckinScope(_HasApiKeyScope):
    """Permission: an API key with the `checkin` scope."""

    scope = ApiKeyScope.CHECKIN
