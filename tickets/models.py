from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# Indonesia's three time zones, by the name people use for them.
TIME_ZONE_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


class EventTimeZone(models.TextChoices):
    WIB = "Asia/Jakarta", "WIB (UTC+7): Sumatra, Java, West and Central Kalimantan"
    WITA = "Asia/Makassar", "WITA (UTC+8): Bali, Nusa Tenggara, Sulawesi, East Kalimantan"
    WIT = "Asia/Jayapura", "WIT (UTC+9): Maluku, Papua"


class Event(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    venue = models.CharField(max_length=300)
    city = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=32,
        choices=EventTimeZone.choices,
        default=EventTimeZone.WIB,
        help_text="Where the event happens: every page, email and export shows its times in this zone.",
    )
    ask_attendee_names = models.BooleanField(
        "ask each attendee's name",
        default=False,
        help_text="The checkout asks one name per ticket (for badges and the attendee list); the e-tickets, "
        "the door and the printed list show it. Off: the buyer's name stands for every ticket.",
    )
    # Set when the event is cancelled ("Cancel event and refund everyone", `tickets_withdraw`):
    # its phases came off sale then and cannot be put back on sale (`Ticket.clean`).
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def time_zone_abbreviation(self) -> str:
        return TIME_ZONE_ABBREVIATIONS.get(self.time_zone, self.time_zone)


class Ticket(models.Model):
    """A ticket phase (early bird, regular, student…): a price, a quota and a sale window.

    `held` counts the units in PENDING and PAID orders. It only moves through the stock
    services (conditional UPDATEs, docs/architecture.md, "Stock without oversell") and the
    database refuses `held > quota`.
    """

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="tickets")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField(help_text="Whole rupiah.")
    quota = models.PositiveIntegerField()
    held = models.PositiveIntegerField(default=0, editable=False)
    valid_from = models.DateTimeField(help_text="Sale opens.")
    valid_until = models.DateTimeField(help_text="Sale closes.")
    max_per_order = models.PositiveSmallIntegerField(default=5)
    min_per_order = models.PositiveSmallIntegerField(
        default=1, help_text="An order with this phase has at least this many of it (e.g. a pair ticket)."
    )
    max_per_buyer = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Most tickets of this phase one buyer may hold across their pending and paid orders of the "
            "event, matched by email and by phone. Empty: no cap."
        ),
    )
    requires_voucher = models.BooleanField(
        default=False,
        help_text="Hidden phase: shown and sold only with a voucher that lists it (invited guests, speakers).",
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "sort_order", "valid_from", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(held__lte=F("quota")), name="ticket_held_within_quota"),
            models.CheckConstraint(condition=Q(held__gte=0), name="ticket_held_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="ticket_price_not_negative"),
            models.CheckConstraint(condition=Q(max_per_order__gte=1), name="ticket_max_per_order_positive"),
            models.CheckConstraint(
                condition=Q(min_per_order__gte=1, min_per_order__lte=F("max_per_order")),
                name="ticket_min_per_order_within_max",
            ),
            models.CheckConstraint(
                condition=Q(max_per_buyer__isnull=True) | Q(max_per_buyer__gte=1), name="ticket_max_per_buyer_positive"
            ),
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="ticket_sale_window_ordered"),
        ]
        indexes = [models.Index(fields=["is_active", "valid_from", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.event.name} — {self.name}"

    def clean(self):
        # The admin's forms (the phase form and the event's inline) come here: a cancelled
        # event's buyers were refunded, and a phase put back on sale would sell its seats again.
        cancelled = Event.objects.filter(pk=self.event_id, cancelled_at__isnull=False)
        if self.is_active and self.event_id and cancelled.exists():
            raise ValidationError({"is_active": "This event was cancelled: its phases cannot go on sale again."})
        self._refuse_a_sale_after_the_event()

    def _refuse_a_sale_after_the_event(self) -> None:
        """Sales close by the event's end (its start when no end is set): a window left open
        past it would sell seats for an event that is over."""
        event = self.event if self.event_id else None
        if event is None or self.valid_until is None or event.starts_at is None:
            return
        last = event.ends_at or event.starts_at
        if self.valid_until > last:
            # On the event's clock, named (as tickets.event_time writes it; that module reads this one).
            local = timezone.localtime(last, ZoneInfo(event.time_zone)).strftime("%Y-%m-%d %H:%M")
            what = "end" if event.ends_at else "start (it has no end set)"
            raise ValidationError(
                {"valid_until": f"Sales must close by the event's {what}: {local} {event.time_zone_abbreviation}."}
            )

    @property
    def available(self) -> int:
        return max(self.quota - self.held, 0)
