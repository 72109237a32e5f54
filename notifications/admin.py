from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "status", "to_email", "attempts", "sent_at", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["order"]
    search_fields = ["order__code", "to_email"]
    readonly_fields = [f.name for f in Notification._meta.fields]
