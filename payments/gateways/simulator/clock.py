"""The simulator's clock: what Xendit does over time without being asked.

Each tick expires the PENDING invoices whose `expiry_date` has passed (owing their EXPIRED
callback) and makes the callback tries that are due (late first tries, retries). Ticks
run in a background thread of the standalone `xendit_simulator` command (`--clock`, every
second by default), of the in-process simulator when `XENDIT_SIMULATOR_CLOCK_SECONDS` is
set (`make run` sets it), and on demand through `POST /_xendit/simulate/tick` (tests).
"""

import logging
import threading

from django.db import close_old_connections

from payments.gateways.simulator import callbacks, services

logger = logging.getLogger(__name__)

_started_lock = threading.Lock()
_started = False


def tick() -> dict:
    expired = services.invoices_expire_due()
    delivered = callbacks.deliver_due()
    return {"expired": expired, "callbacks_tried": delivered}


def _run(interval: float) -> None:
    while True:
        try:
            close_old_connections()
            tick()
        except Exception:
            # The database restarting under a benchmark, say: try again next tick.
            logger.exception("xendit simulator clock: tick failed")
        threading.Event().wait(interval)


def clock_start(interval: float) -> bool:
    """Start the clock thread of this process once (a daemon: it dies with the process).
    Returns whether it was started by this call."""
    global _started
    if interval <= 0:
        return False
    with _started_lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_run, args=(interval,), name="xendit-simulator-clock", daemon=True).start()
    logger.info("xendit simulator clock: ticking every %.1f s", interval)
    return True
