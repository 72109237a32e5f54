"""Attendee pages: the checkout of an event and the order page. They call the same
`order_place` as the API; everything they show comes from the server."""

import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from notifications.qr import qr_svg
from orders.checkout.placing import OrderLineRequest, order_place
from orders.forms import BuyerForm, QuantitiesForm, attendee_field_name, attendee_names_from
from orders.models import EventSource, Order, OrderStatus
from orders.voucher_display import AppliedVoucher, checkout_voucher
from tedxpay.core.errors import ApplicationError
from tickets.models import Event
from tickets.services import on_sale_filter


def _phase_rows(event: Event, quantities_form: QuantitiesForm, applied: AppliedVoucher | None, data=None) -> list[dict]:
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
                "attendees": _attendee_inputs(event, field, data),
            }
        )
    return rows


def _attendee_inputs(event: Event, field, data) -> list[dict]:
    """One name input per seat that can be chosen (static/js/checkout-attendees.js shows as
    many as the quantity chosen), keeping what was typed when the form comes back."""
    if not event.ask_attendee_names or field is None:
        return []
    ticket = field.form.tickets_by_field[field.name]
    seats = len(field.field.choices) - 1
    return [
        {
            "name": attendee_field_name(ticket, seat),
            "seat": seat,
            "value": (data or {}).get(attendee_field_name(ticket, seat), ""),
        }
        for seat in range(1, seats + 1)
    ]


@require_http_methods(["GET", "POST"])
def event_checkout(request, slug: str):
    event = get_object_or_404(Event, slug=slug)
    data = request.POST if request.method == "POST" else None
    # From a `?voucher=CODE` link or the voucher box (GET), then carried by the order form.
    voucher_code = (data or request.GET).get("voucher", "")
    applied, voucher_error = checkout_voucher(event=event, code=voucher_code)
    on_sale = [
        ticket
        for ticket in event.tickets.filter(on_sale_filter(timezone.now()))
        if not ticket.requires_voucher or (applied and applied.covers(ticket))
    ]
    buyer_form = BuyerForm(data, initial={"language": request.LANGUAGE_CODE})
    quantities_form = QuantitiesForm(data, tickets=on_sale, most_overrides=applied.most_per_order if applied else None)

    if request.method == "POST":
        # The code as sent, not only a valid one: a code that went bad since it was applied
        # must refuse the order (with its reason), not quietly charge the full price.
        response = _checkout_submit(request, buyer_form, quantities_form, voucher=voucher_code)
        if response is not None:
            return response

    context = {
        "event": event,
        "voucher": applied,
        "voucher_code": voucher_code.strip()[:40],
        "voucher_error": voucher_error,
        "phases": _phase_rows(event, quantities_form, applied, data),
        "buyer_fields": list(buyer_form),
        "form": buyer_form,
        "ttl_minutes": int(settings.ORDER_TTL.total_seconds() // 60),
        # A fresh one on every rendering, failed submissions included: the form shown
        # again is a new attempt.
        "checkout_token": _checkout_token_issue(request),
        "checkout_token_field": CHECKOUT_TOKEN_FIELD,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "orders/checkout.html", context, status=status)


# --- one order per submitted form -----------------------------------------------------
# A double click, a reload of the POST or the back button from Xendit's page sends the same
# form twice. Each rendering of the checkout carries a random one-time token (a hidden
# field; no JavaScript needed), signed so only tokens we issued count. No session: a flash
# sale's page views write nothing, and tabs cannot overwrite each other's tokens. The
# first POST with it claims it
# with `cache.add`, which is atomic: in-process with the default local-memory cache, across
# gunicorn workers with the Redis cache production runs (CACHE_URL, as the API throttling
# already needs). The claim then records the outcome, so any later POST of the same token
# gets the first one's answer: the same order's invoice, or the same errors.

CHECKOUT_TOKEN_FIELD = "checkout_token"
CHECKOUT_TOKEN_SIGNER = signing.TimestampSigner(salt="tedxpay.checkout-token")
# Long past the order's own life: a replay a day later still finds its order.
CHECKOUT_OUTCOME_TTL = 24 * 60 * 60
# How long a repeat waits for the first submission to finish. Placing takes up to about 40 s
# when Xendit is slow (docs/api.md); a double click must end on the first one's invoice.
CHECKOUT_REPLAY_WAIT = 45.0
_REPLAY_POLL_INTERVAL = 0.2
_PLACING = "placing"
_PLACED = "placed"
_FAILED = "failed"
_UNEXPECTED_FAILURE = "Something went wrong placing your order. Please try again."


def _checkout_token_issue(request) -> str:
    return CHECKOUT_TOKEN_SIGNER.sign(secrets.token_urlsafe(24))


def _checkout_outcome_key(request) -> str | None:
    """The cache key of this POST's token, or None when we did not issue it or it is older
    than its outcome is kept (a form left open for days, a forged field)."""
    try:
        nonce = CHECKOUT_TOKEN_SIGNER.unsign(request.POST.get(CHECKOUT_TOKEN_FIELD, ""), max_age=CHECKOUT_OUTCOME_TTL)
    except signing.BadSignature:  # SignatureExpired included
        return None
    return f"checkout-token:{nonce}"


def _checkout_submit(request, buyer_form: BuyerForm, quantities_form: QuantitiesForm, *, voucher: str):
    """The answer to a checkout POST: a redirect, or None to show the form (with errors)."""
    key = _checkout_outcome_key(request)
    if key is not None and (outcome := cache.get(key)) is not None:
        # Before validating: after the first submission took the last seats, the same
        # quantities are no longer offered, yet the answer is still the first one's order.
        return _checkout_replay(key, outcome, buyer_form)
    if not (buyer_form.is_valid() and quantities_form.is_valid()):
        return None
    quantities = quantities_form.quantities()
    if not quantities:
        buyer_form.add_error(None, "Choose at least one ticket.")
        return None
    if key is None:
        buyer_form.add_error(None, "This form was out of date. Please check your choices and submit it again.")
        return None
    if not cache.add(key, {"state": _PLACING}, CHECKOUT_OUTCOME_TTL):
        # The same form is being placed by a request that arrived a moment earlier.
        return _checkout_replay(key, cache.get(key), buyer_form)
    try:
        order = order_place(
            full_name=buyer_form.cleaned_data["full_name"],
            email=buyer_form.cleaned_data["email"],
            phone=buyer_form.cleaned_data["phone"],
            items=[
                OrderLineRequest(ticket_id, quantity, _attendees(request, quantities_form, ticket_id, quantity))
                for ticket_id, quantity in quantities.items()
            ],
            language=buyer_form.cleaned_data["language"],
            source=EventSource.CHECKOUT,
            voucher=voucher,
        )
    except ApplicationError as error:
        cache.set(key, {"state": _FAILED, "message": error.message, "details": error.details}, CHECKOUT_OUTCOME_TTL)
        _form_error(buyer_form, message=error.message, details=error.details)
        return None
    except BaseException:
        # A repeat must not wait CHECKOUT_REPLAY_WAIT for an answer that is not coming.
        cache.set(key, {"state": _FAILED, "message": _UNEXPECTED_FAILURE, "details": {}}, CHECKOUT_OUTCOME_TTL)
        raise
    cache.set(key, {"state": _PLACED, "code": order.code}, CHECKOUT_OUTCOME_TTL)
    return redirect(_order_destination(order))


def _attendees(request, quantities_form: QuantitiesForm, ticket_id: int, quantity: int) -> tuple[str, ...]:
    ticket = quantities_form.tickets_by_id[ticket_id]
    if not ticket.event.ask_attendee_names:
        return ()
    return attendee_names_from(request.POST, ticket, quantity)


def _checkout_replay(key: str, outcome: dict | None, buyer_form: BuyerForm):
    """A form submitted again: the first submission's answer, once it has one."""
    deadline = time.monotonic() + CHECKOUT_REPLAY_WAIT
    while outcome is not None and outcome["state"] == _PLACING and time.monotonic() < deadline:
        time.sleep(_REPLAY_POLL_INTERVAL)
        outcome = cache.get(key)
    if outcome is not None and outcome["state"] == _PLACED:
        order = Order.objects.select_related("payment").get(code=outcome["code"])
        return redirect(_order_destination(order))
    if outcome is not None and outcome["state"] == _FAILED:
        _form_error(buyer_form, message=outcome["message"], details=outcome["details"])
        return None
    # Still placing after the wait (Xendit is very slow), or the cache lost the entry.
    buyer_form.add_error(
        None,
        "Your order is still being placed. Reload this page in a minute (sending the form again is safe: "
        "it places no second order) to continue to payment.",
    )
    return None


def _order_destination(order: Order) -> str:
    # To Xendit's page while there is something to pay; a free order (no invoice) is already
    # PAID, and an order that is over shows what happened: their own page.
    if order.status == OrderStatus.PENDING and order.payment.invoice_url:
        return order.payment.invoice_url
    return order.get_absolute_url()


def _form_error(form: BuyerForm, *, message: str, details: dict) -> None:
    # Field-level problems (a phone we cannot read…) go to their field; the rest on top.
    placed = False
    details = details.get("buyer", details)
    for field, messages in details.items():
        if field in form.fields:
            for field_message in messages if isinstance(messages, list) else [messages]:
                form.add_error(field, str(field_message))
            placed = True
    if not placed:
        form.add_error(None, message)


def order_detail(request, code: str):
    order = get_object_or_404(
        Order.objects.select_related("event", "buyer", "payment", "voucher").prefetch_related("items__ticket"),
        code=code,
    )
    etickets = []
    if order.status == OrderStatus.PAID:
        for issued in order.issued_tickets.select_related("ticket"):
            # The same QR as in the confirmation email (error level M, quiet zone 4).
            issued.qr_svg = qr_svg(issued.code)
            etickets.append(issued)
    return render(request, "orders/order_detail.html", {"order": order, "etickets": etickets})
