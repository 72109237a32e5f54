"""Hoarding caps: one client cannot hold a phase with unpaid orders (orders/holds.py)."""

import secrets
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from orders.form_submissions import CHECKOUT_TOKEN_SIGNER
from orders.holds import HoldLimitReached, HoldRequest, hold_claim
from orders.models import Order, OrderItem, OrderStatus
from orders.tests.conftest import assert_error, buyer_fields, order_body
from orders.tests.factories import OrderFactory, OrderItemFactory
from tickets.tests.factories import TicketFactory

ATTACKER = "198.51.100.66"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _checkout(client, ticket, *, quantity: int, email: str, phone: str, address: str = ATTACKER, forwarded=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(
        f"/events/{ticket.event.slug}/",
        {
            f"quantity_{ticket.pk}": str(quantity),
            "full_name": "Script Kiddie",
            "email": email,
            "phone": phone,
            "language": "en",
            "checkout_token": CHECKOUT_TOKEN_SIGNER.sign(secrets.token_urlsafe(16)),
            "confirmed": "1",  # as the checkout script sends it: no review step
        },
        **extra,
    )


def _seats_held(**order_filter) -> int:
    return (
        OrderItem.objects.filter(order__status=OrderStatus.PENDING, **order_filter).aggregate(n=Sum("quantity"))["n"]
        or 0
    )


@pytest.mark.django_db(transaction=True)
def test_forty_checkouts_from_one_address_hold_no_more_than_the_cap(client, settings, xendit_simulator):
    settings.HOLD_MAX_SEATS_PER_ADDRESS = 20
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "checkout": "1000/min"},
    }
    ticket = TicketFactory(event__slug="tedxhoard", quota=200, max_per_order=5)
    statuses = []
    for attempt in range(40):
        response = _checkout(
            client,
            ticket,
            quantity=5,
            email=f"buyer{attempt}@example.com",
            phone=f"08123400{attempt:04d}",
            # A made-up address in front of the real one changes nothing.
            forwarded=f"192.0.2.{attempt}",
        )
        statuses.append(response.status_code)
        if response.status_code != 302:
            assert "Terlalu banyak kursi yang ditahan tanpa dibayar" in response.content.decode()
    assert statuses.count(302) == 4  # 4 × 5 = 20 seats
    assert set(statuses) == {302, 400}
    assert _seats_held() == 20
    ticket.refresh_from_db()
    assert ticket.held == 20
    assert set(Order.objects.values_list("client_address", flat=True)) == {ATTACKER}
    # Another buyer elsewhere is not affected.
    response = _checkout(
        client, ticket, quantity=2, email="siti@example.com", phone="081299990000", address="203.0.113.5"
    )
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_checkout_throttle_counts_per_address_whatever_forwarded_for_says(client, settings, xendit_simulator):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "checkout": "3/min"},
    }
    settings.HOLD_MAX_SEATS_PER_ADDRESS = 0
    ticket = TicketFactory(event__slug="tedxthrottle", quota=100, max_per_order=5)
    statuses = [
        _checkout(
            client, ticket, quantity=1, email=f"b{n}@example.com", phone=f"0812345670{n:02d}", forwarded=f"192.0.2.{n}"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [302, 302, 302, 429, 429, 429]
    throttled = _checkout(client, ticket, quantity=1, email="z@example.com", phone="081234567099")
    assert int(throttled["Retry-After"]) > 0
    # The page speaks Indonesian by default.
    assert "Terlalu banyak pesanan dari koneksi Anda" in throttled.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_second_checkout_by_the_same_buyer_leads_to_the_first_orders_payment_page(client, xendit_simulator):
    ticket = TicketFactory(event__slug="tedxagain", quota=100, max_per_order=5)
    first = _checkout(client, ticket, quantity=2, email="budi@example.com", phone="0812-3456-7890")
    order = Order.objects.select_related("payment").get()
    assert first["Location"] == order.payment.invoice_url

    # Same email (another case), another phone; then same phone, another email.
    again = _checkout(client, ticket, quantity=5, email="BUDI@example.com", phone="081111111111", address="203.0.113.9")
    assert again.status_code == 302 and again["Location"] == order.payment.invoice_url
    again = _checkout(client, ticket, quantity=5, email="other@example.com", phone="+62 812 3456 7890")
    assert again.status_code == 302 and again["Location"] == order.payment.invoice_url
    assert Order.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.held == 2

    # Once that order is over, the buyer may order again.
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert _checkout(client, ticket, quantity=1, email="budi@example.com", phone="0812-3456-7890").status_code == 302
    assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_stranger_typing_the_buyers_email_is_not_shown_their_payment_page(client, xendit_simulator):
    ticket = TicketFactory(event__slug="tedxprivate", quota=100, max_per_order=5)
    first = _checkout(client, ticket, quantity=2, email="budi@gmail.com", phone="0812-3456-7890")
    order = Order.objects.select_related("payment").get()
    assert first["Location"] == order.payment.invoice_url

    # Another browser, the same email address or the same phone number: no invoice (it shows
    # Budi's name and what he owes), the order's public page, which emails the link to Budi.
    stranger = Client()
    for email, phone in (("budi@gmail.com", "081111111111"), ("someone@example.com", "+62 812 3456 7890")):
        answer = _checkout(stranger, ticket, quantity=1, email=email, phone=phone)
        assert answer.status_code == 302
        assert answer["Location"] == f"/orders/{order.code}/?unpaid=1"
        page = stranger.get(answer["Location"])
        html = page.content.decode()
        assert page.status_code == 200 and 'id="unpaid-order"' in html
        assert "Sudah ada pesanan yang belum dibayar" in html
        assert order.payment.invoice_url not in html and "Budi" not in html and order.link_secret not in html
    assert Order.objects.count() == 1

    # The same form sent again (a double tap) gets the same answer, not the first one's invoice.
    token = CHECKOUT_TOKEN_SIGNER.sign(secrets.token_urlsafe(16))
    body = {
        f"quantity_{ticket.pk}": "1",
        "full_name": "Someone Else",
        "email": "budi@gmail.com",
        "phone": "081111111111",
        "checkout_token": token,
        "confirmed": "1",
    }
    for _ in range(2):
        answer = stranger.post(f"/events/{ticket.event.slug}/", body, REMOTE_ADDR="203.0.113.7")
        assert answer["Location"] == f"/orders/{order.code}/?unpaid=1"
    assert stranger.get(f"/events/{ticket.event.slug}/placing/{token}/")["Location"].endswith("?unpaid=1")

    # An address that only looks like Budi's (a domain of its own) is another buyer.
    look_alike = _checkout(stranger, ticket, quantity=1, email="budi@gmaïl.com", phone="081222222222")
    assert look_alike.status_code == 302 and "/_xendit/" in look_alike["Location"]
    assert Order.objects.count() == 2
    Order.objects.exclude(pk=order.pk).delete()

    # A forged cookie does not stand in for the browser that placed it.
    stranger.cookies["tedxpay_orders"] = order.code
    answer = _checkout(stranger, ticket, quantity=1, email="budi@gmail.com", phone="081111111111")
    assert answer["Location"] == f"/orders/{order.code}/?unpaid=1"


@pytest.mark.django_db
def test_parallel_placements_count_before_they_are_written(settings):
    # Two submissions in flight at once from one address: the second is refused before the
    # first is in the database.
    settings.HOLD_MAX_SEATS_PER_ADDRESS = 8
    with hold_claim(HoldRequest(seats=5, client_address=ATTACKER)):
        with pytest.raises(HoldLimitReached), hold_claim(HoldRequest(seats=5, client_address=ATTACKER)):
            pass
        with hold_claim(HoldRequest(seats=3, client_address=ATTACKER)):
            pass
    # Released when done: the counter is back to nothing.
    with hold_claim(HoldRequest(seats=8, client_address=ATTACKER)):
        pass


@pytest.mark.django_db
def test_expired_and_paid_orders_hold_nothing(settings):
    settings.HOLD_MAX_SEATS_PER_ADDRESS = 5
    OrderItemFactory(
        order=OrderFactory(client_address=ATTACKER, expires_at=timezone.now() - timedelta(minutes=1)), quantity=5
    )
    OrderItemFactory(order=OrderFactory(client_address=ATTACKER, status=OrderStatus.PAID), quantity=5)
    with hold_claim(HoldRequest(seats=5, client_address=ATTACKER)):
        pass
    OrderItemFactory(order=OrderFactory(client_address=ATTACKER), quantity=1)
    with pytest.raises(HoldLimitReached), hold_claim(HoldRequest(seats=5, client_address=ATTACKER)):
        pass


@pytest.mark.django_db(transaction=True)
def test_api_orders_are_capped_per_api_key(orders_api, api_key, settings, xendit_simulator):
    settings.HOLD_MAX_SEATS_PER_API_KEY = 6
    ticket = TicketFactory(quota=100, max_per_order=5)
    assert orders_api.post(order_body((ticket, 5))).status_code == 201
    error = assert_error(
        orders_api.post({**order_body((ticket, 2)), "buyer": buyer_fields(email="x@example.com")}), 429, "hold_limit"
    )
    assert error["details"] == {"max_seats": 6}
    assert orders_api.post(order_body((ticket, 1))).status_code == 201
    assert _seats_held(order__api_key=api_key[0]) == 6
    ticket.refresh_from_db()
    assert ticket.held == 6


@pytest.mark.django_db
def test_finance_sees_who_holds_seats_and_releases_them_in_bulk(client, django_user_model):
    from django.contrib.auth.models import Group

    ticket = TicketFactory(event__slug="tedxrelease", quota=50)
    held = []
    for _ in range(3):
        order = OrderFactory(event=ticket.event, client_address=ATTACKER)
        OrderItemFactory(order=order, ticket=ticket, quantity=5)
        held.append(order)
    type(ticket).objects.filter(pk=ticket.pk).update(held=15)
    elsewhere = OrderFactory(event=ticket.event, client_address="203.0.113.5")
    OrderItemFactory(order=elsewhere, ticket=ticket, quantity=1)

    manager = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    manager.groups.add(*Group.objects.filter(name__in=["Finance", "Finance managers"]))
    client.force_login(manager)
    page = client.get("/admin/orders/order/holders/")
    addresses = page.context["holders"]["client address"]
    assert addresses[0] == {"holder": ATTACKER, "orders": 3, "seats": 15}
    listed = client.get("/admin/orders/order/", {"holding": "now", "q": ATTACKER})
    assert {order.pk for order in listed.context["cl"].result_list} == {order.pk for order in held}

    client.post(
        "/admin/orders/order/?holding=now&q=" + ATTACKER,
        {"action": "cancel_orders", "_selected_action": [order.pk for order in held]},
    )
    assert set(Order.objects.filter(pk__in=[o.pk for o in held]).values_list("status", flat=True)) == {
        OrderStatus.CANCELLED
    }
    ticket.refresh_from_db()
    assert ticket.held == 0
    assert Order.objects.get(pk=elsewhere.pk).status == OrderStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_an_api_keys_orders_that_ended_free_its_room(orders_api, api_key, settings, xendit_simulator):
    # The key's recent seats (kept in the cache) only spare the database far from the cap:
    # near it, what the key really holds decides.
    settings.HOLD_MAX_SEATS_PER_API_KEY = 6
    ticket = TicketFactory(quota=100, max_per_order=5)
    assert orders_api.post(order_body((ticket, 5))).status_code == 201
    Order.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    other = {**order_body((ticket, 5)), "buyer": buyer_fields(email="x@example.com")}
    assert orders_api.post(other).status_code == 201
