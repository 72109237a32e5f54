"""order_place with a voucher, a hidden phase, a per-buyer cap or a minimum per order,
without a live gateway: each case here fails before the invoice, or costs nothing (no
invoice at all), or is cancelled when Xendit cannot be reached (its uses come back).
The invoice path with a discounted amount is test_vouchers_gateway.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.buyer_limits import BuyerLimit
from orders.checkout.placing import OrderLineRequest, order_place
from orders.errors import PaymentGatewayUnavailable, QuantityLimit, TotalBelowMinimum
from orders.models import Order, OrderStatus
from tickets.errors import NotOnSale
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.errors import VoucherExpired, VoucherInvalid, VoucherNotApplicable, VoucherUsedUp
from vouchers.models import Voucher, VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

BUYER = {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "081234567890"}


@pytest.fixture(autouse=True)
def no_xendit(settings, closed_port):
    # Any invoice this module asks for fails at once: the order is cancelled.
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}"


def place(*lines, **overrides):
    return order_place(**{**BUYER, "items": [OrderLineRequest(t.pk, q) for t, q in lines], **overrides})


def used(voucher) -> int:
    return Voucher.objects.get(pk=voucher.pk).used


def held(ticket) -> int:
    ticket.refresh_from_db()
    return ticket.held


@pytest.fixture
def regular():
    return TicketFactory(name="Regular", price=350_000, quota=100, max_per_order=5)


def test_a_full_discount_makes_a_free_order_paid_without_xendit(regular):
    voucher = VoucherFactory(event=regular.event, code="SPEAKER", kind=VoucherKind.PERCENT, value=100, max_uses=3)

    order = place((regular, 2), voucher=" speaker ")

    assert (order.status, order.total, order.discount) == (OrderStatus.PAID, 0, 700_000)
    assert order.voucher == voucher and order.voucher_uses == 2
    assert order.payment.method == "FREE"
    item = order.items.get()
    assert (item.unit_price, item.unit_discount, item.subtotal) == (350_000, 350_000, 0)
    assert used(voucher) == 2
    assert held(regular) == 2


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ({"code": "OTHER"}, VoucherInvalid),
        ({"valid_until": timezone.now() - timedelta(minutes=1)}, VoucherExpired),
        ({"valid_from": timezone.now() + timedelta(hours=1)}, VoucherExpired),
        ({"max_uses": 1, "used": 1}, VoucherUsedUp),
        ({"max_uses": 3, "used": 2}, VoucherUsedUp),  # 2 seats wanted, 1 use left
    ],
)
def test_a_voucher_that_cannot_serve_the_order_writes_nothing(regular, setup, error):
    voucher = VoucherFactory(event=regular.event, **{"code": "PROMO", **setup})
    before = used(voucher)

    with pytest.raises(error) as raised:
        place((regular, 2), voucher="PROMO")

    assert raised.value.status_code in (400, 409)
    assert Order.objects.count() == 0
    assert held(regular) == 0
    assert used(voucher) == before


def test_a_voucher_of_another_event_is_invalid_here(regular):
    VoucherFactory(event=EventFactory(), code="ELSEWHERE")
    with pytest.raises(VoucherInvalid):
        place((regular, 1), voucher="ELSEWHERE")


def test_a_voucher_for_other_phases_is_not_applicable(regular):
    workshop = TicketFactory(event=regular.event, name="Workshop", price=75_000)
    VoucherFactory(event=regular.event, code="WORKSHOP", tickets=[workshop])
    with pytest.raises(VoucherNotApplicable) as raised:
        place((regular, 1), voucher="WORKSHOP")
    assert raised.value.status_code == 400
    assert Order.objects.count() == 0


def test_a_hidden_phase_is_sold_only_with_a_voucher_that_lists_it(regular):
    hidden = TicketFactory(event=regular.event, name="Invited", price=0, requires_voucher=True)
    generic = VoucherFactory(event=regular.event, code="TENOFF")  # lists no phase: visible ones only

    with pytest.raises(NotOnSale) as raised:
        place((hidden, 1))
    assert raised.value.details["requires_voucher"] is True
    with pytest.raises(NotOnSale):
        place((hidden, 1), voucher="TENOFF")

    unlock = VoucherFactory(event=regular.event, code="INVITED", kind=VoucherKind.UNLOCK, value=0, tickets=[hidden])
    order = place((hidden, 1), voucher="invited")
    assert order.status == OrderStatus.PAID and order.voucher == unlock
    assert used(unlock) == 1 and used(generic) == 0


def test_an_order_cancelled_after_a_gateway_failure_gives_the_uses_back(regular):
    voucher = VoucherFactory(event=regular.event, code="HALF", value=50, max_uses=5)

    with pytest.raises(PaymentGatewayUnavailable):
        place((regular, 3), voucher="HALF")

    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert (order.total, order.discount, order.voucher_uses) == (525_000, 525_000, 3)
    assert used(voucher) == 0
    assert held(regular) == 0


def test_only_the_covered_lines_count_as_uses(regular):
    workshop = TicketFactory(event=regular.event, name="Workshop", price=75_000)
    voucher = VoucherFactory(event=regular.event, code="WS", kind=VoucherKind.FIXED, value=75_000, tickets=[workshop])
    order = place((workshop, 2), voucher="WS")
    assert (order.status, order.total, order.voucher_uses) == (OrderStatus.PAID, 0, 2)
    assert used(voucher) == 2
    with pytest.raises(VoucherNotApplicable):
        place((regular, 1), voucher="WS")


# --- per-buyer cap and minimum per order ------------------------------------------------


@pytest.fixture
def capped():
    """A free phase (no invoice needed) with a cap of 2 per buyer."""
    return TicketFactory(name="Community", price=0, quota=50, max_per_order=5, max_per_buyer=2)


def test_the_cap_counts_a_buyers_orders_by_email_and_by_phone(capped):
    place((capped, 1))
    place((capped, 1), phone="0899 1111 2222")  # same email, another phone

    with pytest.raises(BuyerLimit) as raised:
        place((capped, 1), phone="0877 3333 4444")  # the email already holds 2
    assert raised.value.status_code == 409
    assert raised.value.details == {"ticket_id": capped.pk, "max_per_buyer": 2, "held_by_buyer": 2, "requested": 1}
    assert "At most 2" in raised.value.message

    # Another email on the first phone: that phone holds 1, so 1 more is allowed, not 2.
    with pytest.raises(BuyerLimit):
        place((capped, 2), email="other@example.com")
    place((capped, 1), email="other@example.com")
    with pytest.raises(BuyerLimit):
        place((capped, 1), email="third@example.com")  # the phone now holds 2

    someone_else = place((capped, 2), email="sari@example.com", phone="0877 0000 1111")
    assert someone_else.status == OrderStatus.PAID
    assert held(capped) == 5


def test_one_order_above_the_cap_is_refused_whole(capped):
    with pytest.raises(BuyerLimit):
        place((capped, 3))
    assert Order.objects.count() == 0 and held(capped) == 0


def test_orders_that_expired_or_were_cancelled_do_not_count(capped):
    order = place((capped, 2))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.EXPIRED)
    assert place((capped, 2)).status == OrderStatus.PAID


def test_a_voucher_that_does_not_combine_with_limits_lifts_the_cap_and_the_maximum(capped):
    VoucherFactory(
        event=capped.event, code="SPONSOR", kind=VoucherKind.UNLOCK, value=0, max_uses=20, combines_with_limits=False
    )
    order = place((capped, 8), voucher="SPONSOR")  # above max_per_order 5 and the cap of 2
    assert order.status == OrderStatus.PAID
    with pytest.raises(BuyerLimit):
        place((capped, 1))  # without the voucher the buyer is over the cap
    VoucherFactory(event=capped.event, code="NORMAL", kind=VoucherKind.UNLOCK, value=0, max_uses=20)
    with pytest.raises(QuantityLimit):
        place((capped, 8), voucher="NORMAL")


def test_a_minimum_per_order(regular):
    pair = TicketFactory(event=regular.event, name="Pair", price=0, min_per_order=2, max_per_order=4)
    with pytest.raises(QuantityLimit) as raised:
        place((pair, 1))
    assert raised.value.details == {"ticket_id": pair.pk, "requested": 1, "min_per_order": 2}
    assert place((pair, 2)).status == OrderStatus.PAID


def test_a_voucher_that_leaves_less_than_any_channel_takes_is_refused_with_nothing_written(regular):
    # Rp 50 a ticket: no channel takes Rp 50, and Xendit would refuse the invoice after the
    # seats and the voucher's uses were taken.
    voucher = VoucherFactory(event=regular.event, code="ALMOST", kind=VoucherKind.FIXED, value=349_950, max_uses=5)

    with pytest.raises(TotalBelowMinimum) as refused:
        place((regular, 1), voucher="ALMOST")

    assert refused.value.status_code == 400
    assert refused.value.details == {"total": 50, "minimum": 100, "with_voucher": True}
    assert (Order.objects.count(), held(regular), used(voucher)) == (0, 0, 0)
    # Two of them make Rp 100, which e-wallets take: placed (the invoice then fails here).
    with pytest.raises(PaymentGatewayUnavailable):
        place((regular, 2), voucher="ALMOST")
    assert Order.objects.get().total == 100


def test_the_minimum_charge_is_a_setting(settings, regular):
    settings.MINIMUM_CHARGE = 10_000
    VoucherFactory(event=regular.event, code="DEEP", kind=VoucherKind.SET_PRICE, value=5_000, max_uses=5)

    with pytest.raises(TotalBelowMinimum) as refused:
        place((regular, 1), voucher="DEEP")

    assert refused.value.details["total"] == 5_000 and "without the voucher" in refused.value.message
