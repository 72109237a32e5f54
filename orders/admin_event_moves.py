"""“Event moved: new date or venue” in the admin: a form with what buyers will be told
(`move/<event id>/`, reached from the event list's action), then the move's record. Needs
`orders.move_event`.

Times are typed in the event's time zone (WIB, WITA or WIT) after the move: its own, or the
one chosen on the form for a move to a city on another clock."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orders.checkout.event_moves import event_move_preview, event_move_record, move_phases_on_sale_after_start
from tedxpay.core.admin_records import ReadOnlyRecordAdmin, jakarta_time
from tedxpay.core.errors import ApplicationError
from tickets.event_time import Clock, event_time_text
from tickets.models import Event, EventTimeZone

MOVE_EVENT_PERMISSION = "orders.move_event"
_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventMoveForm(forms.Form):
    # Not required: a form sent without it (an older page, a script) keeps the event's zone.
    time_zone = forms.TypedChoiceField(
        label="Time zone",
        choices=EventTimeZone.choices,
        required=False,
        empty_value=None,
        help_text="The times below are on this clock. Choose another for a move to a city on another "
        "one (Jakarta to Bali: WITA).",
    )
    starts_at = forms.DateTimeField(label="New start", widget=_MOMENT)
    ends_at = forms.DateTimeField(label="New end", required=False, widget=_MOMENT)
    venue = forms.CharField(label="Venue", max_length=300)
    city = forms.CharField(label="City", max_length=100, required=False)
    refunds_until = forms.DateTimeField(
        label="Refunds open until",
        widget=_MOMENT,
        help_text="Until then, a buyer who cannot come cancels their order on its page and gets a full refund.",
    )
    message = forms.CharField(
        label="Message to buyers",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown in the email and on the order page, as written (write it in both languages if needed).",
    )
    confirm = forms.BooleanField(label="Tell every buyer", help_text="One email to the buyer of each paid order.")


def _initial(event: Event) -> dict:
    return {
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "venue": event.venue,
        "city": event.city,
        "time_zone": event.time_zone,
    }


def event_move_view(model_admin, request, event_id: str):
    if not request.user.has_perms([MOVE_EVENT_PERMISSION, "tickets.view_event"]):
        raise PermissionDenied
    event = Event.objects.filter(pk=event_id).first() if event_id.isdigit() else None
    if event is None:
        raise Http404("No such event.")
    # Typed and shown on the event's clock, as everything else about it: the clock chosen on
    # the form when it is sent, so a move to Bali reads its 19:00 as 19:00 WITA.
    zone = request.POST.get("time_zone") if request.method == "POST" else None
    if zone not in EventTimeZone.values:
        zone = event.time_zone
    with timezone.override(ZoneInfo(zone)):
        form = EventMoveForm(request.POST if request.method == "POST" else None, initial=_initial(event))
        if event.cancelled_at is not None:
            form.is_bound = False  # nothing to send: the page says why
        elif form.is_valid():
            data = form.cleaned_data
            try:
                move = event_move_record(
                    event_id=event.pk,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    venue=data["venue"],
                    city=data["city"],
                    time_zone=data["time_zone"],
                    refunds_until=data["refunds_until"],
                    message=data["message"],
                    requested_by=request.user.get_username(),
                )
            except ApplicationError as error:
                for field, message in (error.details or {}).items():
                    form.add_error(field if field in form.fields else None, message)
                if not error.details:
                    form.add_error(None, error.message)
            else:
                model_admin.message_user(
                    request,
                    f"{event.name} moved; {move.paid_orders_told} buyer(s) are being emailed.",
                    messages.SUCCESS,
                )
                _warn_of_sales_after_the_start(model_admin, request, move)
                return HttpResponseRedirect(reverse("admin:orders_eventmove_change", args=[move.pk]))
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"Event moved — {event.name}",
            "opts": model_admin.opts,
            "preview": event_move_preview(event_id=event.pk),
            "now_shown": event_time_text(event.starts_at, event, "Y-m-d H:i"),
            "zone": event.time_zone_abbreviation,
            "form": form,
        }
        response = TemplateResponse(request, "admin/orders/eventmove/start.html", context)
        response.render()  # inside the zone: the form shows its times in it
    return response


def _warn_of_sales_after_the_start(model_admin, request, move) -> None:
    phases = move_phases_on_sale_after_start(move)
    if not phases:
        return
    model_admin.message_user(
        request,
        format_html(
            "Still on sale after the new start: {}. Change their sale windows if that is not meant.",
            format_html_join(
                ", ",
                '<a href="{}">{}</a> (until {})',
                (
                    (
                        reverse("admin:tickets_ticket_change", args=[phase.pk]),
                        phase.name,
                        event_time_text(phase.valid_until, move.new_clock, "Y-m-d H:i"),
                    )
                    for phase in phases
                ),
            ),
        ),
        messages.WARNING,
    )


class EventMoveAdmin(ReadOnlyRecordAdmin):
    list_display = ["event", "requested", "requested_by", "from_display", "to_display", "refunds_close", "told"]
    readonly_fields = [
        "event",
        "requested_by",
        "requested",
        "from_display",
        "to_display",
        "message",
        "refunds_close",
        "told",
    ]
    fields = readonly_fields

    def has_move_event_permission(self, request) -> bool:
        return request.user.has_perm(MOVE_EVENT_PERMISSION)

    def get_urls(self):
        from django.urls import path

        start = path("move/<str:event_id>/", self.admin_site.admin_view(self.move_view), name="orders_eventmove_start")
        return [start, *super().get_urls()]

    def move_view(self, request, event_id):
        return event_move_view(self, request, event_id)

    @admin.display(description="recorded (WIB)")
    def requested(self, move):
        return jakarta_time(move.requested_at)

    @admin.display(description="from")
    def from_display(self, move):
        return _where_and_when(move.old_clock, move.old_starts_at, move.old_venue, move.old_city)

    @admin.display(description="to")
    def to_display(self, move):
        return _where_and_when(move.new_clock, move.new_starts_at, move.new_venue, move.new_city)

    @admin.display(description="refunds open until")
    def refunds_close(self, move):
        return _where_and_when(move.new_clock, move.refunds_until, "", "")

    @admin.display(description="buyers told")
    def told(self, move):
        return move.paid_orders_told


def _where_and_when(clock: Clock, moment, venue: str, city: str) -> str:
    when = event_time_text(moment, clock, "Y-m-d H:i")  # "2027-03-06 09:00 WIB"
    return " · ".join(part for part in (when, venue, city) if part)
