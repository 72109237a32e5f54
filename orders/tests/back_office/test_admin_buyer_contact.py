"""Correcting a buyer's contact details from the order page (buyer_contact_update), as
finance does it when a buyer calls about a mistyped email: the form, its validation, the
audit row, emails still owed re-addressed, then a resend to the corrected address."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_send
from orders.models import Buyer, EventSource, OrderEvent
from orders.services import buyer_contact_update, order_expire
from orders.tests.back_office.test_admin_orders import pay, run_action
from payments.tests.conftest import order_with_payment
from tedxpay.core.errors import InvalidInput

pytestmark = pytest.mark.django_db


def contact_url(order) -> str:
    return reverse("admin:orders_order_buyer_contact", args=[order.pk])


def form_data(order, **changes) -> dict:
    buyer = order.buyer
    return {"full_name": buyer.full_name, "email": buyer.email, "phone": buyer.phone, **changes}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def paid_order(db):
    """A paid order whose confirmation went to a mistyped address."""
    payment = order_with_payment(quantity=2)
    Buyer.objects.filter(pk=payment.order.buyer_id).update(
        full_name="Dewi Lestari", email="dewi@gmial.com", phone="+6281234567890"
    )
    order = pay(payment)
    notification_send(notification_id=Notification.objects.get(order=order).pk)
    mail.outbox.clear()
    return order


def test_the_order_page_links_to_the_form_which_shows_the_current_contact(admin_client, paid_order):
    page = admin_client.get(reverse("admin:orders_order_change", args=[paid_order.pk])).content.decode()
    assert f'href="{contact_url(paid_order)}"' in page and "Edit buyer contact" in page

    form = admin_client.get(contact_url(paid_order))

    assert form.status_code == 200
    body = form.content.decode()
    assert 'value="dewi@gmial.com"' in body and 'value="+6281234567890"' in body and 'value="Dewi Lestari"' in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "dewi@"}, "email", "Enter a valid email address."),
        ({"phone": "12345"}, "phone", "Enter an Indonesian mobile number"),
        ({"full_name": "   "}, "full_name", "This field is required."),
        ({"full_name": "x" * 201}, "full_name", "A name has at most 200 characters."),
    ],
)
def test_invalid_input_is_shown_on_the_form_and_nothing_changes(admin_client, paid_order, changes, field, message):
    events_before = OrderEvent.objects.filter(order=paid_order).count()

    response = admin_client.post(contact_url(paid_order), form_data(paid_order, **changes))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message.replace("'", "&#x27;") in response.content.decode()  # shown, not a 500
    buyer = Buyer.objects.get(pk=paid_order.buyer_id)
    assert (buyer.full_name, buyer.email, buyer.phone) == ("Dewi Lestari", "dewi@gmial.com", "+6281234567890")
    assert OrderEvent.objects.filter(order=paid_order).count() == events_before


def test_a_correction_is_saved_audited_and_then_the_confirmation_can_be_resent(admin_client, admin_user, paid_order):
    response = admin_client.post(
        contact_url(paid_order),
        form_data(paid_order, email=" Dewi@Gmail.com", phone="0812-9999-0000"),
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:orders_order_change", args=[paid_order.pk])
    buyer = Buyer.objects.get(pk=paid_order.buyer_id)
    assert (buyer.email, buyer.phone, buyer.full_name) == ("dewi@gmail.com", "+6281299990000", "Dewi Lestari")
    event = OrderEvent.objects.filter(order=paid_order).latest("pk")
    assert (event.source, event.from_status, event.to_status) == (EventSource.ADMIN, "PAID", "PAID")
    assert event.note == (
        f"buyer contact corrected by {admin_user.username}: "
        "email dewi@gmial.com → dewi@gmail.com; phone +6281234567890 → +6281299990000"
    )
    messages = messages_of(response)
    assert messages[0] == f"{paid_order.code}: buyer email, phone corrected."
    assert "Emails already sent went to dewi@gmial.com" in messages[1]
    # The sent confirmation keeps the address it went to.
    confirmation = Notification.objects.get(order=paid_order)
    assert (confirmation.status, confirmation.to_email) == (NotificationStatus.SENT, "dewi@gmial.com")

    _, action_messages = run_action(
        admin_client, "resend_confirmation", [paid_order], url=reverse("admin:orders_order_changelist")
    )

    assert [message.to for message in mail.outbox] == [["dewi@gmail.com"]]
    assert any(
        message.startswith(f"Sent 1: {paid_order.code} order confirmation with e-tickets (again, to dewi@gmail.com")
        for message in action_messages
    )


def test_emails_still_owed_are_readdressed_and_sent_ones_are_not(db):
    payment = order_with_payment(quantity=1)
    order = payment.order
    order_expire(order_id=order.pk, expire_invoice=False)  # owes an "expired" email, not sent yet
    expired = Notification.objects.get(order=order, kind=NotificationKind.ORDER_EXPIRED)
    assert expired.status == NotificationStatus.PENDING
    sent = Notification.objects.create(
        order=order, kind=NotificationKind.ORDER_CONFIRMATION, to_email=order.buyer.email, status="sent"
    )
    old_email = order.buyer.email

    buyer_contact_update(order_id=order.pk, email="fixed@example.com", requested_by="finance.ayu")

    expired.refresh_from_db()
    sent.refresh_from_db()
    assert expired.to_email == "fixed@example.com"
    assert sent.to_email == old_email
    notification_send(notification_id=expired.pk)
    assert [message.to for message in mail.outbox] == [["fixed@example.com"]]


def test_a_failed_email_is_readdressed_too(db):
    order = order_with_payment(quantity=1).order
    failed = Notification.objects.create(
        order=order, kind=NotificationKind.ORDER_EXPIRED, to_email=order.buyer.email, status="failed"
    )

    buyer_contact_update(order_id=order.pk, email="fixed@example.com", requested_by="finance.ayu")

    failed.refresh_from_db()
    assert failed.to_email == "fixed@example.com"


def test_the_same_values_change_nothing_and_write_no_audit_row(admin_client, paid_order):
    events_before = OrderEvent.objects.filter(order=paid_order).count()

    # Typed differently, the same after cleaning (as at checkout).
    response = admin_client.post(contact_url(paid_order), form_data(paid_order, email="DEWI@gmial.com "))

    assert response.status_code == 302
    assert OrderEvent.objects.filter(order=paid_order).count() == events_before
    assert messages_of(response) == [f"{paid_order.code}: nothing changed."]


def test_the_service_reports_every_invalid_field_at_once(paid_order):
    with pytest.raises(InvalidInput) as refused:
        buyer_contact_update(
            order_id=paid_order.pk, email="nope", phone="nope", full_name="   ", requested_by="finance.ayu"
        )
    assert refused.value.details == {
        "full_name": ["Enter the buyer's full name."],
        "email": ["Enter a valid email address."],
        "phone": ["Enter an Indonesian mobile number, e.g. 0812 3456 7890 or +62 812 3456 7890."],
    }
    assert Buyer.objects.get(pk=paid_order.buyer_id).email == "dewi@gmial.com"


def test_only_staff_who_may_operate_orders_can_edit(client, django_user_model, paid_order):
    user = django_user_model.objects.create_user("volunteer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)

    page = client.get(reverse("admin:orders_order_change", args=[paid_order.pk])).content.decode()
    assert "Edit buyer contact" not in page
    assert client.get(contact_url(paid_order)).status_code == 403
    assert client.post(contact_url(paid_order), form_data(paid_order, email="x@example.com")).status_code == 403
    assert Buyer.objects.get(pk=paid_order.buyer_id).email == "dewi@gmial.com"


def test_an_unknown_order_is_a_404(admin_client):
    assert admin_client.get(reverse("admin:orders_order_buyer_contact", args=[999999])).status_code == 404
    assert admin_client.get("/admin/orders/order/not-a-number/buyer-contact/").status_code == 404
