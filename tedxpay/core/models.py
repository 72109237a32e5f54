import hashlib
import secrets

from django.db import models


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyScope(models.TextChoices):
    """What a key may do. Keys made before scopes existed have `orders` (what they did)."""

    ORDERS = "orders", "Place orders"
    CHECKIN = "checkin", "Check attendees in"


class ApiKey(models.Model):
    """A key for an external client (`Authorization: Api-Key <key>`).

    Only a SHA-256 of the key is stored: a leaked database does not leak usable keys. The
    first characters are kept in clear so staff can tell keys apart. `scopes` is a
    space-separated list of `ApiKeyScope` values; an API that needs a scope refuses a key
    without it (403).
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    scopes = models.CharField(max_length=100, default=ApiKeyScope.ORDERS, help_text="Space-separated: orders, checkin.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list

    @staticmethod
    def generate_raw_key() -> str:
        return "tdx_" + secrets.token_urlsafe(32)


class IdempotencyKey(models.Model):
    """One idempotency key, see tedxpay/core/idempotency.py: the API's `Idempotency-Key`
    header (docs/api.md, "Idempotency") and the checkout form's one-time token
    (docs/buyer-pages.md, "Sent twice") are the same mechanism.

    `scope` says whose key it is: `api-key:<id>` for an API client, `checkout-form` for the
    checkout's tokens. Keys are unique per scope, so two clients, or a client and the form,
    may pick the same key without meeting. The row is inserted before the work starts; the
    unique (scope, key) pair is what makes a concurrent second request see "in flight"
    instead of doing the work twice, across processes. `response_status` stays null while
    the first request runs.
    """

    scope = models.CharField(max_length=40, help_text="Whose key: api-key:<id> or checkout-form.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.response_status or 'in flight'})"
