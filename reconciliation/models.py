"""The daily reconciliation report: every Xendit invoice of a day beside our payments.

A report is made by `reconciliation_report_create` (services.py) and never edited after;
finance resolves the rows that need attention (who, when, a note). Amounts are whole rupiah.
"""

from django.db import models


class Classification(models.TextChoices):
    MATCHED = "matched", "Matched"
    PAID_THERE_NOT_HERE = "paid_there_not_here", "Paid at Xendit, not here"
    PAID_HERE_NOT_THERE = "paid_here_not_there", "Paid here, not at Xendit"
    AMOUNTS_DIFFER = "amounts_differ", "Paid amounts differ"
    UNKNOWN_OURS = "unknown_ours", "Unknown invoice with our order code"
    FOREIGN = "foreign", "Another system's invoice"


class ReconciliationReport(models.Model):
    """One run for one day (Jakarta time). Totals are over the invoices with our order
    codes; another system's invoices on the same account are listed, counted apart."""

    date = models.DateField(db_index=True, help_text="The day (Asia/Jakarta) whose invoices were listed.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    invoices = models.PositiveIntegerField(default=0, help_text="Invoices listed at Xendit (ours and foreign).")
    matched = models.PositiveIntegerField(default=0)
    explained = models.PositiveIntegerField(default=0, help_text="Not matched, with the reason known.")
    attention = models.PositiveIntegerField(default=0, help_text="Not matched and not explained: for finance.")
    gross = models.PositiveBigIntegerField(default=0, help_text="Paid at Xendit on our invoices.")
    fees = models.PositiveBigIntegerField(default=0, help_text="Xendit's fees where it reported them.")
    fees_unreported = models.PositiveIntegerField(default=0, help_text="Paid invoices without fee figures.")
    refunds = models.PositiveBigIntegerField(default=0, help_text="Refunded on these payments (recorded here).")
    net = models.BigIntegerField(default=0, help_text="Gross less fees less refunds.")
    recorded = models.PositiveBigIntegerField(default=0, help_text="Paid on these invoices as recorded here.")
    foreign_gross = models.PositiveBigIntegerField(default=0, help_text="Paid on other systems' invoices.")

    class Meta:
        ordering = ["-date", "-created_at"]

    def __str__(self) -> str:
        return f"Reconciliation {self.date:%Y-%m-%d}"

    @property
    def unexplained(self) -> int:
        """Rupiah paid at Xendit that our records do not account for (0 when all is well)."""
        return self.gross - self.recorded


class ReconciliationRow(models.Model):
    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="rows")
    invoice_id = models.CharField(max_length=64, db_index=True)
    external_id = models.CharField(max_length=255, db_index=True)
    invoice_created = models.DateTimeField(null=True, blank=True)
    xendit_status = models.CharField(max_length=12)
    xendit_amount = models.PositiveBigIntegerField(default=0)
    xendit_paid_amount = models.PositiveBigIntegerField(null=True, blank=True)
    fees_paid_amount = models.PositiveBigIntegerField(null=True, blank=True)
    adjusted_received_amount = models.PositiveBigIntegerField(null=True, blank=True)
    payment_method = models.CharField(max_length=40, blank=True)
    payment_channel = models.CharField(max_length=40, blank=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="reconciliation_rows"
    )
    our_status = models.CharField(max_length=12, blank=True, help_text="Our payment's status, when we have one.")
    our_paid_amount = models.PositiveBigIntegerField(null=True, blank=True)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    order_status = models.CharField(max_length=12, blank=True)
    classification = models.CharField(max_length=30, choices=Classification.choices)
    explanation = models.TextField(blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "-needs_attention", "invoice_created", "id"]
        # "Mark resolved" (the admin's action): given to Finance with the other operational actions.
        permissions = [("operate_reconciliationrow", "Can mark reconciliation rows resolved")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.external_id}: {self.classification}"
