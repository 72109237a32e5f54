"""Which e-tickets get in: only those of a PAID order of this event that were not voided.

A cancelled order is refused as *order cancelled*, whatever its refund is doing: that is
always true, while "refunded" may not be yet (a bank transfer finance has still to make, a
refund Xendit failed). Cancelling a paid order is what voids tickets today, all of them; a
partial refund voids none. *Refunded*, a voided ticket of a PAID order, is a guard."""

from checkin.errors import RefusalReason
from orders.models import IssuedTicket, Order, OrderStatus
from tickets.models import Event

_REFUSED_STATUSES = {
    OrderStatus.PENDING: RefusalReason.ORDER_NOT_PAID,
    OrderStatus.EXPIRED: RefusalReason.ORDER_NOT_PAID,
    OrderStatus.CANCELLED: RefusalReason.ORDER_CANCELLED,
}


def ticket_refusal(*, issued: IssuedTicket, order: Order, event: Event | None) -> str | None:
    """Why this ticket may not get in (a `RefusalReason`), or None when it may.

    `order` is passed apart from `issued` so the caller can pass the row it locked.
    `event` None: any event (an API client that does not say which door it is).
    """
    if event is not None and order.event_id != event.pk:
        return RefusalReason.OTHER_EVENT
    if order.status != OrderStatus.PAID:
        return _REFUSED_STATUSES.get(order.status, RefusalReason.ORDER_NOT_PAID)
    if issued.voided_at is not None:
        return RefusalReason.REFUNDED
    return None
