"""Celery tasks of the payments app. The task imports its service when it runs
(docs/architecture.md, "Layers")."""

from celery import shared_task


# Two passes with a time budget each (30 s + 10 s) whose last gateway call may take its
# worst case (≈ 24 s): longer limits than the default 60/90 s.
@shared_task(name="payments.tasks.reconcile_payments", soft_time_limit=120, time_limit=150)
def reconcile_payments(limit: int = 200) -> dict:
    """Ask Xendit about open payments and apply what it says (heals lost callbacks), and
    look up by our code the invoices whose create had an unknown outcome.

    No retry of its own: beat runs it again in a few minutes, and each payment that failed
    this time, or was not reached within the pass's time budget, is picked up next time
    (least recently synced first). The budget (RECONCILE_TIME_BUDGET) keeps a pass inside
    the soft time limit; if the limit hits anyway, SoftTimeLimitExceeded ends the task.
    """
    from orders.checkout.sweeps import payments_reconcile
    from orders.checkout.unknown_invoices import invoices_find_unknown

    counts = payments_reconcile(limit=limit)
    # Invoices whose create had an unknown outcome, looked up by our code (logged).
    invoices_find_unknown()
    return counts
