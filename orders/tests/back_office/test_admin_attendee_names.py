"""Finance corrects an attendee's name on the e-ticket's admin page: the buyer's rule and
service (orders/attendees.py), finance's name in the audit row, the operational permission
on orders required (groups from the migrations)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from checkin.models import CheckInSource
from checkin.services import checkin_admit_ticket
from orders.models import EventSource, OrderEvent
from orders.tests.back_office.test_admin_event_moves import staff
from orders.tests.pages.test_attendee_names import order  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_finance_renames_an_attendee_and_the_audit_row_names_them(client, order):  # noqa: F811
    issued = order.issued_tickets.first()
    client.force_login(staff("budi", "Finance"))
    ticket_page = reverse("admin:orders_issuedticket_change", args=[issued.pk])
    rename_page = reverse("admin:orders_issuedticket_attendee_name", args=[issued.pk])
    assert rename_page in client.get(ticket_page).text

    answer = client.post(rename_page, {"name": "Rina  Kartika"})

    assert answer.status_code == 302 and answer["Location"] == ticket_page
    issued.refresh_from_db()
    assert issued.attendee_name == "Rina Kartika"
    [audit] = OrderEvent.objects.filter(order=order, source=EventSource.ADMIN)
    assert "renamed by budi: Peserta 1 → Rina Kartika" in audit.note
    assert "the attendee is now Rina Kartika" in client.get(ticket_page).text


def test_a_ticket_used_at_the_door_is_refused_with_the_reason(client, order):  # noqa: F811
    issued = order.issued_tickets.first()
    checkin_admit_ticket(issued=issued, event=None, source=CheckInSource.DOOR)
    client.force_login(staff("budi", "Finance"))
    rename_page = reverse("admin:orders_issuedticket_attendee_name", args=[issued.pk])

    shown = client.get(rename_page).text
    answer = client.post(rename_page, {"name": "Someone Else"})

    assert 'id="rename-refused"' in shown and "checked in" in shown
    assert answer.status_code == 200 and "its name can no longer change" in answer.text
    issued.refresh_from_db()
    assert issued.attendee_name == "Peserta 1"


def test_a_name_that_cannot_be_one_is_shown_on_the_field(client, order):  # noqa: F811
    issued = order.issued_tickets.first()
    client.force_login(staff("budi", "Finance"))
    answer = client.post(reverse("admin:orders_issuedticket_attendee_name", args=[issued.pk]), {"name": "A" * 201})
    assert answer.status_code == 200 and "1 to 200 characters" in answer.text
    issued.refresh_from_db()
    assert issued.attendee_name == "Peserta 1"


def test_without_the_operational_permission_nothing_is_offered_or_allowed(client, order):  # noqa: F811
    issued = order.issued_tickets.first()
    viewer = staff("tamu")
    viewer.user_permissions.add(Permission.objects.get(codename="view_issuedticket"))
    client.force_login(viewer)
    rename_page = reverse("admin:orders_issuedticket_attendee_name", args=[issued.pk])
    page = client.get(reverse("admin:orders_issuedticket_change", args=[issued.pk]))
    assert page.status_code == 200 and rename_page not in page.text
    assert client.post(rename_page, {"name": "X"}).status_code == 403


def test_an_event_that_does_not_ask_names_offers_no_link(client, order):  # noqa: F811
    order.event.ask_attendee_names = False
    order.event.save(update_fields=["ask_attendee_names"])
    issued = order.issued_tickets.first()
    client.force_login(staff("budi", "Finance"))
    page = client.get(reverse("admin:orders_issuedticket_change", args=[issued.pk])).text
    assert reverse("admin:orders_issuedticket_attendee_name", args=[issued.pk]) not in page
