from celery import shared_task

from tedxpay.core.idempotency import idempotency_key_purge


@shared_task(acks_late=True, reject_on_worker_lost=True)
def idempotency_keys_purge() -> int:
    """Delete Idempotency-Key records past their retention (safe to run twice)."""
    return idempotency_key_purge()
