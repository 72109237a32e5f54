"""Celery's soft time limit, as seen from loops that catch `Exception` per item."""

from celery.exceptions import SoftTimeLimitExceeded


def caused_by_soft_time_limit(error: BaseException | None) -> bool:
    """Whether Celery's soft time limit is behind `error` (it subclasses Exception, and the
    Xendit gateway wraps whatever its call raised in a GatewayError: `raise … from exc`).
    A loop that logs and goes on after one item's failure must re-raise this instead."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, SoftTimeLimitExceeded):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False
