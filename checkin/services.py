"""Admitting a ticket at the door, and undoing an admission.

A ticket gets in once, and the database is what says so: the admission is an INSERT that
the unique (ticket, current) index refuses for a ticket already in (checkin/models.py).
There is no "is it checked in?" read before it, so two doors scanning the same ticket at
the same instant cannot both pass: on InnoDB the second INSERT waits on the first one's
index entry until that transaction ends, then fails as a duplicate, and the door is told
when and where the ticket went in.

The order row is locked first (`order_lock`, the lock order of every order change: order,
then payment): a cancel or refund that voids the ticket cannot interleave with the check
of its order's status.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from checkin.errors import AlreadyCheckedIn, TicketNotFound, TicketNotValid
from checkin.models import CheckIn, CheckInSource
from checkin.selectors import code_clean, current_checkin, issued_ticket_find
from checkin.validity import ticket_refusal
from orders.audit import order_event_record
from orders.models import EventSource, IssuedTicket
from orders.services import order_lock
from tedxpay.core.errors import InvalidInput, NotFound
from tedxpay.core.models import ApiKey
from tedxpay.core.request_id import get_request_id
from tickets.models import Event

MAX_GATE_LENGTH = 40
MAX_UNDO_REASON_LENGTH = 300

_AUDIT_SOURCES = {
    CheckInSource.DOOR: EventSource.DOOR,
    CheckInSource.API: EventSource.API,
    CheckInSource.ADMIN: EventSource.ADMIN,
}


def checkin_admit(
    *,
    code: str,
    event: Event | None,
    gate: str = "",
    source: str,
    user=None,
    api_key: ApiKey | None = None,
) -> CheckIn:
    """Admit the ticket with this QR secret or short code.

    Raises `InvalidCode` (empty or oversized), `TicketNotFound`, `TicketNotValid` (with the
    reason) or `AlreadyCheckedIn` (with when and at which gate).
    """
    issued = issued_ticket_find(code_clean(code))
    if issued is None:
        raise TicketNotFound()
    return checkin_admit_ticket(issued=issued, event=event, gate=gate, source=source, user=user, api_key=api_key)


def checkin_admit_ticket(
    *,
    issued: IssuedTicket,
    event: Event | None,
    gate: str = "",
    source: str,
    user=None,
    api_key: ApiKey | None = None,
) -> CheckIn:
    """Admit this ticket (found by its code, or picked from the door's search)."""
    gate = (gate or "").strip()[:MAX_GATE_LENGTH]
    with transaction.atomic():
        order = order_lock(issued.order_id)
        reason = ticket_refusal(issued=issued, order=order, event=event)
        if reason is not None:
            raise TicketNotValid(reason)
        try:
            # A savepoint: only the refused INSERT is rolled back, the lock is kept.
            with transaction.atomic():
                checkin = CheckIn.objects.create(
                    ticket=issued,
                    order_id=issued.order_id,
                    checked_in_at=timezone.now(),
                    gate=gate,
                    source=source,
                    checked_in_by=user if user is not None and user.is_authenticated else None,
                    api_key=api_key,
                    request_id=get_request_id(),
                )
        except IntegrityError:
            first = current_checkin(issued.pk)
            if first is None:  # undone in between: the unique index did its job, say so plainly
                raise
            raise AlreadyCheckedIn(checked_in_at=first.checked_in_at, gate=first.gate, checkin_id=first.pk) from None
    checkin.ticket = issued
    return checkin


@transaction.atomic
def checkin_undo(*, checkin_id: int, reason: str, user, source: str = CheckInSource.ADMIN) -> CheckIn:
    """Undo an admission (a wrong scan, a ticket let in by mistake): the ticket can be
    admitted again. The admission stays on record with who undid it, when and why, and the
    order's audit trail gets a line. Undoing an undone admission changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the check-in is undone.", details={"reason": ["This field is required."]})
    if len(reason) > MAX_UNDO_REASON_LENGTH:
        raise InvalidInput(
            f"The reason is at most {MAX_UNDO_REASON_LENGTH} characters.",
            details={"reason": [f"Longer than {MAX_UNDO_REASON_LENGTH} characters."]},
        )
    order_id = CheckIn.objects.filter(pk=checkin_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such check-in.", code="checkin_not_found")
    order = order_lock(order_id)
    checkin = CheckIn.objects.select_for_update().select_related("ticket").get(pk=checkin_id)
    if checkin.current is None:
        return checkin
    checkin.current = None
    checkin.undone_at = timezone.now()
    checkin.undone_by = user if user is not None and user.is_authenticated else None
    checkin.undo_reason = reason
    checkin.save(update_fields=["current", "undone_at", "undone_by", "undo_reason"])
    who = checkin.undone_by.get_username() if checkin.undone_by else "?"
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=_AUDIT_SOURCES.get(source, EventSource.ADMIN),
        note=(
            f"check-in of ticket {checkin.ticket.short_code_display} "
            f"({timezone.localtime(checkin.checked_in_at):%Y-%m-%d %H:%M}"
            f"{', ' + checkin.gate if checkin.gate else ''}) undone by {who}: {reason}"
        ),
    )
    return checkin
