"""A voucher as the checkout page shows it: what it does in words, which phases it covers
(hidden ones appear), and each covered phase's price with it. Prices are the same
arithmetic as placing (vouchers/pricing.py); the order itself is priced again on submit."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.buyer_messages import refusal_message
from tedxpay.core.errors import ApplicationError
from tedxpay.core.money import format_rupiah
from tickets.models import Event, Ticket
from vouchers.errors import VoucherExpired, VoucherUsedUp
from vouchers.models import Voucher, VoucherKind
from vouchers.pricing import VoucherTerms, unit_discount
from vouchers.selectors import valid_at, voucher_find, voucher_terms


@dataclass(frozen=True)
class AppliedVoucher:
    code: str
    description: str
    terms: VoucherTerms
    # Phases the voucher frees from their maximum per order: at most its remaining uses.
    most_per_order: dict[int, int] = field(default_factory=dict)

    def covers(self, ticket: Ticket) -> bool:
        return ticket.pk in self.terms.ticket_ids

    def price_of(self, ticket: Ticket) -> int:
        if not self.covers(ticket):
            return ticket.price
        return ticket.price - unit_discount(kind=self.terms.kind, value=self.terms.value, price=ticket.price)


def voucher_words(voucher: Voucher) -> str:
    """What it does, for the buyer, in the page's language ("20% off", "diskon 20%");
    `Voucher.describe()` is the back office's English."""
    if voucher.kind == VoucherKind.PERCENT:
        return _("%(percent)s%% off") % {"percent": voucher.value}
    if voucher.kind == VoucherKind.FIXED:
        return _("%(amount)s off each ticket") % {"amount": format_rupiah(voucher.value)}
    if voucher.kind == VoucherKind.SET_PRICE:
        if voucher.value == 0:
            return _("free tickets")
        return _("tickets at %(price)s") % {"price": format_rupiah(voucher.value)}
    return _("access to invitation-only tickets")


def checkout_voucher(*, event: Event, code: str, now: datetime | None = None) -> tuple[AppliedVoucher | None, str]:
    """(the voucher to show, "") or (None, why not) for what a buyer typed or a link
    carried; (None, "") when there is no code."""
    if not code.strip():
        return None, ""
    now = now or timezone.now()
    try:
        voucher = voucher_find(event_id=event.pk, code=code)
        if not Voucher.objects.filter(valid_at(now), pk=voucher.pk).exists():
            raise VoucherExpired()
        if voucher.remaining == 0:
            raise VoucherUsedUp()
    except ApplicationError as error:
        return None, refusal_message(error.code, error.details) or _("This voucher cannot be used.")
    terms = voucher_terms(voucher)
    lifted = {} if voucher.combines_with_limits else dict.fromkeys(terms.ticket_ids, voucher.remaining)
    return AppliedVoucher(code=voucher.code, description=voucher_words(voucher), terms=terms, most_per_order=lifted), ""
