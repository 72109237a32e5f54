"""Vouchers in the admin: a typed code, N generated codes as a CSV, export, and a maximum
that cannot go below the uses taken."""

import csv
import io

import pytest
from django.db import transaction
from django.utils import timezone

from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import Voucher, VoucherKind
from vouchers.services import voucher_redeem
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/vouchers/voucher/add/"
GENERATE = "/admin/vouchers/voucher/generate/"


def settings_post(event, **changes) -> dict:
    return {
        "event": event.pk,
        "kind": VoucherKind.PERCENT,
        "value": 20,
        "max_uses": 10,
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "combines_with_limits": "on",
        "note": "",
        **changes,
    }


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_typed_code_is_stored_in_upper_case_with_its_phases(admin_client):
    ticket = TicketFactory()
    response = admin_client.post(ADD, settings_post(ticket.event, code=" komunitas py ", tickets=[ticket.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    voucher = Voucher.objects.get()
    assert voucher.code == "KOMUNITASPY"
    assert list(voucher.tickets.all()) == [ticket]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": 150}, "value"),
        ({"kind": VoucherKind.UNLOCK, "value": 5}, "value"),
        # No payment channel takes Rp 50 (MINIMUM_CHARGE): free, or at least Rp 100.
        ({"kind": VoucherKind.SET_PRICE, "value": 50}, "value"),
        ({"code": "DUP"}, None),
    ],
)
def test_bad_terms_are_form_errors(admin_client, changes, field):
    event = EventFactory()
    VoucherFactory(event=event, code="DUP")
    response = admin_client.post(ADD, settings_post(event, **{"code": "NEW", **changes}))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors and (field is None or field in form.errors)
    assert Voucher.objects.count() == 1


@pytest.mark.parametrize("value", [0, 100])
def test_a_set_price_of_0_or_a_payable_amount_is_taken(admin_client, value):
    event = EventFactory()
    response = admin_client.post(ADD, settings_post(event, code="SET", kind=VoucherKind.SET_PRICE, value=value))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Voucher.objects.get().value == value


def test_phases_of_another_event_are_refused(admin_client):
    ticket = TicketFactory()
    response = admin_client.post(ADD, settings_post(EventFactory(), code="X", tickets=[ticket.pk]))
    assert "tickets" in response.context["adminform"].form.errors


def test_generating_codes_downloads_them_as_csv_with_links(admin_client, settings):
    settings.SITE_URL = "https://tiket.tedxbandung.id"
    ticket = TicketFactory(event__slug="tedxbandung")
    VoucherFactory(event=ticket.event, code="ITB-EXISTING")

    response = admin_client.post(
        GENERATE,
        settings_post(ticket.event, count=25, prefix="itb", batch="ITB students", tickets=[ticket.pk], max_uses=1),
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)) == 25
    assert all(code.startswith("ITB-") and len(code) == 12 for code in codes)
    assert rows[0]["link"] == f"https://tiket.tedxbandung.id/events/tedxbandung/?voucher={codes[0]}"
    generated = Voucher.objects.filter(batch="ITB students")
    assert generated.count() == 25
    assert {tuple(v.tickets.values_list("pk", flat=True)) for v in generated} == {(ticket.pk,)}
    assert {(v.kind, v.value, v.max_uses) for v in generated} == {(VoucherKind.PERCENT, 20, 1)}


def test_export_action_downloads_the_selected_codes(admin_client):
    event = EventFactory()
    vouchers = [VoucherFactory(event=event, code=code) for code in ("A1", "B2")]
    response = admin_client.post(
        "/admin/vouchers/voucher/",
        {"action": "export_vouchers_csv", "_selected_action": [v.pk for v in vouchers]},
    )
    assert [row["code"] for row in csv_rows(response)] == ["A1", "B2"]


def test_max_uses_cannot_go_below_the_uses_taken_and_used_is_never_written_back(admin_client):
    ticket = TicketFactory()
    voucher = VoucherFactory(event=ticket.event, code="TEN", max_uses=10)
    change = f"/admin/vouchers/voucher/{voucher.pk}/change/"
    form_page = admin_client.get(change)  # the form is read with used = 0
    assert form_page.status_code == 200
    with transaction.atomic():
        voucher_redeem(voucher_id=voucher.pk, uses=4, now=timezone.now())

    refused = admin_client.post(change, settings_post(ticket.event, code="TEN", max_uses=3))
    assert "max_uses" in refused.context["adminform"].form.errors

    saved = admin_client.post(change, settings_post(ticket.event, code="TEN", max_uses=5, note="ITB"))
    assert saved.status_code == 302
    voucher.refresh_from_db()
    assert (voucher.max_uses, voucher.used, voucher.note) == (5, 4, "ITB")


@pytest.mark.parametrize("max_uses", [0, -1])
def test_max_uses_below_one_is_refused_on_its_field_in_plain_english(admin_client, max_uses):
    # Not "Constraint “voucher_max_uses_positive” is violated." above the form.
    response = admin_client.post(ADD, settings_post(EventFactory(), code="ZERO", max_uses=max_uses))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "max_uses": ["At least 1: one use is one ticket the voucher covers."]
    }
    assert not Voucher.objects.exists()


def test_max_uses_above_a_million_is_refused_not_a_server_error(admin_client):
    # Beyond the column it used to reach the conditional UPDATE during validation and fail there.
    voucher = VoucherFactory(code="BIG", max_uses=10)
    change = f"/admin/vouchers/voucher/{voucher.pk}/change/"

    for max_uses in (1_000_001, 4_294_967_296):
        response = admin_client.post(change, settings_post(voucher.event, code="BIG", max_uses=max_uses))
        assert response.context["adminform"].form.errors == {"max_uses": ["At most 1.000.000."]}
    voucher.refresh_from_db()
    assert voucher.max_uses == 10


def test_the_pages_render(admin_client):
    voucher = VoucherFactory(tickets=[TicketFactory()])
    for url in ("/admin/vouchers/voucher/", ADD, GENERATE, f"/admin/vouchers/voucher/{voucher.pk}/change/"):
        assert admin_client.get(url).status_code == 200, url
    assert "Generate codes" in admin_client.get("/admin/vouchers/voucher/").content.decode()


def test_exported_text_cells_cannot_run_as_formulas(admin_client, settings):
    # Codes made before the forms refused such a start, or by a prefix like "=X": the CSV
    # goes to a mail merge in a spreadsheet.
    settings.SITE_URL = "https://tiket.tedxbandung.id"
    event = EventFactory(name="@TEDxBandung", slug="tedxbandung")
    formula = VoucherFactory(event=event, code="=X-F4EEEK96")
    separated = VoucherFactory(event=event, code="ITB;=1+1")

    response = admin_client.post(
        "/admin/vouchers/voucher/",
        {"action": "export_vouchers_csv", "_selected_action": [formula.pk, separated.pk]},
    )

    rows = {row["code"]: row for row in csv_rows(response)}
    assert set(rows) == {"'=X-F4EEEK96", "ITB;'=1+1"}
    assert {row["event"] for row in rows.values()} == {"'@TEDxBandung"}
    # The link carries the code URL-encoded: it opens the right voucher and holds no separator.
    assert rows["'=X-F4EEEK96"]["link"] == "https://tiket.tedxbandung.id/events/tedxbandung/?voucher=%3DX-F4EEEK96"
    assert rows["ITB;'=1+1"]["link"] == "https://tiket.tedxbandung.id/events/tedxbandung/?voucher=ITB%3B%3D1%2B1"


@pytest.mark.parametrize("code", ["=X", " +x1", "-5", "@ITB"])
def test_a_code_that_would_start_a_spreadsheet_formula_is_refused(admin_client, code):
    event = EventFactory()
    response = admin_client.post(ADD, settings_post(event, code=code))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == [
        "A code cannot start with =, +, - or @: a spreadsheet would run it as a formula."
    ]
    assert not Voucher.objects.exists()


def test_an_existing_code_with_such_a_start_can_still_be_edited(admin_client):
    # Refusing it now would force a new code on buyers who already have the link.
    voucher = VoucherFactory(code="=OLD")
    response = admin_client.post(
        f"/admin/vouchers/voucher/{voucher.pk}/change/", settings_post(voucher.event, code="=old", note="kept")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    voucher.refresh_from_db()
    assert (voucher.code, voucher.note) == ("=OLD", "kept")


@pytest.mark.parametrize("prefix", ["=X", "+x", "-", "@a"])
def test_a_generator_prefix_that_would_start_a_formula_is_refused(admin_client, prefix):
    event = EventFactory()
    response = admin_client.post(GENERATE, settings_post(event, count=3, prefix=prefix, batch="B"))
    assert response.status_code == 200
    assert response.context["form"].errors["prefix"] == [
        "A prefix cannot start with =, +, - or @: a spreadsheet would run the codes as formulas."
    ]
    assert not Voucher.objects.exists()
