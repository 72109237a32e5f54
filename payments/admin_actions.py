"""What finance can do to payments from the admin: sync with Xendit, replay a callback,
record a refund made at Xendit's dashboard. Each calls a service and reports what
happened; none of them writes a status or an amount itself."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.checkout.callbacks import webhook_replay
from orders.checkout.invoices import payment_reconcile
from orders.models import EventSource, Order
from orders.services import order_refund_record
from payments.gateways.base import GatewayError
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.webhooks import REPLAYABLE_OUTCOMES
from tedxpay.core.admin_records import ActionReport, page_refusal, run_per_row, rupiah
from tedxpay.core.errors import ApplicationError, Conflict

# Xendit refusing or being down is expected: reported per row, not logged as a crash.
GATEWAY_ERRORS = {GatewayError: lambda error: f"Xendit: {error.message}"}

# --- sync with Xendit --------------------------------------------------------------------

_RECONCILE_RESULTS = {
    "paid": "paid at Xendit: payment recorded",
    "expired": "expired at Xendit: order expired, seats back",
}


def payments_sync(report: ActionReport, payments: list[Payment]) -> None:
    """Ask Xendit about each payment now and apply what it says (payment_reconcile: the same
    transitions as a callback, recorded with source "admin")."""

    def sync(payment: Payment) -> None:
        if not payment.invoice_id:
            report.skip(payment.external_id, "no Xendit invoice yet")
            return
        result = payment_reconcile(payment_id=payment.pk, source=EventSource.ADMIN)
        if result in _RECONCILE_RESULTS:
            report.ok(payment.external_id, _RECONCILE_RESULTS[result])
        else:
            gateway_status = Payment.objects.values_list("gateway_status", flat=True).get(pk=payment.pk)
            report.ok(payment.external_id, f"no change, Xendit says {gateway_status or 'nothing new'}")

    run_per_row(report, payments, lambda payment: payment.external_id, sync, known_errors=GATEWAY_ERRORS)


@admin.action(description="Sync with Xendit now", permissions=["operate"])
def sync_payments_with_xendit(model_admin, request, queryset):
    report = ActionReport("Synced")
    payments_sync(report, list(queryset.order_by("pk")))
    report.send(model_admin, request)


# --- replay callbacks ----------------------------------------------------------------------

_REPLAY_BAD_OUTCOMES = {WebhookOutcome.FAILED, WebhookOutcome.UNMATCHED, WebhookOutcome.RECEIVED}


@admin.action(description="Replay selected callbacks (received, failed or unmatched ones)", permissions=["replay"])
def replay_webhook_events(model_admin, request, queryset):
    report = ActionReport("Replayed")

    def label(event: WebhookEvent) -> str:
        return f"callback {event.pk} ({event.invoice_id} {event.status})"

    def replay(event: WebhookEvent) -> None:
        if event.outcome not in REPLAYABLE_OUTCOMES:
            report.skip(label(event), f"is {event.outcome}; only received, failed or unmatched callbacks are replayed")
            return
        replayed = webhook_replay(event_id=event.pk)
        detail = f"{replayed.outcome}: {replayed.outcome_detail}"
        if replayed.outcome in _REPLAY_BAD_OUTCOMES:
            report.fail(label(event), detail)
        else:
            report.ok(label(event), detail)

    run_per_row(report, list(queryset.order_by("pk")), label, replay, known_errors=GATEWAY_ERRORS)
    report.send(model_admin, request)


# --- record a refund (a page of its own, linked from the order) ----------------------------


_RUPIAH = re.compile(r"^(?:rp\.?\s*)?(\d{1,3}(?:\.\d{3})+|\d+)$", re.IGNORECASE)


class RupiahField(forms.Field):
    """Whole rupiah as finance types it: 350000, 350.000 or Rp 350.000 (dots group
    thousands, as in Indonesia). Anything else is refused rather than guessed: Django's
    IntegerField would read "350.000" as 350."""

    widget = forms.TextInput

    def to_python(self, value):
        text = "".join(str(value or "").split())
        if not text:
            return None
        match = _RUPIAH.match(text) if len(text) <= 30 else None
        if match is None:
            raise forms.ValidationError("Enter whole rupiah, e.g. 350000 or 350.000 (no decimals).")
        amount = int(match.group(1).replace(".", ""))
        if amount < 1:
            raise forms.ValidationError("Enter an amount of at least Rp 1.")
        return amount


class RefundRecordForm(forms.Form):
    amount = RupiahField(label="Amount refunded (Rp)", help_text="Whole rupiah, e.g. 350000 or 350.000.")
    reference = forms.CharField(
        label="Reference",
        max_length=200,
        help_text="Xendit refund id, or the bank transfer reference, so the refund can be found again.",
    )
    # What was refunded when the page was shown: a second click, or a colleague recording
    # the same refund meanwhile, is refused instead of being counted twice.
    refunded_before = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def refund_record_view(model_admin, request, object_id: str):
    """Record a refund finance made outside tedxpay (`order_refund_record`), then back to
    the order page."""

    if not model_admin.has_refund_permission(request):
        raise PermissionDenied
    order = Order.objects.select_related("buyer").filter(pk=object_id).first() if object_id.isdigit() else None
    payment = Payment.objects.filter(order=order).first() if order else None
    if payment is None:
        raise Http404("No such order, or it has no payment.")
    form = RefundRecordForm(
        request.POST if request.method == "POST" else None,
        initial={"amount": payment.refund_outstanding or None, "refunded_before": payment.refunded_amount},
    )
    if payment.status != PaymentStatus.PAID:
        message = "No money was received for this order: there is nothing to refund."
        back = page_refusal(request, form, message, back_to=reverse("admin:orders_order_change", args=[order.pk]))
        if back is not None:
            return back
    elif form.is_valid():
        try:
            order_refund_record(
                payment_id=payment.pk,
                amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"],
                requested_by=request.user.get_username(),
                expected_refunded_amount=form.cleaned_data["refunded_before"],
            )
        except ApplicationError as error:
            _form_errors(form, error)
            # The page shows the amounts as they are now; the next submit is checked
            # against those (after a conflict, the refund recorded meanwhile is in them).
            payment.refresh_from_db()
            form.data = form.data.copy()
            form.data["refunded_before"] = str(payment.refunded_amount)
            if isinstance(error, Conflict):
                # Most likely a double click, the first one recorded: make the next submit a
                # deliberate one, with the amount and reference typed again.
                form.data["amount"] = ""
                form.data["reference"] = ""
        else:
            payment.refresh_from_db()
            order.refresh_from_db()
            cleared = "" if order.needs_attention else " The order no longer needs attention."
            model_admin.message_user(
                request,
                f"{order.code}: refund of {rupiah(form.cleaned_data['amount'])} recorded; "
                f"{rupiah(payment.refunded_amount)} of {rupiah(payment.paid_amount)} refunded in all.{cleared}",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Record refund — {order.code}",
        "opts": model_admin.opts,
        "order": order,
        "payment": payment,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/record_refund.html", context)


def _form_errors(form: forms.Form, error: ApplicationError) -> None:
    shown = False
    for field, field_errors in error.details.items():
        if field in form.fields and isinstance(field_errors, list):
            for message in field_errors:
                form.add_error(field, message)
                shown = True
    if not shown:
        form.add_error(None, error.message)
