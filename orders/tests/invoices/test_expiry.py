"""Expiring stale orders (docs/architecture.md and docs/operations.md): the sweep, seats given back exactly once, the
invoice closed at Xendit (the simulator, over HTTP) after commit, and a payment that beat
the expiry at Xendit recorded rather than lost."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from orders.checkout.invoices import invoice_expire
from orders.expiry import order_expire_stale
from orders.models import AttentionReason, EventSource, Order, OrderEvent, OrderItem, OrderStatus
from orders.services import order_expire
from orders.tasks import invoice_expire_task
from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.gateways.base import InvoiceRequest
from payments.models import Payment, PaymentStatus
from payments.services import payment_attach_invoice
from payments.tests.factories import PaymentFactory
from tedxpay.celery import app as celery_app
from tickets.models import Ticket
from tickets.services import stock_reserve
from tickets.tests.factories import TicketFactory

# --- helpers (plain functions and fixtures, also imported by test_expiry_concurrency) -----


@pytest.fixture
def celery_app_sent(monkeypatch):
    """Record the tasks published (name, args) instead of sending them to a broker."""
    sent = []

    def send_task(name, args=None, kwargs=None, **options):
        sent.append((name, list(args or ())))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


def pending_order(*, ticket=None, quantity: int = 2, stale: bool = True, language: str = "en") -> Order:
    """A PENDING order that holds its seats through the stock service, with a PENDING
    payment and no invoice yet. `stale`: its expiry time has passed."""
    ticket = ticket or TicketFactory(price=350_000, quota=10)
    with transaction.atomic():
        stock_reserve(quantities={ticket.pk: quantity}, now=timezone.now())
        expires_at = timezone.now() + (timedelta(minutes=-1) if stale else settings.ORDER_TTL)
        order = OrderFactory(
            event=ticket.event, total=ticket.price * quantity, expires_at=expires_at, language=language
        )
        OrderItemFactory(order=order, ticket=ticket, quantity=quantity)
        PaymentFactory(order=order, invoice_id=None, invoice_url="")
    return order


def open_invoice(gateway, order: Order) -> Payment:
    """Create the order's invoice at the simulator, as order_place does, and store it."""
    invoice = gateway.create_invoice(
        InvoiceRequest(
            external_id=order.code,
            amount=order.total,
            payer_email=order.buyer.email,
            description=f"{order.event.name} — order {order.code}",
            invoice_duration=600,
            success_redirect_url=f"{settings.SITE_URL}/orders/{order.code}/",
            failure_redirect_url=f"{settings.SITE_URL}/orders/{order.code}/",
        )
    )
    return payment_attach_invoice(payment_id=order.payment.pk, invoice=invoice)


def held(ticket) -> int:
    return Ticket.objects.values_list("held", flat=True).get(pk=ticket.pk)


def held_by_open_orders(ticket) -> int:
    """What `held` must be: the units in PENDING and PAID orders (docs/architecture.md, "Stock without oversell")."""
    return (
        OrderItem.objects.filter(ticket=ticket, order__status__in=[OrderStatus.PENDING, OrderStatus.PAID]).aggregate(
            units=Sum("quantity")
        )["units"]
        or 0
    )


def expired_events(order) -> int:
    """How many times the order moved into EXPIRED (not flags noted on an expired order)."""
    return (
        OrderEvent.objects.filter(order=order, subject=OrderEvent.Subject.ORDER, to_status=OrderStatus.EXPIRED)
        .exclude(from_status=OrderStatus.EXPIRED)
        .count()
    )


# --- the sweep ------------------------------------------------------------------------


@pytest.mark.django_db
def test_sweep_expires_stale_pending_orders_and_gives_seats_back_once(django_capture_on_commit_callbacks):
    ticket = TicketFactory(price=350_000, quota=10)
    stale = pending_order(ticket=ticket, quantity=2)
    fresh = pending_order(ticket=ticket, quantity=3, stale=False)
    assert held(ticket) == 5

    with django_capture_on_commit_callbacks():
        assert order_expire_stale() == [stale.pk]
    # A second sweep (the next minute, or a duplicate beat) finds nothing to do.
    with django_capture_on_commit_callbacks():
        assert order_expire_stale() == []

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == (OrderStatus.EXPIRED, OrderStatus.PENDING)
    assert stale.payment.status == PaymentStatus.EXPIRED
    assert held(ticket) == 3 == held_by_open_orders(ticket)
    assert expired_events(stale) == 1
    event = OrderEvent.objects.get(order=stale, subject=OrderEvent.Subject.ORDER, to_status=OrderStatus.EXPIRED)
    assert event.source == EventSource.EXPIRY
    assert Notification.objects.filter(order=stale, kind=NotificationKind.ORDER_EXPIRED).count() == 1


@pytest.mark.django_db
def test_sweep_leaves_paid_and_cancelled_orders_alone_even_past_their_expiry(django_capture_on_commit_callbacks):
    ticket = TicketFactory(price=350_000, quota=10)
    past = timezone.now() - timedelta(hours=1)
    paid = OrderFactory(event=ticket.event, expires_at=past)
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PAID)  # fixture only: not a transition under test
    cancelled = OrderFactory(event=ticket.event, expires_at=past)
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)

    with django_capture_on_commit_callbacks():
        assert order_expire_stale() == []
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID, OrderStatus.CANCELLED}


@pytest.mark.django_db
def test_one_failing_order_does_not_stop_or_undo_the_others(django_capture_on_commit_callbacks):
    ticket = TicketFactory(price=350_000, quota=10)
    first = pending_order(ticket=ticket, quantity=1)
    # Broken data: an order whose seats were never reserved. Giving them back would push
    # `held` below zero, which the database refuses, so expiring this one fails.
    broken = OrderFactory(event=ticket.event, total=700_000, expires_at=timezone.now() - timedelta(minutes=5))
    OrderItemFactory(order=broken, ticket=TicketFactory(event=ticket.event, quota=5), quantity=2)
    PaymentFactory(order=broken, invoice_id=None)
    last = pending_order(ticket=ticket, quantity=2)

    with django_capture_on_commit_callbacks():
        expired = order_expire_stale()

    assert expired == [first.pk, last.pk]
    assert Order.objects.get(pk=broken.pk).status == OrderStatus.PENDING  # rolled back whole
    assert Payment.objects.get(order=broken).status == PaymentStatus.PENDING
    assert not OrderEvent.objects.filter(order=broken).exists()
    assert held(ticket) == 0


@pytest.mark.django_db
def test_sweep_is_bounded_and_the_next_one_carries_on(django_capture_on_commit_callbacks):
    orders = [pending_order(quantity=1) for _ in range(5)]
    with django_capture_on_commit_callbacks():
        first = order_expire_stale(batch_size=2, limit=3)
        second = order_expire_stale(batch_size=2, limit=3)
    assert first == [order.pk for order in orders[:3]]
    assert second == [order.pk for order in orders[3:]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "expire_invoice", "invoice_id", "tasks"),
    [
        (EventSource.EXPIRY, True, "inv_open", ["notification_send_task", "invoice_expire_task"]),
        (EventSource.ADMIN, True, "inv_open", ["notification_send_task", "invoice_expire_task"]),
        # The caller knows Xendit has it EXPIRED (its callback, a reconcile): nothing to close.
        (EventSource.WEBHOOK, False, "inv_open", ["notification_send_task"]),
        (EventSource.RECONCILE, False, "inv_open", ["notification_send_task"]),
        # The crash between commit and invoice create (docs/architecture.md, "Placing an order"): no invoice to close.
        (EventSource.EXPIRY, True, None, ["notification_send_task"]),
    ],
)
def test_which_expiries_close_the_invoice_at_xendit(
    source, expire_invoice, invoice_id, tasks, django_capture_on_commit_callbacks, celery_app_sent
):
    order = pending_order()
    Payment.objects.filter(order=order).update(invoice_id=invoice_id)  # fixture only
    with django_capture_on_commit_callbacks(execute=True):
        order_expire(order_id=order.pk, source=source, expire_invoice=expire_invoice)
    assert [name.rsplit(".", 1)[-1] for name, _ in celery_app_sent] == tasks


# --- the invoice at Xendit (simulator over HTTP) -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sweep_expires_the_invoice_at_xendit_after_commit(gateway, xendit_simulator, celery_eager):
    order = pending_order(quantity=2)
    payment = open_invoice(gateway, order)
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "PENDING"

    assert order_expire_stale() == [order.pk]

    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "EXPIRED"
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_status) == (PaymentStatus.EXPIRED, "EXPIRED")
    # Xendit's EXPIRED callback for our own expiry reached the webhook and changed nothing.
    assert expired_events(order) == 1
    assert held(order.items.get().ticket) == 0
    # The buyer is told, once.
    assert [message.subject for message in mail.outbox] == [f"Order {order.code} has expired — {order.event.name}"]


@pytest.mark.django_db(transaction=True)
def test_expiry_from_xendits_own_callback_does_not_call_xendit_back(gateway, xendit_simulator, celery_eager):
    order = pending_order()
    payment = open_invoice(gateway, order)
    order_expire(order_id=order.pk, source=EventSource.WEBHOOK, expire_invoice=False)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "PENDING"  # we did not call it


@pytest.mark.django_db(transaction=True)
def test_invoice_paid_at_xendit_before_our_expiry_is_recorded_not_lost(gateway, xendit_simulator, celery_eager):
    ticket = TicketFactory(price=350_000, quota=10)
    order = pending_order(ticket=ticket, quantity=2)
    payment = open_invoice(gateway, order)
    # The buyer pays in the last second; the callback is lost (or still on its way).
    xendit_simulator.pay(payment.invoice_id, channel="BCA", callback="none")

    assert order_expire_stale() == [order.pk]

    # Expiring a paid invoice is refused; we fetched it, saw PAID and took the late path:
    # the seats were still there, so the order is PAID with its seats and e-tickets.
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert payment.status == PaymentStatus.PAID
    assert payment.paid_amount == 700_000
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "PAID"
    assert held(ticket) == 2 == held_by_open_orders(ticket)
    assert order.issued_tickets.count() == 2
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.PAID, source=EventSource.RECONCILE).exists()
    kinds = set(order.notifications.values_list("kind", flat=True))
    assert kinds == {NotificationKind.ORDER_EXPIRED, NotificationKind.ORDER_CONFIRMATION}


@pytest.mark.django_db(transaction=True)
def test_paid_at_xendit_but_seats_resold_is_flagged_for_refund(gateway, xendit_simulator, celery_eager):
    ticket = TicketFactory(price=350_000, quota=2)
    order = pending_order(ticket=ticket, quantity=2)
    payment = open_invoice(gateway, order)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    # Expired without the hook (as if the invoice task were still queued), then the two
    # seats sell to someone else before the task runs.
    order_expire(order_id=order.pk, source=EventSource.EXPIRY, expire_invoice=False)
    other = pending_order(ticket=ticket, quantity=2, stale=False)

    assert invoice_expire_task.apply(args=[payment.pk]).get() == "paid"

    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID  # the money is recorded
    assert order.status == OrderStatus.EXPIRED
    assert (order.needs_attention, order.attention_reason) == (True, AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK)
    assert held(ticket) == 2 == held_by_open_orders(ticket)  # the other buyer keeps them
    assert Order.objects.get(pk=other.pk).status == OrderStatus.PENDING
    assert order.notifications.filter(kind=NotificationKind.PAID_AFTER_EXPIRY).exists()
    assert any("refund" in message.body for message in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_xendit_down_while_expiring_is_retried_until_it_answers(gateway, xendit_simulator, celery_eager):
    order = pending_order()
    payment = open_invoice(gateway, order)
    order_expire(order_id=order.pk, source=EventSource.WEBHOOK)  # expired here, invoice still open
    xendit_simulator.inject_fault("expire", "error", status=503, count=2)

    assert invoice_expire_task.apply(args=[payment.pk]).get() == "expired"

    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "EXPIRED"


@pytest.mark.django_db(transaction=True)
def test_expire_refused_for_another_reason_is_checked_and_retried(gateway, xendit_simulator, celery_eager):
    order = pending_order()
    payment = open_invoice(gateway, order)
    order_expire(order_id=order.pk, source=EventSource.WEBHOOK)
    # A 400 that is not "already paid": we fetch the invoice, see it still PENDING, and try again.
    xendit_simulator.inject_fault("expire", "error", status=400, count=1)

    assert invoice_expire_task.apply(args=[payment.pk]).get() == "expired"
    assert xendit_simulator.invoice(payment.invoice_id)["status"] == "EXPIRED"


@pytest.mark.django_db
def test_invoice_expiry_skips_a_payment_already_paid_here():
    payment = PaymentFactory(invoice_id="inv_paid_here")
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PAID)  # fixture only
    # No gateway call at all: XENDIT_BASE_URL is not even reachable in this test.
    assert invoice_expire(payment_id=payment.pk) == "skipped"
