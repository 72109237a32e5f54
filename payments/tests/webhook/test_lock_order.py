"""Lock order, order then payment, everywhere: an EXPIRED callback and a cancel of the same
order at once, on MariaDB (real row locks).

Each side is held right after its first row lock on the order or the payment until the
other side has taken its own first lock (a barrier), so the two really overlap. Taken in
opposite orders (the callback once locked the payment first), the two wait for each other
and MariaDB kills one of them (error 1213, deadlock). Taken in the same order, the second
one simply waits for the first: the barrier times out on the side that holds the lock, and
both finish."""

import contextlib
import json
import re
import threading

import pytest
from django.db import OperationalError, connection
from django.test import Client

from orders.models import EventSource, Order, OrderStatus
from orders.services import order_cancel
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, post_callback
from tedxpay.core.errors import IllegalTransition
from tedxpay.core.tests.concurrency import run_together

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

_ROW_LOCK = re.compile(r"FROM `(orders_order|payments_payment)`.*FOR UPDATE", re.DOTALL)
# How long the side holding its first lock waits for the other side to take one. When both
# lock the order first, the other side is blocked on that lock and never arrives: the wait
# ends after this and the first side carries on.
_OVERLAP_WAIT = 3


def held_after_first_row_lock(function, barrier: threading.Barrier):
    """`function`, paused right after its first SELECT … FOR UPDATE of an order or a
    payment until the other function of the pair has taken its own first one."""

    def run():
        waited = False

        def pause_after_first_lock(execute, sql, params, many, context):
            nonlocal waited
            result = execute(sql, params, many, context)
            if not waited and _ROW_LOCK.search(sql):
                waited = True
                # Broken: the other side waits for our lock, as it should.
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=_OVERLAP_WAIT)
            return result

        with connection.execute_wrapper(pause_after_first_lock):
            return function()

    return run


def test_an_expired_callback_and_a_cancel_at_once_do_not_deadlock(placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    ticket = payment.order.items.get().ticket
    xendit_simulator.expire(payment.invoice_id, callback="none")
    body = json.dumps(
        callback_body(
            invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount, status="EXPIRED"
        )
    )
    barrier = threading.Barrier(2)

    callback, cancel = run_together(
        held_after_first_row_lock(lambda: post_callback(Client(), body), barrier),
        held_after_first_row_lock(lambda: order_cancel(order_id=payment.order_id, source=EventSource.ADMIN), barrier),
    )

    assert not isinstance(cancel, OperationalError), f"the cancel was a deadlock victim: {cancel}"
    assert not isinstance(callback, Exception), callback
    event = WebhookEvent.objects.get()
    assert callback.status_code == 200, (callback.status_code, event.outcome_detail)
    assert event.outcome != WebhookOutcome.FAILED, event.outcome_detail
    # Whichever came first decided; the other changed nothing.
    payment.refresh_from_db()
    order = Order.objects.get(pk=payment.order_id)
    ticket.refresh_from_db()
    if isinstance(cancel, IllegalTransition):
        assert (order.status, payment.status) == (OrderStatus.EXPIRED, PaymentStatus.EXPIRED)
        assert event.outcome == WebhookOutcome.PROCESSED
    else:
        assert (order.status, payment.status) == (OrderStatus.CANCELLED, PaymentStatus.CANCELLED)
        assert event.outcome == WebhookOutcome.IGNORED
    assert ticket.held == 0
    assert payment.gateway_status == "EXPIRED"
