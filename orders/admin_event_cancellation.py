"""“Cancel event and refund everyone” in the admin: a dry-run summary and a confirmation
(`start/<event id>/`, reached from the event list's action), then the cancellation's own
page with its progress and a "Resume" action. Needs `orders.cancel_event`."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from orders.checkout.event_cancellation import (
    event_cancellation_preview,
    event_cancellation_progress,
    event_cancellation_start,
    event_cancellations_resume,
)
from orders.models import EventCancellation, EventCancellationStatus
from tedxpay.core.admin_records import ReadOnlyRecordAdmin, jakarta_time, rupiah
from tedxpay.core.errors import ApplicationError
from tickets.models import Event

CANCEL_EVENT_PERMISSION = "orders.cancel_event"


class EventCancelForm(forms.Form):
    note = forms.CharField(
        label="Why",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Goes into every order's audit trail, e.g. “Venue flooded; no new date”.",
    )
    confirm = forms.BooleanField(
        label="I understand",
        help_text="Every paid order is cancelled (e-tickets void) and refunded; pending orders are cancelled.",
    )


def event_cancellation_start_view(model_admin, request, event_id: str):
    if not request.user.has_perms([CANCEL_EVENT_PERMISSION, "tickets.view_event"]):
        raise PermissionDenied
    event = Event.objects.filter(pk=event_id).first() if event_id.isdigit() else None
    if event is None:
        raise Http404("No such event.")
    existing = EventCancellation.objects.filter(event=event).first()
    if existing is not None:
        return HttpResponseRedirect(reverse("admin:orders_eventcancellation_change", args=[existing.pk]))
    form = EventCancelForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            cancellation = event_cancellation_start(
                event_id=event.pk, requested_by=request.user.get_username(), note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            model_admin.message_user(
                request, f"{event.name}: cancelling and refunding every order; progress below.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:orders_eventcancellation_change", args=[cancellation.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Cancel event and refund everyone — {event.name}",
        "opts": model_admin.opts,
        "preview": event_cancellation_preview(event_id=event.pk),
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/eventcancellation/start.html", context)


@admin.action(description="Resume (start again where it stopped)", permissions=["cancel_event"])
def resume_cancellations(model_admin, request, queryset):
    queryset.filter(status=EventCancellationStatus.RUNNING).update(heartbeat_at=None)
    count = event_cancellations_resume()
    model_admin.message_user(request, f"{count} cancellation(s) queued again.", messages.SUCCESS)


class EventCancellationAdmin(ReadOnlyRecordAdmin):
    list_display = ["event", "status", "requested_by", "requested", "paid_orders_at_start", "paid_left", "finished"]
    readonly_fields = [
        "event",
        "status",
        "note",
        "requested_by",
        "requested",
        "paid_orders_at_start",
        "paid_left",
        "pending_left",
        "refunds_display",
        "refunded_display",
        "runs",
        "heartbeat",
        "finished",
        "last_error",
    ]
    fields = readonly_fields
    actions = [resume_cancellations]

    def has_cancel_event_permission(self, request) -> bool:
        return request.user.has_perm(CANCEL_EVENT_PERMISSION)

    def get_urls(self):
        from django.urls import path

        start = path(
            "start/<str:event_id>/",
            self.admin_site.admin_view(self.start_view),
            name="orders_eventcancellation_start",
        )
        return [start, *super().get_urls()]

    def start_view(self, request, event_id):
        return event_cancellation_start_view(self, request, event_id)

    def _progress(self, cancellation):
        if not hasattr(cancellation, "_progress_cache"):
            cancellation._progress_cache = event_cancellation_progress(cancellation=cancellation)
        return cancellation._progress_cache

    @admin.display(description="requested (WIB)")
    def requested(self, cancellation):
        return jakarta_time(cancellation.requested_at)

    @admin.display(description="paid orders left")
    def paid_left(self, cancellation):
        return self._progress(cancellation)["paid_left"]

    @admin.display(description="pending orders left")
    def pending_left(self, cancellation):
        return self._progress(cancellation)["pending_left"]

    @admin.display(description="refunds")
    def refunds_display(self, cancellation):
        counts = self._progress(cancellation)["refunds"]
        return format_html(
            '<span id="refund-counts">{}</span>',
            format_html_join(", ", "{}: {}", ((label, n) for label, n in counts.items())),
        )

    @admin.display(description="refunded so far")
    def refunded_display(self, cancellation):
        return rupiah(self._progress(cancellation)["refunded_amount"])

    @admin.display(description="last sign of life (WIB)")
    def heartbeat(self, cancellation):
        return jakarta_time(cancellation.heartbeat_at)

    @admin.display(description="finished (WIB)")
    def finished(self, cancellation):
        return jakarta_time(cancellation.finished_at)
