"""The simulator behaves like Xendit over time: invoices expire by themselves at their
expiry date with an EXPIRED callback; a failed callback delivery is tried again on the
retry schedule (compressed here), with the same `webhook-id`; realistic fee fields; the
list API's filters and cursor; and the standalone process runs its own clock and reads
chunked request bodies."""

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3

from payments.gateways.simulator.models import SimulatedCallback, SimulatedInvoice
from payments.gateways.simulator.testing import SimulatorControl
from payments.gateways.xendit import XenditGateway
from payments.tests.callback_receiver import running_receiver
from payments.tests.gateway.test_xendit_gateway import make_request

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def callback_receiver(settings, xendit_simulator):
    with running_receiver(settings) as receiver:
        yield receiver


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.05)


def test_an_invoice_expires_by_itself_at_its_expiry_date_with_an_expired_callback(
    gateway, xendit_simulator, callback_receiver
):
    invoice = gateway.create_invoice(make_request(invoice_duration=1))
    xendit_simulator.tick()
    assert callback_receiver.received == []  # not due yet

    time.sleep(1.1)
    ticked = xendit_simulator.tick()

    assert ticked == {"expired": 1, "callbacks_tried": 1}
    assert gateway.get_invoice(invoice.id).status == "EXPIRED"
    (callback,) = callback_receiver.received
    assert (callback.body["id"], callback.body["status"]) == (invoice.id, "EXPIRED")
    assert callback.headers["webhook-id"].startswith("wh_")
    assert xendit_simulator.tick() == {"expired": 0, "callbacks_tried": 0}  # once only


def test_an_invoice_read_after_its_expiry_date_is_expired_and_its_callback_still_goes(
    gateway, xendit_simulator, callback_receiver
):
    invoice = gateway.create_invoice(make_request(invoice_duration=1))
    time.sleep(1.1)

    assert gateway.get_invoice(invoice.id).status == "EXPIRED"  # Xendit turns it on read
    assert xendit_simulator.tick()["callbacks_tried"] == 1
    assert [c.body["status"] for c in callback_receiver.received] == ["EXPIRED"]


def test_a_failed_delivery_is_retried_on_the_schedule_with_the_same_webhook_id(
    gateway, xendit_simulator, callback_receiver, settings
):
    settings.XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS = [0.3, 0.6]
    invoice = gateway.create_invoice(make_request())
    callback_receiver.status = 503  # the shop is down

    first = xendit_simulator.pay(invoice.id)["callbacks"]

    assert [(d["status_code"], d["attempt"]) for d in first] == [(503, 1)]
    assert xendit_simulator.tick()["callbacks_tried"] == 0  # the retry is not due yet
    time.sleep(0.35)
    assert xendit_simulator.tick()["callbacks_tried"] == 1  # retry 1, still failing
    callback_receiver.status = 200
    time.sleep(0.65)
    assert xendit_simulator.tick()["callbacks_tried"] == 1  # retry 2 gets through
    time.sleep(0.1)
    assert xendit_simulator.tick()["callbacks_tried"] == 0  # delivered: nothing more

    ids = {c.headers["webhook-id"] for c in callback_receiver.received}
    assert len(callback_receiver.received) == 3 and len(ids) == 1
    deliveries = xendit_simulator.invoice(invoice.id)["callbacks"]
    assert [(d["status_code"], d["attempt"]) for d in deliveries] == [(503, 1), (503, 2), (200, 3)]


def test_retries_stop_after_the_schedule_and_none_without_auto_retry(
    gateway, xendit_simulator, callback_receiver, settings
):
    settings.XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS = [0.1]
    callback_receiver.status = 500
    retried = gateway.create_invoice(make_request("TDX-RETRY1"))
    xendit_simulator.pay(retried.id)
    time.sleep(0.15)
    assert xendit_simulator.tick()["callbacks_tried"] == 1
    time.sleep(0.15)
    assert xendit_simulator.tick()["callbacks_tried"] == 0  # out of retries
    assert SimulatedCallback.objects.get(invoice_id=retried.id).next_attempt_at is None

    settings.XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS = []  # Xendit's default: switched off
    lost = gateway.create_invoice(make_request("TDX-RETRY2"))
    xendit_simulator.pay(lost.id)
    time.sleep(0.15)
    assert xendit_simulator.tick()["callbacks_tried"] == 0
    assert len(callback_receiver.received) == 3


def test_a_late_callback_goes_out_when_its_delay_has_passed(gateway, xendit_simulator, callback_receiver):
    invoice = gateway.create_invoice(make_request())

    assert xendit_simulator.pay(invoice.id, callback="late", delay=0.3)["callbacks"] == []
    assert xendit_simulator.tick()["callbacks_tried"] == 0
    time.sleep(0.35)
    assert xendit_simulator.tick()["callbacks_tried"] == 1
    assert [c.body["status"] for c in callback_receiver.received] == ["PAID"]


@pytest.mark.parametrize(
    ("channel", "fee"),
    [("BCA", 4_440), ("OVO", 9_091), ("QRIS", 2_331), ("ALFAMART", 5_550), ("CREDIT_CARD", 11_877)],
)
def test_a_paid_invoice_reports_fees_that_add_up(gateway, xendit_simulator, callback_receiver, channel, fee):
    invoice = gateway.create_invoice(make_request())  # 300,000 IDR

    xendit_simulator.pay(invoice.id, channel=channel)

    read = gateway.get_invoice(invoice.id)
    assert (read.fees_paid_amount, read.adjusted_received_amount) == (fee, 300_000 - fee)
    body = callback_receiver.received[0].body
    assert (body["fees_paid_amount"], body["adjusted_received_amount"]) == (fee, 300_000 - fee)
    assert type(body["fees_paid_amount"]) is int


def test_the_list_filters_by_status_and_creation_time_and_pages_with_a_cursor(gateway, xendit_simulator):
    made = [gateway.create_invoice(make_request(f"TDX-LIST{n:02d}")) for n in range(5)]
    base = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    for n, invoice in enumerate(made):  # one hour apart, oldest first
        SimulatedInvoice.objects.filter(pk=invoice.id).update(created=base + timedelta(hours=n))
    xendit_simulator.pay(made[1].id, callback="none")
    xendit_simulator.pay(made[3].id, callback="none")
    xendit_simulator.settle(made[3].id)

    window = gateway.list_invoices(created_after=base + timedelta(hours=1), created_before=base + timedelta(hours=3))
    assert [i.id for i in window] == [made[3].id, made[2].id, made[1].id]  # newest first, ends included
    paid = gateway.list_invoices(statuses=("PAID", "SETTLED"))
    assert [i.id for i in paid] == [made[3].id, made[1].id]

    pages, cursor = [], None
    while True:
        page = gateway.list_invoices(limit=2, last_invoice=cursor)
        if not page:
            break
        pages.append([i.id for i in page])
        cursor = page[-1].id
    assert pages == [[made[4].id, made[3].id], [made[2].id, made[1].id], [made[0].id]]


def test_the_list_refuses_a_bad_filter(xendit_simulator, settings):
    control = SimulatorControl(settings.XENDIT_BASE_URL, settings.XENDIT_SECRET_KEY)
    for query in ("statuses=LOST", "created_after=yesterday", "last_invoice=nope"):
        with pytest.raises(Exception) as caught:
            control._request("GET", f"/v2/invoices?{query}")
        assert caught.value.status == 400 and caught.value.body["error_code"] == "API_VALIDATION_ERROR"


# --- the standalone process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone(tmp_path, settings):
    with running_receiver(settings) as receiver:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sim.sqlite3'}",
            "TEDXPAY_VAR_DIR": str(tmp_path),
            "XENDIT_SIMULATOR_ENABLED": "true",
            "DEBUG": "true",
            "XENDIT_CALLBACK_URL": receiver.url,
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "xendit_simulator", "--port", str(port), "--clock", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("the standalone simulator did not start")
                    time.sleep(0.1)
            base_url = f"http://127.0.0.1:{port}/_xendit"
            gateway = XenditGateway(
                secret_key=settings.XENDIT_SECRET_KEY, base_url=base_url, connect_timeout=2, read_timeout=10
            )
            yield base_url, gateway, receiver
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_standalone_clock_expires_an_invoice_with_nobody_asking(standalone):
    _base_url, gateway, receiver = standalone
    invoice = gateway.create_invoice(make_request(invoice_duration=1))

    wait_until(lambda: receiver.received, timeout=10)

    (callback,) = receiver.received
    assert (callback.body["id"], callback.body["status"]) == (invoice.id, "EXPIRED")


def test_the_standalone_server_reads_a_chunked_body(standalone, settings):
    base_url, gateway, _receiver = standalone
    invoice = gateway.create_invoice(make_request())
    control = SimulatorControl(base_url, settings.XENDIT_SECRET_KEY)

    def chunks():
        yield b'{"channel": "DA'
        yield b'NA", "callback": "none"}'

    with urllib3.PoolManager(retries=False) as http:
        response = http.request(
            "POST",
            f"{base_url}/simulate/{invoice.id}/pay",
            body=chunks(),
            headers={**control._headers, "Transfer-Encoding": "chunked"},
            chunked=True,
        )

    assert response.status == 200, response.data
    assert gateway.get_invoice(invoice.id).payment_channel == "DANA"  # not the default BCA
