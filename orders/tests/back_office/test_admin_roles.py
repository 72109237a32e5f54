"""Each role walked through the back office: what it sees, what it may run, what it may not
(groups from migration orders/0005_finance_roles, `manage.py create_finance_user`)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from checkin.tests.conftest import make_order
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory, OrderItemFactory
from payments.tests.factories import PaymentFactory
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _user(*groups: str, superuser: bool = False):
    from django.contrib.auth.models import Group

    User = get_user_model()
    if superuser:
        return User.objects.create_superuser("root", password="x")
    user = User.objects.create_user("-".join(groups) or "staff", password="x", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def sale():
    ticket = TicketFactory(name="Regular", quota=50)
    order = OrderFactory(event=ticket.event)
    OrderItemFactory(order=order, ticket=ticket, quantity=2)
    paid = OrderFactory(event=ticket.event, status=OrderStatus.PAID)
    PaymentFactory(order=paid, status="PAID", paid_amount=100_000, amount=100_000)
    return {"ticket": ticket, "order": order, "paid": paid}


LISTS = [
    "/admin/orders/order/",
    "/admin/orders/buyer/",
    "/admin/orders/issuedticket/",
    "/admin/payments/payment/",
    "/admin/payments/webhookevent/",
    "/admin/notifications/notification/",
    "/admin/tickets/event/",
    "/admin/tickets/ticket/",
    "/admin/orders/order/dashboard/",
    "/admin/orders/order/holders/",
    # Added after the roles were first made (migration orders/0013): refunds, manual refund
    # tasks, event cancellations, check-ins, reconciliation.
    "/admin/payments/refund/",
    "/admin/payments/refund/?status__exact=manual",
    "/admin/orders/eventcancellation/",
    "/admin/orders/eventmove/",
    "/admin/checkin/checkin/",
    "/admin/reconciliation/reconciliationreport/",
    "/admin/reconciliation/reconciliationrow/",
    "/admin/vouchers/voucher/",
]


def _actions(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is allowed
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_finance_sees_everything_edits_phases_and_runs_the_operational_actions(client, sale):
    client.force_login(_user("Finance"))
    for url in LISTS:
        assert client.get(url).status_code == 200, url
    assert client.get(f"/admin/orders/order/{sale['order'].pk}/change/").status_code == 200
    assert _actions(client, "/admin/orders/order/") == {"resend_confirmation", "sync_with_xendit", "resolve_attention"}
    assert _actions(client, "/admin/payments/payment/") == {"sync_payments_with_xendit"}
    assert _actions(client, "/admin/payments/webhookevent/") == set()
    assert _actions(client, "/admin/reconciliation/reconciliationrow/") == {"resolve"}
    assert "cancel_event" not in _actions(client, "/admin/tickets/event/")
    assert "resend_notifications" in _actions(client, "/admin/notifications/notification/")
    # Edit a phase.
    ticket = sale["ticket"]
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert page.status_code == 200 and page.context["has_change_permission"]
    # The buyer-contact form is an operational action; recording a refund is not.
    assert client.get(f"/admin/orders/order/{sale['order'].pk}/buyer-contact/").status_code == 200
    assert client.get(f"/admin/orders/order/{sale['paid'].pk}/record-refund/").status_code == 403
    # API keys are superusers' only.
    assert client.get("/admin/core/apikey/").status_code == 403


def test_finance_cannot_export_personal_data_or_cancel(client, sale):
    client.force_login(_user("Finance"))
    for action in ("export_csv", "cancel_orders"):
        response = client.post(
            "/admin/orders/order/", {"action": action, "_selected_action": [sale["order"].pk], "index": 0}
        )
        assert not response.get("Content-Type", "").startswith("text/csv")
    assert Order.objects.get(pk=sale["order"].pk).status == OrderStatus.PENDING
    # Nor the attendees: their names beside the codes that let them in at the door.
    issued = make_order(event=sale["ticket"].event, buyer_name="Putu Ayu").issued_tickets.get()
    assert _actions(client, "/admin/orders/issuedticket/") == set()
    response = client.post(
        "/admin/orders/issuedticket/", {"action": "export_attendees_csv", "_selected_action": [issued.pk], "index": 0}
    )
    assert not response.get("Content-Type", "").startswith("text/csv")


def test_only_finance_managers_give_tickets_away(client, sale):
    # A comp is a PAID order of Rp 0 with e-tickets emailed: revenue given away.
    body = {"ticket": sale["ticket"].pk, "recipients": "Evil Friend, evil@example.com", "language": "id"}
    client.force_login(_user("Finance"))
    assert client.get("/admin/orders/order/issue-comps/").status_code == 403
    assert client.post("/admin/orders/order/issue-comps/", body).status_code == 403
    assert "issue-comps" not in client.get("/admin/orders/order/").content.decode()
    assert not Order.objects.filter(is_comp=True).exists()

    assert client.get("/admin/vouchers/voucher/add/").status_code == 403

    client.force_login(_user("Finance", "Finance managers"))
    assert client.get("/admin/vouchers/voucher/add/").status_code == 200  # discounts: the same rule
    assert "issue-comps" in client.get("/admin/orders/order/").content.decode()
    token = client.get("/admin/orders/order/issue-comps/").context["form"]["token"].value()
    assert client.post("/admin/orders/order/issue-comps/", {**body, "token": token}).status_code == 302
    assert Order.objects.filter(is_comp=True, buyer__email="evil@example.com").exists()


def test_finance_may_undo_a_check_in_from_the_admin(client, sale):
    client.force_login(_user("Finance"))
    assert "undo_checkins" in _actions(client, "/admin/checkin/checkin/")


def test_finance_managers_may_export_cancel_refund_and_replay(client, sale):
    client.force_login(_user("Finance", "Finance managers"))
    assert _actions(client, "/admin/orders/order/") >= {"export_csv", "cancel_orders"}
    assert _actions(client, "/admin/payments/webhookevent/") == {"replay_webhook_events"}
    assert "cancel_event" in _actions(client, "/admin/tickets/event/")
    export = client.post("/admin/orders/order/", {"action": "export_csv", "_selected_action": [sale["order"].pk]})
    assert export["Content-Type"].startswith("text/csv")
    issued = make_order(event=sale["ticket"].event, buyer_name="Putu Ayu").issued_tickets.get()
    assert _actions(client, "/admin/orders/issuedticket/") == {"export_attendees_csv"}
    export = client.post(
        "/admin/orders/issuedticket/", {"action": "export_attendees_csv", "_selected_action": [issued.pk]}
    )
    assert export["Content-Type"].startswith("text/csv") and "Putu Ayu" in b"".join(export.streaming_content).decode()
    assert client.get(f"/admin/orders/order/{sale['paid'].pk}/record-refund/").status_code == 200
    assert client.get("/admin/core/apikey/").status_code == 403


def test_the_managers_permissions_alone_open_no_page_of_the_sale(client, sale):
    # "Finance managers" is given on top of Finance: alone it may not see an order, so it
    # may not open the pages that show one either.
    client.force_login(_user("Finance managers"))
    paid, event = sale["paid"], sale["ticket"].event
    for url in (
        f"/admin/orders/order/{paid.pk}/cancel-refund/",
        f"/admin/orders/order/{paid.pk}/record-refund/",
        f"/admin/orders/eventcancellation/start/{event.pk}/",
    ):
        assert client.get(url).status_code == 403, url


def test_staff_without_a_role_see_nothing_of_the_sale(client, sale):
    client.force_login(_user())
    assert client.get("/admin/").status_code == 200
    for url in LISTS:
        assert client.get(url).status_code == 403, url


def test_superusers_manage_api_keys(client):
    client.force_login(_user(superuser=True))
    assert client.get("/admin/core/apikey/").status_code == 200
    assert client.get("/admin/core/apikey/add/").status_code == 200


def test_create_finance_user(capsys, client):
    call_command("create_finance_user", "siti", "--email", "siti@example.org")
    output = capsys.readouterr().out
    password = re.search(r"Password \(shown once; change it after the first login\): (\S+)", output).group(1)
    user = get_user_model().objects.get(username="siti")
    assert user.is_staff and not user.is_superuser
    assert set(user.groups.values_list("name", flat=True)) == {"Finance"}
    assert user.check_password(password)
    call_command("create_finance_user", "wayan", "--manager")
    assert set(get_user_model().objects.get(username="wayan").groups.values_list("name", flat=True)) == {
        "Finance",
        "Finance managers",
    }
