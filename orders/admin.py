from django.contrib import admin

from orders.models import Buyer, IssuedTicket, Order, OrderEvent, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = ["ticket", "quantity", "unit_price"]

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "subject", "from_status", "to_status", "source", "request_id", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["code", "buyer", "event", "status", "total", "needs_attention", "created_at", "paid_at"]
    list_filter = ["status", "needs_attention", "event"]
    list_select_related = ["buyer", "event"]
    search_fields = ["code", "buyer__email", "buyer__full_name", "buyer__phone"]
    readonly_fields = [
        "code",
        "buyer",
        "event",
        "status",
        "total",
        "currency",
        "language",
        "expires_at",
        "paid_at",
        "needs_attention",
        "attention_reason",
        "attention_note",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderItemInline, OrderEventInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ["full_name", "email", "phone", "created_at"]
    search_fields = ["full_name", "email", "phone"]


@admin.register(IssuedTicket)
class IssuedTicketAdmin(admin.ModelAdmin):
    list_display = ["code", "order", "ticket", "seat_number", "created_at"]
    list_select_related = ["order", "ticket"]
    search_fields = ["code", "order__code"]
    readonly_fields = ["code", "order", "order_item", "ticket", "seat_number", "created_at"]
