import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from checkin.roles import door_staff_group
from orders.models import Order, OrderStatus
from orders.services import issued_tickets_create
from orders.tests.conftest import _fresh_throttle_counters  # noqa: F401  (autouse: per-test throttle counts)
from orders.tests.factories import BuyerFactory, OrderFactory, OrderItemFactory
from tedxpay.core.models import ApiKeyScope
from tedxpay.core.services import api_key_create
from tickets.tests.factories import EventFactory


@pytest.fixture
def event(db):
    return EventFactory(name="TEDxJakarta 2026", slug="tedxjakarta-2026")


def make_order(*, event, status=OrderStatus.PAID, quantity=1, buyer_name="Siti Rahma", ticket_name="Regular", **buyer):
    """An order of `quantity` seats with its e-tickets issued (as a paid order has)."""
    order = OrderFactory(
        event=event,
        buyer=BuyerFactory(full_name=buyer_name, **buyer),
        status=status,
        total=350_000 * quantity,
        paid_at=timezone.now() if status == OrderStatus.PAID else None,
    )
    OrderItemFactory(order=order, quantity=quantity, ticket__name=ticket_name, ticket__price=350_000)
    issued_tickets_create(order=order)
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def paid_order(event):
    def make(**kwargs):
        return make_order(event=kwargs.pop("event", event), **kwargs)

    return make


@pytest.fixture
def issued(paid_order):
    """The one e-ticket of a paid order of Siti Rahma's."""
    return paid_order().issued_tickets.get()


class CheckinsApi:
    def __init__(self, client, raw_key: str):
        self.client = client
        self.raw_key = raw_key

    def post(self, body, *, raw: bool = False, raw_key: str | None = None):
        data = body if raw else json.dumps(body)
        headers = {"Authorization": f"Api-Key {raw_key or self.raw_key}"}
        return self.client.post("/api/checkins", data, content_type="application/json", headers=headers)


@pytest.fixture
def checkin_key(db):
    return api_key_create(name="door scanner app", scopes=[ApiKeyScope.CHECKIN])


@pytest.fixture
def checkins_api(client, checkin_key):
    return CheckinsApi(client, checkin_key[1])


def make_door_user(username: str = "gate-a", password: str = "door-pass-123"):
    user = get_user_model().objects.create_user(username=username, password=password)
    user.groups.add(door_staff_group())
    return user


@pytest.fixture
def door_user(db):
    return make_door_user()


@pytest.fixture
def door_client(client, door_user):
    client.force_login(door_user)
    return client
