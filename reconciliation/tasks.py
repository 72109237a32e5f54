from datetime import timedelta

from celery import shared_task
from django.utils import timezone


# Listing a busy day is many pages: its own, longer time limits. No retry of its own: a
# failed run is logged and tomorrow's beat, or an operator (`reconcile_report --date`),
# runs it again; a report is only saved whole.
@shared_task(soft_time_limit=900, time_limit=960)
def reconciliation_report_create_task() -> int:
    """Yesterday's report (Jakarta time), made a little after midnight there."""
    from reconciliation.services import JAKARTA, reconciliation_report_create  # a task imports its service when it runs

    yesterday = timezone.localtime(timezone.now(), JAKARTA).date() - timedelta(days=1)
    return reconciliation_report_create(day=yesterday).pk
