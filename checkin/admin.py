"""Check-ins in the back office: every admission and undo, the undo action (with a reason),
and the attendee CSV. The order page shows its tickets' check-ins (orders/admin.py)."""

from collections.abc import Iterator

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from checkin.models import CheckIn, CheckInSource
from checkin.services import MAX_UNDO_REASON_LENGTH, checkin_undo
from orders.ticket_codes import short_code_normalize
from tedxpay.core.admin_records import (
    ActionReport,
    ReadOnlyInline,
    ReadOnlyRecordAdmin,
    Tone,
    csv_download,
    jakarta_time,
    run_per_row,
    spreadsheet_safe,
    status_badge,
)
from tickets.event_time import event_csv_time, event_time_text


def checkin_state_badge(checkin: CheckIn):
    if checkin.current:
        return status_badge("Checked in", Tone.GOOD)
    return status_badge("Undone", Tone.CLOSED)


def door_time(checkin: CheckIn, event) -> str:
    """When the door admitted them, on the event's clock: "2026-11-28 10:02 WITA"."""
    return event_time_text(checkin.checked_in_at, event, "Y-m-d H:i")


def checkin_summary(checkin: CheckIn | None, event) -> str:
    """ "2026-11-28 09:02 WIB, Gate B, by gate-b-1" for a current check-in (the event's
    clock and zone); "—" for none."""
    if checkin is None:
        return "—"
    parts = [door_time(checkin, event)]
    if checkin.gate:
        parts.append(checkin.gate)
    parts.append(f"by {checkin.who}")
    return ", ".join(parts)


def undone_summary(checkin: CheckIn) -> str:
    if checkin.current:
        return "—"
    who = checkin.undone_by.get_username() if checkin.undone_by else "?"
    return f"{jakarta_time(checkin.undone_at)} by {who}: {checkin.undo_reason}"


class CheckInInline(ReadOnlyInline):
    """On the order page: every admission of its tickets, undone ones included."""

    model = CheckIn
    fk_name = "order"
    fields = ["ticket_code", "state", "when", "gate", "source", "who", "undone"]
    readonly_fields = fields
    verbose_name_plural = "check-ins"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("ticket", "order__event", "checked_in_by", "api_key", "undone_by")
        )

    @admin.display(description="ticket")
    def ticket_code(self, checkin):
        return checkin.ticket.short_code_display

    @admin.display(description="state")
    def state(self, checkin):
        return checkin_state_badge(checkin)

    @admin.display(description="checked in (event's time zone)")
    def when(self, checkin):
        return door_time(checkin, checkin.order.event)

    @admin.display(description="undone")
    def undone(self, checkin):
        return undone_summary(checkin)


class CheckinUndoForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=MAX_UNDO_REASON_LENGTH,
        help_text="Why, e.g. “scanned the wrong ticket”. It goes into the order's audit trail with your name.",
    )


@admin.action(description="Undo selected check-ins…", permissions=["operate"])
def undo_checkins(model_admin, request, queryset):
    checkins = list(queryset.filter(current=True).select_related("ticket", "order").order_by("pk"))
    if not checkins:
        model_admin.message_user(request, "None of the selected check-ins is current.", messages.WARNING)
        return None
    form = CheckinUndoForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        report = ActionReport("Undone")

        def undo(checkin: CheckIn) -> None:
            checkin_undo(
                checkin_id=checkin.pk, reason=form.cleaned_data["reason"], user=request.user, source=CheckInSource.ADMIN
            )
            report.ok(checkin.ticket.short_code_display)

        run_per_row(report, checkins, lambda c: c.ticket.short_code_display, undo).send(model_admin, request)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Undo check-ins",
        "opts": model_admin.opts,
        "checkins": checkins,
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": [checkin.pk for checkin in checkins],
    }
    return TemplateResponse(request, "admin/checkin/checkin/undo.html", context)


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyRecordAdmin):
    list_display = ["ticket_code", "attendee", "ticket_type", "order_link", "state", "when", "gate", "source", "who"]
    list_filter = ["current", "source", "order__event", "gate"]
    list_select_related = ["ticket__ticket", "ticket__order__buyer", "order__event", "checked_in_by", "api_key"]
    search_fields = ["ticket__short_code", "order__code", "ticket__attendee_name", "order__buyer__full_name", "gate"]
    search_help_text = "Short code (K7Q2-M9XD-4F, any case), order code, attendee or buyer name, or gate."
    actions = [undo_checkins]
    fields = [
        ("ticket_code", "state"),
        ("attendee", "ticket_type", "order_link"),
        ("when", "gate", "source", "who"),
        "request_id",
        "undone",
    ]
    readonly_fields = [
        "ticket_code",
        "state",
        "attendee",
        "ticket_type",
        "order_link",
        "when",
        "gate",
        "source",
        "who",
        "request_id",
        "undone",
    ]

    def get_search_results(self, request, queryset, search_term):
        short_code = short_code_normalize(search_term)
        if short_code:
            return queryset.filter(ticket__short_code=short_code), False
        return super().get_search_results(request, queryset, search_term)

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("checkin.change_checkin")

    @admin.display(description="ticket", ordering="ticket__short_code")
    def ticket_code(self, checkin):
        return checkin.ticket.short_code_display

    @admin.display(description="attendee")
    def attendee(self, checkin):
        return checkin.ticket.holder_name

    @admin.display(description="ticket type")
    def ticket_type(self, checkin):
        return checkin.ticket.ticket.name

    @admin.display(description="order", ordering="order__code")
    def order_link(self, checkin):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[checkin.order_id]), checkin.order.code
        )

    @admin.display(description="state", ordering="current")
    def state(self, checkin):
        return checkin_state_badge(checkin)

    @admin.display(description="checked in (event's time zone)", ordering="checked_in_at")
    def when(self, checkin):
        return door_time(checkin, checkin.order.event)

    @admin.display(description="undone")
    def undone(self, checkin):
        return undone_summary(checkin)


# --- the attendee CSV (an action on the e-tickets list) ------------------------------------

ATTENDEE_CSV_HEADER = [
    "event",
    "attendee",
    "ticket type",
    "short code",
    "order",
    "order status",
    "checked in (event's time)",
    "event time zone",
    "gate",
    "checked in by",
]


def attendee_csv_rows(queryset) -> Iterator[list[str]]:
    # prefetch_related(None) first: the changelist's queryset may carry the same prefetch.
    tickets = (
        queryset.select_related("order__buyer", "order__event", "ticket")
        .prefetch_related(None)
        .prefetch_related(current_checkins_prefetch())
    )
    for issued in tickets.order_by("order__event_id", "pk").iterator(chunk_size=500):
        checkin = issued.current_checkins[0] if issued.current_checkins else None
        # Every cell someone typed is spreadsheet_safe: names (buyer, attendee, event,
        # phase), the gate (free text from the door page and POST /api/checkins) and the
        # username. Codes, statuses, times and zones are ours.
        yield [
            spreadsheet_safe(issued.order.event.name),
            spreadsheet_safe(issued.holder_name),
            spreadsheet_safe(issued.ticket.name),
            issued.short_code_display,
            issued.order.code,
            issued.order.status,
            # The door's own clock: a Bali event's check-ins in WITA.
            event_csv_time(checkin.checked_in_at, issued.order.event) if checkin else "",
            issued.order.event.time_zone_abbreviation,
            spreadsheet_safe(checkin.gate) if checkin else "",
            spreadsheet_safe(checkin.who) if checkin else "",
        ]


def current_checkins_prefetch() -> Prefetch:
    return Prefetch(
        "checkins",
        queryset=CheckIn.objects.filter(current=True).select_related("checked_in_by", "api_key"),
        to_attr="current_checkins",
    )


# Attendees' names beside the short codes that admit them at the door: personal data, for
# those who may export it (the admin's has_export_permission).
@admin.action(description="Export attendees with check-in times (CSV)", permissions=["export"])
def export_attendees_csv(model_admin, request, queryset):
    return csv_download(name="attendees", header=ATTENDEE_CSV_HEADER, rows=attendee_csv_rows(queryset))


class CheckedInFilter(admin.SimpleListFilter):
    title = "checked in"
    parameter_name = "checked_in"

    def lookups(self, request, model_admin):
        return [("yes", "Checked in"), ("no", "Not checked in")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(checkins__current=True)
        if self.value() == "no":
            return queryset.exclude(checkins__current=True)
        return queryset
