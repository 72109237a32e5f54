"""What the door page shows for a scan: a colour, a few words in the volunteer's language
(Indonesian unless they switched to English, like every other page), and only the name and
ticket type (never an email, a phone number or an amount). Times are the event's wall
clock, in its zone (WIB, WITA or WIT), named.

green: come in. red: do not let in (already in, or a ticket that is not valid here).
amber: nothing was decided (an unknown or unreadable code, a bad request): check the code
and try again, or search by name.
"""

from dataclasses import asdict, dataclass, field

from django.utils.dateformat import format as date_format
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from checkin.errors import AlreadyCheckedIn, RefusalReason, TicketNotFound, TicketNotValid
from checkin.models import CheckIn
from checkin.selectors import DoorCount
from orders.models import IssuedTicket
from tedxpay.core.errors import ApplicationError
from tickets.event_time import event_local
from tickets.models import Event

GREEN, RED, AMBER = "green", "red", "amber"

REASON_WORDS = {
    RefusalReason.ORDER_NOT_PAID: gettext_lazy("Order not paid"),
    RefusalReason.ORDER_CANCELLED: gettext_lazy("Order cancelled"),
    RefusalReason.REFUNDED: gettext_lazy("Ticket refunded"),
    RefusalReason.OTHER_EVENT: gettext_lazy("Ticket for another event"),
}


@dataclass
class ScanResult:
    tone: str
    result: str
    title: str
    detail: str = ""
    name: str = ""
    ticket_name: str = ""
    checkin_id: int | None = None
    count: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


def count_words(count: DoorCount) -> dict:
    return {
        "admitted": count.admitted,
        "expected": count.expected,
        "text": f"{number_format(count.admitted, force_grouping=True)} / "
        f"{number_format(count.expected, force_grouping=True)}",
    }


def clock(moment, event: Event) -> str:
    """ "09.02 WITA" (Indonesian writes a dot), "09:02 WITA" in English: the event's time."""
    text = date_format(event_local(moment, event), "H.i" if get_language() == "id" else "H:i")
    return f"{text} {event.time_zone_abbreviation}"


def admitted(checkin: CheckIn) -> ScanResult:
    issued = checkin.ticket
    return ScanResult(
        tone=GREEN,
        result="admitted",
        title=_("Admitted"),
        name=issued.holder_name,
        ticket_name=issued.ticket.name,
        checkin_id=checkin.pk,
    )


def refused(error: ApplicationError, *, event: Event, issued: IssuedTicket | None = None) -> ScanResult:
    person = {"name": issued.holder_name, "ticket_name": issued.ticket.name} if issued is not None else {}
    if isinstance(error, AlreadyCheckedIn):
        when = {"time": clock(error.checked_in_at, event), "gate": error.gate}
        return ScanResult(
            tone=RED,
            result=error.code,
            title=_("Already checked in"),
            detail=_("At %(time)s at %(gate)s") % when if error.gate else _("At %(time)s") % when,
            **person,
        )
    if isinstance(error, TicketNotValid):
        return ScanResult(
            tone=RED,
            result=error.code,
            title=_("Not valid"),
            detail=str(REASON_WORDS[error.reason]),
            **person,
        )
    if isinstance(error, TicketNotFound):
        return ScanResult(
            tone=AMBER,
            result=error.code,
            title=_("Unknown code"),
            detail=_("Check the code and type it again, or search by name."),
        )
    return ScanResult(
        tone=AMBER,
        result=error.code,
        title=_("Cannot read the code"),
        detail=_("Type the ticket code, or search by name."),
    )


def undone(checkin: CheckIn) -> ScanResult:
    issued = checkin.ticket
    return ScanResult(
        tone=AMBER,
        result="undone",
        title=_("Check-in undone"),
        detail=_("This ticket can be scanned again."),
        name=issued.holder_name,
        ticket_name=issued.ticket.name,
    )


def row_status(row, event: Event) -> str:
    """A search result's state, in the page's language."""
    if row.refusal:
        return str(REASON_WORDS[row.refusal])
    if row.checked_in_at:
        when = {"time": clock(row.checked_in_at, event), "gate": row.gate}
        return _("Checked in at %(time)s, %(gate)s") % when if row.gate else _("Checked in at %(time)s") % when
    return _("Not yet in")
