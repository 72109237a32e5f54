"""State of the Xendit simulator, in the database so every process sees the same invoices
(gunicorn workers, the standalone `xendit_simulator` command, pytest's live server)."""

from django.db import models


class SimulatedInvoiceStatus(models.TextChoices):
    # Xendit's exact spellings: the SDK turns anything else into UNKNOWN_ENUM_VALUE.
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    SETTLED = "SETTLED", "Settled"
    EXPIRED = "EXPIRED", "Expired"


class SimulatedInvoice(models.Model):
    id = models.CharField(primary_key=True, max_length=24)  # 24 hex chars, like Xendit's ids
    external_id = models.CharField(max_length=255, db_index=True)
    user_id = models.CharField(max_length=24)
    status = models.CharField(
        max_length=10, choices=SimulatedInvoiceStatus.choices, default=SimulatedInvoiceStatus.PENDING
    )
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    merchant_name = models.CharField(max_length=255)
    payer_email = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    success_redirect_url = models.CharField(max_length=1000, blank=True)
    failure_redirect_url = models.CharField(max_length=1000, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    items = models.JSONField(default=list, blank=True)
    customer = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    invoice_url = models.CharField(max_length=1000)
    expiry_date = models.DateTimeField()
    created = models.DateTimeField()
    updated = models.DateTimeField()
    # Filled when paid; what the callback and later GETs report.
    paid_amount = models.PositiveBigIntegerField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_method = models.CharField(max_length=30, blank=True)
    payment_channel = models.CharField(max_length=30, blank=True)
    payment_destination = models.CharField(max_length=100, blank=True)
    payment_id = models.CharField(max_length=64, blank=True)
    # Every callback delivery attempt: {"status", "url", "status_code", "error", "at"}.
    callback_deliveries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["external_id", "created"], name="xsim_invoice_ext_created")]

    def __str__(self) -> str:
        return f"{self.id} {self.external_id} ({self.status})"


class SimulatedCallback(models.Model):
    """One callback Xendit owes for an invoice event (PAID, EXPIRED): tried at once, and when
    a delivery fails (no 2xx), tried again on the retry schedule, like Xendit with "auto-retry
    for failed callbacks" switched on (callbacks.py). Every try of the same callback carries
    the same `webhook_id`."""

    invoice = models.ForeignKey(SimulatedInvoice, on_delete=models.CASCADE, related_name="callbacks")
    webhook_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=10)
    body = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next try is due; None once delivered or given up.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.status} for {self.invoice_id}"


class FaultMode(models.TextChoices):
    ERROR = "error", "HTTP error with a Xendit JSON body (status, default 503)"
    NON_JSON = "non_json", "HTTP error with an HTML body (status, default 502)"
    DELAY = "delay", "Sleep `seconds`, then do the call and answer normally"
    HANG = "hang", "Sleep `seconds` (default 30, past any sane read timeout), then answer 504 doing nothing"
    MALFORMED = "malformed", "HTTP 200 with an invoice missing required fields"


class FaultKind(models.TextChoices):
    CREATE = "create", "POST /v2/invoices"
    GET = "get", "GET /v2/invoices/<id>"
    LIST = "list", "GET /v2/invoices?external_id="
    EXPIRE = "expire", "POST /invoices/<id>/expire!"
    REFUND_CREATE = "refund", "POST /refunds"
    REFUND_GET = "refund_get", "GET /refunds/<id>"
    ANY = "any", "Any API call"


class SimulatedFault(models.Model):
    """ "The next `remaining` calls of `kind` misbehave like `mode`" (POST /_xendit/simulate/faults)."""

    kind = models.CharField(max_length=10, choices=FaultKind.choices)
    mode = models.CharField(max_length=12, choices=FaultMode.choices)
    remaining = models.PositiveIntegerField(default=1)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.mode} x{self.remaining}"


class SimulatedRefundStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class SimulatedRefund(models.Model):
    """A refund of a paid simulated invoice (`POST /refunds`). It stays PENDING until the
    control API settles it (`/_xendit/simulate/refunds/<id>/succeed` or `/fail`), which
    also sends the refund webhook, as Xendit does once the channel answers."""

    id = models.CharField(primary_key=True, max_length=40)  # "rfd-" + a UUID, like Xendit's
    invoice = models.ForeignKey(SimulatedInvoice, on_delete=models.CASCADE, related_name="refunds")
    reference_id = models.CharField(max_length=255, blank=True)
    # The request's idempotency-key header and a digest of its body: the same key with the
    # same body answers this refund again; with another body it is refused.
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    request_digest = models.CharField(max_length=64, blank=True)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    reason = models.CharField(max_length=30)
    status = models.CharField(
        max_length=10, choices=SimulatedRefundStatus.choices, default=SimulatedRefundStatus.PENDING
    )
    failure_code = models.CharField(max_length=50, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    # Every webhook delivery attempt: {"event", "url", "status_code", "error", "at"}.
    callback_deliveries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} of {self.invoice_id} ({self.status})"
