"""Celery tasks of the core app. The task imports its service when it runs
(docs/architecture.md, "Layers")."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def idempotency_key_purge_task() -> int:
    """Delete Idempotency-Key records past their retention (safe to run twice)."""
    from tedxpay.core.idempotency import idempotency_key_purge

    return idempotency_key_purge()
