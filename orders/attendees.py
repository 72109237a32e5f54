"""An attendee's name corrected after payment: a typo on a badge, or a seat given to a
colleague. The name is what the door shows and the e-ticket prints, so it may change only
while it can still matter and nobody has used the ticket:

- the event asks each attendee's name (otherwise the buyer's name stands for every ticket,
  and finance corrects the buyer's contact instead);
- the order is paid, the ticket is not void and not checked in;
- the event has not started.

The order's lock serialises changes to its tickets (as the contact correction does); the
audit row says old → new and who asked. The QR code and the ticket's codes do not change: a
renamed ticket is the same ticket, and the e-tickets already sent still open the door.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orders.audit import order_event_record
from orders.buyers import ATTENDEE_NAME_MAX_LENGTH, person_name_text
from orders.models import IssuedTicket, OrderStatus
from orders.services import order_lock
from tedxpay.core.errors import Conflict, InvalidInput


def attendee_rename_refusal(
    issued: IssuedTicket, *, checked_in: bool | None = None, now: datetime | None = None
) -> str:
    """Why this ticket's name cannot change now ("" if it can), as a code the pages word.
    Reads `issued.order.event`, and the ticket's check-ins unless `checked_in` says."""
    order = issued.order
    if not order.event.ask_attendee_names:
        return "names_not_asked"
    if order.status != OrderStatus.PAID or issued.voided_at is not None:
        return "ticket_void"
    if (now or timezone.now()) >= order.event.starts_at:
        return "event_started"
    if checked_in is None:
        checked_in = issued.checkins.filter(current=True).exists()
    if checked_in:
        return "already_checked_in"
    return ""


def attendee_renamable_ids(order, tickets: list[IssuedTicket], *, now: datetime | None = None) -> set[int]:
    """The ids of `tickets` (e-tickets of this order) whose name may change now: the order
    page offers the form on those (one query for the check-ins, not one per ticket)."""
    if not order.event.ask_attendee_names:
        return set()
    checked_in = set(order.issued_tickets.filter(checkins__current=True).values_list("pk", flat=True))
    return {
        issued.pk
        for issued in tickets
        if not attendee_rename_refusal(issued, checked_in=issued.pk in checked_in, now=now)
    }


REFUSALS = {
    "names_not_asked": "This event does not ask each attendee's name: the buyer's name stands for every ticket.",
    "ticket_void": "This ticket is void: its order is no longer paid.",
    "event_started": "The event has started: names can no longer change.",
    "already_checked_in": "This ticket has been checked in: its name can no longer change.",
}


@transaction.atomic
def attendee_rename(*, order_id: int, ticket_code: str, name: str, source: str, requested_by: str = "") -> IssuedTicket:
    """Give the e-ticket `ticket_code` of this order a new attendee name. Quiet (no audit
    row) when the name is the same. Raises `InvalidInput` (`name_length`, `name_unreadable`;
    `details["name"]`) for a name that cannot be one, `Conflict` with the refusal's code when the name may not change,
    `IssuedTicket.DoesNotExist` for a code that is not this order's."""
    order = order_lock(order_id)
    issued = IssuedTicket.objects.select_for_update().select_related("ticket").get(order=order, code=ticket_code)
    issued.order = order  # the row just locked: the rule reads its status and event
    try:
        wanted = person_name_text(name)
    except ValueError as error:  # control or text-direction characters
        raise InvalidInput(str(error), code="name_unreadable", details={"name": str(error)}) from error
    if not wanted or len(wanted) > ATTENDEE_NAME_MAX_LENGTH:
        message = f"Give the attendee's name, 1 to {ATTENDEE_NAME_MAX_LENGTH} characters."
        raise InvalidInput(message, code="name_length", details={"name": message})
    refusal = attendee_rename_refusal(issued)
    if refusal:
        raise Conflict(REFUSALS[refusal], code=refusal)
    if wanted == issued.attendee_name:
        return issued
    before = issued.attendee_name or "(the buyer's name)"
    issued.attendee_name = wanted
    issued.save(update_fields=["attendee_name"])
    who = f" by {requested_by}" if requested_by else ""
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"attendee of ticket {issued.short_code_display} ({issued.ticket.name}) renamed{who}: {before} → {wanted}",
    )
    return issued
