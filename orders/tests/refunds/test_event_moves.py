"""“Event moved”: finance records a new date or venue, every paid order's buyer is told
once, and until the refund window closes a buyer who cannot come cancels on the order page
for a full refund (real SDK against the simulator over HTTP, emails rendered by the send
task). The race of many clicks at once is proven on MariaDB."""

# ruff: noqa: F811

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.checkout.event_cancellation import event_cancellation_start
from orders.checkout.event_moves import event_move_record, move_refund_window
from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import EventMove, EventSource, OrderEvent, OrderStatus
from orders.tests.factories import OrderFactory
from payments.models import Refund, RefundStatus
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture)
from tedxpay.core.errors import Conflict, InvalidInput
from tedxpay.core.tests.concurrency import run_together
from tickets.models import EventTimeZone
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid(placed_order, xendit_simulator, celery_eager):
    def make(channel="DANA", quantity=2, price=150_000, ticket=None):
        kwargs = {"quantity": quantity, "price": price} | ({"ticket": ticket} if ticket else {})
        payment = placed_order(**kwargs)
        xendit_simulator.pay(payment.invoice_id, channel=channel)
        payment.refresh_from_db()
        assert payment.order.status == OrderStatus.PAID
        mail.outbox.clear()
        return payment

    return make


def move(event, *, days=30, refunds_days=7, venue="Gedung Sate", message="Aula utama direnovasi.", **kwargs):
    now = timezone.now()
    return event_move_record(
        event_id=event.pk,
        starts_at=kwargs.pop("starts_at", now + timedelta(days=days)),
        ends_at=kwargs.pop("ends_at", None),
        venue=venue,
        city=kwargs.pop("city", "Bandung"),
        refunds_until=kwargs.pop("refunds_until", now + timedelta(days=refunds_days)),
        message=message,
        requested_by="rina",
        time_zone=kwargs.pop("time_zone", None),
    )


def order_page(order):
    return reverse("order-detail", args=[order.code, order.link_secret])


def cancel_url(order):
    return reverse("order-cancel-after-move", args=[order.code, order.link_secret])


def test_a_move_changes_the_event_keeps_the_old_date_and_emails_each_paid_buyer_once(paid):
    first, second = paid(), paid()
    event = first.order.event
    second.order.event = event  # two buyers of one event
    second.order.save(update_fields=["event"])
    pending = OrderFactory(event=event)
    old_start, old_venue = event.starts_at, event.venue

    moved = move(event)

    event.refresh_from_db()
    assert event.venue == "Gedung Sate" and event.city == "Bandung" and event.starts_at == moved.new_starts_at
    assert (moved.old_starts_at, moved.old_venue, moved.paid_orders_told) == (old_start, old_venue, 2)
    told = Notification.objects.filter(kind=NotificationKind.EVENT_MOVED)
    assert sorted(told.values_list("order_id", flat=True)) == sorted([first.order_id, second.order_id])
    assert not told.filter(order=pending).exists()
    assert set(told.values_list("status", flat=True)) == {NotificationStatus.SENT}
    [email, _] = sorted(mail.outbox, key=lambda m: m.to[0] != first.order.buyer.email)
    assert email.to == [first.order.buyer.email]
    body = email.body
    assert "Gedung Sate" in body and old_venue in body and "Aula utama direnovasi." in body
    assert order_page(first.order) in body  # the private page, where the buyer may cancel
    html = email.alternatives[0][0]
    assert "Gedung Sate" in html and order_page(first.order) in html


def test_the_email_carries_the_new_date_for_the_calendar_as_a_newer_version_of_the_same_entry(client, paid):
    payment = paid()
    order = payment.order
    before = icalendar.Calendar.from_ical(
        client.get(reverse("order-calendar", args=[order.code, order.link_secret])).content
    )

    moved = move(order.event, venue="Sabuga")

    [email] = mail.outbox
    [(filename, content, mimetype)] = [a for a in email.attachments if a[0].endswith(".ics")]
    assert (filename, mimetype) == (f"{order.code}.ics", "text/calendar")
    assert f"File kalender terlampir ({order.code}.ics)" in email.body  # the buyer is told what it is
    [old] = before.walk("VEVENT")
    [new] = icalendar.Calendar.from_ical(content).walk("VEVENT")
    assert new["UID"] == old["UID"]
    assert (old["SEQUENCE"], new["SEQUENCE"]) == (0, 1)  # calendars replace an entry only by a higher one
    assert new.decoded("DTSTART") == moved.new_starts_at.astimezone(UTC).replace(microsecond=0)
    assert "Sabuga" in str(new["LOCATION"])
    page = client.get(reverse("order-calendar", args=[order.code, order.link_secret])).content
    assert icalendar.Calendar.from_ical(page).walk("VEVENT")[0]["SEQUENCE"] == 1


def test_the_email_speaks_the_orders_language(paid):
    payment = paid()
    payment.order.language = "en"
    payment.order.save(update_fields=["language"])

    move(payment.order.event)

    [email] = mail.outbox
    assert "has moved" in email.subject and "Cannot come?" in email.body
    payment.order.language = "id"
    payment.order.save(update_fields=["language"])
    mail.outbox.clear()
    move(payment.order.event, venue="Sabuga")
    [email] = mail.outbox
    assert "pindah jadwal atau tempat" in email.subject and "Tidak bisa datang?" in email.body


def test_a_second_move_tells_the_buyers_again(paid):
    payment = paid()
    move(payment.order.event, venue="Gedung Sate")
    move(payment.order.event, venue="Sabuga", days=40)
    assert Notification.objects.filter(order=payment.order, kind=NotificationKind.EVENT_MOVED).count() == 2
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    "change, field",
    [
        ({"starts_at": timezone.now() - timedelta(days=1)}, "starts_at"),
        ({"refunds_until": timezone.now() - timedelta(minutes=1)}, "refunds_until"),
        ({"days": 5, "refunds_days": 6}, "refunds_until"),
        ({"venue": "   "}, "venue"),
        ({"time_zone": "Asia/Singapore"}, "time_zone"),
    ],
)
def test_a_move_buyers_cannot_act_on_is_refused_with_nothing_written(paid, change, field):
    payment = paid()
    event = payment.order.event
    venue_before = event.venue

    with pytest.raises(InvalidInput) as refused:
        move(event, **change)

    assert field in refused.value.details
    event.refresh_from_db()
    assert event.venue == venue_before
    assert not EventMove.objects.exists() and not Notification.objects.filter(kind="event_moved").exists()


def test_a_move_that_changes_nothing_is_refused(paid):
    event = paid().order.event
    with pytest.raises(InvalidInput, match="cannot be recorded"):
        event_move_record(
            event_id=event.pk,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            venue=event.venue,
            city=event.city,
            refunds_until=timezone.now() + timedelta(hours=1),
            message="",
            requested_by="rina",
        )


def test_a_move_to_a_city_on_another_clock_shows_each_time_on_its_own(paid, client):
    payment = paid()
    payment.order.language = "en"
    payment.order.save(update_fields=["language"])
    event = payment.order.event
    event.time_zone = EventTimeZone.WIB
    event.starts_at = datetime(2027, 3, 6, 2, 0, tzinfo=UTC)  # 09:00 WIB in Jakarta
    event.save(update_fields=["time_zone", "starts_at"])

    moved = move(
        event,
        venue="Bali Nusa Dua Convention Center",
        city="Badung",
        time_zone=EventTimeZone.WITA,
        starts_at=datetime(2027, 3, 13, 1, 0, tzinfo=UTC),  # 09:00 WITA in Bali
        refunds_until=datetime(2027, 3, 6, 15, 59, tzinfo=UTC),  # 23:59 WITA
    )

    event.refresh_from_db()
    assert event.time_zone == EventTimeZone.WITA  # every page, e-ticket and export now reads Bali's clock
    assert (moved.old_time_zone, moved.new_time_zone) == (EventTimeZone.WIB, EventTimeZone.WITA)
    [email] = mail.outbox
    assert "Before: Saturday, 6 March 2027, 09:00 WIB" in email.body
    assert "Now:    Saturday, 13 March 2027, 09:00 WITA" in email.body
    assert "Until 6 Mar 2027, 23:59 WITA" in email.body
    page = client.get(order_page(payment.order), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Saturday, 13 March 2027, 09:00 WITA" in page and "23:59 WITA" in page


def test_a_new_clock_alone_is_a_move(paid):
    """The same moment named on another clock: the tickets' "09:00 WIB" becomes "10:00 WITA"."""
    event = paid().order.event
    moved = event_move_record(
        event_id=event.pk,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        venue=event.venue,
        city=event.city,
        time_zone=EventTimeZone.WITA if event.time_zone != EventTimeZone.WITA else EventTimeZone.WIB,
        refunds_until=min(event.starts_at, timezone.now() + timedelta(days=1)) - timedelta(minutes=1),
        message="",
        requested_by="rina",
    )
    assert moved.old_time_zone != moved.new_time_zone and moved.paid_orders_told == 1


def test_a_cancelled_event_cannot_move(paid):
    event = paid().order.event
    event_cancellation_start(event_id=event.pk, requested_by="rina", note="venue flooded")
    with pytest.raises(Conflict) as refused:
        move(event)
    assert refused.value.code == "event_cancelled"


def test_the_buyer_cancels_on_the_order_page_and_gets_the_money_back(paid, xendit_simulator, client):
    payment = paid("DANA")
    order = payment.order
    ticket = order.items.get().ticket
    held_before = ticket.held
    move(order.event)

    page = client.get(order_page(order))
    assert page.status_code == 200
    assert 'id="event-moved"' in page.text and "Gedung Sate" in page.text and "Rp 300.000" in page.text

    answer = client.post(cancel_url(order), {"confirm": "yes", "expected_refunds": "0"})

    assert answer.status_code == 302 and answer["Location"].endswith("?moved=cancelled")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.issued_tickets.filter(voided_at__isnull=True).count() == 0
    ticket.refresh_from_db()
    assert ticket.held == held_before - 2  # the seats are back on sale: the event still happens
    [refund] = Refund.objects.filter(payment=payment)
    assert refund.amount == 300_000 and refund.status == RefundStatus.PENDING
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    audit = OrderEvent.objects.get(order=order, to_status=OrderStatus.CANCELLED)
    assert audit.source == "buyer" and "event moved" in audit.note
    after = client.get(answer["Location"])
    assert 'id="cancelled-after-move"' in after.text and 'id="event-moved"' not in after.text
    kinds = set(Notification.objects.filter(order=order).values_list("kind", flat=True))
    assert {NotificationKind.ORDER_CANCELLED, NotificationKind.REFUND_STARTED} <= kinds


def test_without_the_confirmation_nothing_happens(paid, client):
    payment = paid()
    move(payment.order.event)
    answer = client.post(cancel_url(payment.order), {"expected_refunds": "0"})
    assert answer.status_code == 400 and 'id="move-error"' in answer.text
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID and not Refund.objects.exists()


def test_after_the_window_closes_the_page_offers_nothing_and_a_post_is_refused(paid, client):
    payment = paid()
    order = payment.order
    moved = move(order.event)
    EventMove.objects.filter(pk=moved.pk).update(refunds_until=timezone.now() - timedelta(seconds=1))

    assert 'id="event-moved"' not in client.get(order_page(order)).text
    answer = client.post(cancel_url(order), {"confirm": "yes", "expected_refunds": "0"})

    assert answer.status_code == 409 and "sudah lewat" in answer.text  # the order speaks Indonesian
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and not Refund.objects.exists()


def test_an_order_placed_after_the_move_is_not_offered_a_refund(paid):
    payment = paid()
    move(payment.order.event)
    later = paid(ticket=payment.order.items.get().ticket)
    assert move_refund_window(payment.order) is not None
    assert move_refund_window(later.order) is None


def test_opened_as_a_page_it_is_the_orders_page(paid, client):
    payment = paid()
    move(payment.order.event)
    answer = client.get(cancel_url(payment.order))
    assert answer.status_code == 302 and answer["Location"] == order_page(payment.order)
    assert client.get(reverse("order-cancel-after-move", args=[payment.order.code, "x" * 43])).status_code == 404
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID


def test_a_wrong_secret_is_a_404_and_changes_nothing(paid, client):
    payment = paid()
    move(payment.order.event)
    answer = client.post(
        reverse("order-cancel-after-move", args=[payment.order.code, "x" * 43]),
        {"confirm": "yes", "expected_refunds": "0"},
    )
    assert answer.status_code == 404
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID


def test_a_free_order_is_cancelled_without_a_refund(celery_eager, client):
    ticket = TicketFactory(price=0, quota=10, max_per_order=5)
    order = order_place(
        full_name="Budi Santoso",
        email="budi@example.com",
        phone="0812 3456 7890",
        items=[OrderLineRequest(ticket.pk, 2)],
        source=EventSource.CHECKOUT,
    )
    assert order.status == OrderStatus.PAID
    move(order.event)
    assert "someone else can have the seats" in client.get(order_page(order)).text  # placed in English

    answer = client.post(cancel_url(order), {"confirm": "yes", "expected_refunds": "0"})

    assert answer.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and not Refund.objects.exists()
    ticket.refresh_from_db()
    assert ticket.held == 0


def test_a_page_shown_before_a_refund_by_finance_is_refused(paid, client):
    from orders.checkout.refunds import order_refund

    payment = paid()
    move(payment.order.event)
    order_refund(order_id=payment.order_id, requested_by="finance", amount=100_000)  # partial, order stays PAID

    answer = client.post(cancel_url(payment.order), {"confirm": "yes", "expected_refunds": "0"})

    assert answer.status_code == 409 and "Ada perubahan pada pesanan ini" in answer.text
    assert Refund.objects.filter(payment=payment).count() == 1


def test_the_move_email_is_not_sent_for_an_order_cancelled_before_it_goes_out(paid):
    from notifications.services import notification_send
    from orders.checkout.refunds import order_refund

    payment = paid()
    moved = move(payment.order.event)
    notification = Notification.objects.get(kind=NotificationKind.EVENT_MOVED)
    # As if its send had waited (a worker down) while the buyer took the refund.
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.PENDING, sent_at=None)
    order_refund(order_id=payment.order_id, requested_by="finance", cancel=True)

    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.OBSOLETE and notification.refund_reference == moved.reference


@pytest.mark.mysql
def test_ten_clicks_at_once_make_one_refund_at_xendit(paid, xendit_simulator):
    payment = paid("DANA")
    order = payment.order
    move(order.event)

    def click():
        return Client().post(cancel_url(order), {"confirm": "yes", "expected_refunds": "0"}).status_code

    answers = run_together(*[click] * 10)

    assert sorted(answers) == [302] + [409] * 9, answers
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    [refund] = Refund.objects.filter(payment=payment)
    assert refund.amount == 300_000
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.CANCELLED).count() == 1
    assert Notification.objects.filter(order=order, kind=NotificationKind.ORDER_CANCELLED).count() == 1
