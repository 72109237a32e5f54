"""Money back from the order page: "Cancel and refund…", the one-click refund of what a
flagged order is owed, and marking a manual refund as transferred. Each view checks its own
permission (`orders.refund_order`, not plain "change order") and calls one flow of
orders/checkout/refunds.py; none writes a status itself."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.checkout.refunds import order_refund, order_refund_owed, refund_complete_manual
from orders.models import Order, OrderStatus
from payments.admin_actions import RupiahField, _form_errors
from payments.models import Payment, Refund, RefundReason, RefundStatus
from tedxpay.core.admin_records import page_refusal, rupiah
from tedxpay.core.errors import ApplicationError

REFUND_PERMISSION = "orders.refund_order"

# What finance reads after asking for a refund, by the status Xendit's answer left it in.
_OUTCOME = {
    RefundStatus.PENDING: (messages.SUCCESS, "Xendit accepted the refund; the buyer is told when it arrives."),
    RefundStatus.SUCCEEDED: (messages.SUCCESS, "Xendit refunded it."),
    RefundStatus.MANUAL: (
        messages.WARNING,
        "Xendit cannot refund this channel: it is now a manual refund task. Transfer the money and mark it done "
        "(the buyer was asked for their bank details).",
    ),
    RefundStatus.REQUESTED: (
        messages.WARNING,
        "Xendit could not be reached; the refund is asked again automatically within minutes (never twice).",
    ),
    RefundStatus.FAILED: (messages.ERROR, "Xendit refused the refund; the money can be refunded again."),
}


def may_refund(request) -> bool:
    # And may see orders: the refund pages show the order and its buyer.
    return request.user.has_perms([REFUND_PERMISSION, "orders.view_order"])


def _order_page(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def _order_or_404(object_id: str) -> Order:
    order = Order.objects.select_related("buyer", "event").filter(pk=object_id).first() if object_id.isdigit() else None
    if order is None:
        raise Http404("No such order.")
    return order


def _report(model_admin, request, order: Order, refund: Refund) -> None:
    level, text = _OUTCOME[refund.status]
    reason = f" ({refund.failure_code})" if refund.status == RefundStatus.FAILED else ""
    model_admin.message_user(
        request, f"{order.code}: refund {refund.reference} of {rupiah(refund.amount)}: {text}{reason}", level
    )


class CancelRefundForm(forms.Form):
    amount = RupiahField(
        label="Amount to refund (Rp)", help_text="Whole rupiah. Everything still refundable is filled in."
    )
    reason = forms.ChoiceField(label="Reason", choices=RefundReason.choices, initial=RefundReason.CANCELLATION)
    note = forms.CharField(
        label="Note", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )
    cancel = forms.BooleanField(
        label="Cancel the order",
        required=False,
        initial=True,
        help_text="Voids its e-tickets (refused at the door). Untick for a partial refund that keeps them valid.",
    )
    release_seats = forms.BooleanField(
        label="Give the seats back to sale",
        required=False,
        initial=True,
        help_text="Only when the order is cancelled. Untick when the seats no longer exist.",
    )
    # What was refunded and being refunded when the page was shown: the same form sent
    # twice (a double click, a second tab, a colleague) is refused instead of refunding twice.
    refunds_before = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def cancel_refund_view(model_admin, request, object_id: str):
    """`Cancel and refund…` on a paid (or cancelled-and-paid) order."""
    if not may_refund(request):
        raise PermissionDenied
    order = _order_or_404(object_id)
    payment = Payment.objects.filter(order=order).first()
    if payment is None:
        raise Http404("This order has no payment.")
    form = CancelRefundForm(
        request.POST if request.method == "POST" else None,
        initial={
            "amount": payment.refundable or None,
            "cancel": order.status == OrderStatus.PAID,
            "refunds_before": payment.refunded_or_in_flight,
        },
    )
    if not payment.refundable:
        message = "Nothing of this order is left to refund (or its refund is under way)."
        back = page_refusal(request, form, message, back_to=_order_page(order))
        if back is not None:
            return back
    elif form.is_valid():
        data = form.cleaned_data
        try:
            refund = order_refund(
                order_id=order.pk,
                requested_by=request.user.get_username(),
                amount=data["amount"],
                reason=data["reason"],
                note=data["note"],
                cancel=data["cancel"] and order.status == OrderStatus.PAID,
                release_seats=data["release_seats"],
                expected_refunds=data["refunds_before"],
            )
        except ApplicationError as error:
            _form_errors(form, error)
            payment.refresh_from_db()
            order.refresh_from_db()
            # The page now shows the amounts as they are; sending it again is checked
            # against those, so a refund after a conflict is a deliberate second one.
            form.data = form.data.copy()
            form.data["refunds_before"] = str(payment.refunded_or_in_flight)
        else:
            _report(model_admin, request, order, refund)
            return HttpResponseRedirect(_order_page(order))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Cancel and refund — {order.code}",
        "opts": model_admin.opts,
        "order": order,
        "payment": payment,
        "refunds": list(payment.refunds.order_by("requested_at", "pk")),
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/cancel_refund.html", context)


def refund_owed_view(model_admin, request, object_id: str):
    """One click (a POST from the order page): refund what a flagged order is owed."""
    if not may_refund(request):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    order = _order_or_404(object_id)
    try:
        refund = order_refund_owed(order_id=order.pk, requested_by=request.user.get_username())
    except ApplicationError as error:
        model_admin.message_user(request, f"{order.code}: {error.message}", messages.ERROR)
    else:
        _report(model_admin, request, order, refund)
    return HttpResponseRedirect(_order_page(order))


class ManualRefundDoneForm(forms.Form):
    transfer_reference = forms.CharField(
        label="Bank transfer reference",
        max_length=200,
        help_text="As your bank shows it, so the transfer can be found again. Your name and the time are recorded.",
    )


def manual_refund_done_view(model_admin, request, object_id: str, refund_id: str):
    """Mark a manual refund task as transferred (who and when are recorded)."""
    if not may_refund(request):
        raise PermissionDenied
    order = _order_or_404(object_id)
    refund = Refund.objects.filter(pk=refund_id, payment__order=order).first() if refund_id.isdigit() else None
    if refund is None:
        raise Http404("No such refund on this order.")
    form = ManualRefundDoneForm(request.POST if request.method == "POST" else None)
    if refund.status != RefundStatus.MANUAL:
        message = f"This refund is {refund.get_status_display().lower()}, not a manual task."
        back = page_refusal(request, form, message, back_to=_order_page(order))
        if back is not None:
            return back
    elif form.is_valid():
        try:
            done = refund_complete_manual(
                refund_id=refund.pk,
                completed_by=request.user.get_username(),
                transfer_reference=form.cleaned_data["transfer_reference"],
            )
        except ApplicationError as error:
            _form_errors(form, error)
        else:
            model_admin.message_user(
                request,
                f"{order.code}: refund {done.reference} of {rupiah(done.amount)} marked transferred; "
                "the buyer is told.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(_order_page(order))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Manual refund transferred — {order.code}",
        "opts": model_admin.opts,
        "order": order,
        "refund": refund,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/manual_refund_done.html", context)
