"""Sales at a glance: the numbers for a known set of orders, in a bounded number of queries."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import EventSource, OrderStatus
from orders.services import order_cancel, order_expire
from orders.tests.back_office.test_admin_orders import pay
from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.tests.factories import PaymentFactory
from tedxpay.core.admin_records import JAKARTA
from tickets.services import stock_reserve
from tickets.tests.factories import EventFactory, TicketFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:orders_order_dashboard")


def buy(*lines):
    """A PENDING order for (ticket, quantity) lines, seats held, with its payment."""
    event = lines[0][0].event
    with transaction.atomic():
        stock_reserve(quantities={ticket.pk: quantity for ticket, quantity in lines}, now=timezone.now())
        order = OrderFactory(event=event, total=sum(ticket.price * quantity for ticket, quantity in lines))
        for ticket, quantity in lines:
            OrderItemFactory(order=order, ticket=ticket, quantity=quantity)
        return PaymentFactory(order=order)


@pytest.fixture
def known_sales():
    """TEDxJakarta: Regular (Rp 350.000, quota 10) and Student (Rp 150.000, quota 5).

    - A: 2 Regular + 1 Student, paid today                 → PAID, Rp 850.000
    - B: 1 Regular, paid 3 days ago, Rp 50.000 short        → PAID, needs attention, Rp 300.000 received
    - C: 3 Regular, pending                                 → held, not sold
    - D: 1 Student, cancelled                               → seats back
    - E: 1 Regular, expired, then paid (seats still there)  → PAID today (late payment), Rp 350.000
    An empty second event, and an old paid order 20 days ago (outside the 14-day chart).
    """
    now = timezone.now()
    event = EventFactory(name="TEDxJakarta 2026")
    regular = TicketFactory(event=event, name="Regular", price=350_000, quota=10, sort_order=1)
    student = TicketFactory(event=event, name="Student", price=150_000, quota=5, sort_order=2)
    empty = EventFactory(name="TEDxBandung 2027")
    TicketFactory(event=empty, name="Regular", price=200_000, quota=50)

    pay(buy((regular, 2), (student, 1)), channel="BCA", paid_at=now)
    pay(buy((regular, 1)), channel="OVO", paid_amount=300_000, paid_at=now - timedelta(days=3))
    buy((regular, 3))
    order_cancel(order_id=buy((student, 1)).order_id, source=EventSource.ADMIN)
    late = buy((regular, 1))
    order_expire(order_id=late.order_id)
    pay(late, channel="QRIS", paid_at=now)
    old = buy((student, 1))
    pay(old, channel="BCA", paid_at=now - timedelta(days=20))
    return {"event": event, "empty": empty, "regular": regular, "student": student, "now": now}


def test_dashboard_numbers_for_a_known_dataset(admin_client, known_sales, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        response = admin_client.get(DASHBOARD)
        html = response.content.decode()  # rendering included: no query per row in the template

    assert response.status_code == 200
    overview = response.context["overview"]
    sales = {item.event.name: item for item in overview.events}
    jakarta = sales["TEDxJakarta 2026"]

    phases = {phase.ticket.name: phase for phase in jakarta.phases}
    regular, student = phases["Regular"], phases["Student"]
    assert (regular.sold, regular.held, regular.pending, regular.available, regular.quota) == (4, 7, 3, 3, 10)
    assert (student.sold, student.held, student.pending, student.available, student.quota) == (2, 2, 0, 3, 5)
    assert jakarta.revenue == 850_000 + 300_000 + 350_000 + 150_000
    assert jakarta.to_refund == 0
    assert jakarta.orders_by_status == {OrderStatus.PAID: 4, OrderStatus.PENDING: 1, OrderStatus.CANCELLED: 1}
    assert jakarta.needs_attention == 1

    today = timezone.localtime(known_sales["now"], JAKARTA).date()
    bars = {bar.day: bar.orders for bar in jakarta.days}
    assert len(jakarta.days) == 14 and jakarta.days[-1].day == today
    assert bars[today] == 2
    assert bars[today - timedelta(days=3)] == 1
    assert sum(bars.values()) == 3  # the order paid 20 days ago is outside the chart
    assert max(bar.height for bar in jakarta.days) == 120

    bandung = sales["TEDxBandung 2027"]
    assert bandung.revenue == 0 and bandung.orders_by_status == {} and sum(b.orders for b in bandung.days) == 0
    assert overview.revenue == 1_650_000 and overview.paid_orders == 4 and overview.needs_attention == 1

    assert "Rp 1.650.000" in html  # the event's revenue and the total, in rupiah
    assert "<svg" in html and "Paid orders per day" in html
    assert "needs_attention__exact=1" in html


def test_money_for_an_order_that_did_not_get_its_seats_is_shown_as_to_refund(admin_client):
    ticket = TicketFactory(name="Regular", price=350_000, quota=1)
    payment = buy((ticket, 1))
    order_expire(order_id=payment.order_id)
    buy((ticket, 1))  # someone else takes the last seat
    pay(payment, paid_at=timezone.now())

    response = admin_client.get(DASHBOARD)

    sales = response.context["overview"].events[0]
    assert sales.revenue == 350_000 and sales.to_refund == 350_000 and sales.needs_attention == 1
    assert "of which to refund" in response.content.decode()


def test_dashboard_is_linked_from_the_admin_index_and_the_order_list(admin_client):
    assert DASHBOARD in admin_client.get(reverse("admin:index")).content.decode()
    assert DASHBOARD in admin_client.get(reverse("admin:orders_order_changelist")).content.decode()


def test_dashboard_needs_staff(client, django_user_model):
    assert client.get(DASHBOARD).status_code == 302  # to the login page
    user = django_user_model.objects.create_user("volunteer", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == 403
