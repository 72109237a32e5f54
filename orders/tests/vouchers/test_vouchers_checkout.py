"""The voucher box and `?voucher=CODE` links on the checkout page (Django's test client)."""

import pytest

from orders.models import Order, OrderStatus
from orders.tests.pages.test_checkout_pages import checkout_post
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

# "confirmed": as the checkout script sends it (the total was shown live; no review step).
BUYER = {"full_name": "Siti Rahma", "email": "siti@example.com", "phone": "0812 3456 7890", "confirmed": "1"}


@pytest.fixture
def event():
    return EventFactory(slug="tedxvoucher")


@pytest.fixture
def regular(event):
    return TicketFactory(event=event, name="Regular", price=350_000)


@pytest.fixture
def hidden(event):
    return TicketFactory(event=event, name="Speakers' guests", price=100_000, requires_voucher=True)


def test_a_hidden_phase_is_not_shown_nor_listed_without_its_voucher(client, regular, hidden):
    page = client.get("/events/tedxvoucher/").content.decode()
    assert "Regular" in page
    assert "Speakers" not in page and f"quantity_{hidden.pk}" not in page
    assert hidden.pk not in [ticket["id"] for ticket in client.get("/api/tickets").json()]


def test_a_voucher_link_prefills_the_code_shows_its_hidden_phase_and_the_price_with_it(client, event, regular, hidden):
    VoucherFactory(event=event, code="GUEST-7Q2M", kind=VoucherKind.SET_PRICE, value=0, tickets=[regular, hidden])

    response = client.get("/events/tedxvoucher/?voucher=guest-7q2m")
    page = response.content.decode()

    # The box, as the link had it, and part of the order form: the order carries the code.
    assert 'name="voucher" form="checkout" id="id_voucher" value="guest-7q2m"' in page
    assert "Speakers" in page and f'name="quantity_{hidden.pk}"' in page
    rows = {row["ticket"].name: row["charged"] for row in response.context["phases"]}
    assert rows == {"Regular": 0, "Speakers' guests": 0}
    assert "tiket gratis" in page  # "free tickets", in the page's language


def test_a_bad_code_is_explained_and_reveals_nothing(client, event, regular, hidden):
    VoucherFactory(event=event, code="USED", max_uses=1, used=1, tickets=[hidden])
    for code, message in (("NOPE", "tidak berlaku untuk acara ini"), ("USED", "sudah habis dipakai")):
        page = client.get(f"/events/tedxvoucher/?voucher={code}").content.decode()
        assert message in page
        assert f"quantity_{hidden.pk}" not in page
        # The code stays in its box, marked, to be corrected.
        box = f'value="{code}" maxlength="40" autocomplete="off" autocapitalize="characters" aria-invalid="true"'
        assert box in page


def test_ordering_with_the_voucher_applies_it(client, event, regular):
    voucher = VoucherFactory(event=event, code="CREW", kind=VoucherKind.PERCENT, value=100, max_uses=2)
    token = client.get("/events/tedxvoucher/?voucher=CREW").context["checkout_token"]

    response = client.post(
        "/events/tedxvoucher/?voucher=CREW",
        {**BUYER, f"quantity_{regular.pk}": "2", "voucher": "CREW", "checkout_token": token},
    )

    order = Order.objects.get()
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    assert (order.status, order.total, order.discount, order.voucher) == (OrderStatus.PAID, 0, 700_000, voucher)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "CREW" in page and "Rp 700.000" in page


def test_a_voucher_used_up_since_it_was_applied_refuses_the_order_with_the_reason(client, event, regular):
    voucher = VoucherFactory(event=event, code="LAST", value=100, max_uses=1)
    token = client.get("/events/tedxvoucher/?voucher=LAST").context["checkout_token"]
    voucher.used = 1
    voucher.save()

    response = client.post(
        "/events/tedxvoucher/", {**BUYER, f"quantity_{regular.pk}": "1", "voucher": "LAST", "checkout_token": token}
    )

    assert response.status_code == 400
    assert "Voucher ini sudah habis dipakai." in response.content.decode()  # used up
    assert Order.objects.count() == 0


def test_a_voucher_that_leaves_a_few_rupiah_is_explained_in_the_page_language(client, event, regular):
    VoucherFactory(event=event, code="RP50", kind=VoucherKind.SET_PRICE, value=50)
    token = client.get("/events/tedxvoucher/?voucher=RP50").context["checkout_token"]

    response = client.post(
        "/events/tedxvoucher/", {**BUYER, f"quantity_{regular.pk}": "1", "voucher": "RP50", "checkout_token": token}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Rp 50" in page and "Rp 100" in page and "voucher" in page
    assert "With this voucher" not in page  # told in Indonesian, the page's language
    assert Order.objects.count() == 0


def test_without_a_voucher_nothing_changes(client, regular):
    response = checkout_post(client, "tedxvoucher", {**BUYER, f"quantity_{regular.pk}": "0"})
    assert response.status_code == 400


def choices(response, ticket) -> list[int]:
    row = next(row for row in response.context["phases"] if row["ticket"] == ticket)
    return [value for value, _ in row["field"].field.choices]


def test_the_quantity_choices_follow_the_minimum_and_a_voucher_that_lifts_the_maximum(client, event, regular):
    pair = TicketFactory(event=event, name="Pair", price=0, min_per_order=2, max_per_order=4)
    assert choices(client.get("/events/tedxvoucher/"), pair) == [0, 2, 3, 4]
    assert choices(client.get("/events/tedxvoucher/"), regular) == [0, 1, 2, 3, 4, 5]

    VoucherFactory(
        event=event, code="SPONSOR", kind=VoucherKind.UNLOCK, value=0, max_uses=8, combines_with_limits=False
    )
    VoucherFactory(event=event, code="NORMAL", kind=VoucherKind.UNLOCK, value=0, max_uses=8)
    assert choices(client.get("/events/tedxvoucher/?voucher=SPONSOR"), regular) == list(range(9))
    assert choices(client.get("/events/tedxvoucher/?voucher=NORMAL"), regular) == list(range(6))


def test_guessing_codes_is_stopped_per_connection_and_right_codes_do_not_count(client, event, regular, settings):
    from django.core.cache import cache

    cache.clear()
    settings.VOUCHER_MISSES_PER_HOUR = 5
    VoucherFactory(event=event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20)
    for _ in range(8):  # a buyer reloading their voucher link is not guessing
        assert client.get("/events/tedxvoucher/?voucher=KOMUNITAS").context["voucher"] is not None
    for guess in ("AAAA", "BBBB", "CCCC", "DDDD", "EEEE"):
        assert client.get(f"/events/tedxvoucher/?voucher={guess}").context["voucher"] is None
    # Now even the right code is not looked up from this connection, and the page says why.
    stopped = client.get("/events/tedxvoucher/?voucher=KOMUNITAS")
    assert stopped.context["voucher"] is None
    assert "Terlalu banyak kode voucher dicoba" in stopped.content.decode()
    # Nor is it tried by placing an order with it.
    token = client.get("/events/tedxvoucher/").context["checkout_token"]
    body = {
        f"quantity_{regular.pk}": "1",
        "full_name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "081234567890",
        "voucher": "KOMUNITAS",
        "checkout_token": token,
        "confirmed": "1",
    }
    refused = client.post("/events/tedxvoucher/", body)
    assert refused.status_code == 400 and not Order.objects.exists()
    assert "Terlalu banyak kode voucher dicoba" in refused.content.decode()
    # Another connection is not affected.
    other = client.get("/events/tedxvoucher/?voucher=KOMUNITAS", REMOTE_ADDR="198.51.100.20")
    assert other.context["voucher"] is not None
    cache.clear()
