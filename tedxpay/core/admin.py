from django import forms
from django.contrib import admin, messages

from tedxpay.core.models import ApiKey, ApiKeyScope
from tedxpay.core.services import api_key_create


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="A door scanner app needs only “Check attendees in”.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "is_active", "scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["scopes"] = self.instance.scope_list if self.instance.pk else [ApiKeyScope.ORDERS]

    def clean_scopes(self) -> str:
        return " ".join(self.cleaned_data["scopes"])


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "scopes", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["name", "is_active", "scopes", "prefix", "created_at", "last_used_at"]

    # API keys let a client place orders: superusers only, whatever permissions say.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key, raw_key = api_key_create(name=obj.name, scopes=obj.scopes.split())
        obj.pk = api_key.pk
        messages.warning(request, f"New API key for {api_key.name} (copy it now, it is not shown again): {raw_key}")
