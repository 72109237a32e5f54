import secrets

from django.db import models
from django.db.models import F, Q

from tedxpay.core.money import format_rupiah

# Generated codes: no 0/O, 1/I/L, so a code read out or typed from a printed card survives.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_CODE_LENGTH = 8


def voucher_code_generate(prefix: str = "") -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))
    return f"{prefix}-{body}" if prefix else body


class VoucherKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Rupiah off each ticket"
    SET_PRICE = "set_price", "Set price of each ticket"
    UNLOCK = "unlock", "Unlock hidden phases only"


class Voucher(models.Model):
    """A code that changes what some phases of one event cost, or lets a buyer see and buy
    hidden phases (`Ticket.requires_voucher`), or both.

    One use is one ticket (seat) it applies to, so a voucher of 10 uses covers 10 seats in
    one order or in ten. `used` counts the seats of PENDING and PAID orders that carry it;
    like `Ticket.held` it only moves through conditional UPDATEs (vouchers/services.py) and
    the database refuses `used > max_uses`.
    """

    event = models.ForeignKey("tickets.Event", on_delete=models.PROTECT, related_name="vouchers")
    code = models.CharField(max_length=40, help_text="Upper case; buyers may type it in any case.")
    kind = models.CharField(max_length=12, choices=VoucherKind.choices, default=VoucherKind.PERCENT)
    value = models.PositiveIntegerField(
        default=0,
        help_text="Percent off: 1–100. Rupiah off / set price: whole rupiah per ticket. Unlock only: 0.",
    )
    tickets = models.ManyToManyField(
        "tickets.Ticket",
        blank=True,
        related_name="vouchers",
        verbose_name="phases",
        help_text="Phases it applies to. Empty: every phase of the event that is not hidden.",
    )
    max_uses = models.PositiveIntegerField(default=1, help_text="Tickets it may cover in all, across orders.")
    used = models.PositiveIntegerField(default=0, editable=False)
    valid_from = models.DateTimeField(null=True, blank=True, help_text="Empty: at once.")
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Empty: until the sale ends.")
    combines_with_limits = models.BooleanField(
        default=True,
        verbose_name="per-order and per-buyer limits apply",
        help_text=(
            "Off: tickets bought with this voucher are exempt from the phase's per-order maximum and "
            "per-buyer cap (a sponsor's block of seats). The phase's quota always applies."
        ),
    )
    batch = models.CharField(max_length=60, blank=True, db_index=True, help_text="Set on codes generated together.")
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for, e.g. “Komunitas Python Bandung”.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="voucher_code_once_per_event"),
            models.CheckConstraint(condition=Q(used__lte=F("max_uses")), name="voucher_used_within_max"),
            models.CheckConstraint(condition=Q(max_uses__gte=1), name="voucher_max_uses_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__gte=1, value__lte=100), name="voucher_percent_in_range"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="voucher_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def remaining(self) -> int:
        return max(self.max_uses - self.used, 0)

    def describe(self) -> str:
        """What it does, in a few words for a buyer or finance: "20% off"."""
        if self.kind == VoucherKind.PERCENT:
            return f"{self.value}% off"
        if self.kind == VoucherKind.FIXED:
            return f"{format_rupiah(self.value)} off each ticket"
        if self.kind == VoucherKind.SET_PRICE:
            return "free tickets" if self.value == 0 else f"tickets at {format_rupiah(self.value)}"
        return "access to invitation-only tickets"
