"""What the door is told when a ticket does not get in (the API's error codes)."""

from datetime import datetime

from django.utils import timezone

from tedxpay.core.errors import ApplicationError, Conflict, InvalidInput, NotFound


class RefusalReason:
    """Why a real ticket is refused (`details.reason` of `ticket_not_valid`)."""

    ORDER_NOT_PAID = "order_not_paid"
    ORDER_CANCELLED = "order_cancelled"
    REFUNDED = "refunded"
    OTHER_EVENT = "other_event"


REFUSAL_MESSAGES = {
    RefusalReason.ORDER_NOT_PAID: "This ticket's order is not paid.",
    RefusalReason.ORDER_CANCELLED: "This ticket's order was cancelled.",
    RefusalReason.REFUNDED: "This ticket was refunded.",
    RefusalReason.OTHER_EVENT: "This ticket is for another event.",
}


class InvalidCode(InvalidInput):
    """Empty or oversized: nothing to look up."""


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    default_message = "No e-ticket has this code."


class TicketNotValid(Conflict):
    code = "ticket_not_valid"

    def __init__(self, reason: str):
        super().__init__(REFUSAL_MESSAGES[reason], details={"reason": reason})
        self.reason = reason


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"

    def __init__(self, *, checked_in_at: datetime, gate: str, checkin_id: int):
        where = f" at {gate}" if gate else ""
        super().__init__(
            f"Already checked in{where}.",
            details={"checked_in_at": timezone.localtime(checked_in_at).isoformat(), "gate": gate},
        )
        self.checked_in_at = checked_in_at
        self.gate = gate
        self.checkin_id = checkin_id


def is_refusal(error: ApplicationError) -> bool:
    return isinstance(error, TicketNotFound | TicketNotValid | AlreadyCheckedIn | InvalidCode)
