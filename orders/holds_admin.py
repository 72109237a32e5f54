"""The back office's view of the hoarding caps: who holds seats with unpaid orders now.

Finance opens "Who holds seats" from the orders list, follows a holder to the list of
their pending orders (the "holding seats now" filter and a search for the address, email
or key), selects them all and releases the seats with "Cancel selected pending orders".
"""

import ipaddress

from django.contrib import admin
from django.db.models import Count, F, Sum
from django.utils import timezone

from orders.models import OrderItem, OrderStatus

HOLDERS_SHOWN = 30


class HoldingSeatsFilter(admin.SimpleListFilter):
    title = "holding seats"
    parameter_name = "holding"

    def lookups(self, request, model_admin):
        return [("now", "Now (pending, not expired)")]

    def queryset(self, request, queryset):
        if self.value() == "now":
            return queryset.filter(status=OrderStatus.PENDING, expires_at__gt=timezone.now())
        return queryset


def search_by_client_address(queryset, search_term: str):
    """Orders placed from the address typed in the search box (None: not an address)."""
    try:
        address = str(ipaddress.ip_address(search_term.strip()))
    except ValueError:
        return None
    return queryset.filter(client_address=address)


def holders_now() -> dict[str, list[dict]]:
    """The biggest holders of seats in pending orders, by client address, by email and by
    API key: each row has the holder, its orders and seats."""
    held = OrderItem.objects.filter(order__status=OrderStatus.PENDING, order__expires_at__gt=timezone.now())

    def top(field: str) -> list[dict]:
        return list(
            held.exclude(**{f"{field}__isnull": True})
            .values(holder=F(field))
            .annotate(orders=Count("order", distinct=True), seats=Sum("quantity"))
            .order_by("-seats", "holder")[:HOLDERS_SHOWN]
        )

    return {
        "client address": top("order__client_address"),
        "email": top("order__buyer__email"),
        "API key": top("order__api_key__name"),
    }
