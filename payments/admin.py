import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from payments.admin_actions import replay_webhook_events, sync_payments_with_xendit
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent, WebhookOutcome
from tedxpay.core.admin_records import ReadOnlyInline, ReadOnlyRecordAdmin, Tone, jakarta_time, rupiah, status_badge

_PAYMENT_TONES = {
    PaymentStatus.PAID: Tone.GOOD,
    PaymentStatus.PENDING: Tone.WAITING,
    PaymentStatus.EXPIRED: Tone.CLOSED,
    PaymentStatus.CANCELLED: Tone.ALERT,
}

_OUTCOME_TONES = {
    WebhookOutcome.PROCESSED: Tone.GOOD,
    WebhookOutcome.RECEIVED: Tone.WAITING,
    WebhookOutcome.DUPLICATE: Tone.CLOSED,
    WebhookOutcome.IGNORED: Tone.CLOSED,
    WebhookOutcome.FAILED: Tone.ALERT,
    WebhookOutcome.UNMATCHED: Tone.ALERT,
}


def payment_status_badge(payment: Payment):
    return status_badge(payment.get_status_display(), _PAYMENT_TONES.get(payment.status, Tone.NEUTRAL))


def webhook_outcome_badge(event: WebhookEvent):
    return status_badge(event.get_outcome_display(), _OUTCOME_TONES.get(event.outcome, Tone.NEUTRAL))


def _order_link(order_id: int, code: str):
    return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order_id]), code)


class WebhookEventInline(ReadOnlyInline):
    model = WebhookEvent
    fields = ["received", "status", "outcome_display", "outcome_detail", "attempts"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "Xendit callbacks"

    @admin.display(description="received (WIB)")
    def received(self, event):
        return jakarta_time(event.received_at)

    @admin.display(description="outcome")
    def outcome_display(self, event):
        return webhook_outcome_badge(event)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyRecordAdmin):
    list_display = [
        "external_id",
        "buyer_email",
        "status_display",
        "amount_display",
        "paid_amount_display",
        "refunded_amount_display",
        "method",
        "channel",
        "gateway_status",
        "paid",
        "last_synced",
    ]
    list_filter = ["status", "method", "channel", "gateway_status"]
    list_select_related = ["order__buyer"]
    search_fields = ["external_id", "invoice_id", "order__buyer__email"]
    search_help_text = "Order code, Xendit invoice id or buyer email."
    actions = [sync_payments_with_xendit]
    fieldsets = [
        (None, {"fields": [("order_link", "status_display", "gateway_status"), ("invoice_id", "invoice_link")]}),
        (
            "Money",
            {"fields": [("amount_display", "paid_amount_display", "refunded_amount_display"), ("method", "channel")]},
        ),
        ("Times (WIB)", {"fields": [("created", "paid", "last_synced", "refunded")]}),
    ]
    readonly_fields = [
        "order_link",
        "status_display",
        "gateway_status",
        "invoice_id",
        "invoice_link",
        "amount_display",
        "paid_amount_display",
        "refunded_amount_display",
        "method",
        "channel",
        "created",
        "paid",
        "last_synced",
        "refunded",
    ]
    inlines = [WebhookEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order__buyer")

    @admin.display(description="order")
    def order_link(self, payment):
        return _order_link(payment.order_id, payment.order.code)

    @admin.display(description="buyer", ordering="order__buyer__email")
    def buyer_email(self, payment):
        return payment.order.buyer.email

    @admin.display(description="status", ordering="status")
    def status_display(self, payment):
        return payment_status_badge(payment)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment):
        return rupiah(payment.amount)

    @admin.display(description="paid amount", ordering="paid_amount")
    def paid_amount_display(self, payment):
        return rupiah(payment.paid_amount)

    @admin.display(description="refunded", ordering="refunded_amount")
    def refunded_amount_display(self, payment):
        return rupiah(payment.refunded_amount) if payment.refunded_amount else "—"

    @admin.display(description="invoice page")
    def invoice_link(self, payment):
        if not payment.invoice_url:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">open at Xendit</a>', payment.invoice_url)

    @admin.display(description="last refund recorded (WIB)", ordering="refunded_at")
    def refunded(self, payment):
        return jakarta_time(payment.refunded_at)

    @admin.display(description="created", ordering="created_at")
    def created(self, payment):
        return jakarta_time(payment.created_at)

    @admin.display(description="paid (WIB)", ordering="paid_at")
    def paid(self, payment):
        return jakarta_time(payment.paid_at)

    @admin.display(description="last synced (WIB)", ordering="last_synced_at")
    def last_synced(self, payment):
        return jakarta_time(payment.last_synced_at)


# --- webhook inbox -------------------------------------------------------------------------


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyRecordAdmin):
    """The inbox of Xendit callbacks: what arrived, raw, and what became of it."""

    list_display = ["received", "invoice_id", "external_id", "status", "outcome_display", "attempts", "payment_link"]
    list_filter = ["outcome", "status", ("received_at", admin.DateFieldListFilter)]
    list_select_related = ["payment"]
    search_fields = ["invoice_id", "external_id", "request_id"]
    search_help_text = "Xendit invoice id, order code or request id."
    actions = [replay_webhook_events]

    def has_replay_permission(self, request) -> bool:
        return self.has_own_permission(request, "replay_webhookevent")

    fieldsets = [
        (None, {"fields": [("invoice_id", "external_id", "status"), ("payment_link", "request_id")]}),
        ("Outcome", {"fields": [("outcome_display", "attempts"), "outcome_detail", ("received", "processed")]}),
        ("Body as received", {"fields": ["raw_body_pretty"]}),
    ]
    readonly_fields = [
        "invoice_id",
        "external_id",
        "status",
        "payment_link",
        "request_id",
        "outcome_display",
        "attempts",
        "outcome_detail",
        "received",
        "processed",
        "raw_body_pretty",
    ]

    @admin.display(description="received (WIB)", ordering="received_at")
    def received(self, event):
        return jakarta_time(event.received_at)

    @admin.display(description="processed (WIB)", ordering="processed_at")
    def processed(self, event):
        return jakarta_time(event.processed_at)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_display(self, event):
        return webhook_outcome_badge(event)

    @admin.display(description="payment")
    def payment_link(self, event):
        if event.payment_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:payments_payment_change", args=[event.payment_id]),
            event.payment.external_id,
        )

    @admin.display(description="raw body")
    def raw_body_pretty(self, event):
        try:
            text = json.dumps(json.loads(event.raw_body), indent=2, ensure_ascii=False, sort_keys=True)
        except ValueError:
            text = event.raw_body  # kept exactly as it came, even when it is not JSON
        return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


@admin.register(Refund)
class RefundAdmin(ReadOnlyRecordAdmin):
    """Every refund attempt; filter on "Manual" for the transfers finance still owes (each
    is marked done from its order's page)."""

    list_display = [
        "reference",
        "order_link",
        "amount_display",
        "status",
        "channel",
        "gateway_refund_id",
        "requested_by",
        "requested",
        "completed_by",
    ]
    list_filter = ["status", "reason", ("requested_at", admin.DateFieldListFilter)]
    list_select_related = ["order", "payment"]
    search_fields = ["reference", "gateway_refund_id", "order__code", "order__buyer__email"]
    readonly_fields = [
        "reference",
        "order_link",
        "amount_display",
        "status",
        "reason",
        "note",
        "channel",
        "gateway_refund_id",
        "failure_code",
        "failure_message",
        "requested_by",
        "requested",
        "completed_by",
        "completed_at",
        "transfer_reference",
    ]
    fields = readonly_fields

    @admin.display(description="order", ordering="order__code")
    def order_link(self, refund):
        return _order_link(refund.order_id, refund.order.code)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, refund):
        return rupiah(refund.amount)

    @admin.display(description="channel")
    def channel(self, refund):
        return refund.payment.channel or "—"

    @admin.display(description="asked (WIB)", ordering="requested_at")
    def requested(self, refund):
        return jakarta_time(refund.requested_at)
