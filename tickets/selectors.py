"""Reads of the ticket catalog that the API and the checkout pages share."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from tedxpay.core.process_cache import ProcessCache
from tickets.models import Event, Ticket
from tickets.services import on_sale_filter

# The tickets of an order with their event, for TICKET_CACHE_SECONDS (tedxpay/core/process_cache.py):
# in a flash sale every request reads the same phase. What a copy a few seconds old could
# get wrong is re-checked by the conditional stock UPDATE (on sale, seats left); a price
# or name changed in the admin reaches the other workers within those seconds.
_tickets_by_ids: ProcessCache[dict[int, Ticket]] = ProcessCache("tickets", seconds_setting="TICKET_CACHE_SECONDS")


def tickets_with_event(ticket_ids: Iterable[int]) -> dict[int, Ticket]:
    """{id: ticket} with `ticket.event` loaded, for the ids that exist; read through the
    process cache. Treat the tickets as read-only: they are shared by requests."""
    key = tuple(sorted(set(ticket_ids)))
    return _tickets_by_ids.get(
        key,
        lambda: Ticket.objects.select_related("event").in_bulk(list(key)),
        # Only complete answers are kept: an unknown id is asked again next time.
        keep=lambda tickets: len(tickets) == len(key),
    )


def tickets_forget_on_save() -> None:
    _tickets_by_ids.forget_on_save(Ticket, Event)


def ticket_list_on_sale(*, event_slug: str | None = None, now: datetime | None = None) -> QuerySet[Ticket]:
    """Visible phases on sale now (active, inside their sale window), sold-out ones included, with
    their event, in one query. `ticket.available` is `quota - held` from the same row."""
    # Hidden phases (sold only with a voucher) are never listed.
    tickets = Ticket.objects.filter(on_sale_filter(now or timezone.now()), requires_voucher=False).select_related(
        "event"
    )
    if event_slug is not None:
        tickets = tickets.filter(event__slug=event_slug)
    return tickets.order_by("event__starts_at", "event_id", "sort_order", "valid_from", "id")


def tickets_on_sale_by_event(*, now: datetime | None = None) -> dict[Event, list[Ticket]]:
    """The catalog grouped per event (events in start order), for listing pages."""
    grouped: dict[Event, list[Ticket]] = {}
    for ticket in ticket_list_on_sale(now=now):
        grouped.setdefault(ticket.event, []).append(ticket)
    return grouped


def event_exists(*, slug: str) -> bool:
    return Event.objects.filter(slug=slug).exists()
