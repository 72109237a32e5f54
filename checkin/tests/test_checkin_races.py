"""Two doors (or thirty) scanning one ticket at the same instant, on MariaDB: exactly one
gets in, and the others are told when and where."""

import json
from collections import Counter

import pytest
from django.test import Client

from checkin.errors import AlreadyCheckedIn
from checkin.models import CheckIn, CheckInSource
from checkin.services import checkin_admit, checkin_undo
from tedxpay.core.tests.concurrency import run_together

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

SCANS = 30


def test_thirty_parallel_api_scans_of_one_ticket_admit_it_once(issued, checkin_key):
    raw_key = checkin_key[1]

    def scan(index: int):
        def post():
            response = Client().post(
                "/api/checkins",
                json.dumps({"code": issued.code, "gate": f"Gate {index % 4}"}),
                content_type="application/json",
                headers={"Authorization": f"Api-Key {raw_key}"},
            )
            return response.status_code, response.json()

        return post

    results = run_together(*(scan(index) for index in range(SCANS)))

    crashed = [result for result in results if isinstance(result, Exception)]
    assert not crashed, crashed
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: SCANS - 1}, results
    winner = next(body for status, body in results if status == 201)
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "already_checked_in"
            assert body["error"]["details"] == {"checked_in_at": winner["checked_in_at"], "gate": winner["gate"]}
    assert CheckIn.objects.filter(ticket=issued).count() == 1


def test_two_gates_racing_through_the_service_admit_once(issued, event):
    def at(gate: str):
        return lambda: checkin_admit(code=issued.short_code, event=event, gate=gate, source=CheckInSource.DOOR)

    rounds = 5  # undone after each round, so the same ticket races again
    for _ in range(rounds):
        results = run_together(at("Gate A"), at("Gate B"))
        admitted = [result for result in results if isinstance(result, CheckIn)]
        refused = [result for result in results if isinstance(result, AlreadyCheckedIn)]
        assert len(admitted) == 1 and len(refused) == 1, results
        assert refused[0].gate == admitted[0].gate and refused[0].checked_in_at == admitted[0].checked_in_at
        checkin_undo(checkin_id=admitted[0].pk, reason="next round", user=None)
    assert CheckIn.objects.filter(ticket=issued).count() == rounds
    assert not CheckIn.objects.filter(ticket=issued, current=True).exists()
