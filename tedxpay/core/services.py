from collections.abc import Iterable

from django.db import transaction

from tedxpay.core.errors import InvalidInput
from tedxpay.core.models import ApiKey, ApiKeyScope, hash_api_key


@transaction.atomic
def api_key_create(*, name: str, scopes: Iterable[str] = (ApiKeyScope.ORDERS,)) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is shown once and never stored."""
    scopes = list(dict.fromkeys(str(scope) for scope in scopes))
    unknown = [scope for scope in scopes if scope not in ApiKeyScope.values]
    if not scopes or unknown:
        raise InvalidInput(f"Scopes must be some of {', '.join(ApiKeyScope.values)}.", details={"scopes": unknown})
    raw_key = ApiKey.generate_raw_key()
    api_key = ApiKey.objects.create(
        name=name, prefix=raw_key[:10], key_hash=hash_api_key(raw_key), scopes=" ".join(scopes)
    )
    return api_key, raw_key
