"""The expiry sweep asks Xendit before it gives seats back: an order paid on time whose PAID
callback was lost becomes PAID, not expired and flagged for a refund; Xendit is asked in
batches (one list call, not a read per order), and when it cannot be asked the seats wait
for the next sweep, within a grace. Real SDK, real HTTP, the simulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from orders.checkout import expiry_check
from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import Order, OrderEvent, OrderStatus
from orders.tasks import order_expire_stale_task
from payments.models import PaymentStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def placed(ticket, n: int = 0) -> Order:
    return order_place(
        full_name=f"Buyer {n}",
        email=f"buyer{n}@example.com",
        phone=f"0812{n:08d}",
        items=[OrderLineRequest(ticket.pk, 1)],
    )


def past_its_time(*orders: Order, ago: timedelta = timedelta(seconds=1)) -> None:
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(expires_at=timezone.now() - ago)


def test_an_order_paid_on_time_with_its_callback_lost_is_paid_not_expired(xendit_simulator, celery_eager):
    ticket = TicketFactory(price=150_000, quota=1)  # the last seat: expiring would sell it
    order = placed(ticket)
    xendit_simulator.pay(order.payment.invoice_id, channel="OVO", callback="none")
    past_its_time(order)

    order_expire_stale_task()

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and not order.needs_attention
    order.payment.refresh_from_db()
    assert order.payment.status == PaymentStatus.PAID
    assert not OrderEvent.objects.filter(order=order, to_status=OrderStatus.EXPIRED).exists()  # seats never left
    assert not Notification.objects.filter(order=order, kind=NotificationKind.ORDER_EXPIRED).exists()
    ticket.refresh_from_db()
    assert ticket.held == 1


def test_many_stale_orders_are_asked_about_in_one_list_not_one_read_each(xendit_simulator, celery_eager):
    ticket = TicketFactory(price=100_000, quota=10)
    orders = [placed(ticket, n) for n in range(4)]
    for order in orders[:2]:
        xendit_simulator.pay(order.payment.invoice_id, callback="none")
    past_its_time(*orders)
    xendit_simulator.inject_fault("get", "error", status=503, count=50)  # a read per order would fail

    order_expire_stale_task()

    statuses = [Order.objects.get(pk=order.pk).status for order in orders]
    assert statuses == [OrderStatus.PAID, OrderStatus.PAID, OrderStatus.EXPIRED, OrderStatus.EXPIRED]


def test_a_failed_list_falls_back_to_reading_each_invoice(xendit_simulator, celery_eager):
    ticket = TicketFactory(price=100_000, quota=10)
    paid, unpaid = placed(ticket, 1), placed(ticket, 2)
    xendit_simulator.pay(paid.payment.invoice_id, callback="none")
    past_its_time(paid, unpaid)
    xendit_simulator.inject_fault("list", "error", status=503, count=5)

    order_expire_stale_task()

    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID
    assert Order.objects.get(pk=unpaid.pk).status == OrderStatus.EXPIRED


def test_when_xendit_cannot_be_asked_the_seats_wait_but_not_past_the_grace(xendit_simulator, celery_eager):
    ticket = TicketFactory(price=100_000, quota=10)
    recent, old = placed(ticket, 1), placed(ticket, 2)
    past_its_time(recent)
    past_its_time(old, ago=expiry_check.EXPIRY_ASK_GRACE + timedelta(seconds=5))
    xendit_simulator.inject_fault("any", "error", status=503, count=20)  # no list, no read either

    order_expire_stale_task()

    assert Order.objects.get(pk=recent.pk).status == OrderStatus.PENDING  # next sweep asks again
    assert Order.objects.get(pk=old.pk).status == OrderStatus.EXPIRED
    xendit_simulator.clear_faults()
    order_expire_stale_task()
    assert Order.objects.get(pk=recent.pk).status == OrderStatus.EXPIRED
