"""The standalone simulator process (`manage.py xendit_simulator`), driven by the real SDK."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from payments.gateways.simulator.testing import SimulatorControl
from payments.gateways.xendit import XenditGateway
from payments.tests.gateway.test_xendit_gateway import make_request

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone_simulator(tmp_path):
    # Its own SQLite file (migrated first): the test database of this process is not
    # visible to another process on SQLite, and the command must work on a plain setup.
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sim.sqlite3'}",
        "TEDXPAY_VAR_DIR": str(tmp_path),
        "XENDIT_SIMULATOR_ENABLED": "true",
        "DEBUG": "true",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "xendit_simulator", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/_xendit"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"simulator did not start: {process.stdout.read().decode()}")
    yield base_url
    process.terminate()
    process.wait(timeout=10)


def test_standalone_simulator_serves_the_api_to_the_sdk(standalone_simulator, settings):
    gateway = XenditGateway(
        secret_key=settings.XENDIT_SECRET_KEY, base_url=standalone_simulator, connect_timeout=2, read_timeout=10
    )
    control = SimulatorControl(standalone_simulator, settings.XENDIT_SECRET_KEY)

    invoice = gateway.create_invoice(make_request("TDX-STAND1"))
    control.pay(invoice.id, channel="ALFAMART", callback="none")

    assert invoice.invoice_url.startswith(f"{standalone_simulator}/web/")
    paid = gateway.get_invoice(invoice.id)
    assert (paid.status, paid.payment_channel) == ("PAID", "ALFAMART")
    assert [i.id for i in gateway.find_invoices("TDX-STAND1")] == [invoice.id]
    # Only /_xendit/ is served: the shop and the admin live elsewhere.
    outside = urllib3.request("GET", standalone_simulator.replace("/_xendit", "/admin/"), retries=False)
    assert outside.status == 404


def test_standalone_simulator_refuses_a_live_key(tmp_path):
    env = {
        **os.environ,
        "XENDIT_SECRET_KEY": "xnd_production_real",
        "DEBUG": "true",
        "XENDIT_SIMULATOR_ENABLED": "true",
        "TEDXPAY_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "xendit_simulator", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert b"live Xendit key" in result.stderr


def test_standalone_simulator_serves_its_json_without_the_page_middleware(standalone_simulator, settings):
    gateway = XenditGateway(
        secret_key=settings.XENDIT_SECRET_KEY, base_url=standalone_simulator, connect_timeout=2, read_timeout=10
    )
    control = SimulatorControl(standalone_simulator, settings.XENDIT_SECRET_KEY)
    invoice = gateway.create_invoice(make_request("TDX-STAND2"))
    auth = urllib3.make_headers(basic_auth=f"{settings.XENDIT_SECRET_KEY}:")

    api = urllib3.request("GET", f"{standalone_simulator}/v2/invoices/{invoice.id}", headers=auth, retries=False)
    page = urllib3.request("GET", invoice.invoice_url, retries=False)

    # The API: the request id and nothing of the pages (no policy, no cookies).
    assert api.status == 200 and api.json()["id"] == invoice.id
    assert api.headers.get("X-Request-ID")
    assert "Content-Security-Policy" not in api.headers and "Set-Cookie" not in api.headers
    # The hosted page keeps the shop's whole chain, its security headers with it.
    assert page.status == 200
    assert "Content-Security-Policy" in page.headers and page.headers.get("X-Frame-Options") == "DENY"
    # A fault queued through the control API still reaches the next call (another process
    # asks for it before every call), then is used up.
    control.inject_fault("get", "error", status=503)
    failed = urllib3.request("GET", f"{standalone_simulator}/v2/invoices/{invoice.id}", headers=auth, retries=False)
    again = urllib3.request("GET", f"{standalone_simulator}/v2/invoices/{invoice.id}", headers=auth, retries=False)
    assert (failed.status, again.status) == (503, 200)
