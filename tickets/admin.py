from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.validators import MinValueValidator
from django.db import router, transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from orders.checkout.event_moves import event_paid_orders
from tedxpay.core.admin_records import jakarta_time, rupiah
from tedxpay.core.money import format_thousands
from tickets.event_time import event_time_text
from tickets.models import Event, EventTimeZone, Ticket
from tickets.services import ticket_quota_set

# Never written from the form: `held` moves only through the stock services, and `quota`
# is set by ticket_quota_set during validation. A plain save() writes every column, so it
# would put back the `held` read when the form was built and undo reservations made since.
_NOT_SAVED_FROM_FORM = frozenset({"held", "quota"})

# More seats than any venue has: a quota above it is a slip of the keyboard (extra zeros).
# It also keeps the quota well inside its column before ticket_quota_set runs it in SQL.
MAX_QUOTA = 1_000_000


def at_least(field: forms.IntegerField, least: int, message: str) -> None:
    """Refuse a number below `least` on its field, in words. Without it a 0 reaches the
    database rule and comes back as "Constraint “ticket_max_per_order_positive” is violated."
    above the form, and a negative as "greater than or equal to 0", as if 0 were fine."""
    field.validators = [v for v in field.validators if not isinstance(v, MinValueValidator)]
    field.validators.append(MinValueValidator(least, message=message))
    field.min_value = field.widget.attrs["min"] = least


class TicketForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = [
            "event",
            "name",
            "description",
            "price",
            "quota",
            "valid_from",
            "valid_until",
            "max_per_order",
            "min_per_order",
            "max_per_buyer",
            "requires_voucher",
            "is_active",
            "sort_order",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model's CheckConstraints, said on the field they concern.
        limits = [
            ("max_per_order", 1, "At least 1: an order of this phase has at least one ticket."),
            ("min_per_order", 0, "At least 1, or empty for 1."),  # 0 is taken as 1 (clean_min_per_order)
            ("max_per_buyer", 1, "At least 1, or empty for no cap."),
        ]
        for name, least, message in limits:
            if name in self.fields:
                at_least(self.fields[name], least, message)
        if "min_per_order" in self.fields:
            self.fields["min_per_order"].required = False  # empty: 1, as for every phase so far

    def clean_price(self):
        price = self.cleaned_data.get("price")
        # Xendit has no channel for a few rupiah: the order could never be paid (settings.MINIMUM_CHARGE).
        if price and price < settings.MINIMUM_CHARGE:
            raise forms.ValidationError(
                f"0 for a free ticket, or at least {rupiah(settings.MINIMUM_CHARGE)}: no payment channel takes less."
            )
        # Nor for more than MAXIMUM_CHARGE: not even one ticket could be paid.
        if price and price > settings.MAXIMUM_CHARGE:
            raise forms.ValidationError(f"At most {rupiah(settings.MAXIMUM_CHARGE)}: no payment channel takes more.")
        return price

    def clean_quota(self):
        quota = self.cleaned_data.get("quota")
        if quota and quota > MAX_QUOTA:
            raise forms.ValidationError(f"At most {format_thousands(MAX_QUOTA)} seats.")
        return quota

    def clean_min_per_order(self):
        return self.cleaned_data.get("min_per_order") or 1

    def clean(self):
        cleaned = super().clean()
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        most, least = cleaned.get("max_per_order"), cleaned.get("min_per_order")
        if most and least and least > most:
            self.add_error("min_per_order", "The minimum per order cannot be above the maximum per order.")
        if valid_from and valid_until and valid_until <= valid_from:
            self.add_error("valid_until", "The sale must close after it opens (after “Sale opens”).")
        quota = cleaned.get("quota")
        quota_changed = self.instance.pk and "quota" in self.changed_data and quota is not None
        # The conditional UPDATE is the check: a read of `held` here could be stale by the
        # time a save ran. Done during validation so that a refusal is a form error; the
        # admin rolls the whole request back when the page comes back with errors.
        if quota_changed and not self.errors and not ticket_quota_set(ticket_id=self.instance.pk, quota=quota):
            held = Ticket.objects.values_list("held", flat=True).get(pk=self.instance.pk)
            self.add_error(
                "quota",
                f"{held} seats of this phase are held by pending or paid orders right now; "
                f"the quota cannot go below {held}.",
            )
        return cleaned

    def save(self, commit=True):
        ticket = super().save(commit=False)
        if commit:
            self.save_ticket()
        return ticket

    def save_ticket(self) -> Ticket:
        ticket = self.instance
        if ticket.pk is None:
            ticket.save()  # new: held starts at 0, nothing to overwrite
            return ticket
        fields = [name for name in self.changed_data if name not in _NOT_SAVED_FROM_FORM]
        if fields:
            ticket.save(update_fields=[*fields, "updated_at"])
        return ticket


class RollbackInvalidFormMixin:
    """When a POST comes back as the form with errors, undo whatever validation wrote
    (ticket_quota_set runs in TicketForm.clean): nothing is half-saved."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            context = getattr(response, "context_data", None) or {}
            if request.method == "POST" and context.get("errors"):
                transaction.set_rollback(True)
        return response


class TicketInline(admin.TabularInline):
    model = Ticket
    form = TicketForm
    extra = 0
    fields = [
        "name",
        "price",
        "quota",
        "held",
        "available",
        "valid_from",
        "valid_until",
        "max_per_order",
        "min_per_order",
        "max_per_buyer",
        "requires_voucher",
        "is_active",
        "sort_order",
    ]
    readonly_fields = ["held", "available"]
    verbose_name = "ticket phase"
    verbose_name_plural = "ticket phases (price in whole rupiah; sale window in the event's time zone)"

    class Media:
        css = {"all": ["admin_tedxpay/ticket_phases.css"]}

    @admin.display(description="available")
    def available(self, ticket):
        return ticket.available if ticket.pk else "—"


@admin.action(description="Cancel event and refund everyone… (dry run first)", permissions=["cancel_event"])
def cancel_event(model_admin, request, queryset):
    # The dry run and the confirmation live with the orders (orders/admin_event_cancellation.py).
    events = list(queryset.order_by("pk")[:2])
    if len(events) != 1:
        model_admin.message_user(request, "Select exactly one event to cancel.", messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:orders_eventcancellation_start", args=[events[0].pk]))


@admin.action(description="Event moved: new date or venue, tell every buyer…", permissions=["move_event"])
def move_event(model_admin, request, queryset):
    # The form and the emails live with the orders (orders/admin_event_moves.py).
    events = list(queryset.order_by("pk")[:2])
    if len(events) != 1:
        model_admin.message_user(request, "Select exactly one event to move.", messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:orders_eventmove_start", args=[events[0].pk]))


def _in_zone(zone: str | None, change_form):
    """The change form's response, its times shown and read in `zone` (WIB when unknown)."""
    if zone not in EventTimeZone.values:
        zone = EventTimeZone.WIB
    with timezone.override(ZoneInfo(zone)):
        response = change_form()
        if hasattr(response, "render") and not response.is_rendered:
            response.render()  # inside the zone: the form shows its times in it
    return response


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = [
            "name",
            "slug",
            "venue",
            "city",
            "description",
            "starts_at",
            "ends_at",
            "time_zone",
            "ask_attendee_names",
        ]

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        # The confirmation's calendar entry (DTEND) and the door's choice of today's event read the end.
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The event must end after it starts.")
        self._refuse_a_silent_move(cleaned)
        return cleaned

    def _refuse_a_silent_move(self, cleaned: dict) -> None:
        """A new date or venue for an event people have paid for goes through “Event moved”,
        which emails every buyer and lets those who cannot come cancel for a full refund.
        Typed here, it would change their tickets and calendar entries with no word to them.
        (Before the form is saved, `self.instance` still holds the stored values.)"""
        if self.instance.pk is None:
            return
        moved = [
            name
            for name in EVENT_MOVE_FIELDS
            if name in cleaned  # a field refused already is not a change (nor said twice)
            and _differs(getattr(self.instance, name), cleaned[name])
        ]
        if not moved:
            return
        paid = event_paid_orders(event_id=self.instance.pk)
        if not paid:
            return
        for name in moved:
            self.add_error(name, "Paid buyers hold tickets for this; see above.")
        self.add_error(
            None,
            format_html(
                "{} paid order(s) for this event. A new date or venue must reach them: "
                'use <a href="{}">Event moved</a>, which emails every buyer and lets those who cannot '
                "come cancel for a full refund. The other fields can be saved here on their own.",
                format_thousands(paid),
                reverse("admin:orders_eventmove_start", args=[self.instance.pk]),
            ),
        )


# What “Event moved” changes (orders/checkout/event_moves.py), and so what the event's own
# form may not change once tickets are paid for.
EVENT_MOVE_FIELDS = ("starts_at", "ends_at", "venue", "city", "time_zone")


def _differs(stored, typed) -> bool:
    if isinstance(stored, str) or isinstance(typed, str):
        return (stored or "").strip() != (typed or "").strip()
    if stored is None or typed is None:
        return stored is not typed
    return stored.replace(microsecond=0) != typed.replace(microsecond=0)  # the form shows whole seconds


@admin.register(Event)
class EventAdmin(RollbackInvalidFormMixin, admin.ModelAdmin):
    form = EventForm
    list_display = ["name", "starts", "venue", "city", "phases", "cancelled"]
    actions = [move_event, cancel_event]
    search_fields = ["name", "slug", "venue"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TicketInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(phase_count=Count("tickets"))

    def has_cancel_event_permission(self, request) -> bool:
        return request.user.has_perm("orders.cancel_event")

    def has_move_event_permission(self, request) -> bool:
        return request.user.has_perm("orders.move_event")

    @admin.display(description="starts (event's time zone)", ordering="starts_at")
    def starts(self, event):
        return event_time_text(event.starts_at, event, "Y-m-d H:i")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The event's times (and its phases' sale windows) are shown and typed in the
        # event's own zone: 19:00 for a Bali event means 19:00 WITA. On a save the zone
        # just chosen in the form counts, so changing zone and times at once is coherent.
        zone = request.POST.get("time_zone") if request.method == "POST" else None
        if zone not in EventTimeZone.values and object_id is not None:
            zone = Event.objects.filter(pk=object_id).values_list("time_zone", flat=True).first()
        return _in_zone(
            zone, lambda: super(EventAdmin, self).changeform_view(request, object_id, form_url, extra_context)
        )

    @admin.display(description="cancelled", ordering="cancelled_at")
    def cancelled(self, event):
        return jakarta_time(event.cancelled_at) if event.cancelled_at else "—"

    @admin.display(description="ticket phases", ordering="phase_count")
    def phases(self, event):
        return event.phase_count

    def save_formset(self, request, form, formset, change):
        if formset.model is not Ticket:
            return super().save_formset(request, form, formset, change)
        # formset.save() calls TicketForm.save() per changed form: update_fields only.
        return formset.save()


@admin.register(Ticket)
class TicketAdmin(RollbackInvalidFormMixin, admin.ModelAdmin):
    form = TicketForm
    list_display = [
        "name",
        "event",
        "price_display",
        "quota",
        "held",
        "available",
        "sale_opens",
        "sale_closes",
        "max_per_buyer",
        "requires_voucher",
        "is_active",
    ]
    list_filter = ["event", "is_active", "requires_voucher"]
    list_select_related = ["event"]
    search_fields = ["name", "event__name"]
    readonly_fields = ["held", "available", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        form.save_ticket()

    @admin.display(description="price", ordering="price")
    def price_display(self, ticket):
        return rupiah(ticket.price)

    @admin.display(description="available")
    def available(self, ticket):
        return ticket.available if ticket.pk else "—"

    @admin.display(description="sale opens (event's time zone)", ordering="valid_from")
    def sale_opens(self, ticket):
        return event_time_text(ticket.valid_from, ticket.event, "Y-m-d H:i") or "—"

    @admin.display(description="sale closes (event's time zone)", ordering="valid_until")
    def sale_closes(self, ticket):
        return event_time_text(ticket.valid_until, ticket.event, "Y-m-d H:i") or "—"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A phase's sale window is typed and shown in its event's zone, as in the phases on
        # the event's own page: the event chosen in the form on a save, else the phase's.
        event_id = request.POST.get("event") if request.method == "POST" else request.GET.get("event")
        events = Event.objects.filter(pk=event_id) if str(event_id or "").isdigit() else Event.objects.none()
        if not events and object_id is not None and str(object_id).isdigit():
            events = Event.objects.filter(tickets__pk=object_id)
        zone = events.values_list("time_zone", flat=True).first()
        return _in_zone(
            zone, lambda: super(TicketAdmin, self).changeform_view(request, object_id, form_url, extra_context)
        )
