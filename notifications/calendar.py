"""An "add to calendar" file (.ics, RFC 5545) for an order's event.

Written by hand: one VEVENT, a dozen lines; times in UTC (…Z), which every calendar shows
in the reader's own zone, so no VTIMEZONE block is needed.
"""

from datetime import UTC, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.links import order_public_page_url
from orders.models import EventMove, Order

# An event without an end time is shown as this long.
DEFAULT_DURATION = timedelta(hours=4)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(value) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def order_calendar_ics(order: Order) -> str:
    event = order.event
    ends_at = event.ends_at or event.starts_at + DEFAULT_DURATION
    location = event.venue + (f", {event.city}" if event.city else "")
    # The order's public page, not its private link: a calendar is shared with colleagues
    # and family, and the private page holds the QR codes that open the door. The public
    # page emails the private link to the buyer.
    description = _(
        "Order %(code)s. Your e-tickets are in the confirmation email; this page sends it again: %(url)s"
    ) % {
        "code": order.code,
        "url": order_public_page_url(order),
    }
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//tedxpay//e-tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{order.code}-{event.slug}@tedxpay",
        f"DTSTAMP:{_utc(timezone.now())}",
        # Each move of the event (orders.EventMove) is a new version of the same entry: a
        # calendar that has the entry replaces it only when SEQUENCE is higher (RFC 5545 3.8.7.4).
        f"SEQUENCE:{EventMove.objects.filter(event_id=event.pk).count()}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(ends_at)}",
        f"SUMMARY:{_escape(event.name)}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
