from celery import shared_task

from payments.services import payments_reconcile


@shared_task(name="payments.tasks.reconcile_payments")
def reconcile_payments(limit: int = 200) -> dict:
    """Ask Xendit about open payments and apply what it says (heals lost callbacks).

    No retry of its own: beat runs it again in a few minutes, and each payment that failed
    this time is simply picked up next time.
    """
    return payments_reconcile(limit=limit)
