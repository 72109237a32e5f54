"""“Cancel event and refund everyone”: the dry run, runs that stop half-way (time budget,
Xendit faults) and carry on, never a second refund of an order, and the admin pages.
Refunds go over real HTTP to the simulator."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from orders.checkout.event_cancellation import (
    event_cancellation_preview,
    event_cancellation_progress,
    event_cancellation_run,
    event_cancellation_start,
)
from orders.checkout.refunds import order_refund
from orders.models import EventCancellation, EventCancellationStatus, Order, OrderStatus
from orders.tests.bulk_paid_orders import PRICE, paid_orders_in_bulk
from payments.models import Payment, Refund, RefundStatus
from payments.tests.conftest import order_with_payment
from tedxpay.core.admin_records import jakarta_time
from tedxpay.core.errors import Conflict
from tickets.models import Ticket
from tickets.tests.factories import EventFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def event(db):
    return EventFactory()


@pytest.fixture
def no_tasks(monkeypatch):
    """Runs are driven by the test itself, not by the task queued after commit."""
    monkeypatch.setattr("orders.checkout.event_cancellation.event_cancellation_continue", lambda *args, **kwargs: None)


def one_refund_per_order_at_xendit(simulator, orders) -> None:
    payments = {p.invoice_id: p for p in Payment.objects.filter(order__in=orders)}
    at_xendit = [r for r in simulator.refunds() if r["invoice_id"] in payments]
    assert sorted(r["invoice_id"] for r in at_xendit) == sorted(
        p.invoice_id for p in payments.values() if p.method in ("EWALLET", "QR_CODE", "CREDIT_CARD")
    )
    ours = set(Refund.objects.filter(order__in=orders).values_list("reference", flat=True))
    assert {r["reference_id"] for r in at_xendit} <= ours


def test_the_dry_run_changes_nothing(event):
    paid_orders_in_bulk(event=event, count=5, channels=("DANA", "BCA", "QRIS"))
    order_with_payment(ticket=Ticket.objects.get(event=event), quantity=1)  # a pending one

    preview = event_cancellation_preview(event_id=event.pk)

    assert (preview.paid_orders, preview.pending_orders) == (5, 1)
    assert preview.to_refund == 5 * PRICE
    assert (preview.through_xendit, preview.manual) == (3, 2)  # DANA, QRIS, DANA / BCA, BCA
    assert sorted(channel for channel, _, _ in preview.by_channel) == ["BCA", "DANA", "QRIS"]
    assert not Refund.objects.exists() and not EventCancellation.objects.exists()
    assert Order.objects.filter(event=event, status=OrderStatus.PAID).count() == 5


def test_runs_cut_short_by_time_and_faults_carry_on_and_refund_each_order_once(event, xendit_simulator, no_tasks):
    orders = paid_orders_in_bulk(event=event, count=12, channels=("DANA", "OVO", "BCA"))
    pending = order_with_payment(ticket=Ticket.objects.get(event=event), quantity=1).order
    cancellation = event_cancellation_start(event_id=event.pk, requested_by="siti", note="venue flooded")
    assert not Ticket.objects.filter(event=event, is_active=True).exists()  # sales stop at once
    with pytest.raises(Conflict):
        event_cancellation_start(event_id=event.pk, requested_by="budi")

    first = event_cancellation_run(cancellation_id=cancellation.pk, time_budget=timedelta(0))
    assert not first.finished and first.refunds_asked == 0  # out of time before the first order
    pending.refresh_from_db()
    assert pending.status == OrderStatus.CANCELLED

    # Xendit fails for a while: every order of this run, and the run's own second try of each.
    xendit_simulator.inject_fault("refund", "error", status=503, count=24)
    second = event_cancellation_run(cancellation_id=cancellation.pk)
    assert not second.finished  # no refund could be asked: all still requested, none lost
    assert Refund.objects.filter(order__event=event, status=RefundStatus.REQUESTED).count() == 12
    assert not Order.objects.filter(event=event, status=OrderStatus.PAID).exists()

    third = event_cancellation_run(cancellation_id=cancellation.pk)
    assert third.finished
    cancellation.refresh_from_db()
    assert cancellation.status == EventCancellationStatus.FINISHED and cancellation.runs == 3

    refunds = Refund.objects.filter(order__event=event)
    assert refunds.count() == 12 and sorted(set(refunds.values_list("order_id", flat=True))) == [o.pk for o in orders]
    assert refunds.filter(status=RefundStatus.PENDING).count() == 8  # DANA and OVO
    assert refunds.filter(status=RefundStatus.MANUAL).count() == 4  # BCA: finance transfers
    one_refund_per_order_at_xendit(xendit_simulator, orders)
    assert all(p.refundable == 0 for p in Payment.objects.filter(order__in=orders))
    # Seats are not put back on sale for a cancelled event; every buyer is told.
    assert Ticket.objects.get(event=event, price=PRICE).held == 12
    assert Notification.objects.filter(order__event=event, kind=NotificationKind.ORDER_CANCELLED).count() == 13
    # A run after the end, or finance refunding one of the orders again, changes nothing.
    assert event_cancellation_run(cancellation_id=cancellation.pk).finished
    with pytest.raises(Exception):  # noqa: B017 (RefundTooLarge or IllegalTransition)
        order_refund(order_id=orders[0].pk, requested_by="finance", cancel=True)
    assert Refund.objects.filter(order__event=event).count() == 12


def test_the_admin_shows_the_dry_run_then_starts_and_shows_progress(client, event, xendit_simulator, no_tasks):
    paid_orders_in_bulk(event=event, count=3)
    user = User.objects.create_user("finance", password="pw", is_staff=True)
    for codename in ("view_event", "change_event", "view_eventcancellation"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    start = reverse("admin:orders_eventcancellation_start", args=[event.pk])
    assert client.get(start).status_code == 403  # needs its own permission
    user.user_permissions.add(Permission.objects.get(codename="cancel_event"))

    action = client.post(
        reverse("admin:tickets_event_changelist"), {"action": "cancel_event", "_selected_action": [event.pk]}
    )
    assert action.status_code == 302 and action["Location"] == start
    page = client.get(start).content.decode()
    assert "Dry run" in page and 'class="paid-orders">3<' in page and "Rp 300.000" in page
    assert client.post(start, {"note": "no venue"}).status_code == 200  # "I understand" not ticked
    assert not EventCancellation.objects.exists()

    response = client.post(start, {"note": "no venue", "confirm": "on"})

    cancellation = EventCancellation.objects.get()
    assert response["Location"] == reverse("admin:orders_eventcancellation_change", args=[cancellation.pk])
    event_cancellation_run(cancellation_id=cancellation.pk)
    progress = client.get(response["Location"]).content.decode()
    assert "Pending at Xendit: 3" in progress and "Finished" in progress
    assert f"Cancellation of {event.name}" in progress  # named, not "cancellation of 2"
    # A second start goes to the running cancellation instead of making another.
    assert client.get(start)["Location"] == response["Location"]


def test_the_progress_counts_the_cancellations_refunds_not_the_events_earlier_ones(event, xendit_simulator, no_tasks):
    orders = paid_orders_in_bulk(event=event, count=2)
    goodwill = order_refund(order_id=orders[0].pk, requested_by="finance", amount=10_000)
    xendit_simulator.refund_succeed(goodwill.gateway_refund_id)
    assert Refund.objects.get(pk=goodwill.pk).status == RefundStatus.SUCCEEDED
    cancellation = event_cancellation_start(event_id=event.pk, requested_by="siti", note="venue flooded")

    event_cancellation_run(cancellation_id=cancellation.pk)
    for refund in Refund.objects.filter(order__event=event, status=RefundStatus.PENDING):
        xendit_simulator.refund_succeed(refund.gateway_refund_id)

    progress = event_cancellation_progress(cancellation=EventCancellation.objects.get(pk=cancellation.pk))
    assert progress["refunds"]["Succeeded"] == 2  # the cancellation's two, not the earlier goodwill refund
    assert progress["refunded_amount"] == 2 * PRICE - 10_000


def test_a_cancelled_events_phases_cannot_go_back_on_sale(admin_client, event, no_tasks):
    paid_orders_in_bulk(event=event, count=1)
    ticket = Ticket.objects.get(event=event)
    event_cancellation_start(event_id=event.pk, requested_by="siti", note="venue flooded")
    event.refresh_from_db()
    assert event.cancelled_at is not None
    listing = admin_client.get(reverse("admin:tickets_event_changelist")).content.decode()
    assert "column-cancelled" in listing and jakarta_time(event.cancelled_at) in listing

    # Buyers who open the event's page are told (in Indonesian, the default).
    public = admin_client.get(f"/events/{event.slug}/").content.decode()
    assert 'id="event-cancelled"' in public and "Acara ini dibatalkan" in public
    assert 'id="checkout"' not in public  # no form to fill in for nothing
    # The phase's own form, ticked on sale again: a form error, nothing saved.
    change = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data |= {
        "event": event.pk,
        "is_active": "on",
        "valid_from_0": "2026-01-01",
        "valid_from_1": "00:00:00",
        "valid_until_0": "2030-01-01",
        "valid_until_1": "00:00:00",
    }
    response = admin_client.post(change, data)

    assert response.status_code == 200
    assert "This event was cancelled" in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.is_active
