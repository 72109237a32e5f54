"""`well_formed_invoice_callback` (payments/serializers.py) takes only what
`InvoiceCallbackSerializer` takes, and gives what it gives; anything else is left to the
serializer, which words the errors (or takes it after stripping or coercing)."""

import pytest

from payments.serializers import InvoiceCallbackSerializer, well_formed_invoice_callback

CALLBACK = {"id": "inv_6543a1b2c3", "status": "PAID", "external_id": "TDX-7K2M9Q"}


def callback(**overrides) -> dict:
    return {**CALLBACK, **overrides}


PLAINLY_RIGHT = [
    callback(),
    callback(status="paid"),
    callback(status="Settled"),
    callback(status="EXPIRED", amount=150000, paid_amount=150000.0, merchant_name="TEDx"),
    callback(external_id=""),
    callback(external_id=None),
    {"id": "579c8d61f23fa4ca35e52da4", "status": "PAID"},
    callback(id="a" * 64, status="S" * 20, external_id="x" * 64),
    callback(id="inv.2026:01_a-b"),
    callback(external_id="order#12/b~!"),
]
LEFT_TO_THE_SERIALIZER = [
    {},
    {"status": "PAID"},
    {"id": "inv_1"},
    callback(id=12345),
    callback(id=True),
    callback(id=None),
    callback(id=""),
    callback(id=" inv_1 "),
    callback(id="inv 1"),
    callback(id="inv/1"),
    callback(id="a" * 65),
    callback(status=""),
    callback(status="PAID\n"),
    callback(status="PAID1"),
    callback(status="S" * 21),
    callback(status=["PAID"]),
    callback(external_id=12),
    callback(external_id=" TDX-1 "),
    callback(external_id="x" * 65),
    callback(external_id="TDX\x00"),
    callback(external_id="Pesanan Budi"),
    callback(external_id={"code": "TDX-1"}),
]


def _serializer(data):
    serializer = InvoiceCallbackSerializer(data=data)
    return serializer, serializer.is_valid()


@pytest.mark.parametrize("data", PLAINLY_RIGHT)
def test_a_plainly_right_callback_reads_as_the_serializer_reads_it(data):
    serializer, valid = _serializer(data)

    assert valid, serializer.errors
    assert well_formed_invoice_callback(data) == dict(serializer.validated_data)


@pytest.mark.parametrize("data", LEFT_TO_THE_SERIALIZER)
def test_anything_else_is_left_to_the_serializer(data):
    assert well_formed_invoice_callback(data) is None
