"""Vouchers in the back office: one typed code, or many generated at once and downloaded as
a CSV (code and ready-made checkout link) for a community's mailing list."""

from collections.abc import Iterable, Iterator
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from tedxpay.core.admin_records import JAKARTA, csv_download, jakarta_time, rupiah, spreadsheet_safe
from tedxpay.core.money import format_thousands
from tickets.admin import MAX_QUOTA, RollbackInvalidFormMixin, at_least
from tickets.models import Ticket
from vouchers.models import Voucher, VoucherKind
from vouchers.selectors import MAX_CODE_LENGTH, voucher_code_normalise
from vouchers.services import MAX_GENERATED, voucher_max_uses_set, vouchers_generate

_SETTINGS_FIELDS = [
    "event",
    "kind",
    "value",
    "tickets",
    "max_uses",
    "valid_from",
    "valid_until",
    "combines_with_limits",
    "note",
]


def _reads_as_formula(text: str) -> bool:
    """A spreadsheet would run it (what spreadsheet_safe escapes). The CSV escapes it anyway;
    refusing it in new codes keeps the code a buyer types and the one in the mail merge the same."""
    return spreadsheet_safe(text) != text


class VoucherSettingsForm(forms.ModelForm):
    """What a voucher does; shared by the one-code form and the generator."""

    class Meta:
        model = Voucher
        fields = _SETTINGS_FIELDS
        widgets = {"tickets": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].queryset = Ticket.objects.select_related("event").order_by("event", "sort_order", "pk")
        self.fields["tickets"].label_from_instance = lambda ticket: (
            f"{ticket.event.name} — {ticket.name}{' (hidden)' if ticket.requires_voucher else ''}"
        )
        # The model's voucher_max_uses_positive, said on the field rather than by its name.
        at_least(self.fields["max_uses"], 1, "At least 1: one use is one ticket the voucher covers.")

    def clean_max_uses(self):
        max_uses = self.cleaned_data.get("max_uses")
        # Uses are seats: no more than a phase's largest quota. It also keeps the number
        # inside its column before voucher_max_uses_set runs it in SQL (VoucherForm.clean).
        if max_uses and max_uses > MAX_QUOTA:
            raise forms.ValidationError(f"At most {format_thousands(MAX_QUOTA)}.")
        return max_uses

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind == VoucherKind.PERCENT and value is not None and not 1 <= value <= 100:
            self.add_error("value", "A percentage is between 1 and 100.")
        if kind == VoucherKind.UNLOCK and value:
            self.add_error("value", "An unlock-only voucher changes no price: leave the value at 0.")
        if kind == VoucherKind.SET_PRICE and value and value < settings.MINIMUM_CHARGE:
            # One such ticket would cost less than any payment channel takes (orders/pricing.py).
            self.add_error(
                "value",
                f"A set price is 0 (free) or at least {rupiah(settings.MINIMUM_CHARGE)}: "
                "no payment channel takes less.",
            )
        event = cleaned.get("event")
        others = [ticket for ticket in cleaned.get("tickets") or [] if event and ticket.event_id != event.pk]
        if others:
            self.add_error("tickets", f"Only phases of {event.name}: not {', '.join(t.name for t in others)}.")
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        if valid_from and valid_until and valid_until <= valid_from:
            self.add_error("valid_until", "The voucher must end after it starts.")
        return cleaned


class VoucherForm(VoucherSettingsForm):
    class Meta(VoucherSettingsForm.Meta):
        fields = ["code", *_SETTINGS_FIELDS]

    def clean_code(self):
        code = voucher_code_normalise(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("Enter a code.")
        if len(code) > MAX_CODE_LENGTH:
            raise forms.ValidationError(f"At most {MAX_CODE_LENGTH} characters.")
        # Only a new or changed code: one already handed out keeps working as it is.
        if _reads_as_formula(code) and code != self.instance.code:
            raise forms.ValidationError(
                "A code cannot start with =, +, - or @: a spreadsheet would run it as a formula."
            )
        return code

    def clean(self):
        cleaned = super().clean()
        max_uses = cleaned.get("max_uses")
        changed = self.instance.pk and "max_uses" in self.changed_data and max_uses is not None
        # A conditional UPDATE, like a phase's quota: a redemption landing meanwhile cannot
        # slip under the new maximum. The admin rolls the request back if the form has errors.
        if changed and not self.errors and not voucher_max_uses_set(voucher_id=self.instance.pk, max_uses=max_uses):
            used = Voucher.objects.values_list("used", flat=True).get(pk=self.instance.pk)
            self.add_error("max_uses", f"{used} uses are taken by pending or paid orders; it cannot go below {used}.")
        return cleaned


class VoucherGenerateForm(VoucherSettingsForm):
    count = forms.IntegerField(min_value=1, max_value=MAX_GENERATED, label="How many codes")
    prefix = forms.CharField(
        max_length=12, required=False, help_text="Optional, e.g. ITB gives codes like ITB-7KQ2M9XA."
    )
    batch = forms.CharField(max_length=60, help_text="A name to find these codes again, e.g. “ITB students 2026”.")

    class Meta(VoucherSettingsForm.Meta):
        fields = ["count", "prefix", "batch", *_SETTINGS_FIELDS]

    def clean_prefix(self):
        prefix = self.cleaned_data["prefix"]
        if _reads_as_formula(voucher_code_normalise(prefix)):
            raise forms.ValidationError(
                "A prefix cannot start with =, +, - or @: a spreadsheet would run the codes as formulas."
            )
        return prefix


def voucher_link(voucher: Voucher) -> str:
    # Encoded: a code with "&", "#" or ";" in it still arrives whole (and the CSV cell has no separator).
    code = quote(voucher.code, safe="")
    return f"{settings.SITE_URL}{reverse('event-checkout', args=[voucher.event.slug])}?voucher={code}"


CSV_HEADER = ["code", "link", "event", "kind", "value", "max uses", "used", "valid from (WIB)", "valid until (WIB)"]


def _csv_time(value) -> str:
    return timezone.localtime(value, JAKARTA).strftime("%Y-%m-%d %H:%M") if value else ""


def voucher_csv_rows(vouchers: Iterable[Voucher]) -> Iterator[list]:
    for voucher in vouchers:
        # Text cells are spreadsheet_safe: the file goes to a mail merge in Excel, and a
        # code or an event name starting with = + - @ would run as a formula there.
        yield [
            spreadsheet_safe(voucher.code),
            spreadsheet_safe(voucher_link(voucher)),
            spreadsheet_safe(voucher.event.name),
            voucher.get_kind_display(),
            voucher.value,
            voucher.max_uses,
            voucher.used,
            _csv_time(voucher.valid_from),
            _csv_time(voucher.valid_until),
        ]


@admin.action(description="Export selected vouchers as CSV (codes and links)")
def export_vouchers_csv(model_admin, request, queryset):
    vouchers = queryset.select_related("event").order_by("code")
    return csv_download(name="vouchers", header=CSV_HEADER, rows=voucher_csv_rows(vouchers))


@admin.register(Voucher)
class VoucherAdmin(RollbackInvalidFormMixin, admin.ModelAdmin):
    form = VoucherForm
    change_list_template = "admin/vouchers/voucher/change_list.html"
    list_display = ["code", "event", "effect", "uses", "valid", "combines_with_limits", "batch", "note"]
    list_filter = ["event", "kind", "batch"]
    list_select_related = ["event"]
    search_fields = ["code", "note", "batch"]
    readonly_fields = ["used", "batch", "link", "created_at", "updated_at"]
    actions = [export_vouchers_csv]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        # Never the whole row: `used` moves only through conditional UPDATEs, and
        # `max_uses` was set by one during validation (VoucherForm.clean).
        fields = [name for name in form.changed_data if name not in ("tickets", "max_uses")]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])

    @admin.display(description="does")
    def effect(self, voucher):
        return voucher.describe()

    @admin.display(description="used")
    def uses(self, voucher):
        return f"{voucher.used} / {voucher.max_uses}"

    @admin.display(description="valid (WIB)")
    def valid(self, voucher):
        if not voucher.valid_from and not voucher.valid_until:
            return "always"
        return f"{jakarta_time(voucher.valid_from) if voucher.valid_from else '…'} – " + (
            jakarta_time(voucher.valid_until) if voucher.valid_until else "…"
        )

    @admin.display(description="checkout link")
    def link(self, voucher):
        if not voucher.pk:
            return "—"
        url = voucher_link(voucher)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def get_urls(self):
        generate = path(
            "generate/",
            self.admin_site.admin_view(self.generate_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_generate",
        )
        return [generate, *super().get_urls()]

    def generate_view(self, request):
        """Make N codes with one set of terms and answer with their CSV."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = VoucherGenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            template = Voucher(**{name: data[name] for name in _SETTINGS_FIELDS if name != "tickets"})
            template.batch = data["batch"]
            created = vouchers_generate(
                count=data["count"],
                prefix=data["prefix"],
                template=template,
                ticket_ids=[ticket.pk for ticket in data["tickets"]],
            )
            self.message_user(request, f"Generated {len(created)} codes in batch “{template.batch}”.", messages.SUCCESS)
            slug = "".join(c if c.isalnum() else "-" for c in template.batch.lower()).strip("-") or "batch"
            return csv_download(name=f"vouchers-{slug}", header=CSV_HEADER, rows=voucher_csv_rows(created))
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate voucher codes",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/vouchers/voucher/generate.html", context)
