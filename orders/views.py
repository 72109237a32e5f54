"""Attendee pages: the checkout of an event and the order page. They call the same
`order_place` as the API; everything they show comes from the server."""

from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from notifications.qr import qr_svg
from orders.forms import BuyerForm, QuantitiesForm
from orders.models import EventSource, Order, OrderStatus
from orders.placement import OrderLineRequest, order_place
from tedxpay.core.errors import ApplicationError
from tickets.models import Event
from tickets.services import on_sale_filter


def _phase_rows(event: Event, quantities_form: QuantitiesForm) -> list[dict]:
    now = timezone.now()
    rows = []
    for ticket in event.tickets.filter(is_active=True):
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
        rows.append({"ticket": ticket, "state": state, "field": field})
    return rows


@require_http_methods(["GET", "POST"])
def event_checkout(request, slug: str):
    event = get_object_or_404(Event, slug=slug)
    on_sale = list(event.tickets.filter(on_sale_filter(timezone.now())))
    data = request.POST if request.method == "POST" else None
    buyer_form = BuyerForm(data, initial={"language": request.LANGUAGE_CODE})
    quantities_form = QuantitiesForm(data, tickets=on_sale)

    if request.method == "POST" and buyer_form.is_valid() and quantities_form.is_valid():
        quantities = quantities_form.quantities()
        if not quantities:
            buyer_form.add_error(None, "Choose at least one ticket.")
        else:
            try:
                order = order_place(
                    full_name=buyer_form.cleaned_data["full_name"],
                    email=buyer_form.cleaned_data["email"],
                    phone=buyer_form.cleaned_data["phone"],
                    items=[OrderLineRequest(ticket_id, quantity) for ticket_id, quantity in quantities.items()],
                    language=buyer_form.cleaned_data["language"],
                    source=EventSource.CHECKOUT,
                )
            except ApplicationError as error:
                _form_error(buyer_form, error)
            else:
                # To Xendit's page; a free order (no invoice) is already PAID: its own page.
                return redirect(order.payment.invoice_url or order.get_absolute_url())

    context = {
        "event": event,
        "phases": _phase_rows(event, quantities_form),
        "buyer_fields": list(buyer_form),
        "form": buyer_form,
        "ttl_minutes": int(settings.ORDER_TTL.total_seconds() // 60),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "orders/checkout.html", context, status=status)


def _form_error(form: BuyerForm, error: ApplicationError) -> None:
    # Field-level problems (a phone we cannot read…) go to their field; the rest on top.
    placed = False
    details = error.details.get("buyer", error.details)
    for field, messages in details.items():
        if field in form.fields:
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def order_detail(request, code: str):
    order = get_object_or_404(
        Order.objects.select_related("event", "buyer", "payment").prefetch_related("items__ticket"), code=code
    )
    etickets = []
    if order.status == OrderStatus.PAID:
        for issued in order.issued_tickets.select_related("ticket"):
            # The same QR as in the confirmation email (error level M, quiet zone 4).
            issued.qr_svg = qr_svg(issued.code)
            etickets.append(issued)
    return render(request, "orders/order_detail.html", {"order": order, "etickets": etickets})
