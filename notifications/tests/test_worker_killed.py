"""A real Celery worker killed (SIGKILL) while it sends a confirmation: the email goes out
about a minute later, exactly once, from another worker.

The killed worker held the message unacknowledged in Redis, which hands it back only after
the visibility timeout (an hour), and it left the row `sending` with its claim. The claim
can be taken over once older than SEND_CLAIM_TIMEOUT (65 s: above the send task's 55 s
hard time limit, so no live sender is ever overtaken), and the stalled-email sweep, every
NOTIFICATION_SWEEP_INTERVAL_SECONDS (20 s), queues the send again for it. Before, the
claim timeout was 5 minutes and the sweep ran every 2: the email waited 5 to 7 minutes.

Needs REDIS_URL and MariaDB, like test_worker_e2e.py.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import SEND_CLAIM_TIMEOUT
from notifications.tests.test_worker_e2e import (  # noqa: F401 (fixtures)
    REDIS_URL,
    WorkerHandle,
    celery_on_redis,
    database_url_for_worker,
    wait_for,
)
from orders.checkout.placing import OrderLineRequest, order_place
from tickets.tests.factories import TicketFactory

pytestmark = [
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL (make test does) to run a real worker"),
    pytest.mark.django_db(transaction=True),
]

# "About a minute": the claim timeout, at most one sweep interval, the new worker's start
# and the send.
DEADLINE_AFTER_THE_KILL = 100


def test_the_configured_times_fit_about_a_minute():
    worst = SEND_CLAIM_TIMEOUT.total_seconds() + settings.NOTIFICATION_SWEEP_INTERVAL_SECONDS + 15
    assert worst <= DEADLINE_AFTER_THE_KILL


def start_worker(tmp_path: Path, name: str, live_server, *, extra_env: dict, beat: bool) -> WorkerHandle:
    var_dir = tmp_path / name
    log_path = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tedxpay.settings",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": database_url_for_worker(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEDXPAY_VAR_DIR": str(var_dir),
        "SITE_URL": live_server.url,
        "XENDIT_BASE_URL": settings.XENDIT_BASE_URL,
        **extra_env,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "tedxpay", "worker",
        "--pool", "solo", "--loglevel", "INFO", "--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: b" ready." in log_path.read_bytes(), what=f"{name} to start", process=process)
    return WorkerHandle(process=process, mail_dir=var_dir / "mail", log_path=log_path)


def stop(handle: WorkerHandle | None) -> None:
    if handle is None or handle.process.poll() is not None:
        return
    handle.process.terminate()
    try:
        handle.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        handle.process.kill()
        handle.process.wait(timeout=10)


def test_an_email_whose_worker_is_killed_mid_send_goes_out_once_about_a_minute_later(
    tmp_path,
    live_server,
    xendit_simulator,
    celery_on_redis,  # noqa: F811
):
    marker = tmp_path / "sending"
    first = second = None
    try:
        first = start_worker(
            tmp_path,
            "first",
            live_server,
            extra_env={
                "EMAIL_BACKEND": "notifications.tests.backends.HangingBackend",
                "TEDXPAY_TEST_HANG_MARKER": str(marker),
            },
            beat=False,
        )
        ticket = TicketFactory(price=200_000, quota=5)
        order = order_place(
            full_name="Siti Rahma",
            email="siti@example.com",
            phone="0813-1111-2222",
            items=[OrderLineRequest(ticket_id=ticket.pk, quantity=1)],
        )
        xendit_simulator.pay(order.payment.invoice_id)
        wait_for(marker.exists, what="the first worker to be sending", process=first.process)

        first.process.send_signal(signal.SIGKILL)  # OOM killer, a node lost mid-deploy
        first.process.wait(timeout=10)
        killed_at = time.monotonic()
        notification = Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
        assert notification.status == NotificationStatus.SENDING  # the dead sender's claim

        second = start_worker(tmp_path, "second", live_server, extra_env={}, beat=True)

        def sent() -> bool:
            return Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENT).exists()

        try:
            wait_for(sent, what="the email to go out", process=second.process, timeout=DEADLINE_AFTER_THE_KILL + 10)
        except BaseException:
            print(second.log_path.read_text(errors="replace")[-4000:])
            raise
        waited = time.monotonic() - killed_at
        time.sleep(2)  # room for a wrong second send to show up

        assert waited <= DEADLINE_AFTER_THE_KILL, f"sent {waited:.0f} s after the kill"
        assert len(second.messages()) == 1
        assert second.messages()[0]["To"] == "siti@example.com"
        assert first.messages() == []  # the killed send never reached anyone
        notification.refresh_from_db()
        assert notification.attempts == 2  # the killed try, then the one that got through
    finally:
        stop(first)
        stop(second)
