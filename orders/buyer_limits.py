"""Per-buyer limits of a phase (`Ticket.max_per_buyer`): one buyer, recognised by email and
by normalised phone, holds at most that many tickets of the phase across all their PENDING
and PAID orders of the event: the phase's own promise, paid orders included (a cap on unpaid
holds against hoarding would be a different rule).

Why a plain count is enough under concurrency: it runs inside the placing transaction right
after `stock_reserve`, whose conditional UPDATE holds the ticket row's write lock until
commit. Every other order for the same phase waits on that lock, so two orders of one buyer
for one phase are counted one after the other, never side by side; and with READ COMMITTED
(MariaDB, settings.py) or SQLite's single writer, the second count sees the first order once
it has committed. Comps are not counted: finance's gifts are not the buyer's purchases.
"""

from collections.abc import Collection, Mapping

from django.db import transaction
from django.db.models import Q, Sum

from orders.models import Buyer, OrderItem, OrderStatus
from tedxpay.core.errors import ApplicationError
from tedxpay.core.exact_text import text_equals
from tickets.models import Ticket


class BuyerLimit(ApplicationError):
    """More of a phase than one buyer may hold. A 409: it depends on the buyer's other
    orders, which may expire."""

    code = "buyer_limit"
    status_code = 409
    default_message = "Too many tickets of this phase for one buyer."


def buyer_tickets_held(*, ticket_id: int, email: str, phone: str) -> int:
    """Tickets of this phase in the PENDING and PAID orders (not comps) of everyone with this
    email or this phone."""
    same_buyer = text_equals("email", email) | Q(phone=phone) if phone else text_equals("email", email)
    held = OrderItem.objects.filter(
        ticket_id=ticket_id,
        order__status__in=[OrderStatus.PENDING, OrderStatus.PAID],
        order__is_comp=False,
        order__buyer__in=Buyer.objects.filter(same_buyer).values("pk"),
    ).aggregate(units=Sum("quantity"))["units"]
    return held or 0


def buyer_limits_check(
    *,
    tickets: Mapping[int, Ticket],
    quantities: Mapping[int, int],
    email: str,
    phone: str,
    exempt: Collection[int] = (),
) -> None:
    """Raise `BuyerLimit` if this order would take a buyer past a phase's cap. Must run in
    the placing transaction after `stock_reserve` (see the module docstring) and before the
    order's own rows are written. `exempt`: phases a voucher frees from the cap."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("buyer_limits_check must run inside the placing transaction")
    for ticket_id in sorted(quantities):
        cap = tickets[ticket_id].max_per_buyer
        if cap is None or ticket_id in exempt:
            continue
        held = buyer_tickets_held(ticket_id=ticket_id, email=email, phone=phone)
        if held + quantities[ticket_id] > cap:
            name = tickets[ticket_id].name
            raise BuyerLimit(
                f"At most {cap} of '{name}' per buyer; this email or phone already has {held}.",
                details={
                    "ticket_id": ticket_id,
                    "max_per_buyer": cap,
                    "held_by_buyer": held,
                    "requested": quantities[ticket_id],
                },
            )
