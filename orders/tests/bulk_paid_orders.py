"""Many paid orders at once, for the event cancellation tests: the rows a paid order has
(order, line, e-ticket, PAID payment) and its PAID invoice at the simulator, written in
bulk. Placing and paying 200 orders over HTTP would take most of a minute and test nothing
new here; the refunds that follow go over real HTTP."""

import secrets

from django.conf import settings
from django.utils import timezone

from orders.models import IssuedTicket, Order, OrderItem, OrderStatus
from orders.tests.factories import BuyerFactory
from payments.gateways.simulator.channels import CHANNELS
from payments.gateways.simulator.models import SimulatedInvoice, SimulatedInvoiceStatus
from payments.gateways.simulator.services import business_user_id
from payments.models import Payment, PaymentStatus
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

PRICE = 100_000


def paid_orders_in_bulk(*, event, count: int, channels=("DANA",)) -> list[Order]:
    """`count` paid one-seat orders for `event`, channels taken in turn."""
    now = timezone.now()
    ticket = TicketFactory(event=event, price=PRICE, quota=count + 10)
    Ticket.objects.filter(pk=ticket.pk).update(held=count)  # what the placements would have held
    buyer = BuyerFactory()
    orders = Order.objects.bulk_create(
        Order(buyer=buyer, event=event, total=PRICE, status=OrderStatus.PAID, expires_at=now, paid_at=now)
        for _ in range(count)
    )
    orders = list(Order.objects.filter(event=event, status=OrderStatus.PAID).order_by("pk"))
    items = OrderItem.objects.bulk_create(
        OrderItem(order=order, ticket=ticket, quantity=1, unit_price=PRICE) for order in orders
    )
    items = {item.order_id: item for item in OrderItem.objects.filter(order__in=orders)}
    IssuedTicket.objects.bulk_create(
        IssuedTicket(order=order, order_item=items[order.pk], ticket=ticket, seat_number=1) for order in orders
    )
    invoices, payments = [], []
    for index, order in enumerate(orders):
        channel = CHANNELS[channels[index % len(channels)]]
        invoice_id = secrets.token_hex(12)
        invoices.append(
            SimulatedInvoice(
                id=invoice_id,
                external_id=order.code,
                user_id=business_user_id(),
                status=SimulatedInvoiceStatus.PAID,
                amount=PRICE,
                merchant_name=settings.XENDIT_MERCHANT_NAME,
                invoice_url=f"{settings.XENDIT_BASE_URL}/web/{invoice_id}",
                expiry_date=now,
                created=now,
                updated=now,
                paid_amount=PRICE,
                paid_at=now,
                payment_method=channel.payment_method,
                payment_channel=channel.code,
                payment_id=secrets.token_hex(12),
            )
        )
        payments.append(
            Payment(
                order=order,
                status=PaymentStatus.PAID,
                external_id=order.code,
                invoice_id=invoice_id,
                amount=PRICE,
                paid_amount=PRICE,
                method=channel.payment_method,
                channel=channel.code,
                paid_at=now,
            )
        )
    SimulatedInvoice.objects.bulk_create(invoices)
    Payment.objects.bulk_create(payments)
    return orders
