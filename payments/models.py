from django.db import models
from django.db.models import Q


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    EXPIRED = "EXPIRED", "Expired"
    FAILED = "FAILED", "Failed"


class Payment(models.Model):
    """The Xendit invoice of an order (one per order).

    `external_id` is the order code we send to Xendit; `invoice_id` is Xendit's id. Xendit
    does not enforce unique external ids, so the invoice id is stored as soon as we have it
    and is unique here.
    """

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, editable=False
    )
    external_id = models.CharField(max_length=64, unique=True)
    invoice_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    invoice_url = models.URLField(max_length=500, blank=True)
    amount = models.PositiveBigIntegerField(help_text="Whole rupiah asked for.")
    paid_amount = models.PositiveBigIntegerField(null=True, blank=True, help_text="Whole rupiah received.")
    method = models.CharField(max_length=30, blank=True, help_text="Xendit payment_method, e.g. BANK_TRANSFER.")
    channel = models.CharField(max_length=30, blank=True, help_text="Xendit payment_channel, e.g. BCA.")
    paid_at = models.DateTimeField(null=True, blank=True)
    gateway_status = models.CharField(max_length=12, blank=True, help_text="Last status seen at Xendit.")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created")]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


class WebhookOutcome(models.TextChoices):
    RECEIVED = "received", "Received (not processed yet)"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate"
    IGNORED = "ignored", "Ignored"
    UNMATCHED = "unmatched", "Unmatched invoice"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    """Inbox of Xendit callbacks: every accepted callback, raw, with what became of it.

    The first callback for an (invoice id, status) pair gets `dedupe_key`, which is unique;
    repeats are stored too, with no key and the outcome `duplicate`. (A partial unique
    index would say this more directly, but MySQL has none.)
    """

    invoice_id = models.CharField(max_length=64, db_index=True)
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=20)
    dedupe_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )
    raw_body = models.TextField()
    request_id = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=12, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    outcome_detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dedupe_key__isnull=True) | ~Q(outcome=WebhookOutcome.DUPLICATE),
                name="webhook_duplicate_has_no_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.status} ({self.outcome})"
