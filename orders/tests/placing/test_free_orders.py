"""Free tickets (price 0): an order whose total is 0 never goes to Xendit, which refuses a
0 IDR invoice. It is confirmed in the placing transaction through the usual transitions:
payment PAID (0, method FREE), order PAID, e-tickets issued, confirmation email sent.

Xendit points at a closed port in these tests: any gateway call would fail the order."""

import pytest
from django.core import mail

from notifications.models import Notification, NotificationKind
from orders.checkout.placing import FREE_PAYMENT_METHOD, OrderLineRequest, order_place
from orders.errors import PaymentGatewayUnavailable
from orders.models import EventSource, Order, OrderStatus
from orders.tests.conftest import order_body
from orders.tests.pages.test_checkout_pages import checkout_post
from payments.models import PaymentStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_xendit(settings, closed_port):
    settings.XENDIT_BASE_URL = f"http://127.0.0.1:{closed_port}"


@pytest.fixture
def free_ticket():
    return TicketFactory(event__slug="tedxfree", name="Community", price=0, quota=10, max_per_order=5)


def test_a_free_order_is_confirmed_without_an_invoice(
    free_ticket,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            full_name="Budi Santoso",
            email="budi@example.com",
            phone="0812 3456 7890",
            items=[OrderLineRequest(free_ticket.pk, 3)],
            source=EventSource.CHECKOUT,
        )

    assert (order.status, order.total, order.paid_at is not None) == (OrderStatus.PAID, 0, True)
    payment = order.payment
    assert (payment.status, payment.amount, payment.paid_amount, payment.method) == (
        PaymentStatus.PAID,
        0,
        0,
        FREE_PAYMENT_METHOD,
    )
    assert (payment.invoice_id, payment.invoice_url) == (None, "")
    assert order.issued_tickets.count() == 3
    free_ticket.refresh_from_db()
    assert free_ticket.held == 3
    assert not order.needs_attention
    # Through the transitions, with their audit rows, in one transaction.
    moves = list(order.events.values_list("subject", "from_status", "to_status", "source"))
    assert moves == [
        ("order", "", "PENDING", "checkout"),
        ("payment", "PENDING", "PAID", "checkout"),
        ("order", "PENDING", "PAID", "checkout"),
    ]
    notification = Notification.objects.get(order=order)
    assert notification.kind == NotificationKind.ORDER_CONFIRMATION
    subject = f"Your e-tickets for {order.event.name} — order {order.code}"
    assert [message.subject for message in mail.outbox] == [subject]


def test_api_answers_201_paid_with_no_invoice_url(orders_api, free_ticket):
    response = orders_api.post(order_body((free_ticket, 2)))

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert (body["code"], body["status"], body["total"], body["invoice_url"]) == (order.code, "PAID", 0, None)
    assert body["items"] == [
        {
            "ticket_id": free_ticket.pk,
            "name": "Community",
            "quantity": 2,
            "unit_price": 0,
            "unit_discount": 0,
            "subtotal": 0,
        }
    ]


def test_checkout_sends_the_buyer_straight_to_the_order_page_with_the_etickets(client, free_ticket):
    response = checkout_post(
        client,
        "tedxfree",
        {
            f"quantity_{free_ticket.pk}": "2",
            "full_name": "Siti Rahma",
            "email": "siti@example.com",
            "phone": "0812-3456-7890",
            "confirmed": "1",
        },
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url() == f"/orders/{order.code}/{order.link_secret}/"
    page = client.get(response["Location"]).content.decode()
    assert 'id="order-status">Lunas<' in page  # Indonesian, the language it was ordered in
    assert page.count("<svg") == 2
    for code in order.issued_tickets.values_list("code", flat=True):
        assert code in page


def test_a_free_line_beside_a_paid_one_still_goes_to_xendit(free_ticket):
    paid = TicketFactory(event=free_ticket.event, name="Regular", price=350_000)

    # Xendit is unreachable here: the order needs an invoice, so it is cancelled.
    with pytest.raises(PaymentGatewayUnavailable):
        order_place(
            full_name="Budi Santoso",
            email="budi@example.com",
            phone="0812 3456 7890",
            items=[OrderLineRequest(free_ticket.pk, 1), OrderLineRequest(paid.pk, 1)],
        )

    assert Order.objects.get().status == OrderStatus.CANCELLED
