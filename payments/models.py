import secrets

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.lookups import GreaterThan

from orders.models import WHOLE_PAYMENT_OWED_REASONS, AttentionReason, OrderStatus, needs_attention_q
from tedxpay.core.money import format_rupiah


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    EXPIRED = "EXPIRED", "Expired"
    CANCELLED = "CANCELLED", "Cancelled (the order was cancelled)"


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
    refunded_amount = models.PositiveBigIntegerField(
        default=0,
        editable=False,
        help_text="Whole rupiah given back outside tedxpay (Xendit dashboard, bank transfer), recorded by finance.",
    )
    refunded_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the last refund was recorded."
    )
    refund_in_flight = models.PositiveBigIntegerField(
        default=0,
        editable=False,
        help_text=(
            "Whole rupiah of refunds asked for and not finished (requested, pending at Xendit, "
            "or waiting for finance's transfer): reserved, so no second refund can take them."
        ),
    )
    gateway_status = models.CharField(max_length=12, blank=True, help_text="Last status seen at Xendit.")
    # A create whose outcome we do not know (it timed out, or its reply was lost, and the one
    # look-up found nothing): Xendit may have made the invoice after all. It is looked up by
    # external_id until this time, when any invoice it made can no longer be paid.
    invoice_lookup_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Look the invoice up by our code until then."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("operate_payment", "Can sync payments with Xendit")]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created")]
        constraints = [
            # Refunds done and refunds under way never add up to more than was received.
            models.CheckConstraint(
                condition=Q(refunded_amount=0, refund_in_flight=0)
                | Q(paid_amount__isnull=False, paid_amount__gte=F("refunded_amount") + F("refund_in_flight")),
                name="payment_refund_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"

    @property
    def refundable(self) -> int:
        """What may still be refunded: received, not refunded yet and not being refunded."""
        if self.status != PaymentStatus.PAID or self.paid_amount is None:
            return 0
        return max(self.paid_amount - self.refunded_or_in_flight, 0)

    @property
    def refunded_or_in_flight(self) -> int:
        """Refunds that succeeded and those under way: what a refund form was shown, and
        checks again before it refunds (`order_refund(expected_refunds=…)`)."""
        return self.refunded_amount + self.refund_in_flight

    @property
    def refund_owed(self) -> int:
        """What the buyer is owed back while the order is flagged for it, refunds not
        deducted (`refund_owed_sql`, the one definition of the rule, read for this row)."""
        return self._read(refund_owed_sql())

    @property
    def refund_outstanding(self) -> int:
        """Still to refund: what is owed back less what was refunded or is being refunded
        (`refund_outstanding_sql`, read for this row)."""
        return self._read(refund_outstanding_sql())

    def _read(self, expression) -> int:
        # One query, as the database has the row now: the rule is written once, in SQL, so
        # a page, a service and an aggregate over many payments can never disagree.
        if self.pk is None:
            return 0
        value = Payment.objects.filter(pk=self.pk).annotate(value=expression).values_list("value", flat=True).get()
        return int(value)


def refund_owed_sql() -> Case:
    """What the buyer of each Payment row is owed back, refunds not deducted: the one
    definition of the rule (`Payment.refund_owed` reads it for one row, the dashboard sums
    it over many).

    Only while the order is flagged (a resolved flag is finance's decision) and the payment
    is PAID: the whole payment when the order has no seats for it (WHOLE_PAYMENT_OWED_REASONS:
    paid after expiry with the seats gone, paid after cancel, a cancelled order whose refund
    failed); the excess when a PAID order is flagged for an overpayment; otherwise 0 (an
    underpayment is not owed back). The
    subtraction is guarded: amounts are UNSIGNED on MySQL, where a negative intermediate
    result is an error, not a number.
    """
    flagged_paid = Q(status=PaymentStatus.PAID, paid_amount__isnull=False) & needs_attention_q(prefix="order__")
    return Case(
        When(flagged_paid & Q(order__attention_reason__in=WHOLE_PAYMENT_OWED_REASONS), then=F("paid_amount")),
        When(
            flagged_paid
            & Q(
                order__attention_reason=AttentionReason.AMOUNT_MISMATCH,
                order__status=OrderStatus.PAID,
                paid_amount__gt=F("order__total"),
            ),
            then=F("paid_amount") - F("order__total"),
        ),
        default=Value(0),
        output_field=models.PositiveBigIntegerField(),
    )


def refund_outstanding_sql() -> Case:
    """Still to refund on each Payment row: `refund_owed_sql` less what was refunded and
    what is being refunded (asked of Xendit, or a bank transfer finance has to make), never
    below 0 (guarded as above). Money under way is not "to refund": counting it twice is
    how an overpayment gets refunded twice."""
    owed = refund_owed_sql()
    settled = F("refunded_amount") + F("refund_in_flight")
    return Case(
        When(GreaterThan(owed, settled), then=owed - settled),
        default=Value(0),
        output_field=models.PositiveBigIntegerField(),
    )


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"  # written; Xendit not asked yet, or its answer was lost
    PENDING = "pending", "Pending at Xendit"  # Xendit accepted it; the channel has not confirmed
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    MANUAL = "manual", "Manual: finance transfers"  # the channel cannot be refunded through Xendit


# Statuses whose amount is reserved on the payment (`Payment.refund_in_flight`).
REFUND_IN_FLIGHT = (RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.MANUAL)


class RefundReason(models.TextChoices):
    # Xendit's values for POST /refunds `reason`.
    CANCELLATION = "CANCELLATION", "Cancellation"
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER", "Requested by the buyer"
    DUPLICATE = "DUPLICATE", "Duplicate payment"
    FRAUDULENT = "FRAUDULENT", "Fraudulent"
    OTHERS = "OTHERS", "Other"


def new_refund_reference() -> str:
    return "RFD-" + secrets.token_hex(10).upper()


class Refund(models.Model):
    """One attempt to give money back: through Xendit (`POST /refunds`) or, for a channel
    Xendit cannot refund, by finance's bank transfer (status `manual`, then `succeeded`).

    `reference` is both Xendit's `reference_id` and the `idempotency-key` of the create, so
    asking Xendit again for the same row never refunds twice. A failed attempt stays as a
    record; trying again is a new row. Only `payments/refunds.py` writes the status.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # The payment's order, kept here too so the order page and the event cancellation find
    # refunds without a join through the payment.
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    reference = models.CharField(max_length=40, unique=True, default=new_refund_reference, editable=False)
    amount = models.PositiveBigIntegerField(help_text="Whole rupiah.")
    reason = models.CharField(max_length=30, choices=RefundReason.choices, default=RefundReason.CANCELLATION)
    note = models.TextField(blank=True, help_text="Why, in finance's words.")
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED, editable=False
    )
    gateway_refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    requested_by = models.CharField(max_length=150, help_text="Who asked: an admin user, or system.")
    requested_at = models.DateTimeField(auto_now_add=True)
    completed_by = models.CharField(max_length=150, blank=True, help_text="Xendit, or who transferred by hand.")
    completed_at = models.DateTimeField(null=True, blank=True)
    transfer_reference = models.CharField(max_length=200, blank=True, help_text="Bank transfer of a manual refund.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="refund_status_requested")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=1), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.reference} {format_rupiah(self.amount)} ({self.status})"


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
    # Refund webhooks (refund.succeeded / refund.failed) share the inbox: Xendit's refund
    # id here, `status` REFUND_SUCCEEDED / REFUND_FAILED, `external_id` our reference.
    refund_id = models.CharField(max_length=64, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )
    raw_body = models.TextField()
    request_id = models.CharField(max_length=128, blank=True)
    # Xendit's `webhook-id` header, when it sends one ("a unique identifier of every
    # webhook"; documented for its newer webhooks, so de-duplication does not rely on it).
    webhook_id = models.CharField(max_length=100, blank=True, db_index=True)
    outcome = models.CharField(max_length=12, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    outcome_detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [("replay_webhookevent", "Can replay Xendit callbacks")]
        constraints = [
            models.CheckConstraint(
                condition=Q(dedupe_key__isnull=True) | ~Q(outcome=WebhookOutcome.DUPLICATE),
                name="webhook_duplicate_has_no_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.status} ({self.outcome})"
