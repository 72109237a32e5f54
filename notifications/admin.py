from django.contrib import admin
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html

from notifications.admin_actions import resend_notifications
from notifications.models import Notification, NotificationStatus
from tedxpay.core.admin_records import ReadOnlyRecordAdmin, Tone, jakarta_time, status_badge

_NOTIFICATION_TONES = {
    NotificationStatus.SENT: Tone.GOOD,
    NotificationStatus.PENDING: Tone.WAITING,
    NotificationStatus.SENDING: Tone.WAITING,
    NotificationStatus.FAILED: Tone.ALERT,
    NotificationStatus.OBSOLETE: Tone.CLOSED,
}


def notification_status_badge(notification: Notification):
    return status_badge(notification.get_status_display(), _NOTIFICATION_TONES.get(notification.status, Tone.NEUTRAL))


def notification_copy_label(notification: Notification) -> str:
    """ "" for the email itself; "copy 2, asked by finance.ayu" for a copy finance asked for."""
    if notification.resend_of_id is None:
        return ""
    return f"copy {notification.copy_number}, asked by {notification.requested_by or 'someone'}"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyRecordAdmin):
    list_display = [
        "order_link",
        "kind",
        "copy",
        "status_display",
        "to_email",
        "attempts",
        "error",
        "sent",
        "created",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["order"]
    search_fields = ["order__code", "to_email"]
    search_help_text = "Order code or email address."
    actions = [resend_notifications]
    fields = [
        ("order_link", "kind", "language"),
        "copy",
        ("status_display", "attempts"),
        "to_email",
        ("created", "sent"),
        "last_error",
    ]
    readonly_fields = [
        "order_link",
        "kind",
        "language",
        "copy",
        "status_display",
        "attempts",
        "to_email",
        "created",
        "sent",
        "last_error",
    ]

    @admin.display(description="order", ordering="order__code")
    def order_link(self, notification):
        url = reverse("admin:orders_order_change", args=[notification.order_id])
        return format_html('<a href="{}">{}</a>', url, notification.order.code)

    @admin.display(description="copy")
    def copy(self, notification):
        return notification_copy_label(notification)

    @admin.display(description="status", ordering="status")
    def status_display(self, notification):
        return notification_status_badge(notification)

    @admin.display(description="last error")
    def error(self, notification):
        if not notification.last_error:
            return ""
        return format_html(
            '<span title="{}">{}</span>', notification.last_error, truncatechars(notification.last_error, 60)
        )

    @admin.display(description="sent (WIB)", ordering="sent_at")
    def sent(self, notification):
        return jakarta_time(notification.sent_at)

    @admin.display(description="created (WIB)", ordering="created_at")
    def created(self, notification):
        return jakarta_time(notification.created_at)
