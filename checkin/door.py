"""What the door page shows for a scan: a colour, words in Indonesian and English, and
only the name and ticket type (never an email, a phone number or an amount).

green: come in. red: do not let in (already in, or a ticket that is not valid here).
amber: nothing was decided (an unknown or unreadable code, a bad request): check the code
and try again, or search by name.
"""

from dataclasses import asdict, dataclass, field

from django.utils import timezone
from django.utils.formats import number_format

from checkin.errors import AlreadyCheckedIn, RefusalReason, TicketNotFound, TicketNotValid
from checkin.models import CheckIn
from checkin.selectors import DoorCount
from orders.models import IssuedTicket
from tedxpay.core.errors import ApplicationError

GREEN, RED, AMBER = "green", "red", "amber"

REASON_WORDS = {
    RefusalReason.ORDER_NOT_PAID: ("Pesanan belum dibayar", "Order not paid"),
    RefusalReason.ORDER_CANCELLED: ("Pesanan dibatalkan", "Order cancelled"),
    RefusalReason.REFUNDED: ("Tiket sudah di-refund", "Ticket refunded"),
    RefusalReason.OTHER_EVENT: ("Tiket untuk acara lain", "Ticket for another event"),
}


@dataclass
class ScanResult:
    tone: str
    result: str
    title: str
    title_en: str
    detail: str = ""
    detail_en: str = ""
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


def _clock(moment, *, english: bool = False) -> str:
    # Indonesian writes 09.02, English 09:02.
    return timezone.localtime(moment).strftime("%H:%M" if english else "%H.%M")


def admitted(checkin: CheckIn) -> ScanResult:
    issued = checkin.ticket
    return ScanResult(
        tone=GREEN,
        result="admitted",
        title="Silakan masuk",
        title_en="Admitted",
        name=issued.holder_name,
        ticket_name=issued.ticket.name,
        checkin_id=checkin.pk,
    )


def refused(error: ApplicationError, *, issued: IssuedTicket | None = None) -> ScanResult:
    person = {"name": issued.holder_name, "ticket_name": issued.ticket.name} if issued is not None else {}
    if isinstance(error, AlreadyCheckedIn):
        where = f" di {error.gate}" if error.gate else ""
        where_en = f" at {error.gate}" if error.gate else ""
        return ScanResult(
            tone=RED,
            result=error.code,
            title="Sudah masuk",
            title_en="Already checked in",
            detail=f"Pukul {_clock(error.checked_in_at)}{where}",
            detail_en=f"At {_clock(error.checked_in_at, english=True)}{where_en}",
            **person,
        )
    if isinstance(error, TicketNotValid):
        words, words_en = REASON_WORDS[error.reason]
        return ScanResult(
            tone=RED,
            result=error.code,
            title="Tidak berlaku",
            title_en="Not valid",
            detail=words,
            detail_en=words_en,
            **person,
        )
    if isinstance(error, TicketNotFound):
        return ScanResult(
            tone=AMBER,
            result=error.code,
            title="Kode tidak dikenal",
            title_en="Unknown code",
            detail="Periksa kode dan ketik ulang, atau cari nama.",
            detail_en="Check the code and type it again, or search by name.",
        )
    return ScanResult(
        tone=AMBER,
        result=error.code,
        title="Kode tidak terbaca",
        title_en="Cannot read the code",
        detail_en=error.message,
    )


def undone(checkin: CheckIn) -> ScanResult:
    issued = checkin.ticket
    return ScanResult(
        tone=AMBER,
        result="undone",
        title="Check-in dibatalkan",
        title_en="Check-in undone",
        detail="Tiket ini bisa dipindai lagi.",
        detail_en="This ticket can be scanned again.",
        name=issued.holder_name,
        ticket_name=issued.ticket.name,
    )


def row_status(row) -> str:
    """A search result's state, in both languages."""
    if row.refusal:
        words, words_en = REASON_WORDS[row.refusal]
        return f"{words} · {words_en}"
    if row.checked_in_at:
        where = f", {row.gate}" if row.gate else ""
        return f"Sudah masuk {_clock(row.checked_in_at)}{where} · Checked in"
    return "Belum masuk · Not yet in"
