"""The reconciliation reports in the back office: each day's totals, its rows (filter
"needs attention" for the items finance must act on), a CSV per report, and an action to
mark a row resolved. Reports are made by the daily task or `reconcile_report`, never here."""

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from reconciliation.csv_export import report_csv
from reconciliation.models import Classification, ReconciliationReport, ReconciliationRow
from reconciliation.services import reconciliation_row_resolve
from tedxpay.core.admin_records import ReadOnlyRecordAdmin, Tone, jakarta_time, rupiah, status_badge

_TONES = {
    Classification.MATCHED: Tone.GOOD,
    Classification.FOREIGN: Tone.CLOSED,
    Classification.UNKNOWN_OURS: Tone.WAITING,
}


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyRecordAdmin):
    list_display = [
        "date",
        "made",
        "invoices",
        "matched",
        "explained",
        "attention_link",
        "gross_display",
        "fees_display",
        "refunds_display",
        "net_display",
        "unexplained_display",
        "csv_link",
    ]
    date_hierarchy = "date"
    fields = [
        "date",
        "made",
        "window",
        "invoices",
        "matched",
        "explained",
        "attention_link",
        "gross_display",
        "fees_display",
        "fees_unreported",
        "refunds_display",
        "net_display",
        "recorded_display",
        "unexplained_display",
        "foreign_display",
        "csv_link",
    ]
    readonly_fields = fields

    def get_urls(self):
        return [
            path("<int:report_id>/csv/", self.admin_site.admin_view(self.csv_view), name="reconciliation_report_csv"),
            *super().get_urls(),
        ]

    def csv_view(self, request, report_id: int):
        report = get_object_or_404(ReconciliationReport, pk=report_id)
        if not self.has_view_permission(request, report):
            return HttpResponse(status=403)
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="reconciliation-{report.date:%Y-%m-%d}-{report.pk}.csv"'
        )
        return response

    @admin.display(description="made (WIB)")
    def made(self, report):
        return jakarta_time(report.created_at)

    @admin.display(description="window (WIB)")
    def window(self, report):
        return f"{jakarta_time(report.window_start)} – {jakarta_time(report.window_end)}"

    @admin.display(description="needs attention")
    def attention_link(self, report):
        url = reverse("admin:reconciliation_reconciliationrow_changelist")
        tone = Tone.ALERT if report.attention else Tone.GOOD
        return format_html(
            '<a href="{}?report__id__exact={}&needs_attention__exact=1">{}</a>',
            url,
            report.pk,
            status_badge(str(report.attention), tone),
        )

    @admin.display(description="gross")
    def gross_display(self, report):
        return rupiah(report.gross)

    @admin.display(description="fees")
    def fees_display(self, report):
        return rupiah(report.fees)

    @admin.display(description="refunds")
    def refunds_display(self, report):
        return rupiah(report.refunds)

    @admin.display(description="net")
    def net_display(self, report):
        return rupiah(report.net)

    @admin.display(description="recorded here")
    def recorded_display(self, report):
        return rupiah(report.recorded)

    @admin.display(description="unexplained")
    def unexplained_display(self, report):
        return status_badge(rupiah(report.unexplained), Tone.ALERT if report.unexplained else Tone.GOOD)

    @admin.display(description="other systems' invoices (paid)")
    def foreign_display(self, report):
        return rupiah(report.foreign_gross)

    @admin.display(description="CSV")
    def csv_link(self, report):
        return format_html('<a href="{}">CSV</a>', reverse("admin:reconciliation_report_csv", args=[report.pk]))


@admin.register(ReconciliationRow)
class ReconciliationRowAdmin(ReadOnlyRecordAdmin):
    list_display = [
        "invoice_id",
        "external_id",
        "classification_badge",
        "xendit_status",
        "paid_at_xendit",
        "our_status",
        "paid_here",
        "fees",
        "explanation",
        "resolved",
    ]
    list_filter = ["needs_attention", "classification", "report__date"]
    search_fields = ["invoice_id", "external_id"]
    list_select_related = ["report"]
    actions = ["resolve"]
    readonly_fields = [field.name for field in ReconciliationRow._meta.fields]

    @admin.display(description="classification")
    def classification_badge(self, row):
        tone = (
            Tone.ALERT if row.needs_attention and not row.resolved_at else _TONES.get(row.classification, Tone.NEUTRAL)
        )
        return status_badge(row.get_classification_display(), tone)

    @admin.display(description="paid at Xendit")
    def paid_at_xendit(self, row):
        return rupiah(row.xendit_paid_amount)

    @admin.display(description="paid here")
    def paid_here(self, row):
        return rupiah(row.our_paid_amount)

    @admin.display(description="fees")
    def fees(self, row):
        return rupiah(row.fees_paid_amount)

    @admin.display(description="resolved")
    def resolved(self, row):
        if not row.needs_attention:
            return "—"
        return f"{row.resolved_by}, {jakarta_time(row.resolved_at)}" if row.resolved_at else "open"

    @admin.action(description="Mark resolved (finance has dealt with it)", permissions=["operate"])
    def resolve(self, request, queryset):
        done = 0
        for row in queryset.filter(needs_attention=True, resolved_at__isnull=True):
            reconciliation_row_resolve(
                row_id=row.pk, resolved_by=request.user.get_username(), note="resolved in the admin"
            )
            done += 1
        self.message_user(request, f"Marked {done} row(s) resolved.")
