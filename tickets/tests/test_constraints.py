"""The database itself refuses states the rules forbid (docs/architecture.md)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.tests.factories import NotificationFactory
from orders.models import IssuedTicket, OrderItem
from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.tests.factories import PaymentFactory, WebhookEventFactory
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def refused(action) -> bool:
    try:
        with transaction.atomic():
            action()
    except IntegrityError:
        return True
    return False


def test_held_cannot_exceed_quota():
    ticket = TicketFactory(quota=3)
    assert refused(lambda: Ticket.objects.filter(pk=ticket.pk).update(held=4))
    Ticket.objects.filter(pk=ticket.pk).update(held=F("held") + 3)
    ticket.refresh_from_db()
    assert ticket.held == 3 and ticket.available == 0


def test_sale_window_must_be_ordered():
    now = timezone.now()
    assert refused(lambda: TicketFactory(valid_from=now, valid_until=now - timedelta(hours=1)))


def test_max_per_order_is_at_least_one():
    assert refused(lambda: TicketFactory(max_per_order=0))


def test_order_item_quantity_is_at_least_one_and_ticket_once_per_order():
    item = OrderItemFactory()
    assert refused(lambda: OrderItem.objects.create(order=item.order, ticket=TicketFactory(), quantity=0, unit_price=1))
    assert refused(lambda: OrderItem.objects.create(order=item.order, ticket=item.ticket, quantity=1, unit_price=1))


def test_flagged_order_needs_a_reason():
    # Derived, so a flag without a reason cannot even be written: no reason, no flag.
    assert not OrderFactory(attention_reason="").needs_attention
    assert OrderFactory(attention_reason="amount_mismatch").needs_attention


def test_invoice_id_is_unique_and_one_payment_per_order():
    payment = PaymentFactory(invoice_id="inv_same")
    assert refused(lambda: PaymentFactory(invoice_id="inv_same"))
    assert refused(lambda: PaymentFactory(order=payment.order, external_id="other"))
    # Payments not yet given an invoice may coexist.
    assert PaymentFactory(invoice_id=None).pk and PaymentFactory(invoice_id=None).pk


def test_webhook_dedupe_key_is_unique_and_duplicates_carry_none():
    WebhookEventFactory(invoice_id="inv_1", status="PAID", dedupe_key="inv_1:PAID", outcome="processed")
    assert refused(lambda: WebhookEventFactory(invoice_id="inv_1", dedupe_key="inv_1:PAID"))
    assert refused(lambda: WebhookEventFactory(invoice_id="inv_1", dedupe_key="x", outcome="duplicate"))
    assert WebhookEventFactory(invoice_id="inv_1", dedupe_key=None, outcome="duplicate").pk


def test_one_notification_per_order_and_kind():
    notification = NotificationFactory()
    assert refused(lambda: NotificationFactory(order=notification.order, kind=notification.kind))
    assert NotificationFactory(order=notification.order, kind=NotificationKind.ORDER_EXPIRED).pk


def test_one_issued_ticket_per_seat():
    item = OrderItemFactory(quantity=2)
    IssuedTicket.objects.create(order=item.order, order_item=item, ticket=item.ticket, seat_number=1)
    assert refused(
        lambda: IssuedTicket.objects.create(order=item.order, order_item=item, ticket=item.ticket, seat_number=1)
    )
