from django.db import transaction

from tedxpay.core.models import ApiKey, hash_api_key


@transaction.atomic
def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is shown once and never stored."""
    raw_key = ApiKey.generate_raw_key()
    api_key = ApiKey.objects.create(name=name, prefix=raw_key[:10], key_hash=hash_api_key(raw_key))
    return api_key, raw_key
