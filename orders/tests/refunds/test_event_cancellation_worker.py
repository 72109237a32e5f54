"""“Cancel event and refund everyone” over 200 paid orders with a real Celery worker on
Redis: Xendit faults injected in the middle, the worker killed (SIGKILL) once mid-run and a
new one started, the cancellation resumed. In the end every order is refunded exactly
once: the simulator's refunds are compared with ours, one for one.

Needs MariaDB and Redis (`make test`): the worker is another process on the test database.
"""

# ruff: noqa: F811

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from notifications.tests.test_worker_e2e import REDIS_URL, celery_on_redis, database_url_for_worker  # noqa: F401
from orders.checkout.event_cancellation import event_cancellation_start, event_cancellations_resume
from orders.models import EventCancellation, EventCancellationStatus, OrderStatus
from orders.tests.bulk_paid_orders import PRICE, paid_orders_in_bulk
from payments.gateways.simulator.models import SimulatedRefund
from payments.models import Payment, Refund, RefundStatus
from tickets.tests.factories import EventFactory

ORDERS = 200

pytestmark = [
    pytest.mark.mysql,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL (make test does) to run a real worker"),
    pytest.mark.django_db(transaction=True),
]


class Workers:
    """Start Celery workers on Redis and the test database; each is stopped by its pid."""

    def __init__(self, tmp_path, live_server):
        self.tmp_path = tmp_path
        self.live_server = live_server
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log_path = self.tmp_path / f"worker-{len(self.processes)}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tedxpay.settings",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DATABASE_URL": database_url_for_worker(),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "TEDXPAY_VAR_DIR": str(self.tmp_path / "var"),
            "SITE_URL": self.live_server.url,
            "XENDIT_BASE_URL": settings.XENDIT_BASE_URL,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "tedxpay", "worker",
            # Threads: the buyers' emails are sent beside the cancellation instead of queueing
            # in front of its next run. One process, so SIGKILL takes all of it down at once.
            "--pool", "threads", "--concurrency", "4",
            "--loglevel", "INFO", "--hostname", f"cancel-{uuid.uuid4().hex[:8]}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        wait_until(lambda: b" ready." in log_path.read_bytes(), what="the worker to start", timeout=60)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def wait_until(condition, *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def workers(tmp_path, live_server, xendit_simulator, celery_on_redis):
    handle = Workers(tmp_path, live_server)
    yield handle
    handle.stop_all()


def test_cancel_event_over_200_orders_with_faults_and_a_killed_worker_refunds_each_once(workers, xendit_simulator):
    event = EventFactory()
    orders = paid_orders_in_bulk(event=event, count=ORDERS, channels=("DANA", "OVO", "QRIS", "CREDIT_CARD"))
    first = workers.start()

    cancellation = event_cancellation_start(event_id=event.pk, requested_by="siti", note="venue lost")

    # Faults in the middle: once a quarter is refunded, Xendit answers 503 a dozen times and
    # is slow once; at half, the worker is killed without warning.
    wait_until(lambda: SimulatedRefund.objects.count() >= ORDERS // 4, what="a quarter of the refunds", timeout=90)
    xendit_simulator.inject_fault("refund", "error", status=503, count=12)
    xendit_simulator.inject_fault("refund", "delay", seconds=0.5, count=1)
    wait_until(lambda: SimulatedRefund.objects.count() >= ORDERS // 2, what="half of the refunds", timeout=90)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    made_before_restart = SimulatedRefund.objects.count()
    assert made_before_restart < ORDERS  # killed mid-run, not after the end

    workers.start()
    # The resume sweep (beat) finds the cancellation without a sign of life; made stale
    # here instead of waiting two minutes.
    EventCancellation.objects.filter(pk=cancellation.pk).update(heartbeat_at=None)
    assert event_cancellations_resume() == 1

    def finished() -> bool:
        return EventCancellation.objects.get(pk=cancellation.pk).status == EventCancellationStatus.FINISHED

    wait_until(finished, what="the cancellation to finish", timeout=120)

    ours = list(Refund.objects.filter(order__event=event).values("order_id", "reference", "status", "amount"))
    assert len(ours) == ORDERS and len({refund["order_id"] for refund in ours}) == ORDERS
    assert {refund["status"] for refund in ours} == {RefundStatus.PENDING}
    invoice_of = dict(Payment.objects.filter(order__in=orders).values_list("invoice_id", "order_id"))
    at_xendit = list(SimulatedRefund.objects.filter(invoice_id__in=invoice_of).values("invoice_id", "reference_id"))
    assert len(at_xendit) == ORDERS  # exactly one refund per order at Xendit
    assert sorted(invoice_of[r["invoice_id"]] for r in at_xendit) == sorted(o.pk for o in orders)
    assert {r["reference_id"] for r in at_xendit} == {r["reference"] for r in ours}
    assert all(refund["amount"] == PRICE for refund in ours)
    assert not Payment.objects.filter(order__in=orders, refund_in_flight__lt=PRICE).exists()
    assert set(event.orders.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert EventCancellation.objects.get(pk=cancellation.pk).runs >= 2
