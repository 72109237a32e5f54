import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from checkin.errors import AlreadyCheckedIn, InvalidCode, RefusalReason, TicketNotFound, TicketNotValid
from checkin.models import CheckIn, CheckInSource
from checkin.services import checkin_admit, checkin_undo
from orders.models import OrderEvent, OrderStatus
from tedxpay.core.errors import InvalidInput
from tickets.tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def admit(code, event, gate="Gate A"):
    return checkin_admit(code=code, event=event, gate=gate, source=CheckInSource.DOOR)


def test_a_ticket_gets_in_once_by_its_qr_secret(issued, event):
    checkin = admit(issued.code, event)
    assert checkin.current and checkin.gate == "Gate A" and checkin.ticket == issued
    assert checkin.order_id == issued.order_id

    with pytest.raises(AlreadyCheckedIn) as refused:
        admit(issued.code, event, gate="Gate B")
    assert refused.value.gate == "Gate A"
    assert refused.value.details == {
        "checked_in_at": timezone.localtime(checkin.checked_in_at).isoformat(),
        "gate": "Gate A",
    }
    assert CheckIn.objects.count() == 1


def test_the_short_code_typed_in_lower_case_without_dashes_is_the_same_ticket(issued, event):
    admit(issued.short_code.lower(), event)
    with pytest.raises(AlreadyCheckedIn):
        admit(issued.code, event)  # the QR of the same ticket


def test_the_secret_must_match_exactly_not_by_the_databases_case_rules(issued, event):
    with pytest.raises(TicketNotFound):
        admit(issued.code.swapcase(), event)
    with pytest.raises(TicketNotFound):
        admit(issued.code[:-1] + ("A" if issued.code[-1] != "A" else "B"), event)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (OrderStatus.PENDING, RefusalReason.ORDER_NOT_PAID),
        (OrderStatus.EXPIRED, RefusalReason.ORDER_NOT_PAID),
        (OrderStatus.CANCELLED, RefusalReason.ORDER_CANCELLED),
    ],
)
def test_only_tickets_of_paid_orders_get_in(paid_order, event, status, reason):
    ticket = paid_order(status=status).issued_tickets.get()
    with pytest.raises(TicketNotValid) as refused:
        admit(ticket.code, event)
    assert refused.value.details == {"reason": reason}
    assert not CheckIn.objects.exists()


def test_a_ticket_of_another_event_is_refused(issued):
    other = EventFactory(slug="tedxbandung")
    with pytest.raises(TicketNotValid) as refused:
        admit(issued.short_code, other)
    assert refused.value.reason == RefusalReason.OTHER_EVENT
    # Without an event (an API client that does not say), a valid ticket gets in.
    assert admit(issued.short_code, None).current


@pytest.mark.parametrize("code", ["", "   ", "x" * 201])
def test_an_empty_or_oversized_code_is_invalid_input(code, event):
    with pytest.raises(InvalidCode):
        admit(code, event)


def test_undo_needs_a_reason_is_audited_and_lets_the_ticket_in_again(issued, event, django_user_model):
    finance = django_user_model.objects.create_user(username="rina")
    checkin = admit(issued.code, event)
    with pytest.raises(InvalidInput):
        checkin_undo(checkin_id=checkin.pk, reason="  ", user=finance)

    undone = checkin_undo(checkin_id=checkin.pk, reason="scanned the wrong ticket", user=finance)
    assert undone.current is None and undone.undone_by == finance and undone.undo_reason == "scanned the wrong ticket"
    audit = OrderEvent.objects.get(order=issued.order)
    assert "undone by rina: scanned the wrong ticket" in audit.note
    assert issued.short_code_display in audit.note

    # Undoing again changes nothing; the ticket gets in again, and the first admission stays.
    checkin_undo(checkin_id=checkin.pk, reason="again", user=finance)
    assert OrderEvent.objects.filter(order=issued.order).count() == 1
    again = admit(issued.code, event, gate="Gate C")
    assert again.pk != checkin.pk and again.current
    assert CheckIn.objects.filter(ticket=issued).count() == 2
    assert CheckIn.objects.filter(ticket=issued, current=True).get() == again


def test_the_database_itself_refuses_a_second_current_checkin(issued):
    # What the service relies on, without the service: the unique (ticket, current) index.
    fields = {"ticket": issued, "order": issued.order, "checked_in_at": timezone.now(), "source": CheckInSource.API}
    CheckIn.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(**fields)
    # Undone admissions (current NULL) may repeat.
    CheckIn.objects.create(**fields, current=None, undone_at=timezone.now())
    CheckIn.objects.create(**fields, current=None, undone_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(**fields, current=False)  # False would dodge the index
