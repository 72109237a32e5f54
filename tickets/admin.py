from django.contrib import admin

from tickets.models import Event, Ticket


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    fields = ["name", "price", "quota", "held", "valid_from", "valid_until", "max_per_order", "is_active", "sort_order"]
    readonly_fields = ["held"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "venue", "starts_at"]
    search_fields = ["name", "slug", "venue"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TicketInline]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "price", "quota", "held", "valid_from", "valid_until", "is_active"]
    list_filter = ["event", "is_active"]
    list_select_related = ["event"]
    search_fields = ["name", "event__name"]
    readonly_fields = ["held", "created_at", "updated_at"]
