"""Money back from the admin order page: "Cancel and refund…", the one-click refund of
what a flagged order is owed, marking a manual refund transferred, and their permissions
(their own, not plain "change order"). Real HTTP to the simulator."""

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import AttentionReason, OrderStatus
from orders.services import order_expire
from payments.models import Payment, Refund, RefundStatus
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def page(order_id) -> str:
    return reverse("admin:orders_order_change", args=[order_id])


def cancel_refund_url(order_id) -> str:
    return reverse("admin:orders_order_cancel_refund", args=[order_id])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def paid(placed_order, xendit_simulator, celery_eager):  # noqa: F811
    def make(channel="DANA"):
        payment = placed_order(quantity=2, price=150_000)
        xendit_simulator.pay(payment.invoice_id, channel=channel)
        payment.refresh_from_db()
        assert payment.order.status == OrderStatus.PAID
        return payment

    return make


def staff_with(*codenames) -> User:
    user = User.objects.create_user("finance", password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_cancel_and_refund_from_the_order_page(admin_client, paid, xendit_simulator):
    payment = paid("DANA")
    assert 'id="cancel-refund-link"' in admin_client.get(page(payment.order_id)).content.decode()
    form = admin_client.get(cancel_refund_url(payment.order_id))
    assert 'name="amount" value="300000"' in form.content.decode()

    response = admin_client.post(
        cancel_refund_url(payment.order_id),
        {
            "amount": "300.000",
            "reason": "CANCELLATION",
            "note": "event moved",
            "cancel": "on",
            "release_seats": "on",
            "refunds_before": "0",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == page(payment.order_id)
    assert any("Xendit accepted the refund" in m for m in messages_of(response))
    order = payment.order
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    refund = Refund.objects.get(order=order)
    assert (refund.status, refund.amount, refund.requested_by) == (RefundStatus.PENDING, 300_000, "admin")
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    shown = response.content.decode()
    assert refund.reference in shown and "VOID since" in shown
    # Nothing is left to refund: the link is gone and the form says so.
    assert 'id="cancel-refund-link"' not in shown
    again = admin_client.post(
        cancel_refund_url(payment.order_id), {"amount": "1", "reason": "CANCELLATION", "refunds_before": "300000"}
    )
    assert again.status_code == 200 and "Nothing of this order is left to refund" in again.content.decode()


def test_a_partial_refund_without_cancelling_keeps_the_tickets(admin_client, paid):
    payment = paid("QRIS")

    admin_client.post(
        cancel_refund_url(payment.order_id),
        {
            "amount": "50000",
            "reason": "REQUESTED_BY_CUSTOMER",
            "note": "one guest could not come",
            "refunds_before": "0",
        },
    )

    payment.refresh_from_db()
    assert payment.order.status == OrderStatus.PAID
    assert payment.refund_in_flight == 50_000
    assert not payment.order.issued_tickets.filter(voided_at__isnull=False).exists()


def test_too_much_is_an_error_on_the_field_not_a_500(admin_client, paid):
    payment = paid("DANA")

    response = admin_client.post(
        cancel_refund_url(payment.order_id), {"amount": "300001", "reason": "CANCELLATION", "refunds_before": "0"}
    )

    assert response.status_code == 200
    assert "At most Rp 300.000 can still be refunded" in response.content.decode()
    assert not Refund.objects.exists()


@pytest.mark.parametrize("cancel", [True, False])
def test_the_same_form_sent_twice_refunds_once(admin_client, paid, xendit_simulator, cancel):
    # A double click, a second tab, or a colleague with the same page open: each sends the
    # amounts it was shown. The second is refused, and shows the amounts as they are now.
    payment = paid("DANA")
    shown = admin_client.get(cancel_refund_url(payment.order_id)).content.decode()
    assert 'name="refunds_before" value="0"' in shown
    form = {"amount": "50000", "reason": "REQUESTED_BY_CUSTOMER", "refunds_before": "0"}
    if cancel:
        form |= {"cancel": "on", "release_seats": "on"}

    first = admin_client.post(cancel_refund_url(payment.order_id), form)
    second = admin_client.post(cancel_refund_url(payment.order_id), form)

    assert first.status_code == 302
    assert second.status_code == 200
    page_now = second.content.decode()
    assert "Meanwhile a refund was asked for or recorded" in page_now
    assert 'name="refunds_before" value="50000"' in page_now
    assert Refund.objects.filter(payment=payment).count() == 1
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    payment.refresh_from_db()
    assert payment.refund_in_flight + payment.refunded_amount == 50_000
    # Sent again from the page as it is now: a deliberate second refund.
    third = admin_client.post(cancel_refund_url(payment.order_id), form | {"refunds_before": "50000"})
    assert third.status_code == 302 and Refund.objects.filter(payment=payment).count() == 2


def test_pages_opened_with_nothing_left_to_do_say_so_on_the_order_page(admin_client, paid, placed_order):  # noqa: F811
    # A colleague refunded the whole order while this page was being opened: a GET has no
    # form to put the refusal on (it answered 500).
    payment = paid("BCA")
    admin_client.post(
        cancel_refund_url(payment.order_id),
        {"amount": "300000", "reason": "CANCELLATION", "cancel": "on", "release_seats": "on", "refunds_before": "0"},
    )
    refund = Refund.objects.get()
    admin_client.post(
        reverse("admin:orders_order_manual_refund_done", args=[payment.order_id, refund.pk]),
        {"transfer_reference": "BCA-TRF-1"},
    )
    unpaid = placed_order(quantity=1)
    for url, said in (
        (cancel_refund_url(payment.order_id), "Nothing of this order is left to refund"),
        (reverse("admin:orders_order_manual_refund_done", args=[payment.order_id, refund.pk]), "not a manual task"),
        (reverse("admin:orders_order_record_refund", args=[unpaid.order_id]), "No money was received"),
    ):
        opened = admin_client.get(url, follow=True)
        assert opened.status_code == 200, url
        assert opened.redirect_chain[-1][0].endswith("/change/")
        assert any(said in m for m in messages_of(opened)), url
    # Sent anyway (a form open from before): refused on the form, nothing done.
    sent = admin_client.post(
        cancel_refund_url(payment.order_id), {"amount": "1000", "reason": "CANCELLATION", "refunds_before": "300000"}
    )
    assert sent.status_code == 200 and "Nothing of this order is left to refund" in sent.content.decode()
    assert Refund.objects.count() == 1


def test_a_va_payment_becomes_a_manual_task_finance_marks_transferred(admin_client, paid):
    payment = paid("BCA")
    response = admin_client.post(
        cancel_refund_url(payment.order_id),
        {"amount": "300000", "reason": "CANCELLATION", "cancel": "on", "release_seats": "on", "refunds_before": "0"},
        follow=True,
    )
    assert any("manual refund task" in m for m in messages_of(response))
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.MANUAL
    done_url = reverse("admin:orders_order_manual_refund_done", args=[payment.order_id, refund.pk])
    assert done_url in response.content.decode()

    response = admin_client.post(done_url, {"transfer_reference": "BCA-TRF-778899"}, follow=True)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (refund.completed_by, refund.transfer_reference) == ("admin", "BCA-TRF-778899")
    assert any("marked transferred" in m for m in messages_of(response))
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 300_000


def test_one_click_refund_of_a_late_payment_without_seats(admin_client, placed_order, xendit_simulator, celery_eager):  # noqa: F811
    payment = placed_order(quantity=1, price=200_000)
    order_expire(order_id=payment.order_id, expire_invoice=False)
    Ticket.objects.filter(pk=payment.order.items.get().ticket_id).update(quota=0)
    # Paid after it expired, with its seat gone: flagged, the whole payment owed back.
    from payments.gateways.simulator.models import SimulatedInvoice

    SimulatedInvoice.objects.filter(pk=payment.invoice_id).update(expiry_date="2100-01-01T00:00:00Z")
    xendit_simulator.pay(payment.invoice_id, channel="OVO")
    order = payment.order
    order.refresh_from_db()
    assert order.attention_reason == AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
    assert "Refund Rp 200.000 owed" in admin_client.get(page(order.pk)).content.decode()

    response = admin_client.post(reverse("admin:orders_order_refund_owed", args=[order.pk]), follow=True)

    assert any("Xendit accepted the refund" in m for m in messages_of(response))
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    # Asked twice (a double click): the amount is reserved, nothing more is owed.
    second = admin_client.post(reverse("admin:orders_order_refund_owed", args=[order.pk]), follow=True)
    assert any("owed nothing back" in m for m in messages_of(second))
    assert len(xendit_simulator.refunds(payment.invoice_id)) == 1
    refund = Refund.objects.get()
    xendit_simulator.refund_succeed(refund.gateway_refund_id)
    order.refresh_from_db()
    assert not order.needs_attention  # the refund covers what was owed


def test_refunding_needs_its_own_permission(client, paid):
    payment = paid("DANA")
    client.force_login(staff_with("view_order", "change_order"))

    assert client.get(cancel_refund_url(payment.order_id)).status_code == 403
    assert client.post(reverse("admin:orders_order_refund_owed", args=[payment.order_id])).status_code == 403
    assert 'id="cancel-refund-link"' not in client.get(page(payment.order_id)).content.decode()

    User.objects.get(username="finance").user_permissions.add(Permission.objects.get(codename="refund_order"))
    assert client.get(cancel_refund_url(payment.order_id)).status_code == 200
