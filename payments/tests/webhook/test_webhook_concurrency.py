"""Parallel copies of one callback on MariaDB: real row locks, real unique-key races."""

import json
import threading

import pytest
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.test import Client

from notifications.models import Notification, NotificationKind
from orders.models import Order, OrderEvent, OrderStatus
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.tests.conftest import callback_body, post_callback

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

COPIES = 20


def post_in_parallel(body: dict, copies: int) -> list[int]:
    """POST `copies` identical callbacks at once, each thread with its own connection."""
    start = threading.Barrier(copies)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver():
        try:
            start.wait()
            statuses.append(post_callback(Client(), json.dumps(body)).status_code)
        except BaseException as error:  # surfaced in the main thread's assert
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


def test_parallel_copies_of_a_paid_callback_make_one_transition(placed_order, xendit_simulator):
    payment = placed_order(quantity=3, price=100_000)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)

    statuses = post_in_parallel(body, COPIES)

    assert len(statuses) == COPIES and all(200 <= status < 300 for status in statuses), statuses
    payment.refresh_from_db()
    order = payment.order
    order.refresh_from_db()
    assert payment.status == PaymentStatus.PAID and order.status == OrderStatus.PAID
    assert order.issued_tickets.count() == 3
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CONFIRMATION).count() == 1
    assert OrderEvent.objects.filter(order=order, subject="order", to_status="PAID").count() == 1
    assert OrderEvent.objects.filter(order=order, subject="payment", to_status="PAID").count() == 1
    outcomes = list(WebhookEvent.objects.values_list("outcome", flat=True))
    assert len(outcomes) == COPIES
    assert outcomes.count(WebhookOutcome.PROCESSED) == 1
    assert outcomes.count(WebhookOutcome.DUPLICATE) == COPIES - 1


def test_parallel_redeliveries_after_a_failure_are_processed_once(client, placed_order, xendit_simulator):
    payment = placed_order(quantity=2)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    xendit_simulator.inject_fault("get", "error", status=503, count=1)
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)
    assert post_callback(client, body).status_code == 503

    statuses = post_in_parallel(body, 10)

    assert all(status == 200 for status in statuses), statuses
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.order.issued_tickets.count() == 2
    assert Notification.objects.filter(order=payment.order, kind=NotificationKind.ORDER_CONFIRMATION).count() == 1
    outcomes = sorted(WebhookEvent.objects.values_list("outcome", flat=True))
    assert outcomes == sorted(["failed", "processed"] + ["duplicate"] * 9)
    assert WebhookEvent.objects.filter(dedupe_key__isnull=False).get().outcome == WebhookOutcome.PROCESSED


@pytest.fixture
def short_lock_waits():
    """Every new connection waits at most 1 s for a row lock (InnoDB's default is 50 s)."""

    def configure(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")

    connection_created.connect(configure)
    yield
    connection_created.disconnect(configure)


def test_order_row_locked_elsewhere_answers_503_and_the_event_stays_replayable(
    placed_order, xendit_simulator, short_lock_waits
):
    payment = placed_order(quantity=1)
    xendit_simulator.pay(payment.invoice_id, callback="none")
    body = callback_body(invoice_id=payment.invoice_id, external_id=payment.external_id, amount=payment.amount)
    locked, release = threading.Event(), threading.Event()

    def hold_order_lock():
        # Another transaction (an admin action, the expiry sweep) holding the order row.
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=payment.order_id)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_order_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        statuses = post_in_parallel(body, 1)
    finally:
        release.set()
        holder.join()

    assert statuses == [503]
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.FAILED and "database" in event.outcome_detail
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # the whole transition rolled back

    assert post_in_parallel(body, 1) == [200]  # Xendit's retry once the lock is gone
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
