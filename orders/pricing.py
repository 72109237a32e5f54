"""What an order will cost and which voucher it uses, decided before the placing transaction
(the voucher's uses are then taken in it, by `voucher_redeem`). The arithmetic itself is
`vouchers/pricing.py`."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from orders.errors import TotalAboveMaximum, TotalBelowMinimum
from tickets.errors import NotOnSale
from tickets.models import Ticket
from vouchers.models import Voucher
from vouchers.pricing import PricedOrder, VoucherTerms, order_price
from vouchers.selectors import voucher_find, voucher_terms
from vouchers.services import voucher_check


@dataclass(frozen=True)
class OrderPricing:
    priced: PricedOrder
    voucher: Voucher | None = None
    # Phases a voucher frees from the per-order maximum and the per-buyer cap.
    limits_exempt: frozenset[int] = frozenset()


def order_pricing(
    *, tickets: Mapping[int, Ticket], quantities: Mapping[int, int], voucher_code: str, now: datetime
) -> OrderPricing:
    """Price the order with the voucher `voucher_code` ("" for none). Raises the voucher
    errors (vouchers/errors.py), or `NotOnSale` for a hidden phase without its voucher.
    Whether the total can be paid at all is `order_payable_check`, after the quantity limits."""
    event_id = next(iter(tickets.values())).event_id
    voucher: Voucher | None = None
    terms: VoucherTerms | None = None
    if voucher_code.strip():
        voucher = voucher_find(event_id=event_id, code=voucher_code)
        terms = voucher_terms(voucher)
    for ticket_id in sorted(quantities):
        if tickets[ticket_id].requires_voucher and (terms is None or ticket_id not in terms.ticket_ids):
            # Hidden: told apart from "sold out" only by the flag, so a client can say why.
            raise NotOnSale(
                f"'{tickets[ticket_id].name}' is sold only with its voucher.",
                details={"ticket_id": ticket_id, "requires_voucher": True},
            )
    priced = order_price(
        prices={ticket_id: ticket.price for ticket_id, ticket in tickets.items()}, quantities=quantities, terms=terms
    )
    if voucher is None:
        return OrderPricing(priced=priced)
    voucher_check(voucher=voucher, terms=terms, ticket_ids=list(quantities), uses=priced.voucher_uses, now=now)
    exempt = frozenset() if voucher.combines_with_limits else terms.ticket_ids.intersection(quantities)
    return OrderPricing(priced=priced, voucher=voucher, limits_exempt=exempt)


def order_payable_check(pricing: OrderPricing) -> None:
    """Raises `TotalBelowMinimum` or `TotalAboveMaximum` for a total no payment channel
    takes. Called after the voucher's and the quantity limits' refusals, which say more."""
    _payable_check(pricing.priced, with_voucher=pricing.voucher is not None)


def _payable_check(priced: PricedOrder, *, with_voucher: bool) -> None:
    """0 is a free order (confirmed without Xendit); anything else must be an amount some
    payment channel takes, or Xendit refuses the invoice after the seats were reserved and
    the order ends cancelled as a gateway failure."""
    if 0 < priced.total < settings.MINIMUM_CHARGE:
        raise TotalBelowMinimum(
            f"The order would cost {priced.total} IDR, below the {settings.MINIMUM_CHARGE} IDR the payment "
            "channels accept." + (" Choose more tickets, or place it without the voucher." if with_voucher else ""),
            details={"total": priced.total, "minimum": settings.MINIMUM_CHARGE, "with_voucher": with_voucher},
        )
    if priced.total > settings.MAXIMUM_CHARGE:
        raise TotalAboveMaximum(
            f"The order would cost {priced.total} IDR, above the {settings.MAXIMUM_CHARGE} IDR one payment may be.",
            details={"total": priced.total, "maximum": settings.MAXIMUM_CHARGE},
        )
