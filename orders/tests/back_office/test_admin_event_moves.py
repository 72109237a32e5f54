"""“Event moved” in the admin: Finance managers record it (times typed on the event's own
clock), Finance only reads the records (groups from the migrations)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from orders.models import EventMove, OrderStatus
from orders.tests.factories import OrderFactory
from payments.tests.factories import PaymentFactory
from tickets.models import EventTimeZone
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db

FORM = {
    "starts_at": "2027-03-20T19:00",
    "venue": "Sabuga",
    "city": "Bandung",
    "refunds_until": "2027-03-10T23:59",
    "message": "Pindah ke Sabuga.",
    "confirm": "on",
}


def staff(name: str, *groups: str) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def event():
    event = EventFactory(venue="Aula Barat", time_zone=EventTimeZone.WITA)
    paid = OrderFactory(event=event, status=OrderStatus.PAID)
    PaymentFactory(order=paid, status="PAID", amount=100_000, paid_amount=100_000)
    OrderFactory(event=event)  # pending: not told
    return event


def test_a_finance_manager_moves_the_event_on_its_own_clock(client, event, django_capture_on_commit_callbacks):
    client.force_login(staff("rina", "Finance", "Finance managers"))
    url = reverse("admin:orders_eventmove_start", args=[event.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Aula Barat" in page.text and "WITA" in page.text
    assert "WITA WITA" not in page.text

    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(url, FORM)

    moved = EventMove.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("admin:orders_eventmove_change", args=[moved.pk])
    event.refresh_from_db()
    assert event.venue == "Sabuga" and event.city == "Bandung"
    assert event.starts_at.astimezone(UTC).hour == 11  # 19:00 WITA (UTC+8)
    assert (moved.requested_by, moved.old_venue, moved.paid_orders_told) == ("rina", "Aula Barat", 1)
    assert Notification.objects.filter(kind=NotificationKind.EVENT_MOVED).count() == 1
    record = client.get(answer["Location"])
    assert record.status_code == 200 and "Aula Barat" in record.text and "Sabuga" in record.text
    assert "2027-03-20 19:00 WITA · Sabuga · Bandung" in record.text


def test_a_move_to_another_island_reads_its_times_on_the_new_clock(client, django_capture_on_commit_callbacks):
    event = EventFactory(venue="JIExpo", city="Jakarta", time_zone=EventTimeZone.WIB)
    paid = OrderFactory(event=event, status=OrderStatus.PAID)
    PaymentFactory(order=paid, status="PAID", amount=100_000, paid_amount=100_000)
    client.force_login(staff("rina", "Finance", "Finance managers"))
    url = reverse("admin:orders_eventmove_start", args=[event.pk])
    form = client.get(url).text
    assert '<option value="Asia/Jakarta" selected>' in form  # the event's own clock, unless changed

    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(url, FORM | {"venue": "Nusa Dua", "city": "Badung", "time_zone": EventTimeZone.WITA})

    assert answer.status_code == 302, answer.content
    event.refresh_from_db()
    assert event.time_zone == EventTimeZone.WITA
    assert event.starts_at.astimezone(UTC).hour == 11  # 19:00 typed, read as WITA (UTC+8), not WIB
    record = client.get(answer["Location"]).text
    assert "2027-03-20 19:00 WITA · Nusa Dua · Badung" in record
    moved = EventMove.objects.get()
    assert f"{timezone.localtime(moved.old_starts_at):%Y-%m-%d %H:%M} WIB · JIExpo · Jakarta" in record


def test_after_bringing_an_event_forward_finance_is_shown_the_phases_still_on_sale_after_it(client, event):
    """A sale window set for the old date would sell seats for an event already under way."""
    late = TicketFactory(event=event, name="Regular", valid_until=datetime(2027, 4, 1, 1, 0, tzinfo=UTC))
    TicketFactory(event=event, name="Early bird", valid_until=datetime(2027, 3, 1, 1, 0, tzinfo=UTC))
    TicketFactory(event=event, name="Old phase", is_active=False, valid_until=datetime(2027, 4, 1, 1, 0, tzinfo=UTC))
    client.force_login(staff("rina", "Finance", "Finance managers"))

    answer = client.post(reverse("admin:orders_eventmove_start", args=[event.pk]), FORM, follow=True)

    shown = [str(message) for message in answer.context["messages"]]
    [warning] = [text for text in shown if "Still on sale after the new start" in text]
    assert reverse("admin:tickets_ticket_change", args=[late.pk]) in warning
    assert "Regular</a> (until 2027-04-01 09:00 WITA)" in warning
    assert "Early bird" not in warning and "Old phase" not in warning


def test_a_zone_that_does_not_exist_is_refused(client, event):
    client.force_login(staff("rina", "Finance", "Finance managers"))
    answer = client.post(reverse("admin:orders_eventmove_start", args=[event.pk]), FORM | {"time_zone": "UTC"})
    assert answer.status_code == 200 and "Select a valid choice" in answer.text
    assert not EventMove.objects.exists()


def test_moving_an_event_of_many_buyers_takes_a_handful_of_queries(event, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.checkout.event_moves import event_move_record

    for _ in range(40):
        order = OrderFactory(event=event, status=OrderStatus.PAID)
        PaymentFactory(order=order, status="PAID", amount=100_000, paid_amount=100_000)
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False) as sends:
        move = event_move_record(
            event_id=event.pk,
            starts_at=now + timedelta(days=20),
            ends_at=None,
            venue="Sabuga",
            city="Bandung",
            refunds_until=now + timedelta(days=10),
            message="",
            requested_by="rina",
        )

    assert move.paid_orders_told == 41
    assert Notification.objects.filter(kind=NotificationKind.EVENT_MOVED).count() == 41
    assert len(sends) == 1  # one callback starts the 41 sends after commit
    # Not a query per buyer (a look-up and an insert each): 41 buyers in a handful.
    assert len(queries) <= 12, [q["sql"][:80] for q in queries.captured_queries]


def test_refused_input_is_shown_on_the_form_and_changes_nothing(client, event):
    client.force_login(staff("rina", "Finance", "Finance managers"))
    url = reverse("admin:orders_eventmove_start", args=[event.pk])
    answer = client.post(url, FORM | {"refunds_until": "2027-03-21T10:00"})  # after the new start
    assert answer.status_code == 200 and "Refunds must close before the event starts." in answer.text
    event.refresh_from_db()
    assert event.venue == "Aula Barat" and not EventMove.objects.exists()


def test_finance_reads_the_records_but_cannot_move_an_event(client, event):
    client.force_login(staff("budi", "Finance"))
    url = reverse("admin:orders_eventmove_start", args=[event.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, FORM).status_code == 403
    assert client.get(reverse("admin:orders_eventmove_changelist")).status_code == 200
    event.refresh_from_db()
    assert event.venue == "Aula Barat"


def test_the_event_list_offers_the_move_to_managers_only(client, event):
    changelist = reverse("admin:tickets_event_changelist")
    client.force_login(staff("rina", "Finance", "Finance managers"))
    assert 'value="move_event"' in client.get(changelist).text
    answer = client.post(changelist, {"action": "move_event", "_selected_action": [event.pk]})
    assert answer.status_code == 302 and answer["Location"] == reverse("admin:orders_eventmove_start", args=[event.pk])
    client.force_login(staff("budi", "Finance"))
    assert 'value="move_event"' not in client.get(changelist).text
