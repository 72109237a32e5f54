from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reconciliation.csv_export import report_csv
from reconciliation.services import JAKARTA, reconciliation_report_create


class Command(BaseCommand):
    help = "List every Xendit invoice of a day beside our payments, classify each, and save the report."

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day_text", help="The day, YYYY-MM-DD, Asia/Jakarta (default: yesterday).")
        parser.add_argument("--csv", action="store_true", help="Also print the rows as CSV.")

    def handle(self, *args, day_text: str | None, csv: bool, **options):
        if day_text:
            try:
                day = date.fromisoformat(day_text)
            except ValueError as error:
                raise CommandError(f"--date must be YYYY-MM-DD: {error}") from error
        else:
            day = timezone.localtime(timezone.now(), JAKARTA).date() - timedelta(days=1)
        report = reconciliation_report_create(day=day)
        self.stdout.write(
            f"reconciliation {day}: report {report.pk}; invoices={report.invoices} matched={report.matched} "
            f"explained={report.explained} attention={report.attention}; gross={report.gross} fees={report.fees} "
            f"refunds={report.refunds} net={report.net} recorded={report.recorded} unexplained={report.unexplained}"
        )
        if csv:
            self.stdout.write(report_csv(report))
        if report.attention:
            self.stderr.write(self.style.WARNING(f"{report.attention} invoice(s) need attention; see the admin."))
