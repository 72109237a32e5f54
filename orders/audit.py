"""The audit row (`OrderEvent`): one per status change of an order or its payment, and per
deliberate act on them (a flag, a refund recorded, an email re-sent), written in the same
transaction as the change. Ground floor: every layer that changes an order, its payment or
its emails writes its row through here."""

from orders.models import Order, OrderEvent
from tedxpay.core.request_id import get_request_id


def order_event_record(
    *,
    order: Order,
    to_status: str,
    from_status: str = "",
    source: str,
    note: str = "",
    subject: str = OrderEvent.Subject.ORDER,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        subject=subject,
        from_status=from_status,
        to_status=to_status,
        source=source,
        request_id=get_request_id(),
        note=note,
    )
