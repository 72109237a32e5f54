"""Recording a refund from the order page, as finance does after refunding at Xendit's
dashboard: the link, the form and its errors (never a 500), the audit trail, and the
dashboard's revenue and "to refund" before and after."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import AttentionReason, Order, OrderEvent
from orders.services import order_attention_resolve, order_refund_record
from orders.tests.back_office.test_admin_orders import pay
from payments.models import Payment
from payments.refunds import refund_request
from payments.tests.conftest import order_with_payment
from payments.tests.test_refund_record import late_payment_without_seats

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:orders_order_dashboard")


def refund_url(order_id) -> str:
    return reverse("admin:orders_order_record_refund", args=[order_id])


def order_page(order_id) -> str:
    return reverse("admin:orders_order_change", args=[order_id])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def event_sales(client):
    [sales] = client.get(DASHBOARD).context["overview"].events
    return sales


@pytest.fixture
def late(db) -> Payment:
    return late_payment_without_seats()


def test_the_order_page_links_to_the_form_only_when_money_was_received(admin_client, late):
    assert f'href="{refund_url(late.order_id)}"' in admin_client.get(order_page(late.order_id)).content.decode()
    pending = order_with_payment(quantity=1, invoice_id="inv_pending").order
    assert "Record refund" not in admin_client.get(order_page(pending.pk)).content.decode()


def test_the_form_shows_what_was_received_refunded_and_is_still_owed(admin_client, late):
    response = admin_client.get(refund_url(late.order_id))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Paid after expiry, no stock" in page
    assert 'class="received">Rp 350.000' in page and 'class="refunded">Rp 0' in page
    assert 'class="outstanding">Rp 350.000' in page
    assert 'name="amount" value="350000"' in page  # what is owed, filled in
    assert 'name="refunded_before" value="0"' in page


def test_a_refund_under_way_is_shown_and_not_offered_again(admin_client, late):
    # "Refund Rp 350.000 owed" was pressed: a refund is being made. The form must not offer
    # the same money again as "still owed" (recording it too would pay the buyer twice).
    refund_request(payment_id=late.pk, amount=None, owed_only=True, requested_by="finance.sari")

    page = admin_client.get(refund_url(late.order_id)).content.decode()

    assert 'class="in-flight">Rp 350.000' in page and "the refund under way covers it" in page
    assert 'class="outstanding">Rp 0' in page
    assert 'name="amount" value=' not in page  # nothing filled in
    refused = admin_client.post(
        refund_url(late.order_id), {"amount": "1", "reference": "rfd_x", "refunded_before": "0"}
    ).content.decode()
    assert (
        "At most Rp 0 can be refunded: Rp 350.000 received, Rp 0 already refunded, Rp 350.000 being refunded."
        in refused
    )
    assert event_sales(admin_client).to_refund == 0


def test_recording_the_refund_audits_it_clears_the_flag_and_goes_back_to_the_order(admin_client, late):
    response = admin_client.post(
        refund_url(late.order_id), {"amount": "350000", "reference": "rfd_6748aa01", "refunded_before": "0"}
    )

    assert response.status_code == 302 and response["Location"] == order_page(late.order_id)
    [message] = messages_of(response)
    assert "refund of Rp 350.000 recorded" in message and "no longer needs attention" in message
    payment = Payment.objects.get(pk=late.pk)
    assert payment.refunded_amount == 350_000
    order = Order.objects.get(pk=late.order_id)
    assert not order.needs_attention
    event = OrderEvent.objects.get(order=order, note__startswith="refund recorded")
    assert event.source == "admin" and "admin" in event.note and "rfd_6748aa01" in event.note  # admin = username
    page = admin_client.get(order_page(order.pk)).content.decode()
    assert "rfd_6748aa01" in page and "Rp 350.000 (last recorded" in page  # audit trail and payment inline


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "350001"}, "amount", "At most Rp 350.000 can be refunded"),
        ({"amount": "0"}, "amount", "Enter an amount of at least Rp 1."),
        ({"amount": "350.5"}, "amount", "Enter whole rupiah"),
        ({"amount": "350,000"}, "amount", "Enter whole rupiah"),
        ({"amount": "-1000"}, "amount", "Enter whole rupiah"),
        ({"amount": ""}, "amount", "This field is required."),
        ({"reference": "   "}, "reference", "This field is required."),
    ],
)
def test_a_refused_refund_is_shown_on_the_form_and_nothing_is_recorded(admin_client, late, data, field, message):
    events_before = OrderEvent.objects.filter(order_id=late.order_id).count()

    response = admin_client.post(
        refund_url(late.order_id), {"amount": "1000", "reference": "rfd_1", "refunded_before": "0", **data}
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert Payment.objects.get(pk=late.pk).refunded_amount == 0
    assert OrderEvent.objects.filter(order_id=late.order_id).count() == events_before
    assert Order.objects.get(pk=late.order_id).needs_attention


@pytest.mark.parametrize("typed", ["100000", "100.000", "Rp 100.000", " rp100.000 "])
def test_an_amount_is_read_as_finance_types_it(admin_client, late, typed):
    response = admin_client.post(
        refund_url(late.order_id), {"amount": typed, "reference": "rfd_1", "refunded_before": "0"}
    )

    assert response.status_code == 302
    assert Payment.objects.get(pk=late.pk).refunded_amount == 100_000


def test_a_second_submit_of_the_same_form_is_refused_and_the_page_shows_the_refund_recorded_meanwhile(
    admin_client, late
):
    data = {"amount": "100000", "reference": "transfer 29 Nov", "refunded_before": "0"}
    assert admin_client.post(refund_url(late.order_id), data).status_code == 302

    again = admin_client.post(refund_url(late.order_id), data)

    assert again.status_code == 200
    page = again.content.decode()
    assert "Meanwhile another refund was recorded" in page
    assert 'class="refunded">Rp 100.000' in page and 'name="refunded_before" value="100000"' in page
    # Not one more click away from counting it twice: amount and reference must be typed again.
    form = again.context["form"]
    assert form["amount"].value() in ("", None) and form["reference"].value() in ("", None)
    assert Payment.objects.get(pk=late.pk).refunded_amount == 100_000


def test_an_order_with_no_money_received_gets_an_error_not_a_500(admin_client):
    pending = order_with_payment(quantity=1, invoice_id="inv_pending").order

    response = admin_client.post(refund_url(pending.pk), {"amount": "1000", "reference": "x", "refunded_before": "0"})

    assert response.status_code == 200
    assert "nothing to refund" in response.content.decode()
    assert Payment.objects.get(order=pending).refunded_amount == 0
    assert admin_client.get(refund_url("999999")).status_code == 404
    assert admin_client.get(refund_url("not-a-number")).status_code == 404


def test_recording_needs_the_operate_permission(client, django_user_model, late):
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)

    assert "Record refund" not in client.get(order_page(late.order_id)).content.decode()
    response = client.post(refund_url(late.order_id), {"amount": "1000", "reference": "x", "refunded_before": "0"})

    assert response.status_code == 403
    assert Payment.objects.get(pk=late.pk).refunded_amount == 0


def test_dashboard_revenue_and_to_refund_before_and_after_refunds(admin_client, late):
    before = admin_client.get(DASHBOARD)
    overview = before.context["overview"]
    [sales] = overview.events
    assert (sales.revenue, sales.to_refund, sales.needs_attention) == (350_000, 350_000, 1)
    assert (overview.revenue, overview.to_refund) == (350_000, 350_000)
    assert before.content.decode().count("of which to refund") == 2  # all events, and this event

    order_refund_record(payment_id=late.pk, amount=100_000, reference="part 1", requested_by="sari")
    sales = event_sales(admin_client)
    assert (sales.revenue, sales.to_refund, sales.needs_attention) == (250_000, 250_000, 1)

    order_refund_record(payment_id=late.pk, amount=250_000, reference="part 2", requested_by="sari")
    response = admin_client.get(DASHBOARD)
    [sales] = response.context["overview"].events
    assert (sales.revenue, sales.to_refund, sales.needs_attention) == (0, 0, 0)
    assert "of which to refund" not in response.content.decode()


def test_dashboard_counts_only_the_excess_of_an_overpayment_as_to_refund(admin_client):
    payment = order_with_payment(quantity=1, price=350_000, invoice_id="inv_over")
    pay(payment, paid_amount=400_000)
    sales = event_sales(admin_client)
    assert (sales.revenue, sales.to_refund) == (400_000, 50_000)

    order_refund_record(payment_id=payment.pk, amount=50_000, reference="excess", requested_by="sari")

    sales = event_sales(admin_client)
    assert (sales.revenue, sales.to_refund, sales.needs_attention) == (350_000, 0, 0)


def test_a_flag_resolved_by_hand_is_no_longer_to_refund_but_the_money_stays_revenue(admin_client, late):
    order_attention_resolve(order_id=late.order_id, note="refunded by bank transfer, not recorded")

    sales = event_sales(admin_client)

    assert (sales.revenue, sales.to_refund) == (350_000, 0)
    assert Order.objects.get(pk=late.order_id).attention_reason != AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK
