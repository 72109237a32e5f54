"""Reads for the door: find a ticket by what was scanned or typed, counts, search, the
printable list. What they return is what door staff may see: names, ticket types and
check-in state, never an email, a phone number or an amount."""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from checkin.errors import InvalidCode
from checkin.models import CheckIn
from checkin.validity import ticket_refusal
from orders.models import IssuedTicket, OrderStatus
from orders.ticket_codes import is_ticket_secret, short_code_display, short_code_normalize
from tickets.models import Event

# Far longer than any code we issue (24 or 10 characters, or a grouped short code) and
# than what a scanner app might wrap around one; anything longer is not worth a look-up.
MAX_CODE_LENGTH = 200
SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 20
# An event stays the door page's default this long after it started (when it has no end).
_EVENT_DAY = timedelta(hours=18)


def code_clean(raw: str) -> str:
    """The scanned or typed code, stripped; `InvalidCode` (400) when empty or oversized."""
    text = (raw or "").strip()
    if not text:
        raise InvalidCode("Send the ticket's QR content or its short code.", details={"code": ["This field is empty."]})
    if len(text) > MAX_CODE_LENGTH:
        raise InvalidCode(
            f"A ticket code is at most {MAX_CODE_LENGTH} characters.",
            details={"code": [f"Longer than {MAX_CODE_LENGTH} characters."]},
        )
    return text


def _tickets() -> QuerySet[IssuedTicket]:
    return IssuedTicket.objects.select_related("order__buyer", "order__event", "ticket")


def issued_ticket_find(code: str) -> IssuedTicket | None:
    """The e-ticket whose QR secret or short code this is (already `code_clean`ed)."""
    short_code = short_code_normalize(code)
    if short_code is not None:
        return _tickets().filter(short_code=short_code).first()
    if is_ticket_secret(code):
        found = _tickets().filter(code=code).first()
        # MySQL's default collation compares case-insensitively: only the exact secret
        # counts, or a guess would need fewer than the secret's 144 bits.
        if found is not None and hmac.compare_digest(found.code, code):
            return found
    return None


def current_checkin(ticket_id: int) -> CheckIn | None:
    return CheckIn.objects.filter(ticket_id=ticket_id, current=True).select_related("checked_in_by").first()


@dataclass(frozen=True)
class DoorCount:
    admitted: int
    expected: int


def door_count(event: Event) -> DoorCount:
    """ "412 of 1,050 in": tickets admitted now, of the valid tickets of the event (a
    ticket a partial refund voided is no longer expected, though its order stays PAID)."""
    expected = IssuedTicket.objects.filter(
        order__event=event, order__status=OrderStatus.PAID, voided_at__isnull=True
    ).count()
    admitted = CheckIn.objects.filter(order__event=event, current=True).count()
    return DoorCount(admitted=admitted, expected=expected)


def door_events() -> QuerySet[Event]:
    return Event.objects.order_by("starts_at", "pk")


def door_default_event(*, now: datetime | None = None) -> Event | None:
    """The event happening now or next; the latest one when all are over."""
    now = now or timezone.now()
    upcoming = (
        door_events().filter(Q(ends_at__gte=now) | Q(ends_at__isnull=True, starts_at__gte=now - _EVENT_DAY)).first()
    )
    return upcoming or door_events().last()


@dataclass(frozen=True)
class AttendeeRow:
    ticket_id: int
    name: str
    ticket_name: str
    refusal: str | None
    checked_in_at: datetime | None
    gate: str
    short_code: str = ""

    @property
    def code_tail(self) -> str:
        """The last 4 symbols of the short code, grouped as shown ("XD-4F"): enough to match a
        guest's ticket against the paper list, far too few to type a ticket in with (the 6
        others are 30 bits)."""
        return short_code_display(self.short_code)[-5:]

    @property
    def state(self) -> str:
        if self.refusal:
            return "refused"
        return "in" if self.checked_in_at else "not_in"


def _holder_name():
    return Coalesce(NullIf(F("attendee_name"), Value("")), F("order__buyer__full_name"))


def _rows(tickets: QuerySet[IssuedTicket], event: Event) -> list[AttendeeRow]:
    tickets = tickets.prefetch_related(
        Prefetch("checkins", queryset=CheckIn.objects.filter(current=True), to_attr="current_checkins")
    )
    rows = []
    for issued in tickets:
        checkin = issued.current_checkins[0] if issued.current_checkins else None
        rows.append(
            AttendeeRow(
                ticket_id=issued.pk,
                name=issued.holder,
                ticket_name=issued.ticket.name,
                refusal=ticket_refusal(issued=issued, order=issued.order, event=event),
                checked_in_at=checkin.checked_in_at if checkin else None,
                gate=checkin.gate if checkin else "",
                short_code=issued.short_code,
            )
        )
    return rows


def attendee_search(*, event: Event, query: str) -> list[AttendeeRow]:
    """Tickets of this event whose holder's name contains `query`, or of the order with
    this code: for someone who lost their ticket. Unpaid orders' tickets are not listed."""
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        return []
    tickets = (
        _tickets()
        .filter(order__event=event)
        .exclude(order__status__in=[OrderStatus.PENDING, OrderStatus.EXPIRED])
        .annotate(holder=_holder_name())
        .filter(Q(holder__icontains=query) | Q(order__code__iexact=query))
        .order_by("holder", "pk")[:SEARCH_LIMIT]
    )
    return _rows(tickets, event)


def attendee_list(*, event: Event) -> list[AttendeeRow]:
    """Every valid ticket of the event, by name: the paper list for when the network dies."""
    tickets = (
        _tickets()
        .filter(order__event=event, order__status=OrderStatus.PAID)
        .annotate(holder=_holder_name())
        .order_by("holder", "pk")
    )
    return _rows(tickets, event)
