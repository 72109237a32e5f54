from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    ORDER_CONFIRMATION = "order_confirmation", "Order confirmation with e-tickets"
    ORDER_EXPIRED = "order_expired", "Order expired"
    PAID_AFTER_EXPIRY = "paid_after_expiry", "Paid after expiry"
    PAYMENT_REMINDER = "payment_reminder", "Reminder to pay before the hold ends"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"
    # One of each per refund (`refund_reference`): a second partial refund is told too.
    REFUND_STARTED = "refund_started", "Refund started"
    REFUND_DONE = "refund_done", "Refund done"
    REFUND_MANUAL = "refund_manual", "Refund by bank transfer"
    # One per move of the event (`EventMove.reference`, in `refund_reference`): moved twice, told twice.
    EVENT_MOVED = "event_moved", "Event moved (new date or venue)"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"  # claimed by one sender; see notification_send
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Final, never sent: the email no longer tells the truth by the time it would go out
    # (an "order expired" email for an order a late payment has paid since).
    OBSOLETE = "obsolete", "Obsolete (not sent)"


class Notification(models.Model):
    """An email owed to a buyer: at most one per (order, kind), written in the transaction
    that makes it owed, sent by a Celery task after commit.

    A copy finance asks for of an email already sent (`notification_resend`) is a row of
    its own pointing at that original (`resend_of`, numbered by `copy_number`), sent the
    same way; the original is never sent again."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    # The refund (`payments.Refund.reference`) a refund email is about, or the move
    # (`orders.EventMove.reference`) an "event moved" email is about; "" for the others.
    # One column for both because it is part of the once-only key below.
    refund_reference = models.CharField(max_length=40, blank=True, default="")
    to_email = models.EmailField(max_length=254)
    language = models.CharField(max_length=5, default="en")
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the current sender claimed the row (status `sending`). A claim older than
    # SEND_CLAIM_TIMEOUT belongs to a sender that died and may be taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A copy: the original email (never itself a copy), the copy's number (0: the original)
    # and who asked for it.
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="resends", editable=False
    )
    copy_number = models.PositiveSmallIntegerField(default=0, editable=False)
    requested_by = models.CharField(max_length=150, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("operate_notification", "Can send emails again")]
        constraints = [
            # One original per (order, kind, refund); each copy of it has its own number, so
            # two clicks that ask for the same copy at once write one row.
            models.UniqueConstraint(
                fields=["order", "kind", "refund_reference", "copy_number"],
                name="notification_once_per_order_kind_copy",
            ),
            models.CheckConstraint(
                condition=Q(resend_of__isnull=True, copy_number=0) | Q(resend_of__isnull=False, copy_number__gt=0),
                name="notification_copy_has_original",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_created")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} ({self.status})"
