"""Refunds through the real Xendit SDK (RefundApi) over HTTP against the simulator:
the gateway's `refund_create` / `refund_get` and the simulator's refund rules."""

import pytest

from payments.gateways.base import GatewayError, RefundReason, RefundRequest, RefundStatus
from payments.gateways.simulator.testing import SimulatorError
from payments.gateways.xendit import XenditGateway
from payments.tests.callback_receiver import running_receiver
from payments.tests.gateway.test_xendit_gateway import make_request

pytestmark = pytest.mark.django_db(transaction=True)


def paid_invoice(gateway, simulator, *, channel="DANA", amount=300_000, external_id="TDX-RF0001"):
    invoice = gateway.create_invoice(make_request(external_id, amount=amount))
    simulator.pay(invoice.id, channel=channel, callback="none")
    return invoice


def refund_request(invoice_id, amount, key="key-1", reference="TDX-RF0001-R1", reason=RefundReason.CANCELLATION):
    return RefundRequest(
        invoice_id=invoice_id, amount=amount, reason=reason, reference_id=reference, idempotency_key=key
    )


def test_an_ewallet_payment_is_refunded_in_full(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)

    refund = gateway.refund_create(refund_request(invoice.id, 300_000))

    assert refund.id.startswith("rfd-")
    assert refund.status == RefundStatus.PENDING and not refund.is_final
    assert refund.amount == 300_000 and type(refund.amount) is int
    assert refund.reference_id == "TDX-RF0001-R1"
    assert refund.invoice_id == invoice.id
    assert refund.channel_code == "DANA"
    assert gateway.refund_get(refund.id) == refund

    xendit_simulator.refund_succeed(refund.id, callback="none")

    done = gateway.refund_get(refund.id)
    assert done.status == RefundStatus.SUCCEEDED and done.is_final


@pytest.mark.parametrize("channel", ["QRIS", "CREDIT_CARD", "OVO"])
def test_qris_cards_and_ewallets_are_refundable(gateway, xendit_simulator, channel):
    invoice = paid_invoice(gateway, xendit_simulator, channel=channel)

    assert gateway.refund_create(refund_request(invoice.id, 1_000)).status == RefundStatus.PENDING


@pytest.mark.parametrize("channel", ["BCA", "MANDIRI", "ALFAMART"])
def test_virtual_accounts_and_retail_outlets_are_not_refundable(gateway, xendit_simulator, channel):
    invoice = paid_invoice(gateway, xendit_simulator, channel=channel)

    with pytest.raises(GatewayError) as caught:
        gateway.refund_create(refund_request(invoice.id, 300_000))

    assert caught.value.code == "REFUND_NOT_SUPPORTED"
    assert caught.value.status == 400 and caught.value.retryable is False
    assert xendit_simulator.refunds(invoice.id) == []


def test_partial_refunds_never_add_up_to_more_than_was_paid(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    first = gateway.refund_create(refund_request(invoice.id, 100_000, key="k1", reference="R1"))
    xendit_simulator.refund_succeed(first.id, callback="none")
    gateway.refund_create(refund_request(invoice.id, 150_000, key="k2", reference="R2"))

    with pytest.raises(GatewayError) as caught:
        gateway.refund_create(refund_request(invoice.id, 50_001, key="k3", reference="R3"))

    assert caught.value.code == "REFUND_AMOUNT_EXCEEDED" and caught.value.status == 400
    last = gateway.refund_create(refund_request(invoice.id, 50_000, key="k4", reference="R4"))
    assert last.amount == 50_000
    assert sorted(r["amount"] for r in xendit_simulator.refunds(invoice.id)) == [50_000, 100_000, 150_000]


def test_a_failed_refund_frees_its_amount(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    failed = gateway.refund_create(refund_request(invoice.id, 300_000, key="k1", reference="R1"))
    xendit_simulator.refund_fail(failed.id, callback="none", failure_code="INSUFFICIENT_BALANCE")

    assert gateway.refund_get(failed.id).failure_code == "INSUFFICIENT_BALANCE"
    assert gateway.refund_create(refund_request(invoice.id, 300_000, key="k2", reference="R2")).amount == 300_000


def test_the_same_idempotency_key_replays_the_first_refund(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    request = refund_request(invoice.id, 300_000)

    first = gateway.refund_create(request)
    again = gateway.refund_create(request)

    assert again.id == first.id
    assert len(xendit_simulator.refunds(invoice.id)) == 1


def test_the_same_idempotency_key_with_another_body_is_refused(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    gateway.refund_create(refund_request(invoice.id, 100_000))

    with pytest.raises(GatewayError) as caught:
        gateway.refund_create(refund_request(invoice.id, 200_000))

    assert caught.value.code == "IDEMPOTENCY_ERROR" and caught.value.status == 409


def test_a_reference_used_before_is_refused(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    gateway.refund_create(refund_request(invoice.id, 100_000, key="k1", reference="same"))

    with pytest.raises(GatewayError) as caught:
        gateway.refund_create(refund_request(invoice.id, 100_000, key="k2", reference="same"))

    assert caught.value.code == "DUPLICATE_REFERENCE_ID" and caught.value.status == 409


def test_an_unpaid_or_unknown_invoice_is_not_refunded(gateway, xendit_simulator):
    pending = gateway.create_invoice(make_request("TDX-RF0002"))

    with pytest.raises(GatewayError) as unpaid:
        gateway.refund_create(refund_request(pending.id, 1_000))
    with pytest.raises(GatewayError) as unknown:
        gateway.refund_create(refund_request("0123456789abcdef01234567", 1_000, key="k2", reference="R2"))
    with pytest.raises(GatewayError) as no_refund:
        gateway.refund_get("rfd-nothing")

    assert unpaid.value.code == "INVALID_PAYMENT_STATUS"
    assert unknown.value.status == 404 and no_refund.value.status == 404


def test_a_server_fault_is_retryable_and_the_retry_refunds_once(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    xendit_simulator.inject_fault("refund", "error", status=503)
    request = refund_request(invoice.id, 300_000)

    with pytest.raises(GatewayError) as caught:
        gateway.refund_create(request)

    assert caught.value.retryable is True and caught.value.status == 503
    assert gateway.refund_create(request).amount == 300_000
    assert len(xendit_simulator.refunds(invoice.id)) == 1


def test_a_create_that_timed_out_is_retried_with_its_key_and_refunds_once(gateway, xendit_simulator, settings):
    # The reply is lost (read timeout) but Xendit made the refund: the retry with the same
    # idempotency key answers that refund instead of making a second one.
    invoice = paid_invoice(gateway, xendit_simulator)
    impatient = XenditGateway(
        secret_key=settings.XENDIT_SECRET_KEY, base_url=settings.XENDIT_BASE_URL, connect_timeout=2, read_timeout=0.3
    )
    xendit_simulator.inject_fault("refund", "delay", seconds=1.0)
    request = refund_request(invoice.id, 300_000)

    with pytest.raises(GatewayError) as caught:
        impatient.refund_create(request)
    assert caught.value.code == "TIMEOUT" and caught.value.retryable is True
    impatient.close()

    retried = gateway.refund_create(request)

    refunds = xendit_simulator.refunds(invoice.id)
    assert [r["id"] for r in refunds] == [retried.id]


def test_a_refund_get_fault_maps_to_one_gateway_error(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    refund = gateway.refund_create(refund_request(invoice.id, 300_000))
    xendit_simulator.inject_fault("refund_get", "non_json")

    with pytest.raises(GatewayError) as caught:
        gateway.refund_get(refund.id)

    assert caught.value.code == "NON_JSON_REPLY" and caught.value.retryable is True


def test_settling_a_refund_sends_its_webhook_with_the_token(gateway, xendit_simulator, settings):
    invoice = paid_invoice(gateway, xendit_simulator, channel="SHOPEEPAY")
    refund = gateway.refund_create(refund_request(invoice.id, 120_000))
    with running_receiver(settings) as receiver:
        settings.XENDIT_REFUND_CALLBACK_URL = receiver.url
        result = xendit_simulator.refund_succeed(refund.id, callback="twice")

    assert [delivery["status_code"] for delivery in result["callbacks"]] == [200, 200]
    assert len(receiver.received) == 2
    received = receiver.received[0]
    assert received.headers["x-callback-token"] == settings.XENDIT_CALLBACK_TOKEN
    assert received.body["event"] == "refund.succeeded"
    data = received.body["data"]
    assert data["id"] == refund.id and data["invoice_id"] == invoice.id
    assert data["status"] == "SUCCEEDED" and data["amount"] == 120_000
    assert data["channel_code"] == "SHOPEEPAY" and data["payment_method_type"] == "EWALLET"
    assert data["reference_id"] == "TDX-RF0001-R1"
    assert len(xendit_simulator.refund(refund.id)["callbacks"]) == 2


def test_a_settled_refund_cannot_settle_the_other_way(gateway, xendit_simulator):
    invoice = paid_invoice(gateway, xendit_simulator)
    refund = gateway.refund_create(refund_request(invoice.id, 300_000))
    xendit_simulator.refund_succeed(refund.id, callback="none")

    with pytest.raises(SimulatorError) as caught:
        xendit_simulator.refund_fail(refund.id, callback="none")

    assert caught.value.status == 400
