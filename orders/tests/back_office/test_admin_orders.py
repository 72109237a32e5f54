"""The orders back office, driven as finance drives it: the changelist, the read-only
order page, and every action through the real admin POST."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notification_send
from orders.models import AttentionReason, EventSource, Order, OrderEvent, OrderStatus
from orders.services import order_attention_resolve, order_cancel, order_expire, order_pay
from payments.gateways.base import Invoice
from payments.models import Payment, PaymentStatus
from payments.refunds import refund_request
from payments.tests.conftest import order_with_payment
from tickets.models import Event
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")


def pay(payment, *, channel: str = "BCA", paid_amount: int | None = None, paid_at=None) -> Order:
    """The payment's invoice was paid at Xendit (as the webhook or reconcile would record it)."""
    invoice = Invoice(
        id=payment.invoice_id,
        external_id=payment.external_id,
        status="PAID",
        amount=payment.amount,
        invoice_url=payment.invoice_url,
        paid_amount=payment.amount if paid_amount is None else paid_amount,
        paid_at=paid_at or timezone.now(),
        payment_method="BANK_TRANSFER",
        payment_channel=channel,
    )
    order_pay(payment_id=payment.pk, invoice=invoice, source=EventSource.WEBHOOK)
    return Order.objects.get(pk=payment.order_id)


def run_action(client, action: str, objects, url: str = CHANGELIST, **extra):
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **extra}
    response = client.post(url, data)
    return response, [str(message) for message in get_messages(response.wsgi_request)]


# --- list and page -----------------------------------------------------------------------


def test_changelist_shows_rupiah_badges_channel_attention_and_jakarta_time(admin_client):
    paid = pay(order_with_payment(quantity=2, price=350_000), channel="OVO", paid_amount=600_000)
    pending = order_with_payment(quantity=1, price=150_000).order

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert paid.code in html and pending.code in html
    assert "Rp 700.000" in html and "Rp 150.000" in html
    assert "OVO" in html
    assert "tdx-badge" in html and "Pending payment" in html
    assert "Paid amount differs from the total" in html  # the attention flag and its reason
    assert timezone.localtime(paid.created_at).strftime("%d/%m/%Y %H:%M") in html  # Jakarta time, four-digit year
    assert "Sales at a glance" in html


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_changelist_is_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    pay(order_with_payment(quantity=1), channel="BCA")
    with_one = _changelist_queries(admin_client)
    ticket = TicketFactory(quota=200)
    for index in range(49):
        payment = order_with_payment(quantity=1, ticket=ticket)
        if index % 2:
            pay(payment, channel="QRIS")

    with django_assert_max_num_queries(with_one):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 50
    assert len(response.context["cl"].result_list) == 50


@pytest.mark.parametrize(
    "query",
    [
        {"status__exact": "PAID"},
        {"needs_attention__exact": "1"},
        {"attention_reason__exact": AttentionReason.AMOUNT_MISMATCH},
        {"channel": "OVO"},
        {"created_at__gte": "2000-01-01 00:00:00+07:00"},
    ],
)
def test_filters(admin_client, query):
    flagged = pay(order_with_payment(quantity=1), channel="OVO", paid_amount=1)
    other = order_with_payment(quantity=1).order

    response = admin_client.get(CHANGELIST, query)

    assert response.status_code == 200
    shown = {order.code for order in response.context["cl"].result_list}
    assert flagged.code in shown
    assert (other.code in shown) == ("created_at__gte" in query)


@pytest.mark.parametrize("term", ["code", "email", "name", "phone_local", "phone_e164", "invoice"])
def test_search(admin_client, term):
    payment = order_with_payment(quantity=1, invoice_id="inv_6748105a77f16ebe0cc583b1")
    order = payment.order
    order.buyer.full_name, order.buyer.email, order.buyer.phone = (
        "Ni Luh Putu Ayu",
        "ayu@example.co.id",
        "+6281377001234",
    )
    order.buyer.save()
    order_with_payment(quantity=1)  # someone else
    typed = {
        "code": order.code.lower(),
        "email": "ayu@example.co",
        "name": "putu ayu",
        "phone_local": "0813-7700-1234",
        "phone_e164": "+6281377001234",
        "invoice": "inv_6748105a77f16ebe0cc583b1",
    }[term]

    response = admin_client.get(CHANGELIST, {"q": typed})

    assert [found.code for found in response.context["cl"].result_list] == [order.code]


def test_order_page_is_read_only_with_items_payment_tickets_emails_and_audit_trail(admin_client):
    order = pay(order_with_payment(quantity=2, price=350_000), channel="BCA")
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Rp 700.000" in html
    assert "items" in html.lower() and "e-tickets" in html.lower() and "audit trail" in html.lower()
    for issued in order.issued_tickets.all():
        assert issued.code in html
    assert "Order confirmation with e-tickets" in html
    assert 'name="_save"' not in html  # no edit form: state changes only through actions
    # The audit trail reads oldest first (newest last): the payment was paid, then the order.
    trail = response.context["inline_admin_formsets"][-1]
    assert [(form.original.subject, form.original.to_status) for form in trail] == [
        ("payment", "PAID"),
        ("order", "PAID"),
    ]

    # Posting to the page changes nothing.
    assert admin_client.post(url, {"status": "CANCELLED"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


@pytest.mark.parametrize("name", ["order", "buyer", "issuedticket"])
def test_no_add_and_no_delete(admin_client, name):
    order = pay(order_with_payment(quantity=1))
    obj = {"order": order, "buyer": order.buyer, "issuedticket": order.issued_tickets.get()}[name]

    assert admin_client.get(reverse(f"admin:orders_{name}_add")).status_code == 403
    assert admin_client.get(reverse(f"admin:orders_{name}_delete", args=[obj.pk])).status_code == 403
    assert admin_client.post(reverse(f"admin:orders_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    run_action(admin_client, "delete_selected", [obj], url=reverse(f"admin:orders_{name}_changelist"))
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert "delete_selected" not in admin_client.get(reverse(f"admin:orders_{name}_changelist")).content.decode()


def test_issued_ticket_lookup_by_code_at_the_door(admin_client):
    order = pay(order_with_payment(quantity=2))
    issued = order.issued_tickets.first()

    response = admin_client.get(reverse("admin:orders_issuedticket_changelist"), {"q": issued.code})

    assert [found.pk for found in response.context["cl"].result_list] == [issued.pk]
    assert order.code in response.content.decode() and "Paid" in response.content.decode()
    assert admin_client.get(reverse("admin:orders_issuedticket_change", args=[issued.pk])).status_code == 200


# --- actions -------------------------------------------------------------------------------


def test_cancel_action_cancels_pending_orders_through_the_service(admin_client, admin_user):
    pending = order_with_payment(quantity=2)
    ticket = pending.order.items.get().ticket
    paid = pay(order_with_payment(quantity=1))

    response, messages = run_action(admin_client, "cancel_orders", [pending.order, paid])

    assert response.status_code == 302
    order = Order.objects.get(pk=pending.order_id)
    ticket.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and ticket.held == 0
    assert Payment.objects.get(pk=pending.pk).status == PaymentStatus.CANCELLED
    event = OrderEvent.objects.get(order=order, subject=OrderEvent.Subject.ORDER, to_status=OrderStatus.CANCELLED)
    assert event.source == EventSource.ADMIN and event.note == f"cancelled in the admin by {admin_user.username}"
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID
    assert messages == [
        f"Cancelled 1: {order.code}.",
        f"Skipped {paid.code}: is paid; only pending orders can be cancelled",
    ]


def test_cancel_action_reports_an_order_the_service_refuses(admin_client, monkeypatch):
    payment = order_with_payment(quantity=1)
    from tedxpay.core.errors import IllegalTransition

    def refuse(**kwargs):
        raise IllegalTransition("Order was paid a moment ago and cannot be cancelled.")

    monkeypatch.setattr("orders.admin_actions.order_cancel", refuse)

    _, messages = run_action(admin_client, "cancel_orders", [payment.order])

    assert messages == [f"Failed {payment.order.code}: Order was paid a moment ago and cannot be cancelled."]


def test_resend_confirmation_sends_a_pending_or_failed_email(admin_client):
    order = pay(order_with_payment(quantity=2))
    Notification.objects.filter(order=order).update(status=NotificationStatus.FAILED, last_error="SMTP down")
    pending = order_with_payment(quantity=1).order

    _, messages = run_action(admin_client, "resend_confirmation", [order, pending])

    notification = Notification.objects.get(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    assert notification.status == NotificationStatus.SENT and notification.last_error == ""
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [order.buyer.email]
    assert messages[0] == f"Sent 1: {order.code} order confirmation with e-tickets (to {order.buyer.email})."
    assert messages[1] == f"Skipped {pending.code}: is pending payment; only paid orders have a confirmation"


def test_resend_of_an_already_sent_confirmation_sends_a_copy_and_audits_it(admin_client, admin_user):
    order = pay(order_with_payment(quantity=1))
    notification_send(notification_id=Notification.objects.get(order=order).pk)
    mail.outbox.clear()

    _, messages = run_action(admin_client, "resend_confirmation", [order])

    # A sent row goes through notification_resend (a deliberate copy), not notification_send.
    assert [message.to for message in mail.outbox] == [[order.buyer.email]]
    assert len(messages) == 1
    assert messages[0].startswith(
        f"Sent 1: {order.code} order confirmation with e-tickets (again, to {order.buyer.email}"
    )
    event = OrderEvent.objects.filter(order=order).latest("pk")
    assert (event.source, event.from_status, event.to_status) == (EventSource.ADMIN, "PAID", "PAID")
    assert event.note == f"confirmation email re-sent to {order.buyer.email} by {admin_user.username}"


def test_resolve_attention_asks_for_a_note_then_clears_the_flag_with_an_audit_row(admin_client, admin_user):
    flagged = pay(order_with_payment(quantity=1, price=350_000), paid_amount=300_000)
    clean = pay(order_with_payment(quantity=1))
    assert flagged.needs_attention and flagged.attention_reason == AttentionReason.AMOUNT_MISMATCH

    page = admin_client.post(CHANGELIST, {"action": "resolve_attention", "_selected_action": [flagged.pk, clean.pk]})
    assert page.status_code == 200
    assert "What was done" in page.content.decode() and flagged.code in page.content.decode()
    # The page posts the action back itself, with the selection, when the note is sent.
    assert 'name="action" value="resolve_attention"' in page.content.decode()
    assert f'name="_selected_action" value="{flagged.pk}"' in page.content.decode()
    missing_note, _ = run_action(admin_client, "resolve_attention", [flagged, clean], apply="yes", note="")
    assert missing_note.status_code == 200 and "This field is required" in missing_note.content.decode()
    assert Order.objects.get(pk=flagged.pk).needs_attention

    response, messages = run_action(
        admin_client, "resolve_attention", [flagged, clean], apply="yes", note="Buyer paid the rest by transfer"
    )

    assert response.status_code == 302
    order = Order.objects.get(pk=flagged.pk)
    assert not order.needs_attention and order.attention_reason == "" and order.status == OrderStatus.PAID
    event = order.events.order_by("-pk").first()
    assert event.source == EventSource.ADMIN
    assert event.note.startswith("attention resolved: amount_mismatch: paid Rp 300.000, total Rp 350.000")
    assert event.note.endswith(f"Buyer paid the rest by transfer (by {admin_user.username})")
    assert messages == [f"Resolved 1: {order.code}.", f"Skipped {clean.code}: does not need attention"]


def test_a_flag_with_money_owed_back_is_cleared_only_by_someone_who_may_refund(client):
    from django.contrib.auth.models import Group, User

    overpaid = pay(order_with_payment(quantity=1, price=300_000), paid_amount=350_000)  # Rp 50.000 owed back
    short = pay(order_with_payment(quantity=1, price=350_000), paid_amount=300_000)  # nothing owed back
    assert overpaid.attention_reason == short.attention_reason == AttentionReason.AMOUNT_MISMATCH
    clerk = User.objects.create_user("budi", password="pw", is_staff=True)
    clerk.groups.add(Group.objects.get(name="Finance"))
    manager = User.objects.create_user("rina", password="pw", is_staff=True)
    manager.groups.add(*Group.objects.filter(name__in=["Finance", "Finance managers"]))

    client.force_login(clerk)
    _, messages = run_action(client, "resolve_attention", [overpaid, short], apply="yes", note="checked")

    assert Order.objects.get(pk=overpaid.pk).needs_attention  # the buyer's Rp 50.000 is still on the lists
    assert not Order.objects.get(pk=short.pk).needs_attention
    assert f"Skipped {overpaid.code}: Rp 50.000 is still owed back: refund it, or ask a Finance manager" in messages

    client.force_login(manager)
    run_action(client, "resolve_attention", [overpaid], apply="yes", note="buyer donated the change")
    assert not Order.objects.get(pk=overpaid.pk).needs_attention


def test_order_attention_resolve_is_quiet_when_not_flagged():
    order = pay(order_with_payment(quantity=1))
    events = order.events.count()

    order_attention_resolve(order_id=order.pk, note="again", source=EventSource.ADMIN)

    assert order.events.count() == events


def test_csv_export_streams_excel_friendly_utf8(admin_client):
    ticket = TicketFactory(name="Regular", price=350_000, quota=10, event=EventFactory(name="TEDxUbud 2026"))
    paid_payment = order_with_payment(quantity=2, ticket=ticket, invoice_id="inv_paid")
    paid = pay(paid_payment, channel="QRIS")
    paid.buyer.full_name, paid.buyer.phone = "Ni Luh Putu Ayu Wédayanti", "+6281377001234"
    paid.buyer.save()
    sneaky = order_with_payment(quantity=1, ticket=ticket, invoice_id="inv_sneaky").order
    sneaky.buyer.full_name = '=HYPERLINK("http://evil")'
    sneaky.buyer.save()
    order_cancel(order_id=sneaky.pk, source=EventSource.ADMIN)

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [paid.pk, sneaky.pk]})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tedxpay-orders-')
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == [
        "code",
        "created (WIB)",
        "paid at (WIB)",
        "status",
        "buyer name",
        "buyer email",
        "buyer phone",
        "event",
        "event starts (event's time)",
        "event time zone",
        "items",
        "total (IDR)",
        "paid amount (IDR)",
        "refunded (IDR)",
        "payment channel",
        "invoice id",
        "kind",
        "voucher",
        "discount (IDR)",
        "being refunded (IDR)",
        "needs attention",
    ]
    paid.refresh_from_db()
    assert rows[1] == [
        paid.code,
        timezone.localtime(paid.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        timezone.localtime(paid.paid_at).strftime("%Y-%m-%d %H:%M:%S"),
        "PAID",
        "Ni Luh Putu Ayu Wédayanti",
        paid.buyer.email,
        "+6281377001234",
        "TEDxUbud 2026",
        timezone.localtime(paid.event.starts_at).strftime("%Y-%m-%d %H:%M:%S"),  # a WIB event
        "WIB",
        "2× Regular",
        "700000",
        "700000",
        "0",
        "QRIS",
        "inv_paid",
        "sale",
        "",
        "0",
        "0",
        "",
    ]
    assert rows[2][0] == sneaky.code and rows[2][3] == "CANCELLED"
    assert rows[2][4] == '\'=HYPERLINK("http://evil")'  # not a formula in Excel
    assert rows[2][2] == rows[2][12] == rows[2][13] == rows[2][14] == ""
    assert len(rows) == 3


def test_csv_export_dates_money_received_on_a_closed_order_and_shows_refunds_under_way(admin_client):
    # Paid after it expired, its seat sold meanwhile: the money is here, the order never PAID.
    ticket = TicketFactory(price=350_000, quota=1)
    late = order_with_payment(quantity=1, ticket=ticket, invoice_id="inv_late_csv")
    order_expire(order_id=late.order_id)
    order_with_payment(quantity=1, ticket=ticket)  # someone else takes the last seat
    pay(late)
    late = Payment.objects.select_related("order").get(pk=late.pk)
    refund_request(payment_id=late.pk, amount=100_000, requested_by="finance.sari")
    Event.objects.filter(pk=late.order.event_id).update(name="=cmd|' /C calc'!A0")

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [late.order_id]})

    header, row = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    cell = dict(zip(header, row, strict=True))
    late.refresh_from_db()
    assert cell["status"] == "EXPIRED"
    assert cell["paid at (WIB)"] == timezone.localtime(late.paid_at).strftime("%Y-%m-%d %H:%M:%S")
    assert (cell["paid amount (IDR)"], cell["being refunded (IDR)"]) == ("350000", "100000")
    assert cell["needs attention"] == "paid_after_expiry_no_stock"
    assert cell["event"].startswith("'=")  # not a formula in Excel


def test_csv_export_neutralises_formulas_in_the_event_name_and_voucher_code(admin_client):
    # Typed in the admin, not by a buyer, but opened in the same spreadsheet; a voucher
    # code saved before the voucher form refused such a start may still be on orders.
    ticket = TicketFactory(quota=10, event=EventFactory(name="@TEDx 2026"))
    order = order_with_payment(quantity=1, ticket=ticket).order
    order.voucher = VoucherFactory(event=ticket.event, code="=X-F4EEEK96")
    order.save(update_fields=["voucher"])

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [order.pk]})

    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    assert (row["event"], row["voucher"]) == ("'@TEDx 2026", "'=X-F4EEEK96")


def test_csv_export_gives_each_events_start_on_its_own_clock_and_names_the_zone(admin_client):
    bali = EventFactory(name="TEDxUbud", time_zone="Asia/Makassar", starts_at=datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    papua = EventFactory(
        name="TEDxJayapura", time_zone="Asia/Jayapura", starts_at=datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    )
    orders = [order_with_payment(quantity=1, ticket=TicketFactory(event=event)).order for event in (bali, papua)]

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [o.pk for o in orders]})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    starts = {row["event"]: (row["event starts (event's time)"], row["event time zone"]) for row in rows}
    # 02:00 UTC is 10:00 in Bali (WITA); 01:00 UTC is 10:00 in Jayapura (WIT).
    assert starts == {"TEDxUbud": ("2026-12-05 10:00:00", "WITA"), "TEDxJayapura": ("2026-12-06 10:00:00", "WIT")}


def test_csv_export_of_many_orders_is_a_few_queries(admin_client, django_assert_max_num_queries):
    ticket = TicketFactory(quota=100)
    orders = [order_with_payment(quantity=1, ticket=ticket).order for _ in range(30)]

    with django_assert_max_num_queries(12):  # the admin builds its changelist twice; no per-row query
        response = admin_client.post(
            CHANGELIST, {"action": "export_csv", "_selected_action": [order.pk for order in orders]}
        )
        body = b"".join(response.streaming_content).decode("utf-8-sig")

    assert len(body.strip().splitlines()) == 31


@pytest.mark.parametrize(
    "name",
    ["Budi;=1+1", "Budi,=1+1", "Budi\t@SUM(A1)", "Budi\n=cmd|' /C calc'!A0", "Budi; -2+3", "+628123"],
)
def test_csv_export_neutralises_formulas_after_any_separator(admin_client, name):
    ticket = TicketFactory(name="Regular", quota=10)
    order = order_with_payment(quantity=1, ticket=ticket).order
    order.buyer.full_name = name
    order.buyer.save()

    body = b"".join(
        admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [order.pk]}).streaming_content
    ).decode("utf-8-sig")

    # However a spreadsheet splits the line (Indonesian Excel on ";", others on "," or tab,
    # quotes honoured or not), no piece begins with a formula character.
    for piece in re.split(r"[;,\t\r\n]", body):
        piece = piece.strip().strip('"').strip()
        if re.fullmatch(r"\+62\d+", piece) and piece != name:
            continue  # the phone column: E.164 as stored, a number to a spreadsheet
        assert not piece.startswith(("=", "+", "-", "@")), (name, piece)
    # Read back as CSV, the name is whole, in one cell, only made inert.
    row = list(csv.reader(io.StringIO(body)))[1]
    assert row[4].replace("'", "") == name.replace("'", "")
