"""Rendering a notification as an email: HTML + plain text, in the buyer's language.

Templates live in templates/emails/<kind>.<language>.html and .txt (one file per language
so a translator edits whole sentences). E-ticket QR codes travel as inline PNG parts with a
Content-ID that the HTML references as `cid:…`: Gmail and Outlook block `data:` images,
and Anymail passes Content-ID parts on to the ESP as inline images.
"""

from dataclasses import dataclass
from email.mime.image import MIMEImage
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from notifications.calendar import order_calendar_ics
from notifications.models import Notification, NotificationKind
from notifications.qr import qr_png
from notifications.ticket_pdf import order_tickets_pdf
from orders.links import order_page_url
from orders.models import EventMove, IssuedTicket, Order
from payments.models import Refund

EMAIL_LANGUAGES = ("en", "id")
JAKARTA = ZoneInfo("Asia/Jakarta")

SUBJECTS = {
    NotificationKind.ORDER_CONFIRMATION: {
        "en": "Your e-tickets for {event} — order {code}",
        "id": "E-tiket Anda untuk {event} — pesanan {code}",
    },
    NotificationKind.ORDER_EXPIRED: {
        "en": "Order {code} has expired — {event}",
        "id": "Pesanan {code} telah kedaluwarsa — {event}",
    },
    NotificationKind.PAYMENT_REMINDER: {
        "en": "Your seats for {event} are held a few more minutes — pay for order {code}",
        "id": "Kursi Anda untuk {event} tinggal ditahan beberapa menit — bayar pesanan {code}",
    },
    NotificationKind.PAID_AFTER_EXPIRY: {
        "en": "Payment for order {code} received after it closed — refund on its way",
        "id": "Pembayaran pesanan {code} diterima setelah pesanan ditutup — dana akan dikembalikan",
    },
    NotificationKind.ORDER_CANCELLED: {
        "en": "Order {code} has been cancelled — {event}",
        "id": "Pesanan {code} telah dibatalkan — {event}",
    },
    NotificationKind.REFUND_STARTED: {
        "en": "Your refund for order {code} is on its way",
        "id": "Pengembalian dana pesanan {code} sedang diproses",
    },
    NotificationKind.REFUND_DONE: {
        "en": "Your refund for order {code} is done",
        "id": "Pengembalian dana pesanan {code} telah selesai",
    },
    NotificationKind.REFUND_MANUAL: {
        "en": "Your refund for order {code} will be sent by bank transfer",
        "id": "Pengembalian dana pesanan {code} akan dikirim lewat transfer bank",
    },
    NotificationKind.EVENT_MOVED: {
        "en": "{event} has moved: new date or venue — order {code}",
        "id": "{event} pindah jadwal atau tempat — pesanan {code}",
    },
}

# How long a refund usually takes to reach the buyer, by Xendit's channel family (what the
# "refund started" email promises). Card refunds go back through the card network.
REFUND_TIMES = {
    "EWALLET": {"en": "usually within 1 to 3 working days", "id": "biasanya dalam 1 sampai 3 hari kerja"},
    "QR_CODE": {"en": "usually within 1 to 7 working days", "id": "biasanya dalam 1 sampai 7 hari kerja"},
    "CREDIT_CARD": {"en": "usually within 7 to 14 working days", "id": "biasanya dalam 7 sampai 14 hari kerja"},
}
REFUND_TIME_DEFAULT = {"en": "usually within 14 working days", "id": "biasanya dalam 14 hari kerja"}


@dataclass(frozen=True)
class ETicket:
    issued: IssuedTicket
    content_id: str  # without the angle brackets: the HTML says src="cid:{content_id}"
    png: bytes
    number: int  # "Ticket 1 of 2": seats are not numbered at TEDx events
    count: int


def notification_message(notification: Notification) -> EmailMultiAlternatives:
    """The email for this notification, ready to send (nothing is written)."""
    order = Order.objects.select_related("buyer", "event", "voucher").get(pk=notification.order_id)
    language = notification.language if notification.language in EMAIL_LANGUAGES else "en"
    etickets = _etickets(order) if notification.kind == NotificationKind.ORDER_CONFIRMATION else []
    context = {
        "order": order,
        "buyer": order.buyer,
        "event": order.event,
        "items": list(order.items.select_related("ticket").order_by("ticket_id")),
        "etickets": etickets,
        "paid_amount": _paid_amount(order),
        "order_url": order_page_url(order),
        "event_url": f"{settings.SITE_URL}/events/{order.event.slug}/",
        "invoice_url": _invoice_url(order),
        "language": language,
        **_refund_context(notification, language),
        **_move_context(notification),
    }
    # Month and day names follow the language. An event's times are on its own clock (the
    # event_time tag names WIB, WITA or WIT); any other time is Jakarta's wherever the
    # worker runs.
    with translation.override(language), timezone.override(JAKARTA):
        text = render_to_string(f"emails/{notification.kind}.{language}.txt", context)
        html = render_to_string(f"emails/{notification.kind}.{language}.html", context)
        # The tickets to keep: every e-ticket in one PDF, printable, for phones offline.
        pdf = order_tickets_pdf(order) if etickets else None
        # The new date into the buyer's calendar in one tap: the same entry (its UID) with a
        # higher SEQUENCE, which calendars take as the newer version of it.
        ics = order_calendar_ics(order) if notification.kind == NotificationKind.EVENT_MOVED else None
    subject = SUBJECTS[notification.kind][language].format(code=order.code, event=order.event.name)

    message = EmailMultiAlternatives(subject=subject, body=text, to=[notification.to_email])
    message.attach_alternative(html, "text/html")
    if etickets:
        # multipart/related: the images belong to the HTML rather than being attachments.
        message.mixed_subtype = "related"
        for eticket in etickets:
            image = MIMEImage(eticket.png, "png")
            image.add_header("Content-ID", f"<{eticket.content_id}>")
            image.add_header("Content-Disposition", "inline", filename=f"e-ticket-{eticket.issued.code[:8]}.png")
            message.attach(image)
        message.attach(f"e-tickets-{order.code}.pdf", pdf, "application/pdf")
    if ics:
        message.attach(f"{order.code}.ics", ics, "text/calendar")
    return message


def _etickets(order: Order) -> list[ETicket]:
    issued = order.issued_tickets.select_related("ticket").order_by("order_item_id", "seat_number")
    issued = list(issued)
    return [
        ETicket(
            issued=ticket,
            content_id=f"eticket-{ticket.pk}@tedxpay",
            png=qr_png(ticket.code),
            number=number,
            count=len(issued),
        )
        for number, ticket in enumerate(issued, start=1)
    ]


def _invoice_url(order: Order) -> str:
    payment = getattr(order, "payment", None)
    return payment.invoice_url if payment is not None else ""


def _refund_context(notification: Notification, language: str) -> dict:
    if not notification.refund_reference or notification.kind == NotificationKind.EVENT_MOVED:
        return {}
    refund = Refund.objects.select_related("payment").get(reference=notification.refund_reference)
    method = refund.payment.method
    return {
        "refund": refund,
        "refund_time": REFUND_TIMES.get(method, REFUND_TIME_DEFAULT)[language],
        "refund_channel": refund.payment.channel,
    }


def _move_context(notification: Notification) -> dict:
    if notification.kind != NotificationKind.EVENT_MOVED:
        return {}
    move_id = int(notification.refund_reference.removeprefix("move-"))
    return {"move": EventMove.objects.get(pk=move_id)}


def _paid_amount(order: Order) -> int | None:
    payment = getattr(order, "payment", None)
    return payment.paid_amount if payment is not None else None
