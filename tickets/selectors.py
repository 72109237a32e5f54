"""Reads of the ticket catalog that the API and the checkout pages share."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import Event, Ticket
from tickets.services import on_sale_filter


def ticket_list_on_sale(*, event_slug: str | None = None, now: datetime | None = None) -> QuerySet[Ticket]:
    """Phases on sale now (active, inside their sale window), sold-out ones included, with
    their event, in one query. `ticket.available` is `quota - held` from the same row."""
    tickets = Ticket.objects.filter(on_sale_filter(now or timezone.now())).select_related("event")
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
