"""Every way a Xendit call can fail ends as one GatewayError with the right `retryable`.

Faults are injected in the simulator (over HTTP, stored in the database) or come from the
network itself (a closed port); the SDK and urllib3 run for real.
"""

import socket
import time

import pytest

from payments.gateways.base import GatewayError, get_gateway
from payments.gateways.simulator.models import SimulatedFault
from payments.tests.gateway.test_xendit_gateway import make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_server_error_is_retryable_and_keeps_xendit_code(gateway, xendit_simulator):
    xendit_simulator.inject_fault("create", "error", status=503)

    with pytest.raises(GatewayError) as caught:
        gateway.create_invoice(make_request())

    assert caught.value.status == 503
    assert caught.value.code == "SERVER_ERROR"
    assert caught.value.retryable is True
    # The fault was for one call only: the next one goes through.
    assert gateway.create_invoice(make_request()).status == "PENDING"


def test_rate_limit_is_retryable(gateway, xendit_simulator):
    xendit_simulator.inject_fault("list", "error", status=429)

    with pytest.raises(GatewayError) as caught:
        gateway.find_invoices("TDX-GW0001")

    assert (caught.value.status, caught.value.retryable) == (429, True)


def test_json_client_error_is_not_retryable(gateway, xendit_simulator):
    xendit_simulator.inject_fault("get", "error", status=400)
    invoice = gateway.create_invoice(make_request())

    with pytest.raises(GatewayError) as caught:
        gateway.get_invoice(invoice.id)

    assert (caught.value.status, caught.value.code, caught.value.retryable) == (400, "API_VALIDATION_ERROR", False)


def test_non_json_reply_is_retryable(gateway, xendit_simulator):
    invoice = gateway.create_invoice(make_request())
    xendit_simulator.inject_fault("expire", "non_json")

    with pytest.raises(GatewayError) as caught:
        gateway.expire_invoice(invoice.id)

    assert caught.value.code == "NON_JSON_REPLY"
    assert caught.value.retryable is True
    # Nothing happened at "Xendit": the invoice is still pending.
    assert gateway.get_invoice(invoice.id).status == "PENDING"


def test_fault_kind_any_hits_the_next_call_whatever_it_is(gateway, xendit_simulator):
    xendit_simulator.inject_fault("any", "error", status=502, count=2)

    for call in (lambda: gateway.find_invoices("X"), lambda: gateway.create_invoice(make_request())):
        with pytest.raises(GatewayError) as caught:
            call()
        assert caught.value.status == 502 and caught.value.retryable

    assert gateway.find_invoices("X") == []


def test_connection_refused_is_retryable(settings):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{port}/_xendit"

    with pytest.raises(GatewayError) as caught:
        get_gateway().create_invoice(make_request())

    assert caught.value.code == "CONNECTION_ERROR"
    assert caught.value.retryable is True
    assert caught.value.status is None


@pytest.mark.parametrize("kind", ["create", "get"])
def test_read_timeout_is_retryable_and_not_retried_silently(xendit_simulator, settings, kind):
    settings.XENDIT_READ_TIMEOUT = 0.5
    hang = 1.5  # the simulator answers a 504 after this long; a TIMEOUT means we gave up first
    gateway = get_gateway()
    invoice = gateway.create_invoice(make_request()) if kind == "get" else None
    xendit_simulator.inject_fault(kind, "hang", seconds=hang, count=5)

    started = time.monotonic()
    with pytest.raises(GatewayError) as caught:
        gateway.get_invoice(invoice.id) if invoice else gateway.create_invoice(make_request())

    assert caught.value.code == "TIMEOUT"
    assert caught.value.retryable is True
    # One attempt only (a hidden retry would double the wait, and could double a create):
    # counted at the simulator, where each attempt uses up one of the five faults, rather
    # than bounded by the wall clock, which a loaded CI machine could break.
    assert SimulatedFault.objects.get(kind=kind).remaining == 4
    # Let the hanging request end inside this test, not after the live server has stopped.
    time.sleep(max(0.0, started + hang + 0.2 - time.monotonic()))


def test_a_create_that_timed_out_may_still_have_made_the_invoice(xendit_simulator, settings):
    # Xendit has no idempotency key: after a timeout, list by external_id before retrying.
    settings.XENDIT_READ_TIMEOUT = 0.3
    gateway = get_gateway()
    xendit_simulator.inject_fault("create", "delay", seconds=0.8)

    with pytest.raises(GatewayError) as caught:
        gateway.create_invoice(make_request("TDX-SLOWC1"))
    assert caught.value.retryable is True

    deadline = time.monotonic() + 5
    # The look-up with a read timeout of its own: 0.3 s is for the create, and a loaded
    # machine may take longer than that to list.
    while not (found := gateway.find_invoices("TDX-SLOWC1", read_timeout=5)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [invoice.amount for invoice in found] == [300_000]


def test_settings_latency_slows_every_call(gateway, settings):
    settings.XENDIT_SIMULATOR_LATENCY_MS = 300

    started = time.monotonic()
    gateway.find_invoices("TDX-SLOW01")

    assert time.monotonic() - started >= 0.3


def test_settings_fault_applies_to_every_call_of_its_kind(gateway, settings):
    settings.XENDIT_SIMULATOR_FAULTS = [{"kind": "create", "mode": "error", "status": 500}]

    for _ in range(2):
        with pytest.raises(GatewayError) as caught:
            gateway.create_invoice(make_request())
        assert (caught.value.status, caught.value.retryable) == (500, True)
    assert gateway.find_invoices("TDX-GW0001") == []  # other kinds are untouched


def test_reply_the_sdk_cannot_validate_is_a_retryable_malformed_reply(gateway, xendit_simulator):
    # A 200 reply missing fields the SDK requires: nothing we sent was wrong, and the next
    # reply may well be whole (a callback's read-back answers 503 on it, so Xendit retries).
    xendit_simulator.inject_fault("get", "malformed")

    with pytest.raises(GatewayError) as caught:
        gateway.get_invoice("0" * 24)

    assert caught.value.code == "MALFORMED_REPLY"
    assert caught.value.retryable is True
