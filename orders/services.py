"""Order use cases. Every status change of an order is one function here that locks the
row, returns quietly when the order is already in the target state, refuses an illegal
move with `IllegalTransition`, and writes an `OrderEvent` in the same transaction."""

from django.db import transaction

from orders.models import EventSource, Order, OrderEvent, OrderStatus
from tedxpay.core.errors import IllegalTransition
from tedxpay.core.request_id import get_request_id
from tickets.services import stock_release


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


def order_lock(order_id: int) -> Order:
    """The order, locked for update until the surrounding transaction ends."""
    return Order.objects.select_for_update().get(pk=order_id)


def order_quantities(order: Order) -> dict[int, int]:
    return {item.ticket_id: item.quantity for item in order.items.all()}


def _order_set_status(*, order: Order, to_status: str, source: str, note: str = "") -> None:
    from_status = order.status
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    order_event_record(order=order, from_status=from_status, to_status=to_status, source=source, note=note)


@transaction.atomic
def order_cancel(*, order_id: int, source: str = EventSource.SYSTEM, note: str = "") -> Order:
    """PENDING → CANCELLED, giving the seats back."""
    order = order_lock(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot be cancelled.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.CANCELLED, source=source, note=note)
    return order
