"""`well_formed_order_request` (orders/apis.py) takes only what the API's input serializer
takes, and gives what it gives; anything else is left to the serializer and its errors."""

import json

import pytest

from orders.apis import OrderCreateApi, well_formed_order_request

BUYER = {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "0812 3456 7890"}
ITEM = {"ticket_id": 12, "quantity": 2}


def body(**overrides) -> dict:
    return {"buyer": dict(BUYER), "items": [dict(ITEM)], **overrides}


PLAINLY_RIGHT = [
    body(),
    body(language="id"),
    body(buyer={**BUYER, "full_name": "  Siti   Nurhaliza ", "email": " SITI@Example.COM "}),
    body(buyer={**BUYER, "full_name": "Ñoño Çelik", "extra": "dropped"}),
    body(items=[{"ticket_id": n, "quantity": 1, "price": 1} for n in range(1, 11)]),
    body(items=[{"ticket_id": 2**63 - 1, "quantity": 1000}], total=1, price=5),
    body(language="en"),
    body(voucher="TEDX-EARLY"),
    body(voucher="  early10 "),
    body(voucher=""),
    body(voucher="V" * 40),
    body(buyer={**BUYER, "full_name": "x" * 200, "email": "e" * 254, "phone": "0" * 32}),
]
LEFT_TO_THE_SERIALIZER = [
    [],
    "order",
    {"items": [ITEM]},
    body(buyer="Budi"),
    body(buyer={**BUYER, "phone": 812345678}),
    body(buyer={**BUYER, "full_name": "   "}),
    body(buyer={**BUYER, "full_name": "x" * 201}),
    body(buyer={**BUYER, "full_name": "Bu\x00di"}),
    body(buyer={**BUYER, "full_name": "Bu\ud800di"}),
    body(buyer={k: v for k, v in BUYER.items() if k != "email"}),
    body(items=[]),
    body(items={"ticket_id": 12, "quantity": 2}),
    body(items=[ITEM] * 11),
    body(items=[{"ticket_id": "12", "quantity": 2}]),
    body(items=[{"ticket_id": 12, "quantity": 2.0}]),
    body(items=[{"ticket_id": True, "quantity": 2}]),
    body(items=[{"ticket_id": 0, "quantity": 2}]),
    body(items=[{"ticket_id": 2**63, "quantity": 2}]),
    body(items=[{"ticket_id": 12, "quantity": 0}]),
    body(items=[{"ticket_id": 12}]),
    body(items=["12"]),
    body(language="fr"),
    body(voucher=None),
    body(voucher=10),
    body(voucher="V" * 41),
    body(voucher="BAD\x00"),
    # Named attendees: the serializer reads them (and words their errors).
    body(items=[{**ITEM, "attendees": [{"name": "Budi"}, {"name": "Ayu"}]}]),
    body(language=None),
    body(language=""),
]


def _serializer(data):
    serializer = OrderCreateApi.InputSerializer(data=data)
    return serializer, serializer.is_valid()


@pytest.mark.parametrize("data", PLAINLY_RIGHT)
def test_a_plainly_right_request_reads_as_the_serializer_reads_it(data):
    serializer, valid = _serializer(data)

    assert valid, serializer.errors
    assert well_formed_order_request(data) == json.loads(json.dumps(serializer.validated_data))


@pytest.mark.parametrize("data", LEFT_TO_THE_SERIALIZER)
def test_anything_else_is_left_to_the_serializer(data):
    assert well_formed_order_request(data) is None
