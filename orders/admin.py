import re

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from checkin.admin import (
    CheckedInFilter,
    CheckInInline,
    checkin_summary,
    current_checkins_prefetch,
    export_attendees_csv,
)
from notifications.admin import notification_copy_label, notification_status_badge
from notifications.models import Notification
from orders.admin_actions import (
    buyer_contact_view,
    cancel_orders,
    export_csv,
    resend_confirmation,
    resolve_attention,
    sync_with_xendit,
)
from orders.admin_attendees import RENAME_PERMISSION, attendee_name_view
from orders.admin_comps import comps_issue_view
from orders.admin_event_cancellation import EventCancellationAdmin
from orders.admin_event_moves import EventMoveAdmin
from orders.admin_refunds import cancel_refund_view, manual_refund_done_view, refund_owed_view
from orders.dashboard import CHART_BAR_WIDTH, CHART_HEIGHT, sales_overview
from orders.holds_admin import HoldingSeatsFilter, holders_now, search_by_client_address
from orders.models import (
    AttentionReason,
    Buyer,
    EventCancellation,
    EventMove,
    IssuedTicket,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    needs_attention_q,
)
from orders.ticket_codes import short_code_normalize
from payments.admin import payment_status_badge
from payments.admin_actions import refund_record_view
from payments.channel_names import channel_name
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tedxpay.core.admin_records import (
    ReadOnlyInline,
    ReadOnlyInlineMixin,
    ReadOnlyRecordAdmin,
    Tone,
    jakarta_time,
    jakarta_time_short,
    rupiah,
    status_badge,
)

# For the list column; the full reason and the note are in its tooltip and on the page.
_ATTENTION_SHORT = {
    AttentionReason.AMOUNT_MISMATCH: "amount",
    AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK: "refund",
    AttentionReason.PAID_AFTER_CANCEL: "refund",
}

_ORDER_TONES = {
    OrderStatus.PAID: Tone.GOOD,
    OrderStatus.PENDING: Tone.WAITING,
    OrderStatus.EXPIRED: Tone.CLOSED,
    OrderStatus.CANCELLED: Tone.ALERT,
}


def order_status_badge(order: Order, label: str | None = None):
    return status_badge(label or order.get_status_display(), _ORDER_TONES.get(order.status, Tone.NEUTRAL))


# 0812…, 62812…, +62 812-3456…: what finance types when a buyer calls.
_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9\s\-().]{6,}$")


class PaymentChannelFilter(admin.SimpleListFilter):
    title = "payment channel"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        channels = Payment.objects.exclude(channel="").values_list("channel", flat=True).distinct().order_by("channel")
        return [(channel, channel) for channel in channels]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(payment__channel=self.value())
        return queryset


# --- detail page inlines (all read-only) -------------------------------------------------


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ["ticket_name", "quantity", "unit_price_display", "subtotal_display"]
    readonly_fields = fields
    verbose_name_plural = "items"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ticket")

    @admin.display(description="ticket")
    def ticket_name(self, item):
        return item.ticket.name

    @admin.display(description="unit price")
    def unit_price_display(self, item):
        return rupiah(item.unit_price)

    @admin.display(description="subtotal")
    def subtotal_display(self, item):
        return rupiah(item.subtotal)


class PaymentInline(ReadOnlyInlineMixin, admin.StackedInline):
    model = Payment
    fields = [
        ("status_display", "gateway_status"),
        ("amount_display", "paid_amount_display", "refunded_display"),
        ("method", "channel"),
        ("paid_at_display", "last_synced_display"),
        ("invoice_id", "invoice_link"),
    ]
    readonly_fields = [
        "status_display",
        "gateway_status",
        "amount_display",
        "paid_amount_display",
        "refunded_display",
        "method",
        "channel",
        "paid_at_display",
        "last_synced_display",
        "invoice_id",
        "invoice_link",
    ]
    show_change_link = True

    @admin.display(description="status")
    def status_display(self, payment):
        return payment_status_badge(payment)

    @admin.display(description="amount")
    def amount_display(self, payment):
        return rupiah(payment.amount)

    @admin.display(description="paid amount")
    def paid_amount_display(self, payment):
        return rupiah(payment.paid_amount)

    @admin.display(description="refunded (recorded)")
    def refunded_display(self, payment):
        if not payment.refunded_amount:
            return "—"
        return f"{rupiah(payment.refunded_amount)} (last recorded {jakarta_time(payment.refunded_at)})"

    @admin.display(description="paid at")
    def paid_at_display(self, payment):
        return jakarta_time(payment.paid_at)

    @admin.display(description="last synced with Xendit")
    def last_synced_display(self, payment):
        return jakarta_time(payment.last_synced_at)

    @admin.display(description="invoice page")
    def invoice_link(self, payment):
        if not payment.invoice_url:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">open at Xendit</a>', payment.invoice_url)


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = ["reference", "amount_display", "status_display", "reason", "gateway_refund_id", "requested", "completed"]
    readonly_fields = fields
    verbose_name_plural = "refunds"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("requested_at", "pk")

    @admin.display(description="amount")
    def amount_display(self, refund):
        return rupiah(refund.amount)

    @admin.display(description="status")
    def status_display(self, refund):
        tone = {
            RefundStatus.SUCCEEDED: Tone.GOOD,
            RefundStatus.PENDING: Tone.WAITING,
            RefundStatus.REQUESTED: Tone.WAITING,
            RefundStatus.MANUAL: Tone.ALERT,
            RefundStatus.FAILED: Tone.CLOSED,
        }.get(refund.status, Tone.NEUTRAL)
        badge = status_badge(refund.get_status_display(), tone)
        if refund.status == RefundStatus.MANUAL:
            url = reverse("admin:orders_order_manual_refund_done", args=[refund.order_id, refund.pk])
            return format_html('{} <a href="{}" class="manual-refund-done">mark transferred…</a>', badge, url)
        if refund.status == RefundStatus.FAILED:
            return format_html("{} {}", badge, refund.failure_code)
        return badge

    @admin.display(description="asked")
    def requested(self, refund):
        return f"{jakarta_time(refund.requested_at)} by {refund.requested_by}"

    @admin.display(description="done")
    def completed(self, refund):
        if refund.status != RefundStatus.SUCCEEDED:
            return "—"
        via = f", transfer {refund.transfer_reference}" if refund.transfer_reference else ""
        return f"{jakarta_time(refund.completed_at)} by {refund.completed_by}{via}"


class IssuedTicketColumns:
    """What the e-ticket list and the order page's e-tickets both show: the short code,
    who the seat is for, and its check-in."""

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("ticket", "order__buyer", "order__event")
            .prefetch_related(current_checkins_prefetch())
        )

    @admin.display(description="short code", ordering="short_code")
    def short_code_display(self, issued):
        return issued.short_code_display

    @admin.display(description="attendee")
    def attendee(self, issued):
        return issued.holder_name

    @admin.display(description="checked in (event's time zone)")
    def checked_in(self, issued):
        return checkin_summary(issued.current_checkins[0] if issued.current_checkins else None, issued.order.event)


class IssuedTicketInline(IssuedTicketColumns, ReadOnlyInline):
    model = IssuedTicket
    fields = [
        "short_code_display",
        "attendee",
        "ticket_name",
        "seat_number",
        "created_display",
        "void_display",
        "checked_in",
    ]
    readonly_fields = fields
    verbose_name_plural = "e-tickets"

    @admin.display(description="ticket")
    def ticket_name(self, issued):
        return issued.ticket.name

    @admin.display(description="issued")
    def created_display(self, issued):
        return jakarta_time(issued.created_at)

    @admin.display(description="void")
    def void_display(self, issued):
        return f"VOID since {jakarta_time(issued.voided_at)}" if issued.voided_at else "valid"


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["kind", "copy_display", "status_display", "to_email", "attempts", "sent_display", "last_error"]
    readonly_fields = fields
    verbose_name_plural = "emails"

    @admin.display(description="copy")
    def copy_display(self, notification):
        return notification_copy_label(notification)

    @admin.display(description="status")
    def status_display(self, notification):
        return notification_status_badge(notification)

    @admin.display(description="sent")
    def sent_display(self, notification):
        return jakarta_time(notification.sent_at)


class OrderEventInline(ReadOnlyInline):
    """The audit trail, oldest first so it reads as a story (newest last)."""

    model = OrderEvent
    fields = ["created_display", "subject", "transition", "source", "note", "request_id"]
    readonly_fields = fields
    verbose_name_plural = "audit trail"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("created_at", "pk")

    @admin.display(description="when")
    def created_display(self, event):
        return jakarta_time(event.created_at)

    @admin.display(description="change")
    def transition(self, event):
        return f"{event.from_status or '∅'} → {event.to_status}"


# --- orders --------------------------------------------------------------------------------


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Orders with an attention reason (`Order.needs_attention` is derived from it). The
    parameter keeps the name of a plain boolean filter, so links to it read as before."""

    title = "needs attention"
    parameter_name = "needs_attention__exact"

    def lookups(self, request, model_admin):
        return [("1", "Yes"), ("0", "No")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(needs_attention_q())
        if self.value() == "0":
            return queryset.exclude(needs_attention_q())
        return queryset


@admin.register(Order)
class OrderAdmin(ReadOnlyRecordAdmin):
    change_list_template = "admin/orders/order/change_list.html"
    list_display = [
        "code",
        "buyer_display",
        "event",
        "status_display",
        "total_display",
        "channel_display",
        "attention_display",
        "created_short",
        "paid_short",
    ]
    list_filter = [
        "status",
        "is_comp",
        HoldingSeatsFilter,
        NeedsAttentionFilter,
        "attention_reason",
        "event",
        PaymentChannelFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    # The payment is a reverse one-to-one: joined here, so the list is a fixed number of
    # queries whatever the page size.
    list_select_related = ["buyer", "event", "payment"]
    search_fields = ["code", "buyer__email", "buyer__full_name", "buyer__phone", "payment__invoice_id", "api_key__name"]
    search_help_text = (
        "Order code, buyer name, email or phone (0812… works), Xendit invoice id, client address or API key name. "
        "Times are Jakarta time (WIB)."
    )
    # No date_hierarchy: it truncates dates in SQL in the Jakarta zone, which on MySQL needs
    # the server's time zone tables (a stock MariaDB has none: the list would 500). The
    # "created" filter uses plain ranges instead.
    list_per_page = 50
    actions = [cancel_orders, resend_confirmation, sync_with_xendit, resolve_attention, export_csv]
    fieldsets = [
        (
            None,
            {"fields": [("code", "status_display"), "event", ("created_display", "expires_display", "paid_display")]},
        ),
        ("Buyer", {"fields": [("buyer_name", "buyer_email", "buyer_phone"), "language"]}),
        ("Money", {"fields": [("total_display", "currency"), ("discount_display", "voucher_link", "comp_display")]}),
        ("Attention", {"fields": [("attention_flag", "attention_reason"), "attention_note"]}),
        ("Placed by", {"fields": [("client_address", "api_key")]}),
    ]
    readonly_fields = [
        "code",
        "status_display",
        "event",
        "created_display",
        "expires_display",
        "paid_display",
        "buyer_name",
        "buyer_email",
        "buyer_phone",
        "language",
        "total_display",
        "currency",
        "discount_display",
        "voucher_link",
        "comp_display",
        "attention_flag",
        "attention_reason",
        "attention_note",
        "client_address",
        "api_key",
    ]
    inlines = [
        OrderItemInline,
        PaymentInline,
        RefundInline,
        IssuedTicketInline,
        CheckInInline,
        NotificationInline,
        OrderEventInline,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("buyer", "event", "payment", "voucher")

    def has_cancel_permission(self, request) -> bool:
        return self.has_own_permission(request, "cancel_order")

    def has_refund_permission(self, request) -> bool:
        # Record refund is a page of its own, outside the list: it needs the view too.
        return self.has_own_permission(request, "refund_order") and self.has_view_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_own_permission(request, "export_personal_data")

    def has_comps_permission(self, request) -> bool:
        # Tickets given away are revenue given away: a permission of its own.
        return self.has_own_permission(request, "issue_comps") and self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        # The list is wide (nine columns and the filters): give it the sidebar's room.
        context = {"is_nav_sidebar_enabled": False, "may_issue_comps": self.has_comps_permission(request)}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone = _phone_search_form(search_term)
        if phone:
            # `queryset` already carries the sidebar filters; the phone match keeps them.
            found |= queryset.filter(buyer__phone__contains=phone)
        by_address = search_by_client_address(queryset, search_term)
        if by_address is not None:
            found |= by_address
        return found, may_have_duplicates

    # --- columns ---

    @admin.display(description="buyer", ordering="buyer__full_name")
    def buyer_display(self, order):
        return format_html("{}<br><small>{}</small>", order.buyer.full_name, order.buyer.email)

    @admin.display(description="status", ordering="status")
    def status_display(self, order):
        return order_status_badge(order, order.get_status_display())

    @admin.display(description="total", ordering="total")
    def total_display(self, order):
        if order.is_comp:
            return format_html('{} <small title="complimentary ticket">comp</small>', rupiah(order.total))
        if order.discount:
            return format_html(
                '{} <small title="after the voucher\'s discount">−{}</small>',
                rupiah(order.total),
                rupiah(order.discount),
            )
        return rupiah(order.total)

    @admin.display(description="discount")
    def discount_display(self, order):
        return rupiah(order.discount) if order.discount else "—"

    @admin.display(description="voucher")
    def voucher_link(self, order):
        if not order.voucher_id:
            return "—"
        url = reverse("admin:vouchers_voucher_change", args=[order.voucher_id])
        return format_html('<a href="{}">{}</a> ({} use(s))', url, order.voucher.code, order.voucher_uses)

    @admin.display(description="complimentary")
    def comp_display(self, order):
        return "Yes — issued by finance (see the audit trail)" if order.is_comp else "No"

    @admin.display(description="channel", ordering="payment__channel")
    def channel_display(self, order):
        payment = getattr(order, "payment", None)
        # As people know it ("BCA Virtual Account", "OVO"); the CSV export keeps Xendit's code.
        return (channel_name(method=payment.method, channel=payment.channel) or "—") if payment else "—"

    @admin.display(description="attention", ordering="attention_reason")
    def attention_display(self, order):
        if not order.needs_attention:
            return ""
        short = _ATTENTION_SHORT.get(order.attention_reason, order.attention_reason)
        return format_html(
            '<span title="{}: {}" style="color:#a71d2a;font-weight:600;white-space:nowrap">⚠ {}</span>',
            order.get_attention_reason_display(),
            order.attention_note,
            short,
        )

    @admin.display(description="needs attention")
    def attention_flag(self, order):
        if not order.needs_attention:
            return "No"
        return mark_safe('<span style="color:#a71d2a;font-weight:600">⚠ Yes</span>')

    @admin.display(description="created (WIB)", ordering="created_at")
    def created_display(self, order):
        return jakarta_time(order.created_at)

    @admin.display(description="paid (WIB)", ordering="paid_at")
    def paid_display(self, order):
        return jakarta_time(order.paid_at)

    @admin.display(description="created", ordering="created_at")
    def created_short(self, order):
        return jakarta_time_short(order.created_at)

    @admin.display(description="paid", ordering="paid_at")
    def paid_short(self, order):
        return jakarta_time_short(order.paid_at)

    @admin.display(description="expires (WIB)")
    def expires_display(self, order):
        return jakarta_time(order.expires_at)

    @admin.display(description="name")
    def buyer_name(self, order):
        url = reverse("admin:orders_buyer_change", args=[order.buyer_id])
        return format_html('<a href="{}">{}</a>', url, order.buyer.full_name)

    @admin.display(description="email")
    def buyer_email(self, order):
        return order.buyer.email

    @admin.display(description="phone")
    def buyer_phone(self, order):
        return order.buyer.phone

    # --- sales dashboard ---

    def get_urls(self):
        dashboard = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_dashboard",
        )
        buyer_contact = path(
            "<path:object_id>/buyer-contact/",
            self.admin_site.admin_view(self.buyer_contact_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_buyer_contact",
        )
        record_refund = path(
            "<path:object_id>/record-refund/",
            self.admin_site.admin_view(self.record_refund_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_record_refund",
        )
        issue_comps = path(
            "issue-comps/",
            self.admin_site.admin_view(self.issue_comps_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_issue_comps",
        )
        holders = path(
            "holders/",
            self.admin_site.admin_view(self.holders_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_holders",
        )
        cancel_refund = path(
            "<path:object_id>/cancel-refund/",
            self.admin_site.admin_view(self.cancel_refund_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_cancel_refund",
        )
        refund_owed = path(
            "<path:object_id>/refund-owed/",
            self.admin_site.admin_view(self.refund_owed_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_refund_owed",
        )
        manual_done = path(
            "<path:object_id>/refunds/<str:refund_id>/transferred/",
            self.admin_site.admin_view(self.manual_refund_done_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_manual_refund_done",
        )
        # Before the defaults: their catch-all `<path:object_id>/` would take these paths.
        return [
            dashboard,
            holders,
            buyer_contact,
            record_refund,
            cancel_refund,
            refund_owed,
            manual_done,
            issue_comps,
            *super().get_urls(),
        ]

    def cancel_refund_view(self, request, object_id):
        return cancel_refund_view(self, request, object_id)

    def refund_owed_view(self, request, object_id):
        return refund_owed_view(self, request, object_id)

    def manual_refund_done_view(self, request, object_id, refund_id):
        return manual_refund_done_view(self, request, object_id, refund_id)

    def issue_comps_view(self, request):
        return comps_issue_view(self, request)

    def holders_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Who holds seats with unpaid orders",
            "opts": self.opts,
            "holders": holders_now(),
            "changelist_url": reverse("admin:orders_order_changelist"),
            "can_cancel": self.has_cancel_permission(request),
        }
        return TemplateResponse(request, "admin/orders/order/holders.html", context)

    def buyer_contact_view(self, request, object_id):
        return buyer_contact_view(self, request, object_id)

    def record_refund_view(self, request, object_id):
        return refund_record_view(self, request, object_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page is read-only (no change permission); the links to the contact and refund
        # forms ask for the "operate" permission that the actions use.
        may_operate = self.has_operate_permission(request)
        may_refund_orders = self.has_refund_permission(request)
        received = (
            object_id.isdigit()
            and Payment.objects.filter(order_id=object_id, status=PaymentStatus.PAID, paid_amount__gt=0).exists()
        )
        payment = Payment.objects.select_related("order").filter(order_id=object_id).first() if received else None
        refundable = payment.refundable if payment else 0
        owed = payment.refund_outstanding if payment else 0
        extra_context = {
            "can_edit_buyer_contact": may_operate,
            "can_record_refund": may_refund_orders and received,
            "can_cancel_refund": may_refund_orders and refundable > 0,
            "refund_owed": owed if may_refund_orders else 0,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        overview = sales_overview()
        context = {
            **self.admin_site.each_context(request),
            "title": "Sales at a glance",
            "opts": self.opts,
            "overview": overview,
            "chart_height": CHART_HEIGHT,
            "bar_width": CHART_BAR_WIDTH,
            "changelist_url": reverse("admin:orders_order_changelist"),
        }
        return TemplateResponse(request, "admin/orders/sales_dashboard.html", context)


def _phone_search_form(search_term: str) -> str:
    """The stored (E.164, +62…) form of a phone number typed as 0812…, 62812… or +62 812…;
    "" when the term does not look like a phone number."""
    term = search_term.strip()
    if not _PHONE_LIKE.match(term):
        return ""
    digits = re.sub(r"[^0-9]", "", term)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits if digits.startswith("62") else ""


@admin.register(Buyer)
class BuyerAdmin(ReadOnlyRecordAdmin):
    """A snapshot of who bought, one per order: shown, not edited."""

    list_display = ["full_name", "email", "phone", "created_at"]
    search_fields = ["full_name", "email", "phone"]


@admin.register(IssuedTicket)
class IssuedTicketAdmin(IssuedTicketColumns, ReadOnlyRecordAdmin):
    """Every e-ticket: whose seat it is and whether it is in. The door itself is /checkin/."""

    list_display = [
        "short_code_display",
        "attendee",
        "order_link",
        "order_status",
        "validity",
        "ticket_name",
        "seat_number",
        "issued",
        "checked_in",
    ]
    list_select_related = ["order__buyer", "ticket"]
    list_filter = [CheckedInFilter, "order__event", "ticket"]
    search_fields = ["=code", "order__code", "attendee_name", "order__buyer__full_name", "order__buyer__email"]
    search_help_text = (
        "Short code (K7Q2-M9XD-4F, any case), QR code content (exact), order code, attendee or buyer name/email."
    )
    actions = [export_attendees_csv]
    fields = [
        "code",
        "short_code_display",
        "attendee",
        "order_link",
        "order_status",
        "validity",
        "buyer_name",
        "ticket_name",
        "seat_number",
        "issued",
        "checked_in",
    ]
    readonly_fields = fields

    def has_export_permission(self, request) -> bool:
        return self.has_own_permission(request, "export_personal_data")

    def get_urls(self):
        from django.urls import path

        rename = path(
            "<str:object_id>/attendee-name/",
            self.admin_site.admin_view(self.attendee_name_view),
            name="orders_issuedticket_attendee_name",
        )
        return [rename, *super().get_urls()]

    def attendee_name_view(self, request, object_id):
        return attendee_name_view(self, request, object_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read-only page; the name is corrected on a page of its own, through the service.
        may_rename = request.user.has_perm(RENAME_PERMISSION) and object_id.isdigit()
        if may_rename:
            issued = IssuedTicket.objects.select_related("order__event").filter(pk=object_id).first()
            may_rename = issued is not None and issued.order.event.ask_attendee_names
        extra_context = {"can_rename_attendee": may_rename, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        short_code = short_code_normalize(search_term)
        if short_code:
            return queryset.filter(short_code=short_code), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="order", ordering="order__code")
    def order_link(self, issued):
        url = reverse("admin:orders_order_change", args=[issued.order_id])
        return format_html('<a href="{}">{}</a>', url, issued.order.code)

    @admin.display(description="order status")
    def order_status(self, issued):
        return order_status_badge(issued.order)

    @admin.display(description="valid at the door")
    def validity(self, issued):
        if issued.voided_at:
            return status_badge(f"VOID since {jakarta_time(issued.voided_at)}", Tone.ALERT)
        return status_badge("valid", Tone.GOOD)

    @admin.display(description="buyer", ordering="order__buyer__full_name")
    def buyer_name(self, issued):
        return issued.order.buyer.full_name

    @admin.display(description="ticket")
    def ticket_name(self, issued):
        return issued.ticket.name

    @admin.display(description="issued (WIB)", ordering="created_at")
    def issued(self, issued):
        return jakarta_time(issued.created_at)


admin.site.register(EventCancellation, EventCancellationAdmin)
admin.site.register(EventMove, EventMoveAdmin)
