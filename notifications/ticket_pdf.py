"""Every e-ticket of an order in one PDF: a page per ticket with its QR code, the short code
when it has one, the name, the event, its time (in the event's zone) and the venue; a
complimentary ticket says so, and a ticket bought with a voucher names it and its price
with it (in the order's language, like the rest of the page).

Made with fpdf2: pure Python (with Pillow for the QR image), installed from PyPI with no
system package, small and well kept, and fast enough to run inside the email task (a few
milliseconds a page). Rendering HTML in Chromium would need a browser on every web and
worker machine just for this. fpdf2's built-in fonts cover Latin-1, which Indonesian
needs; a character outside it (a name in another script) is written as its closest Latin
letter or "?", while the QR code, which is what the door scans, is always exact.
"""

import io
import unicodedata

from django.utils.translation import gettext as _
from fpdf import FPDF

from notifications.qr import qr_png
from orders.models import Order
from tedxpay.core.money import format_rupiah
from tickets.event_time import event_time_text

_PAGE = (105, 190)  # mm: a phone-shaped page that also prints well
_MARGIN = 8
# Each block starts on a line of its own at the left margin (fpdf2 otherwise continues to
# the right of the previous one).
_NEXT_LINE = {"new_x": "LMARGIN", "new_y": "NEXT"}


def _latin1(text: str) -> str:
    text = (text or "").replace("—", "-").replace("–", "-").replace("’", "'").replace("…", "...")
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


def _attendee_name(issued, order: Order) -> str:
    # Named attendees (when tickets carry a name of their own); otherwise the buyer's.
    return getattr(issued, "attendee_name", "") or order.buyer.full_name


def _price_note(issued, order: Order) -> tuple[str, str]:
    """(headline, detail): "Complimentary ticket", or the voucher and what this ticket cost
    with it; nothing for a ticket bought at the phase's price."""
    if order.is_comp:
        return _("Complimentary ticket"), ""
    if not order.voucher_id:
        return "", ""
    item = issued.order_item
    headline = _("Voucher %(code)s") % {"code": order.voucher.code}
    if not item.unit_discount:
        return headline, ""
    detail = _("%(price)s (normal price %(was)s)") % {
        "price": format_rupiah(item.unit_charged),
        "was": format_rupiah(item.unit_price),
    }
    return headline, detail


def order_tickets_pdf(order: Order) -> bytes:
    """The PDF's bytes; the order's e-tickets in seat order (none: a single page saying so)."""
    issued_tickets = list(
        order.issued_tickets.select_related("ticket", "order_item").order_by("order_item_id", "seat_number")
    )
    event = order.event
    pdf = FPDF(unit="mm", format=_PAGE)
    pdf.set_title(_latin1(f"{event.name} - {order.code}"))
    pdf.set_author("tedxpay")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    width = _PAGE[0] - 2 * _MARGIN
    for number, issued in enumerate(issued_tickets, start=1):
        pdf.add_page()
        pdf.set_fill_color(208, 42, 30)
        pdf.rect(0, 0, _PAGE[0], 14, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_xy(_MARGIN, 4)
        pdf.cell(width, 6, _latin1(event.name), align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(_MARGIN, 18)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(width, 4.5, _latin1(event_time_text(event.starts_at, event)), align="L", **_NEXT_LINE)
        venue = event.venue + (f", {event.city}" if event.city else "")
        pdf.multi_cell(width, 4.5, _latin1(venue), align="L", **_NEXT_LINE)
        qr_size = 70
        pdf.image(io.BytesIO(qr_png(issued.code, scale=8)), x=(_PAGE[0] - qr_size) / 2, y=pdf.get_y() + 4, w=qr_size)
        pdf.set_y(pdf.get_y() + qr_size + 8)
        short_code = getattr(issued, "short_code_display", "")
        if short_code:
            pdf.set_font("Courier", "B", 16)
            pdf.cell(width, 8, _latin1(short_code), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(width, 6, _latin1(_attendee_name(issued, order)), align="C", **_NEXT_LINE)
        pdf.set_font("Helvetica", "", 10)
        label = _("Ticket %(number)s of %(total)s") % {"number": number, "total": len(issued_tickets)}
        pdf.multi_cell(width, 5, _latin1(f"{issued.ticket.name} · {label}"), align="C", **_NEXT_LINE)
        headline, detail = _price_note(issued, order)
        if headline:
            pdf.set_font("Helvetica", "B", 10)
            pdf.multi_cell(width, 5, _latin1(headline), align="C", **_NEXT_LINE)
            pdf.set_font("Helvetica", "", 10)
        if detail:
            pdf.multi_cell(width, 5, _latin1(detail), align="C", **_NEXT_LINE)
        pdf.multi_cell(width, 5, _latin1(_("Order %(code)s") % {"code": order.code}), align="C", **_NEXT_LINE)
        pdf.set_font("Courier", "", 7)
        pdf.multi_cell(width, 4, issued.code, align="C", **_NEXT_LINE)
        pdf.set_y(_PAGE[1] - 16)
        pdf.set_font("Helvetica", "", 7)
        pdf.multi_cell(
            width, 3.5, _latin1(_("One QR code lets one person in, once. Show it on your phone or printed."))
        )
    if not issued_tickets:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width, 6, _latin1(_("This order has no e-tickets.")), **_NEXT_LINE)
    return bytes(pdf.output())
