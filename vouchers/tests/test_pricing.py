"""The price arithmetic and its rounding rule (docs/vouchers.md): whole rupiah, a discount
rounded down per ticket, never below zero, lines adding up to the total."""

import pytest

from vouchers.models import VoucherKind
from vouchers.pricing import VoucherTerms, covered_ticket_ids, order_price, unit_discount


@pytest.mark.parametrize(
    ("percent", "price", "discount"),
    [
        (15, 12_345, 1_851),  # 1.851,75 → 1.851: the buyer gives up the 0,75
        (10, 99_999, 9_999),  # 9.999,9 → 9.999
        (33, 100_001, 33_000),  # 33.000,33 → 33.000
        (50, 1, 0),  # half a rupiah is no rupiah
        (99, 1, 0),
        (100, 350_000, 350_000),  # free
        (100, 1, 1),
        (20, 0, 0),  # a free phase stays free
        (1, 350_000, 3_500),
    ],
)
def test_percent_off_is_rounded_down_to_whole_rupiah(percent, price, discount):
    assert unit_discount(kind=VoucherKind.PERCENT, value=percent, price=price) == discount


@pytest.mark.parametrize(
    ("kind", "value", "price", "discount"),
    [
        (VoucherKind.FIXED, 50_000, 350_000, 50_000),
        (VoucherKind.FIXED, 500_000, 350_000, 350_000),  # more off than the price: free, not negative
        (VoucherKind.FIXED, 350_000, 350_000, 350_000),
        (VoucherKind.SET_PRICE, 100_000, 350_000, 250_000),
        (VoucherKind.SET_PRICE, 0, 350_000, 350_000),  # set to free
        (VoucherKind.SET_PRICE, 500_000, 350_000, 0),  # a set price never raises a price
        (VoucherKind.UNLOCK, 0, 350_000, 0),
    ],
)
def test_fixed_and_set_price_never_go_below_zero(kind, value, price, discount):
    assert unit_discount(kind=kind, value=value, price=price) == discount


def test_every_discount_is_a_whole_rupiah_between_zero_and_the_price():
    for kind, values in (
        (VoucherKind.PERCENT, range(0, 101, 7)),
        (VoucherKind.FIXED, (0, 1, 999, 12_345, 10**7)),
        (VoucherKind.SET_PRICE, (0, 1, 999, 12_345, 10**7)),
    ):
        for value in values:
            for price in (0, 1, 2, 3, 999, 12_345, 350_001, 9_999_999):
                discount = unit_discount(kind=kind, value=value, price=price)
                assert type(discount) is int
                assert 0 <= discount <= price


def test_combined_lines_only_the_covered_phases_are_discounted_and_lines_add_up():
    early, regular, workshop = 1, 2, 3
    priced = order_price(
        prices={early: 149_999, regular: 350_000, workshop: 75_000},
        quantities={early: 3, regular: 2, workshop: 1},
        terms=VoucherTerms(kind=VoucherKind.PERCENT, value=15, ticket_ids=frozenset({early, workshop})),
    )
    by_ticket = {line.ticket_id: line for line in priced.lines}
    # 15 % of 149.999 = 22.499,85 → 22.499 a ticket, 3 tickets
    assert by_ticket[early].unit_discount == 22_499
    assert by_ticket[early].subtotal == 3 * 127_500
    assert by_ticket[regular].unit_discount == 0
    assert by_ticket[regular].subtotal == 700_000
    assert by_ticket[workshop].unit_discount == 11_250
    assert priced.discount == 3 * 22_499 + 11_250
    assert priced.total == 3 * 149_999 + 700_000 + 75_000 - priced.discount
    assert priced.total == sum(line.unit_charged * line.quantity for line in priced.lines)
    assert priced.voucher_uses == 4  # one use per covered ticket: 3 early + 1 workshop


def test_fixed_amount_above_the_price_on_a_mixed_order_makes_only_that_line_free():
    priced = order_price(
        prices={1: 75_000, 2: 350_000},
        quantities={1: 2, 2: 1},
        terms=VoucherTerms(kind=VoucherKind.FIXED, value=100_000, ticket_ids=frozenset({1})),
    )
    assert [line.subtotal for line in priced.lines] == [0, 350_000]
    assert priced.total == 350_000
    assert priced.discount == 150_000


def test_no_voucher_no_discount():
    priced = order_price(prices={1: 350_000}, quantities={1: 2})
    assert priced.total == 700_000
    assert priced.discount == 0
    assert priced.voucher_uses == 0


def test_out_of_range_values_are_refused():
    with pytest.raises(ValueError):
        unit_discount(kind=VoucherKind.PERCENT, value=101, price=1000)
    with pytest.raises(ValueError):
        unit_discount(kind=VoucherKind.FIXED, value=-1, price=1000)
    with pytest.raises(ValueError):
        unit_discount(kind="bogus", value=1, price=1000)


def test_a_voucher_without_listed_phases_covers_the_visible_phases_only():
    assert covered_ticket_ids(listed=[], event_ticket_ids={1: False, 2: True, 3: False}) == {1, 3}
    assert covered_ticket_ids(listed=[2], event_ticket_ids={1: False, 2: True}) == {2}
