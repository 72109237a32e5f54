"""End to end with a real Celery worker on Redis: an order is paid through the Xendit
simulator, the PAID callback arrives twice, and the worker (another process, reading the
same test database) sends exactly one confirmation email.

Needs REDIS_URL (`make test` starts Redis and exports it) and a database another process
can open (MariaDB in `make test`; not SQLite's in-memory test database).
"""

import email
import os
import subprocess
import sys
import time
import uuid
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from kombu import pools

from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import OrderStatus
from payments.models import WebhookEvent
from tedxpay.celery import app as celery_app
from tickets.tests.factories import TicketFactory

REDIS_URL = os.environ.get("REDIS_URL", "")
TIMEOUT = 60  # seconds, for the whole wait on the worker

pytestmark = [
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL (make test does) to run a real worker"),
    pytest.mark.django_db(transaction=True),
]


def database_url_for_worker() -> str:
    """DATABASE_URL of the test database pytest-django created, for the worker process."""
    db = settings.DATABASES["default"]
    if connection.vendor == "mysql":
        credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
        return f"mysql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
    name = str(db["NAME"])
    if connection.vendor == "sqlite" and "memory" not in name and name != "":
        return f"sqlite:///{name}"
    pytest.skip("the worker is another process and cannot open SQLite's in-memory test database: run on MariaDB")


@pytest.fixture
def celery_on_redis():
    """This process (and the live server thread in it) publishes tasks to Redis, where the
    worker listens, instead of the filesystem broker of the test settings."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "broker_transport_options", "task_always_eager")}

    def reset_connections():
        # Celery caches its connection and producer pools (and kombu keeps a registry of
        # them per broker): drop them all so the next publish connects to the broker now
        # configured, and no later test reuses a pool closed here.
        pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.update(broker_url=REDIS_URL, broker_transport_options={}, task_always_eager=False)
    reset_connections()
    with celery_app.connection_for_write() as broker:
        broker.default_channel.queue_purge("celery")  # nothing left over from an aborted run
    yield
    conf.update(saved)
    reset_connections()


@pytest.fixture
def worker(tmp_path, live_server, xendit_simulator, celery_on_redis):
    """A `celery -A tedxpay worker` process on Redis, on the test database, writing emails
    as files under tmp_path/var/mail. Stopped by its pid whatever happens."""
    var_dir = tmp_path / "var"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tedxpay.settings",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": database_url_for_worker(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEDXPAY_VAR_DIR": str(var_dir),  # EMAIL_FILE_PATH is var/mail
        "SITE_URL": live_server.url,
        "XENDIT_BASE_URL": settings.XENDIT_BASE_URL,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "tedxpay", "worker",
        "--pool", "solo", "--loglevel", "INFO", "--hostname", f"e2e-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b" ready." in log_path.read_bytes(), what="the worker to start", process=process)
        yield WorkerHandle(process=process, mail_dir=var_dir / "mail", log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class WorkerHandle:
    def __init__(self, *, process, mail_dir: Path, log_path: Path):
        self.process = process
        self.mail_dir = mail_dir
        self.log_path = log_path

    def messages(self) -> list[email.message.Message]:
        """Every message the worker's file backend wrote (one file per connection, messages
        separated by a line of 79 dashes)."""
        found = []
        for path in sorted(self.mail_dir.glob("*.log")) if self.mail_dir.exists() else []:
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk.lstrip(b"\n")))
        return found


def wait_for(condition, *, what: str, process=None, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode} while waiting for {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_worker_sends_one_confirmation_for_an_order_paid_through_the_simulator(worker, xendit_simulator):
    ticket = TicketFactory(name="Regular", price=350_000, quota=10)
    order = order_place(
        full_name="Budi Santoso",
        email="budi@example.com",
        phone="0812-3456-7890",
        items=[OrderLineRequest(ticket_id=ticket.pk, quantity=2)],
        language="id",
    )

    # The buyer pays; Xendit delivers the PAID callback twice (it does retry and duplicate).
    paid = xendit_simulator.pay(order.payment.invoice_id, channel="BCA", callback="twice")
    assert [delivery["status_code"] for delivery in paid["callbacks"]] == [200, 200]
    assert WebhookEvent.objects.filter(invoice_id=order.payment.invoice_id).count() == 2

    def sent() -> bool:
        return Notification.objects.filter(
            order=order, kind=NotificationKind.ORDER_CONFIRMATION, status=NotificationStatus.SENT
        ).exists()

    try:
        wait_for(sent, what="the worker to send the confirmation", process=worker.process)
        wait_for(lambda: worker.messages(), what="the email file", process=worker.process, timeout=10)
    except BaseException:
        print(worker.log_path.read_text(errors="replace")[-4000:])  # shown by pytest on failure
        raise
    time.sleep(2)  # room for a wrong second send to show up

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    # The worker's lines for the email carry the id of the callback request that queued it
    # and the order's code (tedxpay/core/task_logging.py).
    queued_by = WebhookEvent.objects.filter(invoice_id=order.payment.invoice_id, outcome="processed").get().request_id
    assert f"[{queued_by}] [{order.code}]" in worker.log_path.read_text(errors="replace")
    messages = worker.messages()
    assert len(messages) == 1, [str(make_header(decode_header(m["Subject"]))) for m in messages]
    subject = str(make_header(decode_header(messages[0]["Subject"])))
    assert subject == f"E-tiket Anda untuk {ticket.event.name} — pesanan {order.code}"
    assert messages[0]["To"] == "budi@example.com"
    images = [part for part in messages[0].walk() if part.get_content_type() == "image/png"]
    assert len(images) == 2  # one QR per seat
    notification = Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    assert notification.attempts == 1
