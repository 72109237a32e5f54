"""Complimentary tickets: parsing finance's list, issuing against the quota, emails, audit."""

import pytest
from django.core import mail

from notifications.models import Notification, NotificationKind
from orders.buyer_limits import BuyerLimit
from orders.checkout.comps import COMP_PAYMENT_METHOD, CompRecipient, comp_recipients_parse, comps_issue
from orders.checkout.placing import OrderLineRequest, order_place
from orders.models import Order, OrderStatus
from tedxpay.core.errors import InvalidInput
from tickets.errors import SoldOut
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_pasted_list_or_a_csv_in_the_usual_shapes_is_read():
    text = (
        "\ufeffname,email\r\n"
        "Ni Luh Putu Ayu, Ayu@Example.com\n"
        "\n"
        '"Santoso, Budi";budi@example.com\n'
        "sari@example.com,Sari Dewi\n"
        "Rizky Pratama\trizky@example.com\n"
        "Dewi Lestari <dewi@example.com>\n"
    )
    assert comp_recipients_parse(text) == [
        CompRecipient("Ni Luh Putu Ayu", "ayu@example.com"),
        CompRecipient("Santoso, Budi", "budi@example.com"),
        CompRecipient("Sari Dewi", "sari@example.com"),
        CompRecipient("Rizky Pratama", "rizky@example.com"),
        CompRecipient("Dewi Lestari", "dewi@example.com"),
    ]


def test_every_bad_line_is_reported_at_once():
    with pytest.raises(InvalidInput) as raised:
        comp_recipients_parse("Ayu,ayu@example.com\nBudi,budi-at-example\n,x@example.com\n")
    assert [line.split(" ")[1] for line in raised.value.details["recipients"]] == ["2", "3"]
    with pytest.raises(InvalidInput):
        comp_recipients_parse("\n \n")


def test_comps_are_paid_free_named_orders_counted_against_the_quota_emailed_and_audited(
    celery_eager,
    django_capture_on_commit_callbacks,
):
    ticket = TicketFactory(name="Speaker", price=350_000, quota=3, requires_voucher=True)
    people = [CompRecipient("Ayu", "ayu@example.com"), CompRecipient("Budi", "budi@example.com")]

    with django_capture_on_commit_callbacks(execute=True):
        orders = comps_issue(ticket_id=ticket.pk, recipients=people, issued_by="finance1", note="speakers")

    assert len(orders) == 2
    for order, person in zip(Order.objects.order_by("pk"), people, strict=True):
        assert (order.status, order.is_comp, order.total, order.buyer.email) == (
            OrderStatus.PAID,
            True,
            0,
            person.email,
        )
        assert order.payment.method == COMP_PAYMENT_METHOD and order.payment.invoice_id in ("", None)
        assert order.issued_tickets.count() == 1
        assert "complimentary ticket issued by finance1: speakers" in order.events.first().note
        assert Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION).status == "sent"
    assert sorted(message.to[0] for message in mail.outbox) == ["ayu@example.com", "budi@example.com"]
    ticket.refresh_from_db()
    assert ticket.held == 2

    with pytest.raises(SoldOut):
        comps_issue(ticket_id=ticket.pk, recipients=people, issued_by="finance1")
    assert Order.objects.count() == 2  # all or nothing


def test_comps_do_not_count_towards_a_buyers_cap():
    ticket = TicketFactory(price=0, max_per_buyer=1)
    comps_issue(ticket_id=ticket.pk, recipients=[CompRecipient("Budi", "budi@example.com")], issued_by="f")
    buyer = {"full_name": "Budi", "email": "budi@example.com", "phone": "0812 3456 7890"}
    order_place(**buyer, items=[OrderLineRequest(ticket.pk, 1)])
    with pytest.raises(BuyerLimit):
        order_place(**buyer, items=[OrderLineRequest(ticket.pk, 1)])
