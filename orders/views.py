"""The checkout page of an event. It calls the same `order_place` as the API; everything
it shows (prices, what is left, the total) comes from the server."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from orders.buyer_messages import refusal_message
from orders.checkout.placing import OrderLineRequest, order_place
from orders.form_submissions import (
    CHECKOUT_TOKEN_FIELD,
    FormOutcome,
    checkout_token_issue,
    checkout_token_key,
    submission_claim,
    submission_failed,
    submission_find,
    submission_fingerprint,
    submission_placed,
    submission_refused,
)
from orders.forms import AttendeesForm, BuyerForm, QuantitiesForm
from orders.holds import PendingOrderExists, checkout_hold_request, hold_claim
from orders.models import EventSource, Order, OrderStatus
from orders.placed_here import placed_here, remember_placed
from orders.voucher_display import AppliedVoucher, checkout_voucher
from orders.voucher_guesses import voucher_guessing_stopped, voucher_miss
from tedxpay.core.client_address import client_address
from tedxpay.core.errors import ApplicationError
from tedxpay.core.idempotency import IdempotencyConflict, IdempotencyInFlight
from tedxpay.core.language import PAGE_LANGUAGES, remember_language
from tedxpay.core.throttling import CheckoutRateThrottle
from tickets.models import Event
from tickets.services import on_sale_filter

# The hidden field the checkout script sets: with JavaScript the total is shown live above
# the button, so the form goes straight to payment; without it the server first shows a
# review step with the total.
CONFIRMED_FIELD = "confirmed"
SWITCH_LANGUAGE_FIELD = "switch_language"
EDIT_FIELD = "edit"
# The voucher box's "Apply": the form comes back with the voucher, as the switch brings it
# back in the other language.
APPLY_VOUCHER_FIELD = "apply_voucher"
_REVIEW = object()
# The form was already sent with other choices: shown again, refused (409).
_CONFLICT = object()


def _phase_rows(
    event: Event, quantities_form: QuantitiesForm, attendees_form: AttendeesForm, applied: AppliedVoucher | None
) -> list[dict]:
    now = timezone.now()
    rows = []
    for ticket in event.tickets.filter(is_active=True):
        if ticket.requires_voucher and not (applied and applied.covers(ticket)):
            continue  # a hidden phase shows only with its voucher
        if ticket.valid_until <= now:
            state = "over"
        elif ticket.valid_from > now:
            state = "upcoming"
        elif ticket.available == 0:
            state = "sold_out"
        else:
            state = "on_sale"
        name = QuantitiesForm.field_name(ticket)
        field = quantities_form[name] if name in quantities_form.fields and state == "on_sale" else None
        charged = applied.price_of(ticket) if applied else ticket.price
        rows.append(
            {
                "ticket": ticket,
                "state": state,
                "field": field,
                "charged": charged,
                # One name input per seat that can be chosen, for an event that asks names.
                "attendees": attendees_form.inputs(field.field) if field is not None else [],
            }
        )
    return rows


def _chosen_lines(quantities_form: QuantitiesForm) -> tuple[list[dict], int]:
    """What the form currently selects (as shown, after any stock-drop change) and its
    total at the prices this buyer pays (a voucher's included: the `data-price` the view
    set), for the review step and the first rendering of the total."""
    lines, total = [], 0
    for name, field in quantities_form.fields.items():
        try:
            quantity = int(quantities_form.data.get(name) or 0) if quantities_form.is_bound else 0
        except ValueError:
            quantity = 0
        if 0 < quantity <= field.most:
            subtotal = quantity * int(field.widget.attrs["data-price"])
            lines.append({"ticket": field.ticket, "quantity": quantity, "subtotal": subtotal})
            total += subtotal
    return lines, total


def _error_summary(*forms) -> list[dict]:
    """Every problem of both forms, in page order, each linking to its field."""
    summary = []
    for form in forms:
        summary += [{"field_id": None, "message": message} for message in form.non_field_errors()]
    for form in forms:
        for name in form.fields:
            required = str(form.fields[name].error_messages.get("required", ""))
            for message in form[name].errors:
                # "This field is required." three times says nothing out of context (a screen
                # reader reads the summary first): that one is told with its field's name.
                if message == required:
                    message = f"{form[name].label}: {message}"
                summary.append({"field_id": form[name].id_for_label, "message": message})
    return summary


@require_http_methods(["GET", "POST"])
def event_checkout(request, slug: str):
    event = get_object_or_404(Event, slug=slug)
    data = request.POST if request.method == "POST" else None
    switch_to = request.POST.get(SWITCH_LANGUAGE_FIELD) if data is not None else None
    if switch_to in PAGE_LANGUAGES:
        # The switch on this page resubmits the form: the page comes back in the other
        # language with the chosen tickets and the typed details still there. Activated
        # first: the voucher's words and the form's labels below are made in it.
        translation.activate(switch_to)
        request.LANGUAGE_CODE = switch_to
    # From a `?voucher=CODE` link, or the voucher box, which is part of the order form.
    voucher_code = (data or request.GET).get("voucher", "")
    voucher_stopped = bool(voucher_code.strip()) and voucher_guessing_stopped(request)
    if voucher_stopped:
        applied = None
        voucher_error = _("Too many voucher codes were tried from your connection. Try again in an hour.")
    else:
        applied, voucher_error = checkout_voucher(event=event, code=voucher_code)
        if voucher_error:
            voucher_miss(request)
    on_sale = [
        ticket
        for ticket in event.tickets.filter(on_sale_filter(timezone.now())).select_related("event")
        if not ticket.requires_voucher or (applied and applied.covers(ticket))
    ]
    buyer_form = BuyerForm(data)
    quantities_form = QuantitiesForm(data, tickets=on_sale, most_overrides=applied.most_per_order if applied else None)
    attendees_form = AttendeesForm(data, quantities_form=quantities_form)
    for field in quantities_form.fields.values():
        # The price this buyer pays (with the voucher), which the checkout script adds up.
        field.widget.attrs["data-price"] = applied.price_of(field.ticket) if applied else field.ticket.price

    review = False
    conflict = False
    throttled = None
    # Errors are shown after a real submission, not after a language switch, "Change" or
    # "Apply" (the voucher's).
    show_errors = (
        data is not None
        and switch_to is None
        and EDIT_FIELD not in request.POST
        and APPLY_VOUCHER_FIELD not in request.POST
    )
    if show_errors and voucher_stopped:
        # Nor tried by placing an order with it: the placement would apply a right code.
        buyer_form.add_error(None, voucher_error)
    elif show_errors:
        throttle = CheckoutRateThrottle()
        if throttle.allow_request(request, None):
            # The code as sent, not only a valid one: a code that went bad since it was applied
            # must refuse the order (with its reason), not quietly charge the full price.
            response = _checkout_submit(
                request, event, buyer_form, quantities_form, attendees_form, voucher=voucher_code
            )
            if response is _REVIEW:
                review = True
            elif response is _CONFLICT:
                conflict = True
            elif response is not None:
                return response
        else:
            throttled = throttle
            buyer_form.add_error(None, _("Too many orders from your connection. Please wait a minute and try again."))

    lines, total = _chosen_lines(quantities_form)
    context = {
        "event": event,
        "voucher": applied,
        "voucher_code": voucher_code.strip()[:40],
        "voucher_error": voucher_error,
        "phases": _phase_rows(event, quantities_form, attendees_form, applied),
        "buyer_fields": list(buyer_form),
        "form": buyer_form,
        "quantities_form": quantities_form,
        "attendees_form": attendees_form,
        "show_errors": show_errors,
        "error_summary": (
            _error_summary(buyer_form, quantities_form, attendees_form) if show_errors and not review else []
        ),
        "review": review,
        "lines": lines,
        "total": total,
        "ttl_minutes": int(settings.ORDER_TTL.total_seconds() // 60),
        # A fresh one on every rendering, failed submissions included: the form shown
        # again is a new attempt.
        "checkout_token": checkout_token_issue(),
        "checkout_token_field": CHECKOUT_TOKEN_FIELD,
        "apply_voucher_field": APPLY_VOUCHER_FIELD,
        "language_switch_form": "checkout",
    }
    status = 429 if throttled else 409 if conflict else 400 if show_errors and not review else 200
    response = render(request, "orders/checkout.html", context, status=status)
    if throttled:
        response["Retry-After"] = str(int(throttled.wait() or 60))
    if switch_to in PAGE_LANGUAGES:
        remember_language(response, switch_to)
    return response


# --- one order per submitted form (orders/form_submissions.py) -------------------------


def _checkout_submit(
    request,
    event: Event,
    buyer_form: BuyerForm,
    quantities_form: QuantitiesForm,
    attendees_form: AttendeesForm,
    *,
    voucher: str,
):
    """The answer to a checkout POST: a redirect, _REVIEW, _CONFLICT, or None to show the
    form (with errors)."""
    key = checkout_token_key(request.POST.get(CHECKOUT_TOKEN_FIELD, ""))
    fingerprint = submission_fingerprint(path=request.path, form_data=request.POST)
    if key is not None:
        try:
            # Before validating: after the first submission took the last seats, the same
            # quantities are no longer offered, yet the answer is still the first one's order.
            earlier = submission_find(key=key, fingerprint=fingerprint)
        except (IdempotencyInFlight, IdempotencyConflict) as twin:
            return _answer_to_a_twin(twin, event, request, buyer_form)
        if earlier is not None:
            return _checkout_replay(request, earlier, buyer_form, quantities_form)
    # All validated, always: every problem is shown in one round.
    buyer_valid = buyer_form.is_valid()
    quantities_valid = quantities_form.is_valid()
    if not (attendees_form.is_valid() and quantities_valid and buyer_valid):
        return None
    quantities = quantities_form.quantities()
    if key is None:
        buyer_form.add_error(None, _("This form was out of date. Please check your choices and submit it again."))
        return None
    if request.POST.get(CONFIRMED_FIELD) != "1":
        return _REVIEW
    try:
        # The row is written before the order is placed: a twin arriving from now on, in any
        # worker, finds it.
        record, earlier = submission_claim(key=key, fingerprint=fingerprint)
    except (IdempotencyInFlight, IdempotencyConflict) as twin:
        return _answer_to_a_twin(twin, event, request, buyer_form)
    if earlier is not None:
        return _checkout_replay(request, earlier, buyer_form, quantities_form)
    hold = checkout_hold_request(
        event_id=event.pk,
        seats=sum(quantities.values()),
        email=buyer_form.cleaned_data["email"],
        phone=buyer_form.cleaned_data["phone"],
        client_address=client_address(request),
    )
    try:
        with hold_claim(hold) as claimed:
            order = order_place(
                full_name=buyer_form.cleaned_data["full_name"],
                email=buyer_form.cleaned_data["email"],
                phone=buyer_form.cleaned_data["phone"],
                items=[
                    OrderLineRequest(
                        ticket_id, quantity, attendees_form.names(quantities_form.tickets_by_id[ticket_id], quantity)
                    )
                    for ticket_id, quantity in quantities.items()
                ],
                language=translation.get_language(),
                source=EventSource.CHECKOUT,
                voucher=voucher,
                client_address=hold.client_address,
            )
            claimed.record(order)
    except PendingOrderExists as existing:
        # One unpaid order per buyer and event: the second form leads to the first's
        # payment if this browser placed it, else to its public page (orders/placed_here.py).
        if existing.order.code in placed_here(request):
            submission_placed(record=record, order=existing.order)
            return _to_order(request, existing.order)
        submission_refused(record=record, error=existing)
        return _to_unpaid_order_page(existing.order.code)
    except ApplicationError as error:
        outcome = submission_refused(record=record, error=error)
        _form_error(buyer_form, quantities_form, outcome.error)
        return None
    except BaseException:
        # A repeat must hear that this went wrong, not wait for an outcome that is not coming.
        submission_failed(record=record)
        raise
    submission_placed(record=record, order=order)
    return _to_order(request, order)


def _answer_to_a_twin(twin: ApplicationError, event: Event, request, buyer_form: BuyerForm):
    if isinstance(twin, IdempotencyInFlight):
        # The same form is being placed by a request that arrived a moment earlier. Waiting
        # for it here would hold this thread for as long as Xendit takes (up to ≈ 39 s); the
        # buyer's browser waits instead, on a page that looks again every second.
        return redirect("checkout-placing", slug=event.slug, token=request.POST[CHECKOUT_TOKEN_FIELD])
    # This rendering of the form was already sent with other choices (back, changed, sent
    # again): the token stands for that first request only. The form comes back, as now
    # filled in, with a new token, so sending it again is a deliberate new order.
    buyer_form.add_error(
        None,
        _(
            "This form was already sent with different choices. Check your choices and send the form again "
            "to place this order."
        ),
    )
    return _CONFLICT


def _checkout_replay(request, outcome: FormOutcome, buyer_form: BuyerForm, quantities_form: QuantitiesForm):
    """A form submitted again after the first submission finished: its answer."""
    if outcome.order is not None:
        return _to_order(request, outcome.order)
    if outcome.error.get("code") == PendingOrderExists.code:
        return _to_unpaid_order_page(outcome.error["details"]["code"])
    _form_error(buyer_form, quantities_form, outcome.error)
    return None


@require_GET
def checkout_placing(request, slug: str, token: str):
    """Where a form sent again while the first submission is still placing its order
    waits: this page asks again every second (static/js/checkout-placing.js, or a
    <noscript> refresh) until that order exists, then leads to its payment, as the first
    submission's answer would have."""
    event = get_object_or_404(Event, slug=slug)
    key = checkout_token_key(token)
    if key is None:
        raise Http404
    try:
        outcome = submission_find(key=key, fingerprint=None)
    except IdempotencyInFlight:
        return _placing_page(request, event, message=None)
    if outcome is None:
        # No outcome: the first submission's worker died, or the token was never sent.
        message = _(
            "Your order could not be finished, and nothing is to be paid. Please go back to the event and order again."
        )
    elif outcome.order is not None:
        return _to_order(request, outcome.order)
    elif outcome.error.get("code") == PendingOrderExists.code:
        return _to_unpaid_order_page(outcome.error["details"]["code"])
    else:
        message = _refusal_message(outcome.error)
    return _placing_page(request, event, message=message)


def _placing_page(request, event: Event, *, message: str | None):
    """Still placing (no message: 202, asks again) or over without an order (why)."""
    context = {"event": event, "placing": message is None, "message": message}
    response = render(request, "orders/checkout_placing.html", context, status=202 if message is None else 200)
    response["Cache-Control"] = "no-store"
    return response


def _to_order(request, order: Order):
    """The answer once a submission has its order: on to paying it, and this browser
    remembers that it placed it."""
    response = redirect(_order_destination(order))
    remember_placed(request, response, order)
    return response


def _to_unpaid_order_page(code: str):
    """The buyer's email or phone already has an unpaid order for the event, placed in
    another browser: its public page, which offers to email its link, and no payment page."""
    return redirect(f"{reverse('order-lookup', args=[code])}?unpaid=1")


def _order_destination(order: Order) -> str:
    # To Xendit's page while there is something to pay; a free order (no invoice) is already
    # PAID, and an order that is over shows what happened: their own page.
    if order.status == OrderStatus.PENDING and order.payment.invoice_url:
        return order.payment.invoice_url
    return order.get_absolute_url()


def _form_error(buyer_form: BuyerForm, quantities_form: QuantitiesForm, outcome: dict) -> None:
    """A refusal from `order_place`, told in the page's language where the buyer can act on
    it: a field's problem on its field, fewer seats left as a changed selection."""
    code, details = outcome.get("code", ""), outcome.get("details") or {}
    tickets = {field.ticket.pk: field.ticket for field in quantities_form.fields.values()}
    ticket = tickets.get(details.get("ticket_id"))
    if code == "sold_out" and ticket is not None:
        quantities_form.stock_dropped(ticket, available=details.get("available", 0))
        return
    if code == "not_on_sale" and ticket is not None:
        quantities_form.stock_dropped(ticket, available=0)
        return
    if code == "validation_error":
        placed = False
        for field, messages in details.get("buyer", {}).items():
            if field in buyer_form.fields:
                for message in messages if isinstance(messages, list) else [messages]:
                    buyer_form.add_error(field, str(message))
                placed = True
        if placed:
            return
    buyer_form.add_error(None, _refusal_message(outcome, ticket_name=ticket.name if ticket is not None else ""))


def _refusal_message(error: dict, *, ticket_name: str = "") -> str:
    """A refusal in words for the buyer, where there is no field to show it on
    (`ticket_name`: the phase it is about, when the page knows it)."""
    messages = {
        "payment_gateway_unavailable": _(
            "We could not reach the payment service. Nothing was charged and no seats are held; "
            "please try again in a minute."
        ),
        "order_cancelled": _("This order was cancelled while it was being placed. Nothing is to be paid."),
        "quantity_limit": _("You chose more tickets of one kind than one order may hold."),
        "sold_out": _("The tickets you chose are no longer available in that number."),
        "not_on_sale": _("The tickets you chose are no longer available in that number."),
    }
    code = error.get("code", "")
    # Other refusals (a voucher's, a per-buyer limit, the hoarding caps) in the buyer's
    # words, never the API's English message.
    return (
        refusal_message(code, error.get("details") or {}, ticket_name=ticket_name)
        or messages.get(code)
        or _("Something went wrong placing your order. Please try again.")
    )
