"""A reply that does not read as an invoice is a GatewayError like any other failure, never
a bare ValueError escaping from a gateway call. It is retryable: nothing we sent was at
fault (a proxy's mangled body, a field Xendit got wrong for a while), and a callback whose
read-back meets it must answer 503 so that Xendit delivers it again. Real SDK, real HTTP,
against a stub Xendit."""

import pytest

from payments.gateways.base import GatewayError, get_gateway
from payments.tests.gateway.test_xendit_gateway import make_request
from payments.tests.xendit_stub import running_xendit_stub


@pytest.fixture
def unreadable_xendit(settings):
    with running_xendit_stub(settings, paid_at="yesterday afternoon") as stub:
        yield stub


@pytest.mark.parametrize(
    "call",
    [
        lambda gateway: gateway.create_invoice(make_request()),
        lambda gateway: gateway.get_invoice("6748105a77f16ebe0cc583a7"),
        lambda gateway: gateway.find_invoices("TDX-GW0001"),
        lambda gateway: gateway.expire_invoice("6748105a77f16ebe0cc583a7"),
    ],
    ids=["create", "get", "find", "expire"],
)
def test_unreadable_reply_is_a_retryable_gateway_error(unreadable_xendit, call):
    with pytest.raises(GatewayError) as caught:
        call(get_gateway())

    assert caught.value.code == "MALFORMED_REPLY"
    assert caught.value.retryable is True
    assert "yesterday afternoon" in caught.value.message
    assert len(unreadable_xendit.requests) == 1  # the call was made; its reply refused


def test_the_same_reply_with_a_real_date_reads_fine(settings):
    with running_xendit_stub(settings, paid_at="2026-11-28T06:41:29.776Z"):
        invoice = get_gateway().get_invoice("6748105a77f16ebe0cc583a7")

    assert (invoice.id, invoice.status, invoice.amount) == ("6748105a77f16ebe0cc583a7", "PENDING", 350_000)
    assert invoice.paid_at.isoformat() == "2026-11-28T06:41:29.776000+00:00"


def test_a_payment_method_the_sdk_does_not_know_is_kept_as_xendit_spells_it(settings):
    # The SDK's enum turns it into "UNKNOWN_ENUM_VALUE"; Xendit adds channels without notice.
    extra = {"status": "PAID", "paid_amount": 350000, "payment_method": "CARDLESS_CREDIT", "payment_channel": "KREDIVO"}
    with running_xendit_stub(settings, **extra):
        invoice = get_gateway().get_invoice("6748105a77f16ebe0cc583a7")
        (found,) = get_gateway().find_invoices("TDX-GW0001")

    for read in (invoice, found):
        assert (read.payment_method, read.payment_channel) == ("CARDLESS_CREDIT", "KREDIVO")
        assert read.raw["payment_method"] == "CARDLESS_CREDIT"
