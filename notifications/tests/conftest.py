import socket
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.utils import timezone
from kombu import pools

from notifications.models import Notification, NotificationKind
from orders.models import EventSource
from orders.services import order_mark_paid
from orders.tests.factories import BuyerFactory, OrderFactory, OrderItemFactory
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture: orders with an invoice at the simulator)
from payments.tests.factories import PaymentFactory
from tedxpay.celery import app as celery_app
from tickets.services import stock_reserve
from tickets.tests.factories import EventFactory, TicketFactory

# Saturday 5 December 2026, 10:00 in Jakarta (UTC+7).
EVENT_START = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def _celery_connections_reset() -> None:
    # Celery caches connection and producer pools per broker (kombu keeps a registry too):
    # drop them so the next publish connects to the broker configured now, and no later
    # test reuses a pool of the broker configured here.
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """For the duration of the test the Celery app publishes to Redis on a loopback port
    nothing listens on: every .delay() really fails, as with the broker down (connection
    refused, after Celery's own publish retries). Not eager, whatever the settings say;
    `.back()` restores both mid-test (request `celery_eager` first to be eager then)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "broker_transport_options", "task_always_eager")}
    conf.update(broker_url=f"redis://127.0.0.1:{closed_port}/0", broker_transport_options={}, task_always_eager=False)
    _celery_connections_reset()
    control = BrokerControl(saved)
    yield control
    control.back()


class BrokerControl:
    def __init__(self, saved: dict):
        self.saved = saved
        self.down = True

    def back(self) -> None:
        """The broker (and eagerness) as before the test, from here on."""
        if self.down:
            celery_app.conf.update(self.saved)
            _celery_connections_reset()
            self.down = False


def make_order(*, language: str = "en", full_name: str = "Dewi Lestari"):
    """A PENDING order: 2 × Regular (Rp 350.000) + 1 × Student (Rp 150.000) = Rp 850.000,
    seats reserved through the stock service, with its payment."""
    event = EventFactory(
        name="TEDxJakarta 2026", venue="Teater Jakarta, Taman Ismail Marzuki", city="Jakarta", starts_at=EVENT_START
    )
    regular = TicketFactory(event=event, name="Regular", price=350_000, quota=10)
    student = TicketFactory(event=event, name="Student", price=150_000, quota=10)
    with transaction.atomic():
        stock_reserve(quantities={regular.pk: 2, student.pk: 1}, now=timezone.now())
        order = OrderFactory(event=event, buyer=BuyerFactory(full_name=full_name), total=850_000, language=language)
        OrderItemFactory(order=order, ticket=regular, quantity=2)
        OrderItemFactory(order=order, ticket=student, quantity=1)
        PaymentFactory(order=order)
    return order


def pay(order):
    """The order takes its payment (PAID, e-tickets issued, confirmation queued)."""
    order_mark_paid(order_id=order.pk, paid_amount=order.total, paid_at=timezone.now(), source=EventSource.WEBHOOK)
    return Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION)


@pytest.fixture
def confirmation(db):
    """Build a paid order in the given language and return its confirmation notification."""

    def build(language: str = "en", **kwargs) -> Notification:
        return pay(make_order(language=language, **kwargs))

    return build
