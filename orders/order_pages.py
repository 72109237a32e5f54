"""The buyer's order pages.

- `/orders/<code>/<secret>/`: the order itself (status, buyer, e-tickets, PDF, calendar).
  The secret (256 random bits) is what makes it private: the link goes only to the buyer,
  in every email and as Xendit's redirect after paying.
- `/orders/<code>/`: the order code alone is printed on Xendit's page and read out over the
  phone, so its page shows nothing personal; it offers to email the private link to the
  address the order was placed with.
- `/find-my-tickets/`: an email address in, one email out with the links to all orders of
  that address; the page answers the same whether or not the address is known.

Order pages are `Cache-Control: private, no-store` (a shared computer's browser or a proxy
must not keep them), never indexed, and send no Referer to other sites.
"""

import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from notifications.calendar import order_calendar_ics
from notifications.order_links import OrderLinksThrottled, order_links_request
from notifications.qr import qr_svg
from notifications.ticket_pdf import order_tickets_pdf
from orders.attendees import attendee_renamable_ids, attendee_rename
from orders.buyers import ATTENDEE_NAME_MAX_LENGTH, email_normalise
from orders.checkout.event_moves import move_refund_window, order_refund_after_move
from orders.models import EventSource, IssuedTicket, Order, OrderStatus, normalise_order_code
from payments.channel_names import channel_name
from tedxpay.core.client_address import client_address
from tedxpay.core.errors import ApplicationError, Conflict, InvalidInput
from tedxpay.core.language import chosen_language

logger = logging.getLogger(__name__)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The private link never leaves in a Referer: Django's Referrer-Policy (same-origin)
    # already keeps it from Xendit's page and any other site. ("no-referrer" would also make
    # the browser send `Origin: null` with the page's own forms, which CSRF refuses.)
    return response


def order_by_link(code: str, secret: str) -> Order:
    """The order whose private link this is, or 404 (the same for a wrong code or secret)."""
    order = (
        Order.objects.select_related("event", "buyer", "payment")
        .prefetch_related("items__ticket")
        .filter(code=normalise_order_code(code))
        .first()
    )
    # Constant time: how much of a guessed secret matched must not show in the timing.
    if order is None or not hmac.compare_digest(secret.encode(), order.link_secret.encode()):
        raise Http404("No such order link.")
    return order


def _in_order_language_unless_chosen(request, order: Order) -> None:
    # A buyer opening the link from their email on another device has no language cookie:
    # the page then speaks the language they ordered in, like the email did.
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) is None and order.language in ("id", "en"):
        translation.activate(order.language)
        request.LANGUAGE_CODE = order.language
    else:
        request.LANGUAGE_CODE = chosen_language(request)


def order_detail(request, code: str, secret: str):
    order = order_by_link(code, secret)
    _in_order_language_unless_chosen(request, order)
    return _order_page(request, order)


def _order_page(
    request,
    order: Order,
    *,
    move_error: str = "",
    rename_error: tuple[str, str, str] | None = None,  # (e-ticket code, message, what was typed)
    status: int = 200,
):
    etickets = []
    if order.status == OrderStatus.PAID:
        # A ticket voided by a refund is listed below as void, without a QR to scan.
        issued_tickets = list(order.issued_tickets.filter(voided_at__isnull=True).select_related("ticket"))
        for number, issued in enumerate(issued_tickets, start=1):
            # The same QR as in the confirmation email (error level M, quiet zone 4).
            issued.qr_svg = qr_svg(issued.code, label=_("QR code of e-ticket %(code)s") % {"code": issued.code})
            issued.number, issued.count = number, len(issued_tickets)
            etickets.append(issued)
    payment = getattr(order, "payment", None)
    channel = channel_name(method=payment.method, channel=payment.channel) if payment is not None else ""
    # A cancelled paid order lists its e-tickets as void (no QR: nothing to scan).
    void_tickets = list(order.issued_tickets.filter(voided_at__isnull=False).select_related("ticket"))
    refunds = list(order.refunds.order_by("requested_at", "pk"))
    context = {
        "order": order,
        "etickets": etickets,
        "channel": channel,
        "void_tickets": void_tickets,
        "refunds": refunds,
        # The event moved after this order: the buyer may cancel it for their money back.
        "move": move_refund_window(order),
        "move_refundable": payment.refundable if payment is not None else 0,
        "move_expected_refunds": payment.refunded_or_in_flight if payment is not None else 0,
        "move_error": move_error,
        "move_refund_asked": request.GET.get("moved") == "cancelled" and order.status == OrderStatus.CANCELLED,
        # The attendees' names the buyer may still correct (orders/attendees.py).
        "renamable": attendee_renamable_ids(order, etickets),
        "rename_error_code": rename_error[0] if rename_error else "",
        "rename_error": rename_error[1] if rename_error else "",
        "rename_typed": rename_error[2] if rename_error else "",
        "renamed": request.GET.get("renamed", ""),
    }
    return _private(render(request, "orders/order_detail.html", context, status=status))


@require_http_methods(["GET", "POST"])
def order_cancel_after_move(request, code: str, secret: str):
    """ "I cannot come to the new date": the order cancelled for a full refund while the
    move's refund window is open (orders/checkout/event_moves.py). The private link is
    what allows it, as it allows seeing the e-tickets. Opened as a page (a reload after a
    refusal, a copied address), it is the order's page."""
    order = order_by_link(code, secret)
    if request.method == "GET":
        return HttpResponseRedirect(reverse("order-detail", args=[order.code, order.link_secret]))
    _in_order_language_unless_chosen(request, order)
    if request.POST.get("confirm") != "yes":
        message = _("Tick the box to confirm that you will not come and want your money back.")
        return _order_page(request, order, move_error=message, status=400)
    try:
        expected_refunds = int(request.POST.get("expected_refunds", ""))
    except ValueError:
        expected_refunds = -1  # a form not from our page: refused below as out of date
    try:
        order_refund_after_move(order=order, expected_refunds=expected_refunds)
    except ApplicationError as error:  # nothing was written: the page says why
        logger.info("order %s: cancel after move refused: %s", order.code, error.message)
        order = order_by_link(code, secret)  # as it is now
        return _order_page(request, order, move_error=_move_refusal(order), status=409)
    return HttpResponseRedirect(reverse("order-detail", args=[order.code, order.link_secret]) + "?moved=cancelled")


@require_http_methods(["GET", "POST"])
def order_attendee_rename(request, code: str, secret: str, ticket_code: str):
    """The buyer corrects an attendee's name on one e-ticket (the private link allows it, as
    it allows seeing the QR codes). Refusals come back on the page, with what was typed: 400
    for a name that cannot be one, 409 when the name may no longer change. Opened as a page
    (a reload after a refusal), it is the order's page."""
    order = order_by_link(code, secret)
    if request.method == "GET":
        return HttpResponseRedirect(reverse("order-detail", args=[order.code, order.link_secret]))
    _in_order_language_unless_chosen(request, order)
    typed = request.POST.get("name", "")
    try:
        issued = attendee_rename(order_id=order.pk, ticket_code=ticket_code, name=typed, source=EventSource.BUYER)
    except IssuedTicket.DoesNotExist:
        raise Http404("No such e-ticket in this order.") from None
    except InvalidInput as error:
        if error.code == "name_unreadable":
            text = _("A name cannot contain control or text-direction characters.")
        else:
            text = _("Give the attendee's name, 1 to %(max)d characters.") % {"max": ATTENDEE_NAME_MAX_LENGTH}
        return _order_page(request, order, rename_error=(ticket_code, text, typed), status=400)
    except Conflict as error:
        logger.info("order %s: attendee rename refused: %s", order.code, error.code)
        refusal = _rename_refusal(error.code)
        return _order_page(request, order, rename_error=(ticket_code, refusal, typed), status=409)
    page = reverse("order-detail", args=[order.code, order.link_secret])
    return HttpResponseRedirect(f"{page}?renamed={issued.short_code or issued.code}#etickets")


def _rename_refusal(code: str) -> str:
    return {
        "event_started": _("The event has started: names can no longer change."),
        "already_checked_in": _("This ticket has been used to enter: its name can no longer change."),
        "ticket_void": _("This ticket is void."),
    }.get(code, _("This name can no longer change. Contact the organisers if you need help."))


def _move_refusal(order: Order) -> str:
    if order.status == OrderStatus.CANCELLED:
        return _("This order is already cancelled; any refund is shown below.")
    if move_refund_window(order) is None:
        return _("The time to cancel for a refund has passed. Contact the organisers if you need help.")
    return _("Something changed on this order meanwhile. Check the page and try again.")


@require_http_methods(["GET", "POST"])
def order_lookup(request, code: str):
    """The bare code: nothing personal, and a button that emails the private link."""
    order = Order.objects.select_related("event", "buyer").filter(code=normalise_order_code(code)).first()
    if order is None:
        raise Http404("No such order.")
    sent = throttled = False
    if request.method == "POST":
        try:
            order_links_request(
                email=order.buyer.email,
                language=request.LANGUAGE_CODE,
                client=client_address(request),
                order_codes=[order.code],
            )
            sent = True
        except OrderLinksThrottled:
            throttled = True
    context = {
        "code": order.code,
        "event": order.event,
        "sent": sent,
        "throttled": throttled,
        # Sent here by a checkout whose email or phone already has this unpaid order
        # (orders/placed_here.py).
        "unpaid": request.GET.get("unpaid") == "1" and order.status == OrderStatus.PENDING,
    }
    return _private(render(request, "orders/order_lookup.html", context, status=429 if throttled else 200))


@require_http_methods(["GET", "POST"])
def find_my_tickets(request):
    sent = throttled = invalid = False
    email = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip()[:254]
        if email:
            try:
                # A typo must not read "the links were sent": no order has a malformed address.
                email_normalise(email)
            except ValueError:
                invalid = True
        if email and not invalid:
            try:
                # Unknown and known addresses get the same answer (and the same work: the
                # task looks the orders up), so the page tells nobody who bought.
                order_links_request(email=email, language=request.LANGUAGE_CODE, client=client_address(request))
                sent = True
            except OrderLinksThrottled:
                throttled = True
    context = {
        "email": email,
        "sent": sent,
        "throttled": throttled,
        "missing": request.method == "POST" and not email,
        "invalid": invalid,
    }
    status = 429 if throttled else 400 if context["missing"] or invalid else 200
    return _private(render(request, "orders/find_my_tickets.html", context, status=status))


def order_tickets_pdf_download(request, code: str, secret: str):
    order = order_by_link(code, secret)
    if order.status != OrderStatus.PAID:
        raise Http404("E-tickets come with payment.")
    _in_order_language_unless_chosen(request, order)
    response = HttpResponse(order_tickets_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="e-tickets-{order.code}.pdf"'
    return _private(response)


def order_calendar(request, code: str, secret: str):
    order = order_by_link(code, secret)
    _in_order_language_unless_chosen(request, order)
    response = HttpResponse(order_calendar_ics(order), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{order.event.slug}.ics"'
    return _private(response)
