"""Vouchers: finding one for an order, and the only code that moves `Voucher.used`.

Redeeming is one conditional UPDATE, exactly like the stock (tickets/services.py):
`UPDATE … SET used = used + n WHERE id = … AND used + n <= max_uses AND <valid now>`, in the
placing transaction, after the ticket rows and before the order rows are inserted (the
order's foreign key to the voucher would otherwise take a shared lock on its row first, and
the UPDATE after it deadlocks under load, as with the tickets). Lock order everywhere:
ticket rows (by id), then the voucher row. Expiring or cancelling the order gives the uses
back in the same transaction as its status change.
"""

from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.lookups import LessThanOrEqual

from vouchers.errors import VoucherExpired, VoucherNotApplicable, VoucherUsedUp
from vouchers.models import Voucher, voucher_code_generate
from vouchers.pricing import VoucherTerms
from vouchers.selectors import valid_at, voucher_code_normalise


def voucher_check(
    *, voucher: Voucher, terms: VoucherTerms, ticket_ids: Collection[int], uses: int, now: datetime
) -> None:
    """Refuse, before any row is touched, a voucher that cannot serve this order. The
    conditional UPDATE in `voucher_redeem` decides in the end; this gives the clear reason."""
    details = {"voucher": voucher.code}
    if not terms.ticket_ids.intersection(ticket_ids):
        raise VoucherNotApplicable(details=details)
    if not Voucher.objects.filter(valid_at(now), pk=voucher.pk).exists():
        raise VoucherExpired(details=details)
    if voucher.used + uses > voucher.max_uses:
        raise VoucherUsedUp(details={**details, "remaining": voucher.remaining, "requested": uses})


def voucher_redeem(*, voucher_id: int, uses: int, now: datetime, require_valid: bool = True) -> None:
    """Take `uses` or raise, taking nothing. Inside the caller's transaction (its rollback
    gives the uses back if a later step fails). `require_valid=False` is for a late payment
    taking back the uses of an order placed while the voucher was valid."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("voucher_redeem must run inside a transaction")
    if uses <= 0:
        return
    rows = Voucher.objects.filter(LessThanOrEqual(F("used") + uses, F("max_uses")), pk=voucher_id)
    if require_valid:
        rows = rows.filter(valid_at(now))
    if rows.update(used=F("used") + uses) == 1:
        return
    voucher = Voucher.objects.get(pk=voucher_id)
    details = {"voucher": voucher.code}
    if require_valid and not Voucher.objects.filter(valid_at(now), pk=voucher_id).exists():
        raise VoucherExpired(details=details)
    raise VoucherUsedUp(details={**details, "remaining": voucher.remaining, "requested": uses})


def voucher_release(*, voucher_id: int, uses: int) -> None:
    """Give uses back; in the same transaction as the status change that frees them, so it
    happens once per order."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("voucher_release must run inside a transaction")
    if uses > 0:
        # `used >= uses` guards the unsigned column; it always holds when the books are right.
        Voucher.objects.filter(pk=voucher_id, used__gte=uses).update(used=F("used") - uses)


def voucher_max_uses_set(*, voucher_id: int, max_uses: int) -> bool:
    """Set `max_uses` unless more are used right now; one conditional UPDATE, like
    `ticket_quota_set`, so a redemption landing meanwhile cannot slip under it."""
    if max_uses < 1:
        raise ValueError("A voucher has at least one use.")
    return Voucher.objects.filter(pk=voucher_id, used__lte=max_uses).update(max_uses=max_uses) == 1


# Enough for a whole community's list; more in one go is a typo.
MAX_GENERATED = 5000


@transaction.atomic
def vouchers_generate(*, count: int, prefix: str, template: Voucher, ticket_ids: Collection[int] = ()) -> list[Voucher]:
    """`count` vouchers with fresh unique codes (`PREFIX-XXXXXXXX`), each a copy of
    `template`'s settings (an unsaved Voucher; its code is ignored). All or nothing."""
    if not 1 <= count <= MAX_GENERATED:
        raise ValueError(f"Generate between 1 and {MAX_GENERATED} codes at once.")
    prefix = voucher_code_normalise(prefix)
    taken = set(Voucher.objects.filter(event_id=template.event_id).values_list("code", flat=True))
    codes: list[str] = []
    while len(codes) < count:
        code = voucher_code_generate(prefix)
        if code not in taken:
            taken.add(code)
            codes.append(code)
    fields = {
        name: getattr(template, name)
        for name in ("event_id", "kind", "value", "max_uses", "valid_from", "valid_until", "combines_with_limits")
    }
    fields.update(batch=template.batch, note=template.note)
    Voucher.objects.bulk_create(Voucher(code=code, **fields) for code in codes)
    # Read back for the ids (bulk_create returns them only on some databases).
    created = list(Voucher.objects.filter(event_id=template.event_id, code__in=codes).order_by("code"))
    if ticket_ids:
        through = Voucher.tickets.through
        through.objects.bulk_create(
            through(voucher_id=voucher.pk, ticket_id=ticket_id) for voucher in created for ticket_id in ticket_ids
        )
    return created
