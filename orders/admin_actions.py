"""What finance can do to orders from the admin. Each action calls a service per selected
row and reports, per row, what happened; none of them writes a status itself."""

from collections.abc import Iterator

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from notifications.admin_actions import notifications_send_now
from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.models import EventSource, Order, OrderItem, OrderStatus
from orders.services import buyer_contact_update, order_attention_resolve, order_cancel
from payments.admin_actions import GATEWAY_ERRORS, payments_sync
from payments.models import Payment
from tedxpay.core.admin_records import JAKARTA, ActionReport, csv_download, run_per_row, spreadsheet_safe
from tedxpay.core.errors import InvalidInput
from tedxpay.core.money import format_rupiah
from tickets.event_time import event_csv_time

# --- cancel ------------------------------------------------------------------------------


@admin.action(
    description="Cancel selected pending orders (seats back, invoice expired, buyer emailed)", permissions=["cancel"]
)
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
        order_cancel(order_id=order.pk, source=EventSource.ADMIN, note=note, notify=True)
        report.ok(order.code)

    run_per_row(report, pending, lambda order: order.code, cancel, known_errors=GATEWAY_ERRORS)
    report.send(model_admin, request)


# --- resend the confirmation email -------------------------------------------------------


@admin.action(description="Resend the confirmation email (paid orders)", permissions=["operate"])
def resend_confirmation(model_admin, request, queryset):
    report = ActionReport("Sent")
    orders = list(queryset.select_related(None).only("pk", "code", "status").order_by("pk"))
    confirmations = {
        notification.order_id: notification
        for notification in Notification.objects.filter(
            order__in=[order.pk for order in orders], kind=NotificationKind.ORDER_CONFIRMATION, resend_of=None
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
    notifications_send_now(report, to_send, requested_by=request.user.get_username())
    report.send(model_admin, request)


# --- sync with Xendit --------------------------------------------------------------------


@admin.action(description="Sync with Xendit now", permissions=["operate"])
def sync_with_xendit(model_admin, request, queryset):
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
        help_text=(
            "Kept in each order's audit trail, e.g. “Buyer accepts the Rp 50.000 shortfall”. "
            "A refund is recorded with “Record refund” on the order page, which clears a refund flag itself; "
            "a flag with money still owed back is cleared only by those who may refund (Finance managers)."
        ),
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
        may_forgo_refunds = request.user.has_perm("orders.refund_order")

        def resolve(order: Order) -> None:
            owed = _still_owed_back(order)
            if owed and not may_forgo_refunds:
                # Clearing this flag keeps the buyer's money and takes it off every list
                # that shows what is owed back: a decision for those who may refund.
                report.skip(
                    order.code, f"{format_rupiah(owed)} is still owed back: refund it, or ask a Finance manager"
                )
                return
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


def _still_owed_back(order: Order) -> int:
    payment = Payment.objects.filter(order=order).first()
    return payment.refund_outstanding if payment is not None else 0


# --- correct the buyer's contact details (a page of its own, linked from the order) --------


class BuyerContactForm(forms.Form):
    # Plain text fields: the service cleans and validates (as at checkout), so the rules
    # live in one place and its messages are shown on the fields here.
    full_name = forms.CharField(label="Full name", max_length=300)
    email = forms.CharField(label="Email", max_length=300)
    phone = forms.CharField(label="Phone", max_length=40, help_text="Indonesian mobile, e.g. 0812 3456 7890.")


def buyer_contact_view(model_admin, request, object_id: str):
    """Correct a buyer's name, email or phone (`buyer_contact_update`), then back to the
    order page, from where finance can resend the confirmation to the corrected address."""
    if not model_admin.has_operate_permission(request):
        raise PermissionDenied
    order = Order.objects.select_related("buyer").filter(pk=object_id).first() if object_id.isdigit() else None
    if order is None:
        raise Http404("No such order.")
    current = {"full_name": order.buyer.full_name, "email": order.buyer.email, "phone": order.buyer.phone}
    form = BuyerContactForm(request.POST if request.method == "POST" else None, initial=current)
    if form.is_valid():
        try:
            buyer_contact_update(order_id=order.pk, requested_by=request.user.get_username(), **form.cleaned_data)
        except InvalidInput as error:
            for field, field_errors in error.details.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            _buyer_contact_report(model_admin, request, order, before=current)
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Edit buyer contact — {order.code}",
        "opts": model_admin.opts,
        "order": order,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/buyer_contact.html", context)


def _buyer_contact_report(model_admin, request, order: Order, *, before: dict) -> None:
    order.buyer.refresh_from_db()
    changed = [field.replace("_", " ") for field, value in before.items() if getattr(order.buyer, field) != value]
    if not changed:
        model_admin.message_user(request, f"{order.code}: nothing changed.", messages.WARNING)
        return
    model_admin.message_user(request, f"{order.code}: buyer {', '.join(changed)} corrected.", messages.SUCCESS)
    if before["email"] == order.buyer.email:
        return
    emails = Notification.objects.filter(order=order)
    in_flight = emails.filter(status=NotificationStatus.SENDING).count()
    if in_flight:
        model_admin.message_user(
            request,
            f"{in_flight} email(s) of this order were being sent at that moment, to {before['email']}: "
            "once they show as sent, resend them.",
            messages.WARNING,
        )
    if emails.filter(status=NotificationStatus.SENT).exists():
        model_admin.message_user(
            request,
            f"Emails already sent went to {before['email']}. To send a copy to {order.buyer.email}, "
            "use “Resend the confirmation email” on this order.",
            messages.INFO,
        )


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
    "event starts (event's time)",
    "event time zone",
    "items",
    "total (IDR)",
    "paid amount (IDR)",
    "refunded (IDR)",
    "payment channel",
    "invoice id",
    "kind",
    "voucher",
    "discount (IDR)",
    "being refunded (IDR)",
    "needs attention",
]


def _csv_time(value) -> str:
    return timezone.localtime(value, JAKARTA).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def order_csv_rows(queryset) -> Iterator[list]:
    rows = (
        queryset.select_related("buyer", "event", "payment", "voucher")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("ticket").order_by("ticket_id")))
        .order_by("created_at", "pk")
    )
    # iterator() with a chunk size keeps memory flat for a big export and still prefetches.
    for order in rows.iterator(chunk_size=500):
        payment = getattr(order, "payment", None)
        yield [
            order.code,
            _csv_time(order.created_at),
            # When the money came: also for money received on an order that had expired or
            # was cancelled (the order itself was never PAID, so it has no paid_at).
            _csv_time(order.paid_at or (payment.paid_at if payment is not None else None)),
            order.status,
            spreadsheet_safe(order.buyer.full_name),
            spreadsheet_safe(order.buyer.email),
            order.buyer.phone,
            spreadsheet_safe(order.event.name),
            event_csv_time(order.event.starts_at, order.event),
            order.event.time_zone_abbreviation,
            spreadsheet_safe("; ".join(f"{item.quantity}× {item.ticket.name}" for item in order.items.all())),
            order.total,
            "" if payment is None or payment.paid_amount is None else payment.paid_amount,
            "" if payment is None or payment.paid_amount is None else payment.refunded_amount,
            "" if payment is None else payment.channel,
            "" if payment is None else payment.invoice_id or "",
            # "comp": a complimentary ticket finance issued (total 0, no payment at Xendit).
            "comp" if order.is_comp else "sale",
            spreadsheet_safe(order.voucher.code) if order.voucher_id else "",
            order.discount,
            "" if payment is None or payment.paid_amount is None else payment.refund_in_flight,
            order.attention_reason,
        ]


@admin.action(description="Export selected orders as CSV (Excel)", permissions=["export"])
def export_csv(model_admin, request, queryset):
    # Names and emails are what a buyer typed, the event's name and a voucher code what staff
    # typed: spreadsheet_safe. Phones are E.164; items start with a count ("2× Regular").
    return csv_download(name="orders", header=CSV_HEADER, rows=order_csv_rows(queryset))
