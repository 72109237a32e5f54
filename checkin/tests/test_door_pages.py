"""The door page for volunteers, through Django's test client: what it does and what a door
user may not see or reach."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from checkin.models import CheckIn, CheckInSource
from checkin.services import checkin_admit_ticket
from checkin.tests.conftest import make_door_user
from orders.models import IssuedTicket, OrderEvent
from tedxpay.core.admin_records import JAKARTA
from tickets.tests.factories import EventFactory

pytestmark = pytest.mark.django_db

BUYER = {"email": "siti.rahma@example.com", "phone": "+6281299887766"}


@pytest.fixture
def siti(paid_order):
    return paid_order(quantity=2, **BUYER)


def scan(client, event, **fields):
    return client.post(reverse("door-scan"), {"event": event.slug, **fields}).json()


def test_scan_green_then_red_with_when_and_gate(door_client, siti, event):
    ticket = siti.issued_tickets.first()

    first = scan(door_client, event, code=ticket.short_code.lower(), gate="Gate A")
    assert (first["tone"], first["result"], first["name"], first["ticket_name"]) == (
        "green",
        "admitted",
        "Siti Rahma",
        "Regular",
    )
    assert first["count"]["admitted"] == 1 and first["count"]["expected"] == 2
    assert CheckIn.objects.get().checked_in_by.username == "gate-a"

    again = scan(door_client, event, code=ticket.code, gate="Gate B")
    assert (again["tone"], again["result"], again["name"]) == ("red", "already_checked_in", "Siti Rahma")
    first_in = CheckIn.objects.get().checked_in_at
    assert again["title"] == "Sudah masuk"  # Indonesian unless the volunteer chose English
    assert again["detail"] == f"Pukul {timezone.localtime(first_in, JAKARTA):%H.%M} WIB di Gate A"


def test_unknown_and_empty_codes_are_amber(door_client, siti, event):
    assert scan(door_client, event, code="ZZZZ-ZZZZ-ZZ")["tone"] == "amber"
    empty = scan(door_client, event, code="  ")
    assert (empty["tone"], empty["result"]) == ("amber", "validation_error")
    huge = scan(door_client, event, code="x" * 10_000)
    assert (huge["tone"], huge["result"]) == ("amber", "validation_error")
    assert not CheckIn.objects.exists()


def test_cancelled_and_other_event_tickets_are_red_with_the_reason(door_client, paid_order, event):
    from checkin.tests.conftest import make_order
    from orders.models import OrderStatus
    from tickets.tests.factories import EventFactory

    cancelled = paid_order(status=OrderStatus.CANCELLED).issued_tickets.get()
    elsewhere = make_order(event=EventFactory(slug="tedxbali")).issued_tickets.get()
    refused = scan(door_client, event, code=cancelled.code)
    assert (refused["tone"], refused["title"], refused["detail"]) == ("red", "Tidak berlaku", "Pesanan dibatalkan")
    door_client.cookies["tedxpay_language"] = "en"
    other = scan(door_client, event, code=elsewhere.short_code)
    assert (other["tone"], other["title"], other["detail"]) == ("red", "Not valid", "Ticket for another event")


def test_the_page_works_without_javascript(door_client, siti, event):
    ticket = siti.issued_tickets.first()
    page = door_client.post(f"/checkin/?event={event.slug}", {"event": event.slug, "code": ticket.short_code_display})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="result green' in html and "Siti Rahma" in html and "Silakan masuk" in html

    page = door_client.get("/checkin/", {"event": event.slug, "q": "siti"})
    html = page.content.decode()
    assert html.count('class="found-row') == 2 and "Sudah masuk" in html and "Belum masuk" in html


def test_search_by_name_or_order_code_then_admit(door_client, siti, event, paid_order):
    paid_order(buyer_name="Budi Santoso")
    by_name = door_client.get(reverse("door-search"), {"event": event.slug, "q": "rahma"}).json()["results"]
    assert [(row["name"], row["state"]) for row in by_name] == [("Siti Rahma", "not_in")] * 2
    assert set(by_name[0]) == {"ticket", "name", "ticket_name", "state", "status"}
    by_code = door_client.get(reverse("door-search"), {"event": event.slug, "q": siti.code.lower()}).json()["results"]
    assert len(by_code) == 2

    admitted = scan(door_client, event, ticket=str(by_name[0]["ticket"]), gate="Gate A")
    assert admitted["tone"] == "green"
    after = door_client.get(reverse("door-search"), {"event": event.slug, "q": "rahma"}).json()["results"]
    assert sorted(row["state"] for row in after) == ["in", "not_in"]
    assert scan(door_client, event, ticket="99999999")["result"] == "ticket_not_found"
    assert scan(door_client, event, ticket="1; DROP TABLE")["result"] == "ticket_not_found"


def test_undo_at_the_door_needs_a_reason_and_is_audited(door_client, siti, event):
    ticket = siti.issued_tickets.first()
    checkin_id = scan(door_client, event, code=ticket.code)["checkin_id"]

    refused = door_client.post(reverse("door-undo"), {"event": event.slug, "checkin": checkin_id, "reason": ""})
    assert refused.status_code == 400
    undone = door_client.post(
        reverse("door-undo"), {"event": event.slug, "checkin": checkin_id, "reason": "wrong ticket"}
    ).json()
    assert undone["result"] == "undone" and undone["count"]["admitted"] == 0
    assert "undone by gate-a: wrong ticket" in OrderEvent.objects.get(order=siti).note
    assert scan(door_client, event, code=ticket.code)["tone"] == "green"


def test_the_door_undoes_only_its_own_recent_admissions_at_its_event(door_client, siti, event, paid_order, settings):
    # Check-in ids are sequential: any other would let a volunteer undo someone else's
    # admission (or a stale one) and let that ticket in a second time.
    first, second = siti.issued_tickets.all()[:2]
    mine = scan(door_client, event, code=first.code)["checkin_id"]
    colleague = make_door_user("gate-b")
    theirs = checkin_admit_ticket(issued=second, event=event, gate="B", user=colleague, source=CheckInSource.DOOR)
    other_event = EventFactory(slug="tedxother")

    def undo(checkin_id, event_slug=event.slug):
        return door_client.post(reverse("door-undo"), {"event": event_slug, "checkin": checkin_id, "reason": "x"})

    refused = undo(theirs.pk)
    assert refused.status_code == 409 and refused.json()["error"] == "undo_not_allowed"
    assert undo(mine, event_slug=other_event.slug).status_code == 409
    CheckIn.objects.filter(pk=mine).update(checked_in_at=timezone.now() - timedelta(minutes=11))
    assert undo(mine).status_code == 409
    assert CheckIn.objects.filter(current=True).count() == 2  # both still in

    settings.DOOR_UNDO_MINUTES = 15
    assert undo(mine).json()["result"] == "undone"


def test_live_count_and_printable_list(door_client, siti, event, paid_order):
    paid_order(buyer_name="Andi Wijaya")
    scan(door_client, event, code=siti.issued_tickets.first().code, gate="Gate B")
    assert door_client.get(reverse("door-count"), {"event": event.slug}).json() == {
        "admitted": 1,
        "expected": 3,
        "text": "1 / 3",
    }
    # A ticket voided by a partial refund (the order stays PAID) is no longer expected.
    IssuedTicket.objects.filter(pk=siti.issued_tickets.last().pk).update(voided_at=timezone.now())
    assert door_client.get(reverse("door-count"), {"event": event.slug}).json()["expected"] == 2
    listing = door_client.get(reverse("door-list"), {"event": event.slug}).content.decode()
    assert listing.index("Andi Wijaya") < listing.index("Siti Rahma")  # by name
    assert listing.count("<tr class=") == 3 and "Gate B" in listing
    # Only the end of each short code: enough to match a phone's ticket, not to type one in.
    for ticket in siti.issued_tickets.all():
        assert f"…{ticket.short_code_display[-5:]}" in listing
        assert ticket.short_code_display not in listing and ticket.short_code not in listing


def test_door_user_never_sees_email_phone_or_amounts(door_client, siti, event):
    ticket = siti.issued_tickets.first()
    responses = [
        door_client.get("/checkin/", {"event": event.slug}),
        door_client.get("/checkin/", {"event": event.slug, "q": "Siti"}),
        door_client.post(f"/checkin/?event={event.slug}", {"event": event.slug, "code": ticket.code}),
        door_client.post(reverse("door-scan"), {"event": event.slug, "code": ticket.code}),
        door_client.get(reverse("door-search"), {"event": event.slug, "q": "Siti"}),
        door_client.get(reverse("door-search"), {"event": event.slug, "q": siti.code}),
        door_client.get(reverse("door-list"), {"event": event.slug}),
        door_client.get(reverse("door-count"), {"event": event.slug}),
    ]
    for response in responses:
        assert response.status_code == 200
        # CSRF tokens are random letters and digits: they could hold "Rp" or "700" by chance.
        text = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())
        assert "Siti Rahma" in text or "admitted" in text
        for secret in (BUYER["email"], "siti.rahma", "81299887766", "Rp", "350.000", "350000", "700.000", "700000"):
            assert secret not in text, (response.request["PATH_INFO"], secret)


def test_door_user_is_refused_every_admin_page(door_client, siti):
    urls = [reverse("admin:index"), reverse("admin:orders_order_dashboard")]
    for model, model_admin in admin_site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission is not None:
            urls.append(reverse("admin:{}_{}_add".format(*info)))
    urls.append(reverse("admin:orders_order_change", args=[siti.pk]))
    urls.append(reverse("admin:orders_issuedticket_change", args=[siti.issued_tickets.first().pk]))
    assert len(urls) > 20
    for url in urls:
        response = door_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    # Nor can the door user sign in to the admin with their password.
    login = door_client.post("/admin/login/", {"username": "gate-a", "password": "door-pass-123"})
    assert login.status_code == 200 and b"staff account" in login.content


def test_the_door_needs_sign_in_and_the_door_permission(client, django_user_model, event):
    response = client.get("/checkin/")
    assert response.status_code == 302 and response["Location"].startswith("/checkin/login/")
    assert client.post(reverse("door-scan"), {"code": "x"}).status_code == 302

    client.force_login(django_user_model.objects.create_user(username="nobody"))
    assert client.get("/checkin/").status_code == 403
    assert client.post(reverse("door-scan"), {"code": "x"}).status_code == 403


def test_door_login_page(client, door_user, event):
    assert client.get("/checkin/login/").status_code == 200
    response = client.post("/checkin/login/", {"username": "gate-a", "password": "door-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/checkin/"
    assert client.get("/checkin/").status_code == 200


def test_create_door_user_makes_a_door_only_account(client, event):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_door_user", "gate-b-1", stdout=out, stderr=err)
    password = out.getvalue().strip().splitlines()[-1]
    user = get_user_model().objects.get(username="gate-b-1")
    assert not user.is_staff and not user.is_superuser
    assert [group.name for group in user.groups.all()] == ["Door staff"]
    assert user.has_perm("checkin.use_door") and user.get_all_permissions() == {"checkin.use_door"}
    signed_in = client.post("/checkin/login/", {"username": "gate-b-1", "password": password})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/checkin/"
    assert client.get("/checkin/").status_code == 200

    with pytest.raises(CommandError):
        call_command("create_door_user", "gate-b-1", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("create_door_user", "gate-b-1", "--reset-password", stdout=out, stderr=err)
    assert out.getvalue().strip().splitlines()[-1] != password


def test_the_door_speaks_one_language_indonesian_unless_english_is_chosen(door_client, siti, event):
    ticket = siti.issued_tickets.first()
    page = door_client.get("/checkin/", {"event": event.slug}).content.decode()
    assert '<html lang="id">' in page and "Siap memindai" in page and "Kode tiket" in page
    assert "Ready to scan" not in page and "Ticket code" not in page and 'class="en"' not in page
    # The same switch as the buyer's pages, back to this page.
    assert f'href="/language/en/?next=/checkin/%3Fevent%3D{event.slug}"' in page
    assert 'data-text-admit="Masukkan"' in page  # the script's own words, translated too

    switched = door_client.get(f"/language/en/?next=/checkin/%3Fevent%3D{event.slug}")
    assert switched.status_code == 302 and switched["Location"] == f"/checkin/?event={event.slug}"
    page = door_client.get(switched["Location"]).content.decode()
    assert '<html lang="en">' in page and "Ready to scan" in page and "Ticket code" in page
    assert "Siap memindai" not in page and 'data-text-admit="Admit"' in page
    first = scan(door_client, event, code=ticket.code)
    assert (first["title"], first["name"]) == ("Admitted", "Siti Rahma")
    found = door_client.get(reverse("door-search"), {"event": event.slug, "q": "siti"}).json()["results"]
    assert sorted(row["status"] for row in found)[1] == "Not yet in"
    login = door_client.get("/checkin/login/")  # signed in: on to the door; the form itself
    assert login.status_code == 302
    door_client.logout()  # which forgets every cookie: the choice is made again
    door_client.cookies["tedxpay_language"] = "en"
    login = door_client.post("/checkin/login/", {"username": "gate-a", "password": "wrong"}).content.decode()
    assert '<html lang="en">' in login and "Wrong username or password." in login and "Username" in login


def test_door_times_are_the_events_wall_clock_with_its_zone(door_client, paid_order):
    bali = EventFactory(name="TEDxUbud", slug="tedxubud", time_zone="Asia/Makassar")
    order = paid_order(event=bali, quantity=1)
    ticket = order.issued_tickets.get()
    scan(door_client, bali, code=ticket.code, gate="Gate A")
    # Admitted at 02:02 UTC: 10.02 in Bali (WITA), 09.02 in Jakarta.
    CheckIn.objects.update(checked_in_at=datetime(2026, 12, 5, 2, 2, tzinfo=UTC))

    again = scan(door_client, bali, code=ticket.code)
    assert again["detail"] == "Pukul 10.02 WITA di Gate A"
    [row] = door_client.get(reverse("door-search"), {"event": bali.slug, "q": "siti"}).json()["results"]
    assert row["status"] == "Sudah masuk pukul 10.02 WITA, Gate A"
    page = door_client.get("/checkin/", {"event": bali.slug, "q": "siti"}).content.decode()
    assert "Sudah masuk pukul 10.02 WITA, Gate A" in page
    listing = door_client.get(reverse("door-list"), {"event": bali.slug}).content.decode()
    assert "Masuk (WITA)" in listing and "10:02 Gate A" in listing and "09:02" not in listing
    door_client.cookies["tedxpay_language"] = "en"
    assert scan(door_client, bali, code=ticket.code)["detail"] == "At 10:02 WITA at Gate A"
