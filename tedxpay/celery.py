"""The Celery app. Settings come from Django settings (CELERY_* names, see the Celery
section of settings.py); tasks are found in each app's tasks.py."""

import os
import random

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# `make run`'s broker (filesystem://): kombu's transport with whole-message writes, without
# which the worker can read a half-written message and stop (tedxpay/core/celery_filesystem.py).
TRANSPORT_ALIASES["filesystem"] = "tedxpay.core.celery_filesystem:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tedxpay.settings")

app = Celery("tedxpay")
# All Celery settings live in Django settings with a CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def backoff_delay(retries: int, *, base: int, cap: int) -> int:
    """Seconds before retry number `retries + 1`: exponential from `base`, capped, with
    ±25 % jitter so that many tasks failing together (Xendit or the ESP down) do not all
    come back in the same second."""
    delay = min(base * 2**retries, cap)
    return max(1, round(delay * random.uniform(0.75, 1.25)))
