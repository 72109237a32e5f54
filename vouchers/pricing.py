"""What an order costs, with or without a voucher: pure arithmetic on whole rupiah.

The rounding rule (docs/vouchers.md): a voucher takes a whole-rupiah discount off each
ticket (each unit) it applies to, never more than the ticket's price, so a ticket never
costs less than 0 and the sum of the lines is the total, exactly. A percentage of a price
is rounded down to a whole rupiah (the buyer gives up less than 1 rupiah a ticket): 15 % of
Rp 12.345 is Rp 1.851,75, so the discount is Rp 1.851 and the ticket costs Rp 10.494.
Integer division only; no floats.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from vouchers.models import VoucherKind


@dataclass(frozen=True)
class LinePrice:
    """One order line: `unit_price` is the phase's price, `unit_discount` what the voucher
    takes off each unit of it (0 when it does not apply)."""

    ticket_id: int
    quantity: int
    unit_price: int
    unit_discount: int = 0

    @property
    def unit_charged(self) -> int:
        return self.unit_price - self.unit_discount

    @property
    def discount(self) -> int:
        return self.unit_discount * self.quantity

    @property
    def subtotal(self) -> int:
        return self.unit_charged * self.quantity


@dataclass(frozen=True)
class VoucherTerms:
    """What a voucher does to a price, and to which phases."""

    kind: str
    value: int
    ticket_ids: frozenset[int]


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[LinePrice, ...]
    # Seats the voucher covers: what its `used` counter takes for this order.
    voucher_uses: int = 0

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)


def unit_discount(*, kind: str, value: int, price: int) -> int:
    """The whole-rupiah discount on one ticket of `price`; 0 ≤ result ≤ price."""
    if price < 0 or value < 0:
        raise ValueError("Prices and voucher values are never negative.")
    if kind == VoucherKind.PERCENT:
        if not 0 <= value <= 100:
            raise ValueError("A percentage is between 0 and 100.")
        return price * value // 100
    if kind == VoucherKind.FIXED:
        return min(value, price)
    if kind == VoucherKind.SET_PRICE:
        # A set price above the phase's price does not raise it.
        return max(price - value, 0)
    if kind == VoucherKind.UNLOCK:
        return 0
    raise ValueError(f"Unknown voucher kind {kind!r}.")


def order_price(
    *, prices: Mapping[int, int], quantities: Mapping[int, int], terms: VoucherTerms | None = None
) -> PricedOrder:
    """Price each line (`prices` and `quantities` by ticket id), in ticket-id order."""
    lines = []
    uses = 0
    for ticket_id in sorted(quantities):
        quantity, price = quantities[ticket_id], prices[ticket_id]
        discount = 0
        if terms is not None and ticket_id in terms.ticket_ids:
            discount = unit_discount(kind=terms.kind, value=terms.value, price=price)
            uses += quantity
        lines.append(LinePrice(ticket_id=ticket_id, quantity=quantity, unit_price=price, unit_discount=discount))
    return PricedOrder(lines=tuple(lines), voucher_uses=uses)


def covered_ticket_ids(*, listed: Collection[int], event_ticket_ids: Mapping[int, bool]) -> frozenset[int]:
    """The phases a voucher applies to: those it lists, or, when it lists none, every phase
    of its event that is not hidden (`event_ticket_ids`: id → requires_voucher)."""
    if listed:
        return frozenset(listed)
    return frozenset(ticket_id for ticket_id, hidden in event_ticket_ids.items() if not hidden)
