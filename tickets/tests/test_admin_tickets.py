"""Ticket phases in the admin: quota never below what is held (a form error, not a 500),
a sale window that closes after it opens, and `held` never written from a form."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import OrderStatus
from orders.tests.factories import OrderFactory
from tickets.admin import TicketForm
from tickets.errors import TicketNotFound
from tickets.models import Event, Ticket
from tickets.services import stock_reserve, ticket_quota_set
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db

FORMAT = "%Y-%m-%d %H:%M:%S"


def hold(ticket, units: int) -> None:
    with transaction.atomic():
        stock_reserve(quantities={ticket.pk: units}, now=timezone.now())


def local(value) -> tuple[str, str]:
    value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S")


def ticket_post(ticket, **changes) -> dict:
    """The ticket change form as the browser posts it, with `changes`."""
    fields = {
        "event": ticket.event_id,
        "name": ticket.name,
        "description": ticket.description,
        "price": ticket.price,
        "quota": ticket.quota,
        "valid_from": ticket.valid_from,
        "valid_until": ticket.valid_until,
        "max_per_order": ticket.max_per_order,
        "is_active": "on" if ticket.is_active else "",
        "sort_order": ticket.sort_order,
        **changes,
    }
    data = {}
    for name, value in fields.items():
        if name in ("valid_from", "valid_until"):
            data[f"{name}_0"], data[f"{name}_1"] = local(value)
        else:
            data[name] = value
    return data


def event_post(event, tickets) -> dict:
    """The event change form with its ticket phase inline, unchanged."""
    data = {
        "name": event.name,
        "slug": event.slug,
        "venue": event.venue,
        "city": event.city,
        "description": event.description,
        "time_zone": event.time_zone,
        "starts_at_0": local(event.starts_at)[0],
        "starts_at_1": local(event.starts_at)[1],
        "ends_at_0": "",
        "ends_at_1": "",
        "tickets-TOTAL_FORMS": len(tickets),
        "tickets-INITIAL_FORMS": len(tickets),
        "tickets-MIN_NUM_FORMS": 0,
        "tickets-MAX_NUM_FORMS": 1000,
    }
    for index, ticket in enumerate(tickets):
        row = ticket_post(ticket)
        row.pop("event")
        row.pop("description")
        data |= {f"tickets-{index}-{name}": value for name, value in row.items()}
        data[f"tickets-{index}-id"] = ticket.pk
        data[f"tickets-{index}-event"] = event.pk
    return data


def test_quota_below_held_is_a_form_error_and_changes_nothing(admin_client):
    ticket = TicketFactory(quota=10)
    hold(ticket, 6)
    name = ticket.name
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    response = admin_client.post(url, ticket_post(ticket, quota=5, name="Regular (renamed)"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["quota"] == [
        "6 seats of this phase are held by pending or paid orders right now; the quota cannot go below 6."
    ]
    ticket.refresh_from_db()
    assert (ticket.quota, ticket.held, ticket.name) == (10, 6, name)


def test_quota_down_to_held_is_saved_through_the_service(admin_client):
    ticket = TicketFactory(quota=10)
    hold(ticket, 6)

    response = admin_client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), ticket_post(ticket, quota=6, price=400_000)
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.quota, ticket.held, ticket.price) == (6, 6, 400_000)


def test_sale_window_closing_before_it_opens_is_a_form_error(admin_client):
    ticket = TicketFactory()

    response = admin_client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        ticket_post(ticket, valid_until=ticket.valid_from - timedelta(hours=1)),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["valid_until"] == [
        "The sale must close after it opens (after “Sale opens”)."
    ]


def test_new_ticket_with_a_bad_window_is_a_form_error(admin_client):
    event = EventFactory()
    start = timezone.now()
    data = ticket_post(
        Ticket(event=event, name="Student", price=150_000, quota=20, valid_from=start, valid_until=start),
    )

    response = admin_client.post(reverse("admin:tickets_ticket_add"), data)

    assert response.status_code == 200 and "valid_until" in response.context["adminform"].form.errors
    assert not Ticket.objects.filter(name="Student").exists()


def test_event_inline_refuses_quota_below_held_and_rolls_back_the_whole_save(admin_client):
    event = EventFactory(name="TEDxJakarta 2026")
    regular = TicketFactory(event=event, name="Regular", quota=10)
    student = TicketFactory(event=event, name="Student", quota=5)
    hold(regular, 4)
    url = reverse("admin:tickets_event_change", args=[event.pk])
    assert admin_client.get(url).status_code == 200

    # Student's quota is fine, Regular's is not: nothing at all is saved.
    response = admin_client.post(
        url, event_post(event, [regular, student]) | {"tickets-0-quota": 3, "tickets-1-quota": 8}
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors[0]["quota"] == [
        "4 seats of this phase are held by pending or paid orders right now; the quota cannot go below 4."
    ]
    regular.refresh_from_db()
    student.refresh_from_db()
    assert (regular.quota, regular.held, student.quota) == (10, 4, 5)


def test_event_inline_invalid_event_form_undoes_a_quota_already_set(admin_client):
    event = EventFactory()
    ticket = TicketFactory(event=event, quota=10)
    url = reverse("admin:tickets_event_change", args=[event.pk])

    response = admin_client.post(url, event_post(event, [ticket]) | {"tickets-0-quota": 20, "name": ""})

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.quota == 10  # set during validation, rolled back with the rest


def test_event_inline_saves_quota_and_window(admin_client):
    event = EventFactory()
    ticket = TicketFactory(event=event, quota=10)
    hold(ticket, 2)
    url = reverse("admin:tickets_event_change", args=[event.pk])
    closes = ticket.valid_until + timedelta(days=3)

    response = admin_client.post(
        url,
        event_post(event, [ticket])
        | {
            "tickets-0-quota": 2,
            "tickets-0-valid_until_0": local(closes)[0],
            "tickets-0-valid_until_1": local(closes)[1],
        },
    )

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    ticket.refresh_from_db()
    assert (ticket.quota, ticket.held) == (2, 2)
    assert ticket.valid_until.replace(microsecond=0) == closes.replace(microsecond=0)


@pytest.mark.parametrize("hours", [0, -2])
def test_an_event_ending_when_or_before_it_starts_is_a_form_error(admin_client, hours):
    event = EventFactory()
    ends = event.starts_at + timedelta(hours=hours)
    url = reverse("admin:tickets_event_change", args=[event.pk])

    response = admin_client.post(
        url, event_post(event, []) | {"ends_at_0": local(ends)[0], "ends_at_1": local(ends)[1], "venue": "Moved"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["ends_at"] == ["The event must end after it starts."]
    event.refresh_from_db()
    assert (event.ends_at, event.venue) == (None, "Gedung Kesenian")


def test_an_event_ending_after_it_starts_or_without_an_end_is_saved(admin_client):
    event = EventFactory()
    ends = event.starts_at + timedelta(hours=8)
    url = reverse("admin:tickets_event_change", args=[event.pk])

    assert admin_client.post(url, event_post(event, [])).status_code == 302  # no end: fine
    response = admin_client.post(
        url, event_post(event, []) | {"ends_at_0": local(ends)[0], "ends_at_1": local(ends)[1]}
    )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.ends_at.replace(microsecond=0) == ends.replace(microsecond=0)


def test_saving_a_form_never_writes_back_a_stale_held():
    ticket = TicketFactory(quota=10)
    data = ticket_post(ticket, name="Regular, lunch included")
    data |= {"valid_from": ticket.valid_from, "valid_until": ticket.valid_until}  # not split: a plain form
    form = TicketForm(data=data, instance=Ticket.objects.get(pk=ticket.pk))  # held read as 0
    assert form.is_valid(), form.errors
    hold(ticket, 3)  # a buyer reserves while the form is being saved

    form.save()

    ticket.refresh_from_db()
    assert (ticket.name, ticket.held) == ("Regular, lunch included", 3)


@pytest.mark.parametrize(("price", "valid"), [(0, True), (1, False), (99, False), (100, True)])
def test_a_price_no_payment_channel_takes_is_refused(price, valid):
    ticket = TicketFactory(quota=10)
    data = ticket_post(ticket, price=price)
    data |= {"valid_from": ticket.valid_from, "valid_until": ticket.valid_until}

    form = TicketForm(data=data, instance=Ticket.objects.get(pk=ticket.pk))

    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "at least Rp 100" in form.errors["price"][0]


def ticket_form(ticket, **changes) -> TicketForm:
    data = ticket_post(ticket, **changes)
    data |= {"valid_from": ticket.valid_from, "valid_until": ticket.valid_until}  # not split: a plain form
    return TicketForm(data=data, instance=Ticket.objects.get(pk=ticket.pk))


def test_a_price_above_what_xendit_takes_is_refused():
    form = ticket_form(TicketFactory(quota=10), price=50_000_000_001)

    assert form.errors["price"] == ["At most Rp 50.000.000.000: no payment channel takes more."]


@pytest.mark.parametrize(("price", "valid"), [(2_000_000, True), (2_000_001, False)])
def test_the_largest_price_follows_the_maximum_charge_setting(settings, price, valid):
    settings.MAXIMUM_CHARGE = 2_000_000

    form = ticket_form(TicketFactory(quota=10), price=price)

    assert form.is_valid() is valid, form.errors
    if not valid:
        assert form.errors["price"] == ["At most Rp 2.000.000: no payment channel takes more."]


@pytest.mark.parametrize(("quota", "valid"), [(1_000_000, True), (1_000_001, False)])
def test_a_quota_above_a_million_seats_is_refused(quota, valid):
    form = ticket_form(TicketFactory(quota=10), quota=quota)

    assert form.is_valid() is valid, form.errors
    if not valid:
        assert form.errors["quota"] == ["At most 1.000.000 seats."]


def test_a_quota_beyond_the_database_column_is_a_form_error_not_a_server_error(admin_client):
    # It used to reach the conditional UPDATE during validation and fail in the database.
    ticket = TicketFactory(quota=10)
    event = ticket.event

    on_its_page = admin_client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), ticket_post(ticket, quota=4_294_967_296)
    )
    in_the_event = admin_client.post(
        reverse("admin:tickets_event_change", args=[event.pk]),
        event_post(event, [ticket]) | {"tickets-0-quota": 4_294_967_296},
    )

    assert on_its_page.context["adminform"].form.errors["quota"] == ["At most 1.000.000 seats."]
    assert in_the_event.context["inline_admin_formsets"][0].formset.errors[0]["quota"] == ["At most 1.000.000 seats."]
    ticket.refresh_from_db()
    assert ticket.quota == 10


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"max_per_order": 0}, "max_per_order", "At least 1: an order of this phase has at least one ticket."),
        ({"max_per_order": -2}, "max_per_order", "At least 1: an order of this phase has at least one ticket."),
        ({"max_per_buyer": 0}, "max_per_buyer", "At least 1, or empty for no cap."),
        ({"max_per_buyer": -1}, "max_per_buyer", "At least 1, or empty for no cap."),
        ({"min_per_order": -1}, "min_per_order", "At least 1, or empty for 1."),
    ],
)
def test_limits_below_one_are_refused_on_their_field_in_plain_english(admin_client, changes, field, message):
    # Not the database rule's name ("Constraint “ticket_max_per_order_positive” is violated.").
    ticket = TicketFactory(max_per_order=5)

    response = admin_client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), ticket_post(ticket, **changes)
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {field: [message]}
    ticket.refresh_from_db()
    assert (ticket.max_per_order, ticket.max_per_buyer) == (5, None)


def test_a_limit_below_one_in_the_events_phases_is_refused_on_its_field(admin_client):
    event = EventFactory()
    ticket = TicketFactory(event=event)

    response = admin_client.post(
        reverse("admin:tickets_event_change", args=[event.pk]),
        event_post(event, [ticket]) | {"tickets-0-max_per_order": 0, "tickets-0-max_per_buyer": 0},
    )

    assert response.context["inline_admin_formsets"][0].formset.errors[0] == {
        "max_per_order": ["At least 1: an order of this phase has at least one ticket."],
        "max_per_buyer": ["At least 1, or empty for no cap."],
    }


@pytest.mark.parametrize(("typed", "kept"), [("", 1), (0, 1), (2, 2)])
def test_a_minimum_per_order_left_empty_or_0_is_1(typed, kept):
    form = ticket_form(TicketFactory(), min_per_order=typed)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["min_per_order"] == kept


def test_ticket_quota_set():
    ticket = TicketFactory(quota=10)
    hold(ticket, 4)

    assert ticket_quota_set(ticket_id=ticket.pk, quota=4) is True
    assert ticket_quota_set(ticket_id=ticket.pk, quota=3) is False
    ticket.refresh_from_db()
    assert (ticket.quota, ticket.held) == (4, 4)
    with pytest.raises(TicketNotFound):
        ticket_quota_set(ticket_id=ticket.pk + 1000, quota=5)
    with pytest.raises(ValueError):
        ticket_quota_set(ticket_id=ticket.pk, quota=-1)


def test_ticket_and_event_pages_render(admin_client):
    ticket = TicketFactory()
    hold(ticket, 1)
    for url in [
        reverse("admin:tickets_event_changelist"),
        reverse("admin:tickets_event_change", args=[ticket.event_id]),
        reverse("admin:tickets_event_add"),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_a_phase_on_its_own_page_and_in_the_list_uses_its_events_zone(admin_client):
    bali = EventFactory(name="TEDxUbud", time_zone="Asia/Makassar")
    ticket = TicketFactory(event=bali, name="Early bird", valid_from=datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    page = admin_client.get(url).content.decode()
    assert 'name="valid_from_1" value="09:00:00"' in page  # 01:00 UTC is 09:00 in Bali

    data = ticket_post(ticket) | {"valid_from_0": "2026-11-02", "valid_from_1": "10:00:00"}
    assert admin_client.post(url, data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.valid_from == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 WITA
    listing = admin_client.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    assert "2026-11-02 10:00 WITA" in listing


@pytest.mark.parametrize(
    "change",
    [
        {"venue": "Sabuga"},
        {"city": "Makassar"},
        {"starts_at_0": "2031-01-02"},
        {"ends_at_0": "2031-12-31", "ends_at_1": "23:00:00"},
    ],
)
def test_a_new_date_or_venue_for_a_paid_event_is_sent_to_event_moved(admin_client, change):
    """Typed on the event's own form, a new date or venue would reach no buyer."""
    event = EventFactory()
    OrderFactory(event=event, status=OrderStatus.PAID)
    before = Event.objects.get(pk=event.pk)
    url = reverse("admin:tickets_event_change", args=[event.pk])

    response = admin_client.post(url, event_post(event, []) | change | {"description": "Updated line-up"})

    assert response.status_code == 200
    form = response.context["adminform"].form
    moved_field = next(iter(change)).removesuffix("_0")
    assert moved_field in form.errors
    page = response.content.decode()
    assert "1 paid order(s) for this event" in page
    assert f'href="{reverse("admin:orders_eventmove_start", args=[event.pk])}"' in page
    event.refresh_from_db()
    assert (event.venue, event.city, event.starts_at, event.ends_at, event.description) == (
        before.venue,
        before.city,
        before.starts_at,
        before.ends_at,
        before.description,
    )


def test_a_paid_events_clock_is_changed_through_event_moved(admin_client):
    """The same moment on another clock still changes what the tickets say (09:00 WIB, then
    10:00 WITA): the buyers hear of it through “Event moved”, which can change the zone."""
    event = EventFactory(time_zone="Asia/Jakarta")
    OrderFactory(event=event, status=OrderStatus.PAID)
    on_bali_clock = timezone.localtime(event.starts_at, ZoneInfo("Asia/Makassar"))
    url = reverse("admin:tickets_event_change", args=[event.pk])

    response = admin_client.post(
        url,
        event_post(event, [])
        | {
            "time_zone": "Asia/Makassar",
            "starts_at_0": on_bali_clock.strftime("%Y-%m-%d"),
            "starts_at_1": on_bali_clock.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "time_zone" in form.errors and "starts_at" not in form.errors  # the moment itself did not change
    event.refresh_from_db()
    assert event.time_zone == "Asia/Jakarta"


def test_a_paid_event_keeps_its_other_fields_editable_and_an_unpaid_one_moves_freely(admin_client):
    paid_event = EventFactory()
    OrderFactory(event=paid_event, status=OrderStatus.PAID)
    unsold = EventFactory()
    OrderFactory(event=unsold, status=OrderStatus.PENDING)  # not told by a move either

    unchanged_times = admin_client.post(
        reverse("admin:tickets_event_change", args=[paid_event.pk]),
        event_post(paid_event, []) | {"description": "Updated line-up", "venue": f"  {paid_event.venue} "},
    )
    moved = admin_client.post(
        reverse("admin:tickets_event_change", args=[unsold.pk]), event_post(unsold, []) | {"venue": "Sabuga"}
    )

    assert unchanged_times.status_code == 302
    assert moved.status_code == 302
    paid_event.refresh_from_db()
    unsold.refresh_from_db()
    assert paid_event.description == "Updated line-up"
    assert unsold.venue == "Sabuga"


def test_a_paid_events_end_refused_for_its_own_reason_is_not_also_called_a_move(admin_client):
    event = EventFactory()
    event.ends_at = event.starts_at + timedelta(hours=8)
    event.save()
    OrderFactory(event=event, status=OrderStatus.PAID)
    ends = event.starts_at - timedelta(hours=1)

    response = admin_client.post(
        reverse("admin:tickets_event_change", args=[event.pk]),
        event_post(event, []) | {"ends_at_0": local(ends)[0], "ends_at_1": local(ends)[1]},
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["ends_at"] == ["The event must end after it starts."]
    assert "starts_at" not in form.errors and not form.non_field_errors()


@pytest.mark.parametrize("with_end", [True, False])
def test_a_sale_window_past_the_event_is_refused(admin_client, with_end):
    """A phase left on sale after the event would sell seats for an event that is over."""
    event = EventFactory(time_zone="Asia/Makassar", starts_at=datetime(2031, 3, 6, 1, 0, tzinfo=UTC))  # 09:00 WITA
    event.ends_at = event.starts_at + timedelta(hours=8) if with_end else None
    event.save()
    ticket = TicketFactory(event=event)
    last = event.ends_at or event.starts_at
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    with timezone.override(ZoneInfo(event.time_zone)):  # the form is typed on the event's clock
        too_late, at_the_end = (
            ticket_post(ticket, valid_until=last + timedelta(minutes=1)),
            ticket_post(ticket, valid_until=last),
        )
    refused = admin_client.post(url, too_late)
    allowed = admin_client.post(url, at_the_end)

    assert refused.status_code == 200
    [message] = refused.context["adminform"].form.errors["valid_until"]
    closing = "end: 2031-03-06 17:00 WITA" if with_end else "start (it has no end set): 2031-03-06 09:00 WITA"
    assert message == f"Sales must close by the event's {closing}."
    assert allowed.status_code == 302
    ticket.refresh_from_db()
    assert ticket.valid_until == last
