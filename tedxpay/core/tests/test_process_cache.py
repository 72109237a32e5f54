"""API keys and the tickets of an order are kept a few seconds by each process
(tedxpay/core/process_cache.py): what that saves, and what still takes effect at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.conftest import OrdersApi, order_body
from tedxpay.core.models import ApiKey
from tedxpay.core.process_cache import MAX_ENTRIES, ProcessCache
from tedxpay.core.services import api_key_create
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    key, raw_key = api_key_create(name="event site")
    return key, OrdersApi(client, raw_key)


def _sql(queries) -> str:
    return "\n".join(query["sql"] for query in queries)


def test_a_known_key_and_ticket_are_not_read_again(api):
    _, orders_api = api
    gone = TicketFactory(quota=0)
    assert orders_api.post(order_body((gone, 1))).status_code == 409

    with CaptureQueriesContext(connection) as queries:
        assert orders_api.post(order_body((gone, 1))).status_code == 409

    assert ApiKey._meta.db_table not in _sql(queries)
    assert "SELECT" not in _sql(queries).split("UPDATE", 1)[0]  # no ticket read before the reserve


def test_a_key_revoked_in_the_admin_stops_working_at_once_in_that_process(api):
    key, orders_api = api
    gone = TicketFactory(quota=0)
    assert orders_api.post(order_body((gone, 1))).status_code == 409

    key.is_active = False
    key.save()  # what the admin does

    assert orders_api.post(order_body((gone, 1))).status_code == 401


def test_other_processes_see_a_revoked_key_within_the_cache_seconds(api, settings):
    # A change this process did not make (another worker's admin) is not signalled here:
    # the kept copy answers until it is API_KEY_CACHE_SECONDS old.
    key, orders_api = api
    gone = TicketFactory(quota=0)
    assert orders_api.post(order_body((gone, 1))).status_code == 409
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)  # no signal, as from elsewhere

    assert orders_api.post(order_body((gone, 1))).status_code == 409
    settings.API_KEY_CACHE_SECONDS = 0  # time is up
    assert orders_api.post(order_body((gone, 1))).status_code == 401


def test_a_ticket_changed_in_the_admin_is_seen_at_once_in_that_process(api, settings):
    settings.TICKET_CACHE_SECONDS = 60
    _, orders_api = api
    ticket = TicketFactory(price=0, quota=10)  # free: placed without the gateway
    assert orders_api.post(order_body((ticket, 1))).json()["total"] == 0

    ticket.name = "Renamed"
    ticket.save()
    body = orders_api.post(
        order_body((ticket, 2), buyer={"full_name": "Siti", "email": "siti@example.com", "phone": "0813 1111 2222"})
    ).json()

    assert body["items"][0]["name"] == "Renamed"


def test_the_cache_holds_a_bounded_number_of_entries(settings):
    settings.API_KEY_CACHE_SECONDS = 60
    cache = ProcessCache("test", seconds_setting="API_KEY_CACHE_SECONDS")
    loads = []
    for key in range(MAX_ENTRIES + 1):
        cache.get(key, lambda key=key: loads.append(key) or key)

    assert len(cache._entries) <= MAX_ENTRIES
    assert cache.get(MAX_ENTRIES, lambda: "again") == MAX_ENTRIES  # the newest is kept
    assert cache.get(None, lambda: None) is None and None not in cache._entries
