"""Expiry under real row locks (MariaDB): two sweeps at once, a sweep meeting an order a
webhook holds, and a PAID callback racing the expiry. Seats are given back exactly once
and `held` always equals the units of PENDING and PAID orders."""

# Fixtures are shared by importing them from test_expiry (orders/tests/conftest.py is not
# ours to extend); pytest then passes them by parameter name, which ruff reads as shadowing.
# ruff: noqa: F811

import threading
import time

import pytest
from django.db import connection

from notifications.models import Notification, NotificationKind
from orders.expiry import order_expire_stale
from orders.models import Order, OrderStatus
from orders.services import order_expire, order_lock, order_pay
from orders.tasks import invoice_expire_task
from orders.tests.invoices.test_expiry import (  # noqa: F401
    celery_app_sent,
    expired_events,
    held,
    held_by_open_orders,
    open_invoice,
    pending_order,
)
from payments.models import Payment, PaymentStatus
from tedxpay.core.errors import IllegalTransition
from tedxpay.core.tests.concurrency import run_together
from tickets.errors import SoldOut
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]


def test_two_sweeps_at_once_expire_each_order_once(celery_app_sent):
    ticket = TicketFactory(price=100_000, quota=100)
    orders = [pending_order(ticket=ticket, quantity=2) for _ in range(30)]
    for order in orders:
        Payment.objects.filter(order=order).update(invoice_id=f"inv_{order.code}")  # fixture only
    assert held(ticket) == 60

    first, second = run_together(lambda: order_expire_stale(batch_size=7), lambda: order_expire_stale(batch_size=7))

    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert not set(first) & set(second)  # nobody expired an order twice
    assert sorted(first + second) == sorted(order.pk for order in orders)
    assert held(ticket) == 0 == held_by_open_orders(ticket)
    assert all(expired_events(order) == 1 for order in orders)
    assert Notification.objects.filter(kind=NotificationKind.ORDER_EXPIRED).count() == 30
    # One invoice expiry and one email started per order, not two.
    invoice_tasks = [args[0] for name, args in celery_app_sent if name.endswith("invoice_expire_task")]
    assert sorted(invoice_tasks) == sorted(Payment.objects.values_list("pk", flat=True))


def test_sweep_skips_an_order_a_webhook_holds_instead_of_waiting(celery_app_sent):
    busy, free = pending_order(), pending_order()
    locked, release = threading.Event(), threading.Event()

    def webhook_holding_the_order():
        from django.db import transaction

        with transaction.atomic():
            order_lock(busy.pk)
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=lambda: (webhook_holding_the_order(), connection.close()))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        assert order_expire_stale() == [free.pk]
        # Far below innodb_lock_wait_timeout (50 s): the locked row was skipped, not waited on.
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(30)
    assert order_expire_stale() == [busy.pk]  # the next sweep gets it


def later(seconds: float, function):
    def delayed():
        time.sleep(seconds)
        return function()

    return delayed


# How the race can end; each has its own branch in order_mark_paid / order_expire.
PAID_FIRST = "paid first: the expiry is refused, the competitor finds it sold out"
LATE_PAID_SEATS_BACK = "expired, then the late payment takes its seats back"
LATE_PAID_REFUND = "expired, the competitor takes the seats, the late payment is flagged for a refund"

# Start offsets (paid, expire, competitor) in seconds, and the ending each one steers the
# race into. Truly simultaneous rounds may end any way (None); the head starts are far
# longer than one of these short transactions, so each must reach its own ending: if the
# steering stops working, the test fails instead of quietly exercising one branch three times.
RACE_STARTS = [
    ((0, 0, 0), None),
    ((0, 0, 0), None),
    ((0, 0, 0), None),
    ((0, 0.3, 0.3), PAID_FIRST),
    ((0.6, 0, 0.3), LATE_PAID_REFUND),
    ((0.3, 0, 0.6), LATE_PAID_SEATS_BACK),
]


def test_the_steered_starts_cover_every_ending():
    assert {ending for _, ending in RACE_STARTS} - {None} == {PAID_FIRST, LATE_PAID_SEATS_BACK, LATE_PAID_REFUND}


def race_ending(order: Order) -> str:
    """Which ending the race reached, read from the order's own history."""
    # Moves only: flags are audited as X → X, and the fixture's creation may have a row.
    order_moves = [
        (from_status, to_status)
        for from_status, to_status in order.events.filter(subject="order")
        .order_by("pk")
        .values_list("from_status", "to_status")
        if from_status and from_status != to_status
    ]
    if order.status == OrderStatus.PAID:
        if order_moves == [("PENDING", "PAID")]:
            return PAID_FIRST
        assert order_moves == [("PENDING", "EXPIRED"), ("EXPIRED", "PAID")], order_moves
        return LATE_PAID_SEATS_BACK
    assert order.status == OrderStatus.EXPIRED and order.needs_attention, (order.status, order_moves)
    return LATE_PAID_REFUND


@pytest.mark.parametrize(("starts", "expected_ending"), RACE_STARTS)
def test_paid_callback_racing_the_expiry_ends_consistent(
    starts, expected_ending, gateway, xendit_simulator, celery_app_sent
):
    # Quota 2: when the expiry wins, a competing buyer may take the seats before the late
    # payment asks for them back.
    ticket = TicketFactory(price=350_000, quota=2)
    order = pending_order(ticket=ticket, quantity=2)
    payment = open_invoice(gateway, order)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    invoice = gateway.get_invoice(payment.invoice_id)  # what the webhook confirms with

    def competitor():
        try:
            return pending_order(ticket=ticket, quantity=2, stale=False)
        except SoldOut:
            return None

    def expire():
        try:
            return order_expire(order_id=order.pk)
        except IllegalTransition:
            return None  # it was PAID first

    paid_start, expire_start, competitor_start = starts
    paid, _, _ = run_together(
        later(paid_start, lambda: order_pay(payment_id=payment.pk, invoice=invoice)),
        later(expire_start, expire),
        later(competitor_start, competitor),
    )
    assert not isinstance(paid, Exception), paid
    # Then whatever the expiry queued for Xendit runs; it must not change the outcome.
    for name, args in celery_app_sent:
        if name.endswith("invoice_expire_task"):
            invoice_expire_task.apply(args=args)

    order.refresh_from_db()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID  # never lost
    assert held(ticket) == held_by_open_orders(ticket) <= 2
    if order.status == OrderStatus.PAID:
        assert order.issued_tickets.count() == 2
        assert not Order.objects.exclude(pk=order.pk).filter(status=OrderStatus.PENDING).exists()
    else:
        assert order.status == OrderStatus.EXPIRED
        assert order.needs_attention  # paid after expiry, seats gone: refund
        assert Order.objects.exclude(pk=order.pk).get().status == OrderStatus.PENDING
    assert expired_events(order) <= 1
    ending = race_ending(order)
    if expected_ending is not None:
        assert ending == expected_ending
