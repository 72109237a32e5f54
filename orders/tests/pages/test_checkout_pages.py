"""The checkout page through Django's test client: what is offered, the language, how bad
input is answered (all at once, nothing written), the review step without JavaScript and
the stock dropping meanwhile."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.form_submissions import CHECKOUT_TOKEN_SIGNER
from orders.models import Order
from tickets.models import Ticket
from tickets.tests.factories import EventFactory, TicketFactory
from vouchers.models import VoucherKind
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


def checkout_post(client, slug: str, data: dict):
    """POST the checkout form as a browser does: with the one-time token of its rendering."""
    token = client.get(f"/events/{slug}/").context["checkout_token"]
    return client.post(f"/events/{slug}/", {**data, "checkout_token": token})


def buyer(**overrides) -> dict:
    return {"full_name": "A B", "email": "a@example.com", "phone": "08123456789", **overrides}


def in_english(client):
    client.cookies["tedxpay_language"] = "en"
    return client


def test_home_lists_events_with_phases_on_sale(client):
    TicketFactory(event__name="TEDxUbud", name="Regular", price=1_250_000)
    page = client.get("/").content.decode()
    assert "TEDxUbud" in page and "Rp 1.250.000" in page


def test_pages_are_indonesian_by_default_whatever_the_browser_announces(client):
    TicketFactory(event__slug="tedxbahasa")
    response = client.get("/events/tedxbahasa/", headers={"accept-language": "en-US,en;q=0.9"})
    page = response.content.decode()
    assert '<html lang="id">' in page
    assert response["Content-Language"] == "id"
    assert "Lanjut ke pembayaran" in page and "Continue to payment" not in page
    assert 'id="switch-language"' in page and ">English<" in page  # the switch, always visible


def test_the_language_link_remembers_the_choice_and_returns_to_the_same_page(client):
    TicketFactory(event__slug="tedxswitch")
    response = client.get("/language/en/", {"next": "/events/tedxswitch/?ref=x"})
    assert response.status_code == 302 and response["Location"] == "/events/tedxswitch/?ref=x"
    page = client.get("/events/tedxswitch/").content.decode()
    assert '<html lang="en">' in page and "Continue to payment" in page
    # Only back to this site.
    assert client.get("/language/id/", {"next": "https://evil.example/"})["Location"] == "/"


def test_switching_language_on_the_checkout_keeps_the_chosen_tickets_and_typed_details(client):
    ticket = TicketFactory(event__slug="tedxkeep", name="Regular", price=350_000)
    response = client.post(
        "/events/tedxkeep/",
        {f"quantity_{ticket.pk}": "2", **buyer(full_name="Siti Rahma"), "switch_language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in page
    assert response.cookies["tedxpay_language"].value == "en"
    assert re.search(r'<option value="2" selected>2</option>', page)
    assert 'value="Siti Rahma"' in page
    assert "Rp 700.000" in page  # the total of what is chosen
    assert 'class="error-summary"' not in page  # a switch is not a submission
    assert not Order.objects.exists()


def test_after_a_switch_the_voucher_and_the_labels_are_in_the_new_language(client):
    ticket = TicketFactory(event__slug="tedxswitch", name="Regular", price=350_000)
    VoucherFactory(event=ticket.event, code="KOMUNITAS", kind=VoucherKind.PERCENT, value=20)

    response = client.post(
        "/events/tedxswitch/",
        {f"quantity_{ticket.pk}": "1", "voucher": "KOMUNITAS", **buyer(), "switch_language": "en"},
    )

    page = response.content.decode()
    assert '<html lang="en">' in page and "20% off" in page
    assert "diskon" not in page and "Jumlah tiket" not in page  # nothing left in Indonesian


def test_checkout_offers_only_phases_on_sale_and_at_most_what_is_left(client):
    event = EventFactory(slug="tedxcheckout")
    now = timezone.now()
    on_sale = TicketFactory(event=event, name="Regular", quota=10, max_per_order=5)
    scarce = TicketFactory(event=event, name="Student", quota=2, max_per_order=5)
    TicketFactory(
        event=event, name="Early Bird", valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1)
    )
    response = in_english(client).get("/events/tedxcheckout/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'name="quantity_{on_sale.pk}"' in page and f'name="quantity_{scarce.pk}"' in page
    assert "Sale ended" in page
    form = response.context["phases"]
    options = {row["ticket"].name: len(row["field"].field.choices) if row["field"] else None for row in form}
    assert options == {"Regular": 6, "Student": 3, "Early Bird": None}  # 0..5, 0..2


def test_every_control_has_a_label_and_the_details_have_autocomplete_hints(client):
    ticket = TicketFactory(event__slug="tedxlabels", name="Student")
    page = in_english(client).get("/events/tedxlabels/").content.decode()
    assert f'<label for="id_quantity_{ticket.pk}" class="visually-hidden">Number of Student tickets</label>' in page
    for field, hint in (("full_name", "name"), ("email", "email"), ("phone", "tel")):
        assert f'<label for="id_{field}">' in page
        assert re.search(rf'<input[^>]*autocomplete="{hint}"[^>]*id="id_{field}"', page), field
    assert "<script>" not in page  # scripts come from static files (Content-Security-Policy)
    assert '<script src="/static/js/checkout.js" defer></script>' in page


def test_all_errors_come_at_once_with_a_summary_and_what_was_typed_kept(client):
    ticket = TicketFactory(event__slug="tedxerrors")
    response = checkout_post(
        in_english(client),
        "tedxerrors",
        {f"quantity_{ticket.pk}": "0", "full_name": "", "email": "not-an-email", "phone": "call me"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    summary = re.search(
        r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1".*?</div>', page, re.S
    )
    assert summary, page
    summary = summary.group(0)
    assert "Please fix these 4 problems" in summary
    assert "Choose at least one ticket." in summary
    assert '<a href="#id_full_name">' in summary
    assert '<a href="#id_email">Enter a valid email address.</a>' in summary
    assert '<a href="#id_phone">Enter an Indonesian mobile number' in summary
    assert 'value="not-an-email"' in page and 'value="call me"' in page
    assert not Order.objects.exists()


def test_errors_in_indonesian_by_default(client):
    ticket = TicketFactory(event__slug="tedxsalah")
    response = checkout_post(client, "tedxsalah", {f"quantity_{ticket.pk}": "1", **buyer(phone="telepon saya")})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Masukkan nomor ponsel Indonesia" in page and "Mohon perbaiki 1 masalah berikut" in page


def test_the_summary_names_each_empty_field(client):
    ticket = TicketFactory(event__slug="tedxkosong")
    page = checkout_post(client, "tedxkosong", {f"quantity_{ticket.pk}": "1"}).content.decode()
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    for label in ("Nama lengkap", "Email", "Nomor ponsel"):
        assert f"{label}: Bidang ini harus diisi." in summary, label


def test_without_javascript_a_review_step_shows_the_total_before_payment(client):
    regular = TicketFactory(event__slug="tedxreview", name="Regular", price=350_000)
    student = TicketFactory(event=regular.event, name="Student", price=150_000)
    data = {f"quantity_{regular.pk}": "2", f"quantity_{student.pk}": "1", **buyer()}
    response = checkout_post(in_english(client), "tedxreview", data)  # no `confirmed`: no script ran
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="review"' in page
    assert re.search(r'id="review-total">Rp 850.000<', page)
    assert "Continue to payment (Rp 850.000)" in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    assert f'<input type="hidden" name="quantity_{regular.pk}" value="2">' in page
    assert not Order.objects.exists()  # nothing held yet

    # "Change" goes back to the form as it was, without errors.
    change = client.post("/events/tedxreview/", {**data, "edit": "1", "checkout_token": "x"})
    assert change.status_code == 200 and 'id="review"' not in change.content.decode()
    assert 'class="error-summary"' not in change.content.decode()


def test_stock_dropping_meanwhile_changes_the_selection_and_says_so(client):
    ticket = TicketFactory(event__slug="tedxdrop", name="Student", quota=5, max_per_order=5)
    token = in_english(client).get("/events/tedxdrop/").context["checkout_token"]
    Ticket.objects.filter(pk=ticket.pk).update(held=4)  # others bought meanwhile: 1 left

    response = client.post(
        "/events/tedxdrop/", {f"quantity_{ticket.pk}": "2", **buyer(full_name="Rudi"), "checkout_token": token}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Only 1 Student ticket is left; we changed your selection to 1." in page
    assert "Select a valid choice" not in page
    assert re.search(r'<option value="1" selected>1</option>', page)
    assert 'value="Rudi"' in page
    assert not Order.objects.exists()


def test_checkout_with_an_unreadable_phone_shows_it_on_the_field(client):
    ticket = TicketFactory(event__slug="tedxphone")
    response = checkout_post(client, "tedxphone", {f"quantity_{ticket.pk}": "1", **buyer(phone="call me")})
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert not Order.objects.exists()
    ticket.refresh_from_db()
    assert ticket.held == 0


def test_checkout_refuses_a_quantity_that_was_never_offered(client):
    ticket = TicketFactory(event__slug="tedxtamper", max_per_order=2)
    response = checkout_post(client, "tedxtamper", {f"quantity_{ticket.pk}": "9", **buyer(), "confirmed": "1"})
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_checkout_without_a_token_we_issued_places_nothing(client):
    # A form with the field missing or made up: shown again, with a new token.
    ticket = TicketFactory(event__slug="tedxstale")
    data = {f"quantity_{ticket.pk}": "1", **buyer(), "confirmed": "1"}
    for token in (None, "not-one-we-gave"):
        response = in_english(client).post(
            "/events/tedxstale/", data if token is None else {**data, "checkout_token": token}
        )
        assert response.status_code == 400
        assert "This form was out of date" in response.content.decode()
        CHECKOUT_TOKEN_SIGNER.unsign(response.context["checkout_token"])  # a fresh one of ours
    assert not Order.objects.exists()
    ticket.refresh_from_db()
    assert ticket.held == 0
