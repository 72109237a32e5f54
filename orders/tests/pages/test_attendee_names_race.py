"""An attendee's name and the door at the same instant, on MariaDB: renames and check-ins
of one e-ticket released together from ten threads. Both take the order's lock, so a name
changes only before the ticket is used: every rename that went through was recorded before
the one admission, and every one after it was refused."""

import pytest

from checkin.models import CheckIn, CheckInSource
from checkin.services import checkin_admit_ticket
from orders.attendees import attendee_rename
from orders.models import EventSource, OrderEvent
from orders.tests.pages.test_attendee_names import order  # noqa: F401 (a fixture)
from tedxpay.core.errors import Conflict
from tedxpay.core.tests.concurrency import run_together

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]


def test_a_name_never_changes_after_the_ticket_got_in(order):  # noqa: F811
    issued = order.issued_tickets.first()

    def rename(number):
        return lambda: attendee_rename(
            order_id=order.pk, ticket_code=issued.code, name=f"Pengganti {number}", source=EventSource.BUYER
        )

    def admit():
        return checkin_admit_ticket(issued=issued, event=None, source=CheckInSource.DOOR)

    results = run_together(*[rename(n) for n in range(5)], *[admit] * 5)

    [admission] = CheckIn.objects.filter(ticket=issued, current=True)
    renamed = [r for r in results[:5] if not isinstance(r, Exception)]
    refused = [r for r in results[:5] if isinstance(r, Exception)]
    assert all(isinstance(r, Conflict) and r.code == "already_checked_in" for r in refused), refused
    assert len(renamed) + len(refused) == 5
    audits = OrderEvent.objects.filter(order=order, source=EventSource.BUYER, note__contains="renamed")
    assert audits.count() == len(renamed)
    assert all(audit.created_at < admission.checked_in_at for audit in audits)
    issued.refresh_from_db()
    last = audits.order_by("created_at", "pk").last()
    assert issued.attendee_name == (last.note.rsplit("→ ", 1)[1] if last else "Peserta 1")
