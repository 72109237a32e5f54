"""Reads of vouchers that placing an order and the checkout page share."""

from datetime import datetime

from django.db.models import Q

from tickets.models import Ticket
from vouchers.errors import VoucherInvalid
from vouchers.models import Voucher
from vouchers.pricing import VoucherTerms, covered_ticket_ids

MAX_CODE_LENGTH = 40


def voucher_code_normalise(raw: str) -> str:
    """What a buyer typed or a link carried, as stored: no spaces, upper case."""
    return "".join((raw or "").split()).upper()


def valid_at(now: datetime) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=now)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def voucher_find(*, event_id: int, code: str) -> Voucher:
    """The event's voucher with this code (any case, spaces ignored), or `VoucherInvalid`."""
    code = voucher_code_normalise(code)
    voucher = Voucher.objects.filter(event_id=event_id, code=code).first() if 0 < len(code) <= MAX_CODE_LENGTH else None
    if voucher is None:
        raise VoucherInvalid(details={"voucher": code[:MAX_CODE_LENGTH]})
    return voucher


def voucher_terms(voucher: Voucher) -> VoucherTerms:
    listed = list(voucher.tickets.values_list("pk", flat=True))
    phases = (
        {} if listed else dict(Ticket.objects.filter(event_id=voucher.event_id).values_list("pk", "requires_voucher"))
    )
    return VoucherTerms(
        kind=voucher.kind, value=voucher.value, ticket_ids=covered_ticket_ids(listed=listed, event_ticket_ids=phases)
    )
