"""What finance can do to emails from the admin: send them now, or send a copy of a sent
one. The services decide; these report, per email, what happened."""

from django.contrib import admin

from notifications.models import Notification, NotificationStatus
from notifications.services import (
    NotificationBusy,
    NotificationSendFailed,
    notification_resend,
    notification_send,
)
from tedxpay.core.admin_records import ActionReport, jakarta_time, run_per_row


def notifications_send_now(report: ActionReport, notifications: list[Notification], *, requested_by: str) -> None:
    """Send emails now, through the services, and say how each went: a pending or failed
    one through `notification_send` (the automatic path's once-only send), a sent one
    through `notification_resend` (a deliberate copy, to the buyer's current address, with
    an audit row naming `requested_by`).

    Synchronous on purpose: the person who clicked wants to know whether the email went
    out. No lock is held during the send: the services claim the row first (status
    `sending`), and a concurrent task or a second click that finds it claimed does not
    send another copy.
    """

    def label(notification: Notification) -> str:
        return f"{notification.order.code} {notification.get_kind_display().lower()}"

    def resend(notification: Notification) -> None:
        try:
            sent = notification_resend(notification_id=notification.pk, requested_by=requested_by)
        except NotificationBusy:
            report.skip(label(notification), "being sent right now, or re-sent a moment ago by someone else")
            return
        except NotificationSendFailed as error:
            report.fail(label(notification), f"not re-sent: {error} (the first copy, sent earlier, stands)")
            return
        report.ok(
            label(notification),
            f"again, to {sent.to_email}; first sent {jakarta_time(notification.sent_at)}",
        )

    def send(notification: Notification) -> None:
        if notification.status == NotificationStatus.SENT:
            resend(notification)
            return
        try:
            sent = notification_send(notification_id=notification.pk)
        except NotificationSendFailed as error:
            report.fail(label(notification), f"not sent to {notification.to_email}: {error}")
            return
        if sent.status == NotificationStatus.SENT:
            report.ok(label(notification), f"to {sent.to_email}")
        elif sent.status == NotificationStatus.SENDING:
            report.skip(label(notification), "another sender (the email task) is sending it right now")
        else:
            report.fail(label(notification), f"still {sent.get_status_display().lower()}")

    run_per_row(report, notifications, label, send)


@admin.action(description="Send selected emails now (sent ones again, as a copy)", permissions=["operate"])
def resend_notifications(model_admin, request, queryset):
    report = ActionReport("Sent")
    notifications = list(queryset.select_related("order").order_by("pk"))
    notifications_send_now(report, notifications, requested_by=request.user.get_username())
    report.send(model_admin, request)
