from django.contrib import admin

from payments.models import Payment, WebhookEvent


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "status", "amount", "paid_amount", "method", "channel", "paid_at", "created_at"]
    list_filter = ["status", "method", "channel"]
    list_select_related = ["order"]
    search_fields = ["external_id", "invoice_id", "order__buyer__email"]
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "invoice_id", "external_id", "status", "outcome"]
    list_filter = ["outcome", "status"]
    search_fields = ["invoice_id", "external_id", "request_id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]

    def has_add_permission(self, request):
        return False
