"""What finance can do to orders from the admin. Each action calls a service per selected
row and reports, per row, what happened; none of them writes a status itself."""

import csv
from collections.abc import Iterator

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.admin_base import JAKARTA, ActionReport, jakarta_time, run_per_row
from orders.models import EventSource, Order, OrderItem, OrderStatus
from orders.services import order_attention_resolve, order_cancel

# --- cancel ------------------------------------------------------------------------------


@admin.action(description="Cancel selected pending orders (seats back, invoice closed)", permissions=["operate"])
def cancel_orders(model_admin, request, queryset):
    report = ActionReport("Cancelled")
    note = f"cancelled in the admin by {request.user.get_username()}"
    pending = []
    for order in queryset.select_related(None).only("pk", "code", "status").order_by("pk"):
        if order.status == OrderStatus.CANCELLED:
            report.skip(order.code, "already cancelled")
        elif order.status != OrderStatus.PENDING:
            report.skip(order.code, f"is {order.get_status_display().lower()}; only pending orders can be cancelled")
        else:
            pending.append(order)

    def cancel(order: Order) -> None:
        # The service refuses (IllegalTransition) an order paid since the list was read.
        order_cancel(order_id=order.pk, source=EventSource.ADMIN, note=note)
        report.ok(order.code)

    run_per_row(report, pending, lambda order: order.code, cancel).send(model_admin, request)


# --- resend the confirmation email -------------------------------------------------------

ALREADY_SENT = (
    "already sent {when} to {to}; notification_send does not send a row twice, so re-sending "
    "a sent email needs a resend service in notifications (see docs/back-office.md)"
)


def notifications_send_now(report: ActionReport, notifications: list[Notification]) -> None:
    """Send pending or failed emails now, through the service, and say how each went.

    Synchronous on purpose: the person who clicked wants to know whether the email went
    out, and the service's row lock keeps a concurrent task from sending a second copy.
    """
    from notifications.services import NotificationSendFailed, notification_send

    def label(notification: Notification) -> str:
        return f"{notification.order.code} {notification.get_kind_display().lower()}"

    def send(notification: Notification) -> None:
        if notification.status == NotificationStatus.SENT:
            report.skip(
                label(notification),
                ALREADY_SENT.format(when=jakarta_time(notification.sent_at), to=notification.to_email),
            )
            return
        try:
            sent = notification_send(notification_id=notification.pk)
        except NotificationSendFailed as error:
            report.fail(label(notification), f"not sent to {notification.to_email}: {error}")
            return
        if sent.status == NotificationStatus.SENT:
            report.ok(label(notification), f"to {sent.to_email}")
        elif sent.status == "sending":
            report.skip(label(notification), "another sender (the email task) is sending it right now")
        else:
            report.fail(label(notification), f"still {sent.status}")

    run_per_row(report, notifications, label, send)


@admin.action(description="Resend the confirmation email (paid orders)", permissions=["operate"])
def resend_confirmation(model_admin, request, queryset):
    report = ActionReport("Sent")
    orders = list(queryset.select_related(None).only("pk", "code", "status").order_by("pk"))
    confirmations = {
        notification.order_id: notification
        for notification in Notification.objects.filter(
            order__in=[order.pk for order in orders], kind=NotificationKind.ORDER_CONFIRMATION
        ).select_related("order")
    }
    to_send = []
    for order in orders:
        if order.status != OrderStatus.PAID:
            report.skip(order.code, f"is {order.get_status_display().lower()}; only paid orders have a confirmation")
        elif order.pk not in confirmations:
            report.fail(order.code, "no confirmation email on record for this paid order")
        else:
            to_send.append(confirmations[order.pk])
    notifications_send_now(report, to_send)
    report.send(model_admin, request)


# --- sync with Xendit --------------------------------------------------------------------

_RECONCILE_RESULTS = {
    "paid": "paid at Xendit: payment recorded",
    "expired": "expired at Xendit: order expired, seats back",
}


def payments_sync(report: ActionReport, payments: list) -> None:
    """Ask Xendit about each payment now and apply what it says (payment_reconcile: the same
    transitions as a callback, recorded with source "admin")."""
    from payments.models import Payment
    from payments.services import payment_reconcile

    def sync(payment) -> None:
        if not payment.invoice_id:
            report.skip(payment.external_id, "no Xendit invoice yet")
            return
        result = payment_reconcile(payment_id=payment.pk, source=EventSource.ADMIN)
        if result in _RECONCILE_RESULTS:
            report.ok(payment.external_id, _RECONCILE_RESULTS[result])
        else:
            gateway_status = Payment.objects.values_list("gateway_status", flat=True).get(pk=payment.pk)
            report.ok(payment.external_id, f"no change, Xendit says {gateway_status or 'nothing new'}")

    run_per_row(report, payments, lambda payment: payment.external_id, sync)


@admin.action(description="Sync with Xendit now", permissions=["operate"])
def sync_with_xendit(model_admin, request, queryset):
    from payments.models import Payment

    report = ActionReport("Synced")
    orders = list(queryset.select_related(None).only("pk", "code").order_by("pk"))
    payments = {payment.order_id: payment for payment in Payment.objects.filter(order__in=[o.pk for o in orders])}
    for order in orders:
        if order.pk not in payments:
            report.skip(order.code, "has no payment")
    payments_sync(report, [payments[order.pk] for order in orders if order.pk in payments])
    report.send(model_admin, request)


# --- mark attention resolved -------------------------------------------------------------


class AttentionResolveForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Kept in each order's audit trail, e.g. “Refunded Rp 350.000 by bank transfer on 29 Nov”.",
    )


@admin.action(description="Mark attention resolved…", permissions=["operate"])
def resolve_attention(model_admin, request, queryset):
    """Asks for a note on an intermediate page, then clears the flag of each order."""
    orders = list(queryset.select_related("buyer").order_by("pk"))
    flagged = [order for order in orders if order.needs_attention]
    if not flagged:
        model_admin.message_user(request, "None of the selected orders needs attention.", messages.WARNING)
        return None
    form = AttentionResolveForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        report = ActionReport("Resolved")
        for order in orders:
            if not order.needs_attention:
                report.skip(order.code, "does not need attention")
        note = f"{form.cleaned_data['note']} (by {request.user.get_username()})"

        def resolve(order: Order) -> None:
            order_attention_resolve(order_id=order.pk, note=note, source=EventSource.ADMIN)
            report.ok(order.code)

        run_per_row(report, flagged, lambda order: order.code, resolve).send(model_admin, request)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Mark attention resolved",
        "opts": model_admin.opts,
        "orders": flagged,
        "not_flagged": [order for order in orders if not order.needs_attention],
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": [order.pk for order in orders],
    }
    return TemplateResponse(request, "admin/orders/order/resolve_attention.html", context)


# --- CSV export --------------------------------------------------------------------------

CSV_HEADER = [
    "code",
    "created (WIB)",
    "paid at (WIB)",
    "status",
    "buyer name",
    "buyer email",
    "buyer phone",
    "event",
    "items",
    "total (IDR)",
    "paid amount (IDR)",
    "payment channel",
    "invoice id",
]


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer streaming."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(value: str) -> str:
    # Text a buyer typed must not run as a formula when the file is opened in Excel
    # (OWASP "CSV injection"). Phones are normalised E.164 and safe as they are.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_time(value) -> str:
    return timezone.localtime(value, JAKARTA).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def order_csv_rows(queryset) -> Iterator[list]:
    rows = (
        queryset.select_related("buyer", "event", "payment")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("ticket").order_by("ticket_id")))
        .order_by("created_at", "pk")
    )
    # iterator() with a chunk size keeps memory flat for a big export and still prefetches.
    for order in rows.iterator(chunk_size=500):
        payment = getattr(order, "payment", None)
        yield [
            order.code,
            _csv_time(order.created_at),
            _csv_time(order.paid_at),
            order.status,
            _spreadsheet_safe(order.buyer.full_name),
            _spreadsheet_safe(order.buyer.email),
            order.buyer.phone,
            order.event.name,
            "; ".join(f"{item.quantity}× {item.ticket.name}" for item in order.items.all()),
            order.total,
            "" if payment is None or payment.paid_amount is None else payment.paid_amount,
            "" if payment is None else payment.channel,
            "" if payment is None else payment.invoice_id or "",
        ]


@admin.action(description="Export selected orders as CSV (Excel)")
def export_csv(model_admin, request, queryset):
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        # The byte order mark makes Excel read the file as UTF-8 (names like "Ni Luh Putu Ayu").
        yield "\ufeff" + writer.writerow(CSV_HEADER)
        for row in order_csv_rows(queryset):
            yield writer.writerow(row)

    stamp = timezone.localtime(timezone.now(), JAKARTA).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tedxpay-orders-{stamp}.csv"'
    return response
