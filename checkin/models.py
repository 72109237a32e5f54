from django.conf import settings
from django.db import models
from django.db.models import Q


class CheckInSource(models.TextChoices):
    DOOR = "door", "Door page"
    API = "api", "API"
    ADMIN = "admin", "Admin"


class CheckIn(models.Model):
    """One admission of one e-ticket, and its undo.

    A ticket gets in once: `current` is True on the admission that counts and NULL once it
    is undone, and (ticket, current) is unique. SQL unique indexes let NULLs repeat, so a
    ticket can have any number of undone admissions but only one current one, on every
    database, and two doors inserting at the same instant cannot both succeed: the second
    insert waits for the first transaction and then fails on the index (checkin/services.py).
    An undone admission stays as the record of what happened (who undid it, when, why).
    """

    ticket = models.ForeignKey("orders.IssuedTicket", on_delete=models.PROTECT, related_name="checkins")
    # The ticket's order, kept here for the order page and the counts without a join.
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="checkins")
    current = models.BooleanField(null=True, default=True, editable=False)
    checked_in_at = models.DateTimeField()
    gate = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, choices=CheckInSource.choices)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "core.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="checkins"
    )
    request_id = models.CharField(max_length=128, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "check-in"
        ordering = ["-checked_in_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "current"], name="checkin_once_per_ticket"),
            # True or NULL, never False: a False would escape the unique index's purpose.
            models.CheckConstraint(
                condition=Q(current=True) | Q(current__isnull=True), name="checkin_current_true_or_null"
            ),
            models.CheckConstraint(
                condition=Q(current=True, undone_at__isnull=True) | Q(current__isnull=True, undone_at__isnull=False),
                name="checkin_undone_is_not_current",
            ),
        ]
        indexes = [models.Index(fields=["order", "current"], name="checkin_order_current")]
        permissions = [("use_door", "Can check attendees in at the door page")]

    def __str__(self) -> str:
        return f"{self.ticket_id} at {self.checked_in_at:%Y-%m-%d %H:%M} ({self.gate or 'no gate'})"

    @property
    def who(self) -> str:
        if self.checked_in_by_id:
            return self.checked_in_by.get_username()
        if self.api_key_id:
            return f"API key {self.api_key.name}"
        return self.get_source_display()
