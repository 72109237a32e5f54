"""Celery tasks of the payments app. The task imports its service when it runs
(docs/architecture.md, "Layers")."""

from celery import shared_task


@shared_task(name="payments.tasks.reconcile_payments")
def reconcile_payments(limit: int = 200) -> dict:
    """Ask Xendit about open payments and apply what it says (heals lost callbacks).

    No retry of its own: beat runs it again in a few minutes, and each payment that failed
    this time, or was not reached within the pass's time budget, is picked up next time
    (least recently synced first). The budget (RECONCILE_TIME_BUDGET) keeps a pass inside
    the soft time limit; if the limit hits anyway, SoftTimeLimitExceeded ends the task.
    """
    from orders.checkout.sweeps import payments_reconcile

    return payments_reconcile(limit=limit)
