"""Stock: the only code that moves `Ticket.held` (docs/architecture.md, "Stock without oversell").

Reserving is one conditional UPDATE per ticket, in ticket-id order so that two orders for
the same tickets lock the rows in the same order and cannot deadlock. On InnoDB the UPDATE
must come before inserting order lines: the lines' foreign-key checks take shared locks on
the ticket rows, and an UPDATE after them deadlocks under load.
"""

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tickets.errors import NotOnSale, SoldOut, TicketNotFound
from tickets.models import Event, Ticket
from tickets.stock_sql import stock_row_read, stock_row_reserve


def on_sale_filter(now: datetime) -> Q:
    return Q(is_active=True, valid_from__lte=now, valid_until__gt=now)


def stock_reserve(*, quantities: Mapping[int, int], now: datetime, require_on_sale: bool = True) -> None:
    """Hold `quantities` ({ticket_id: units}) or raise, holding nothing in that case.

    Must run inside the caller's transaction: a failure part-way raises, and the caller's
    rollback gives back what the earlier UPDATEs took. `require_on_sale=False` is for a late
    payment taking its seats back after the sale window closed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_reserve must run inside a transaction")
    for ticket_id in sorted(quantities):
        units = quantities[ticket_id]
        # `UPDATE … SET held = held + units WHERE id = … AND held + units <= quota [AND on
        # sale now]`, in SQL written once (tickets/stock_sql.py says why).
        if not stock_row_reserve(ticket_id=ticket_id, units=units, now=now, require_on_sale=require_on_sale):
            _raise_why_not_reserved(ticket_id, units, now, require_on_sale)


def _raise_why_not_reserved(ticket_id: int, units: int, now: datetime, require_on_sale: bool) -> None:
    # One read explains the refusal; in a flash sale most answers are this one. The row is
    # read after the UPDATE in the same transaction (READ COMMITTED: the latest commit).
    # In SQL, as the UPDATE (tickets/stock_sql.py says why).
    ticket = stock_row_read(ticket_id, now=now)
    if ticket is None:
        raise TicketNotFound(f"Ticket {ticket_id} does not exist.", details={"ticket_id": ticket_id})
    if require_on_sale and not ticket.on_sale:
        raise NotOnSale(f"'{ticket.name}' is not on sale now.", details={"ticket_id": ticket_id})
    raise SoldOut(
        f"Only {ticket.available} left of '{ticket.name}'.",
        details={"ticket_id": ticket_id, "requested": units, "available": ticket.available},
    )


def stock_release(*, quantities: Mapping[int, int]) -> None:
    """Give units back. Called in the same transaction as the status change that frees them,
    so a release happens exactly once per order."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_release must run inside a transaction")
    for ticket_id in sorted(quantities):
        Ticket.objects.filter(pk=ticket_id).update(held=F("held") - quantities[ticket_id])


def ticket_quota_set(*, ticket_id: int, quota: int) -> bool:
    """Set a phase's quota unless more than `quota` units are held right now.

    One conditional UPDATE (`… SET quota = q WHERE id = … AND held <= q`): a reservation
    landing between a read of `held` and the write cannot slip under the new quota, which a
    read-then-save would allow (and the database would refuse with an IntegrityError).
    Returns False, changing nothing, when `held` is above `quota`; raises TicketNotFound
    for an unknown ticket.
    """
    from django.db.models.functions import Now

    if quota < 0:
        raise ValueError("A quota cannot be negative.")
    if Ticket.objects.filter(pk=ticket_id, held__lte=quota).update(quota=quota, updated_at=Now()) == 1:
        return True
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise TicketNotFound(f"Ticket {ticket_id} does not exist.", details={"ticket_id": ticket_id})
    return False


def tickets_withdraw(*, event_id: int) -> int:
    """Take every ticket of the event off sale (the event is cancelled). Held units stay
    counted: they belong to orders being cancelled and refunded. The event is marked
    cancelled, so that no phase of it goes back on sale (`Ticket.clean`). Returns how many."""
    Event.objects.filter(pk=event_id, cancelled_at__isnull=True).update(cancelled_at=timezone.now())
    return Ticket.objects.filter(event_id=event_id, is_active=True).update(is_active=False)
