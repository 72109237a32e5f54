"""Check-ins as finance sees them: the order page, the e-tickets list and its filter, the
check-in list with its undo action, the dashboard counts and the attendee CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from checkin.models import CheckIn, CheckInSource
from checkin.services import checkin_admit
from orders.models import OrderEvent
from orders.services import issued_tickets_create
from orders.tests.factories import OrderItemFactory
from tedxpay.core.admin_records import JAKARTA
from tedxpay.core.models import ApiKey, ApiKeyScope
from tickets.tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def admit(issued, gate="Gate B"):
    return checkin_admit(code=issued.code, event=None, gate=gate, source=CheckInSource.DOOR)


def test_the_order_page_shows_each_tickets_check_in(admin_client, paid_order):
    order = paid_order(quantity=2)
    first, second = order.issued_tickets.all()
    admit(first)

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert first.short_code_display in page and second.short_code_display in page
    assert "Gate B" in page and "by Door page" in page
    assert 'id="checkins-group"' in page and "Checked in" in page


def test_issued_tickets_filter_by_checked_in_and_search_by_short_code(admin_client, paid_order):
    order = paid_order(quantity=3)
    tickets = list(order.issued_tickets.all())
    admit(tickets[0])
    url = reverse("admin:orders_issuedticket_changelist")

    checked_in = admin_client.get(url, {"checked_in": "yes"}).context["cl"].result_list
    assert [ticket.pk for ticket in checked_in] == [tickets[0].pk]
    not_in = admin_client.get(url, {"checked_in": "no"}).context["cl"].result_list
    assert {ticket.pk for ticket in not_in} == {tickets[1].pk, tickets[2].pk}

    typed = tickets[2].short_code_display.lower().replace("-", " ")
    found = admin_client.get(url, {"q": typed}).context["cl"].result_list
    assert [ticket.pk for ticket in found] == [tickets[2].pk]


def test_undo_action_asks_for_a_reason_then_undoes(admin_client, admin_user, paid_order):
    issued = paid_order().issued_tickets.get()
    checkin = admit(issued)
    url = reverse("admin:checkin_checkin_changelist")
    data = {"action": "undo_checkins", "_selected_action": [str(checkin.pk)]}

    form = admin_client.post(url, data)
    assert form.status_code == 200 and b"Undo check-ins" in form.content
    assert b'name="action" value="undo_checkins"' in form.content and b'name="apply" value="yes"' in form.content
    checkin.refresh_from_db()
    assert checkin.current

    response = admin_client.post(url, {**data, "apply": "yes", "reason": "wrong person let in"})
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == [f"Undone 1: {issued.short_code_display}."]
    checkin.refresh_from_db()
    assert checkin.current is None and checkin.undone_by == admin_user and checkin.undo_reason == "wrong person let in"
    assert "wrong person let in" in OrderEvent.objects.get(order=issued.order).note


def test_dashboard_counts_check_ins_per_phase(admin_client, paid_order):
    order = paid_order(quantity=3, ticket_name="Early bird")
    OrderItemFactory(order=order, quantity=2, ticket__name="Student")
    order.issued_tickets.all().delete()
    issued_tickets_create(order=order)
    early = list(order.issued_tickets.filter(ticket__name="Early bird"))
    student = order.issued_tickets.filter(ticket__name="Student").first()
    for ticket in [*early[:2], student]:
        admit(ticket)
    undone = admit(early[2])
    CheckIn.objects.filter(pk=undone.pk).update(current=None, undone_at=undone.checked_in_at)

    overview = admin_client.get(reverse("admin:orders_order_dashboard")).context["overview"]

    phases = {phase.ticket.name: phase.checked_in for phase in overview.events[0].phases}
    assert phases == {"Early bird": 2, "Student": 1}
    assert overview.events[0].checked_in == 3


def test_attendee_csv_has_check_in_times(admin_client, paid_order):
    order = paid_order(quantity=2, buyer_name="Siti Rahma")
    formula = paid_order(buyer_name="=HYPERLINK(1)").issued_tickets.get()
    first, second = order.issued_tickets.all()
    admit(first, gate="Gate A")

    response = admin_client.post(
        reverse("admin:orders_issuedticket_changelist"),
        {"action": "export_attendees_csv", "_selected_action": [str(first.pk), str(second.pk), str(formula.pk)]},
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["event", "attendee", "ticket type"]
    assert rows[0][6:8] == ["checked in (event's time)", "event time zone"]
    by_code = {row[3]: row for row in rows[1:]}
    assert by_code[first.short_code_display][1:3] == ["Siti Rahma", "Regular"]
    wib = timezone.localtime(first.checkins.get().checked_in_at, JAKARTA).strftime("%Y-%m-%d %H:%M:%S")
    assert by_code[first.short_code_display][6:8] == [wib, "WIB"]  # the fixture's event is in Jakarta
    assert by_code[first.short_code_display][8:] == ["Gate A", "Door page"]
    assert by_code[second.short_code_display][6:] == ["", "WIB", "", ""]
    assert by_code[formula.short_code_display][1] == "'=HYPERLINK(1)"  # not run as a formula by Excel


def test_attendee_csv_neutralises_formulas_in_every_free_text_cell(admin_client, paid_order, django_user_model):
    # The gate is free text from the door page or POST /api/checkins; the event's and the
    # phase's names are typed in the admin; a username may start with @, + or -.
    event = EventFactory(name="+TEDx 2026", slug="plus-tedx")
    issued = paid_order(event=event, ticket_name="@Regular").issued_tickets.get()
    volunteer = django_user_model.objects.create_user(username="-gate-a")
    checkin_admit(
        code=issued.code, event=None, gate='=HYPERLINK("http://evil")', source=CheckInSource.DOOR, user=volunteer
    )

    response = admin_client.post(
        reverse("admin:orders_issuedticket_changelist"),
        {"action": "export_attendees_csv", "_selected_action": [str(issued.pk)]},
    )

    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    assert (row["event"], row["ticket type"]) == ("'+TEDx 2026", "'@Regular")
    assert row["gate"] == '\'=HYPERLINK("http://evil")'
    assert row["checked in by"] == "'-gate-a"
    assert row["attendee"] == "Siti Rahma"


def test_check_in_times_are_on_the_events_clock_in_the_csv_and_the_admin(admin_client, paid_order):
    bali = EventFactory(name="TEDxUbud", slug="tedxubud", time_zone="Asia/Makassar")
    issued = paid_order(event=bali).issued_tickets.get()
    admit(issued, gate="Gate A")
    CheckIn.objects.update(checked_in_at=datetime(2026, 12, 5, 2, 2, 11, tzinfo=UTC))  # 10:02 in Bali

    response = admin_client.post(
        reverse("admin:orders_issuedticket_changelist"),
        {"action": "export_attendees_csv", "_selected_action": [str(issued.pk)]},
    )

    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    assert (row["checked in (event's time)"], row["event time zone"]) == ("2026-12-05 10:02:11", "WITA")
    # The admin's pages say the same: the check-in list, the order page, the e-ticket list.
    for url in (
        reverse("admin:checkin_checkin_changelist"),
        reverse("admin:orders_order_change", args=[issued.order_id]),
        reverse("admin:orders_issuedticket_changelist"),
    ):
        page = admin_client.get(url).content.decode()
        assert "2026-12-05 10:02 WITA" in page and "09:02" not in page, url


def test_api_keys_keep_orders_and_can_be_given_checkin_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:core_apikey_add"), {"name": "scanner", "is_active": "on", "scopes": ["checkin"]}
    )
    assert response.status_code == 302
    assert ApiKey.objects.get(name="scanner").scope_list == [ApiKeyScope.CHECKIN]
