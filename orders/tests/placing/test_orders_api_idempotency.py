"""Idempotency-Key on POST /api/orders (docs/api.md, "Idempotency", tedxpay/core/idempotency.py)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders.form_submissions import checkout_token_key
from orders.models import Order
from orders.tests.conftest import OrdersApi, assert_error, buyer_fields, order_body
from tedxpay.core.idempotency import (
    CHECKOUT_FORM_SCOPE,
    api_key_scope,
    idempotency_claim,
    idempotency_key_purge,
    request_fingerprint,
)
from tedxpay.core.models import IdempotencyKey
from tedxpay.core.services import api_key_create
from tedxpay.core.tests.concurrency import run_together
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_key_and_body_replays_the_first_response(orders_api, xendit_simulator, ticket):
    body = order_body((ticket, 2))
    first = orders_api.post(body, idempotency_key="order-0001")
    again = orders_api.post(body, idempotency_key="order-0001")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Order.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.held == 2


def test_key_order_and_whitespace_of_the_body_do_not_matter(orders_api, xendit_simulator, ticket):
    body = order_body((ticket, 1))
    first = orders_api.post(body, idempotency_key="k-1")
    buyer = '{"phone": "0812-3456-7890", "email": "budi@example.com", "full_name": "Budi Santoso"}'
    reordered = f'{{"items": [{{"quantity": 1, "ticket_id": {ticket.pk}}}],\n "buyer": {buyer}}}'
    again = orders_api.post(reordered, idempotency_key="k-1", raw=True)

    assert again.status_code == 201 and again.json() == first.json()
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_a_422(orders_api, xendit_simulator, ticket):
    orders_api.post(order_body((ticket, 1)), idempotency_key="order-0002")

    response = orders_api.post(order_body((ticket, 2)), idempotency_key="order-0002")

    assert_error(response, 422, "idempotency_conflict")
    assert Order.objects.count() == 1


def test_keys_are_scoped_per_api_key(orders_api, xendit_simulator, ticket):
    _, other_key = api_key_create(name="mobile app")
    body = order_body((ticket, 1))

    first = orders_api.post(body, idempotency_key="shared-name")
    other = orders_api.post(body, idempotency_key="shared-name", raw_key=other_key)

    assert first.status_code == other.status_code == 201
    assert first.json()["code"] != other.json()["code"]


def test_a_request_in_flight_makes_the_second_a_409(orders_api, api_key, ticket):
    body = order_body((ticket, 1))
    # What the first request did on arrival, before starting its work.
    fingerprint = request_fingerprint(method="POST", path="/api/orders", data=body)
    idempotency_claim(scope=api_key_scope(api_key[0].pk), key="busy-1", fingerprint=fingerprint)

    response = orders_api.post(body, idempotency_key="busy-1")

    assert_error(response, 409, "idempotency_in_flight")
    assert Order.objects.count() == 0


@pytest.mark.mysql
def test_concurrent_duplicates_one_order_and_a_409(orders_api, api_key, xendit_simulator, ticket):
    # The first request is slow at the gateway; its twin arrives meanwhile.
    xendit_simulator.inject_fault("create", "delay", seconds=1.5)
    body = order_body((ticket, 1))
    answers = {}

    def first():
        try:
            answers["first"] = orders_api.__class__(Client(), api_key[1]).post(body, idempotency_key="twin")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    deadline = timezone.now() + timedelta(seconds=5)
    while not IdempotencyKey.objects.filter(key="twin").exists() and timezone.now() < deadline:
        pass
    second = orders_api.post(body, idempotency_key="twin")
    thread.join()

    assert_error(second, 409, "idempotency_in_flight")
    assert answers["first"].status_code == 201
    assert Order.objects.count() == 1
    third = orders_api.post(body, idempotency_key="twin")
    assert third.status_code == 201 and third.json() == answers["first"].json()


@pytest.mark.mysql
def test_many_concurrent_copies_place_one_order_and_the_others_hear_at_once(
    orders_api, api_key, xendit_simulator, ticket
):
    # Twelve requests with one key at the same moment, two of them with another body. The
    # one that claims the key is held 2 s in Xendit's create; every other one is answered
    # at once (409 in flight, or 422 for the other body), without waiting for it.
    xendit_simulator.inject_fault("create", "delay", seconds=2.0)
    same, other = order_body((ticket, 1)), order_body((ticket, 2))

    def send(body: dict):
        def post():
            started = time.monotonic()
            response = OrdersApi(Client(), api_key[1]).post(body, idempotency_key="crowd")
            return body, response, time.monotonic() - started

        return post

    results = run_together(*[send(same) for _ in range(10)], *[send(other) for _ in range(2)])

    assert not [result for result in results if isinstance(result, Exception)]
    created = [result for result in results if result[1].status_code == 201]
    assert len(created) == 1
    winner_body, winner, winner_seconds = created[0]
    assert winner_seconds >= 2.0
    for body, response, seconds in results:
        if response is winner:
            continue
        if body == winner_body:
            assert_error(response, 409, "idempotency_in_flight")
        else:
            assert_error(response, 422, "idempotency_conflict")
        assert seconds < 2.0, "a duplicate waited for the first request"
    assert Order.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.held == winner_body["items"][0]["quantity"]
    replay = orders_api.post(winner_body, idempotency_key="crowd")
    assert replay.status_code == 201 and replay.json() == winner.json() and replay["Idempotent-Replayed"] == "true"


def test_a_client_key_never_meets_a_checkout_forms_token(orders_api, api_key, xendit_simulator, client, ticket):
    # The checkout's form tokens are keys of the same table, in a scope of their own: a
    # client that happens to send one as its Idempotency-Key gets its own order.
    token = client.get(f"/events/{ticket.event.slug}/").context["checkout_token"]
    form = {f"quantity_{ticket.pk}": "1", **buyer_fields(), "confirmed": "1", "checkout_token": token}
    assert client.post(f"/events/{ticket.event.slug}/", form).status_code == 302

    response = orders_api.post(order_body((ticket, 1)), idempotency_key=checkout_token_key(token))

    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")
    assert Order.objects.count() == 2
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {
        CHECKOUT_FORM_SCOPE,
        api_key_scope(api_key[0].pk),
    }


def test_a_client_error_is_replayed(orders_api, xendit_simulator):
    sold_out = TicketFactory(quota=1)
    type(sold_out).objects.filter(pk=sold_out.pk).update(held=1)
    body = order_body((sold_out, 1))

    first = orders_api.post(body, idempotency_key="late-1")
    type(sold_out).objects.filter(pk=sold_out.pk).update(held=0)  # a seat came back meanwhile
    again = orders_api.post(body, idempotency_key="late-1")

    assert_error(first, 409, "sold_out")
    assert (again.status_code, again.json()) == (409, first.json())  # the key's answer is final
    assert orders_api.post(body, idempotency_key="late-2").status_code == 201  # a new attempt, a new key


def test_a_gateway_failure_frees_the_key_for_a_retry(orders_api, xendit_simulator, ticket):
    xendit_simulator.inject_fault("create", "error", status=503)
    body = order_body((ticket, 2))

    failed = orders_api.post(body, idempotency_key="retry-me")
    retried = orders_api.post(body, idempotency_key="retry-me")

    assert_error(failed, 503, "payment_gateway_unavailable")
    assert retried.status_code == 201 and not retried.has_header("Idempotent-Replayed")
    assert list(Order.objects.order_by("created_at").values_list("status", flat=True)) == ["CANCELLED", "PENDING"]
    ticket.refresh_from_db()
    assert ticket.held == 2
    assert orders_api.post(body, idempotency_key="retry-me").json() == retried.json()


def test_a_request_abandoned_in_flight_is_taken_over(orders_api, api_key, xendit_simulator, ticket, settings):
    body = order_body((ticket, 1))
    fingerprint = request_fingerprint(method="POST", path="/api/orders", data=body)
    record, _ = idempotency_claim(scope=api_key_scope(api_key[0].pk), key="orphan", fingerprint=fingerprint)
    # Its worker died long ago.
    past = timezone.now() - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    IdempotencyKey.objects.filter(pk=record.pk).update(created_at=past)

    response = orders_api.post(body, idempotency_key="orphan")

    assert response.status_code == 201
    assert IdempotencyKey.objects.get(pk=record.pk).response_status == 201


def test_keys_expire_after_the_ttl(orders_api, api_key, xendit_simulator, ticket, settings):
    body = order_body((ticket, 1))
    first = orders_api.post(body, idempotency_key="old")
    old = timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1)
    IdempotencyKey.objects.filter(key="old").update(created_at=old)

    assert idempotency_key_purge() == 1
    again = orders_api.post(body, idempotency_key="old")
    assert again.status_code == 201 and again.json()["code"] != first.json()["code"]

    # Not purged yet: an expired row counts as absent all the same.
    IdempotencyKey.objects.filter(key="old").update(created_at=old)
    third = orders_api.post(body, idempotency_key="old")
    assert third.status_code == 201 and third.json()["code"] != again.json()["code"]
    assert IdempotencyKey.objects.filter(key="old").count() == 1


@pytest.mark.parametrize("key", ["", " ", "has space", "é-accent", "x" * 256])
def test_a_malformed_key_is_a_400(orders_api, ticket, key):
    response = orders_api.post(order_body((ticket, 1)), idempotency_key=key)

    error = assert_error(response, 400, "validation_error")
    assert "Idempotency-Key" in error["details"]
    assert IdempotencyKey.objects.count() == 0


def test_a_non_json_body_does_not_touch_the_key(orders_api):
    assert_error(orders_api.post("{nope", raw=True, idempotency_key="k"), 400, "malformed_request")
    assert IdempotencyKey.objects.count() == 0
