"""The callback endpoint's contract before any gateway is involved: authentication, body
validation, storage of unmatched and ignored callbacks, de-duplication."""

import json

import pytest
from django.conf import settings

from payments.models import WebhookEvent, WebhookOutcome
from payments.tests.conftest import CALLBACK_URL, callback_body, post_callback

pytestmark = pytest.mark.django_db

UNKNOWN = {"invoice_id": "6748105a77f16ebe0cc583a7", "external_id": "TDX-NOTOURS1", "amount": 300_000}


@pytest.mark.parametrize("token", [None, "", "wrong-token", "simulator-callback-token "])
def test_missing_or_wrong_token_is_refused_and_nothing_is_stored(client, token, caplog):
    response = post_callback(client, callback_body(**UNKNOWN), token=token)

    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "authentication_failed"
    assert body["request_id"] == response["X-Request-ID"]
    assert not WebhookEvent.objects.exists()
    assert "payment callback refused" in caplog.text


def test_no_token_configured_refuses_everything(client, settings):
    # An empty XENDIT_CALLBACK_TOKEN must not turn "no header" into a match.
    settings.XENDIT_CALLBACK_TOKEN = ""
    assert post_callback(client, callback_body(**UNKNOWN), token="").status_code == 401
    assert not WebhookEvent.objects.exists()


def test_token_is_checked_before_the_body(client):
    response = post_callback(client, "{not json", token="wrong")
    assert response.status_code == 401


@pytest.mark.parametrize("raw", ["{not json", "", '"PAID"', "[1, 2]", b"\xff\xfe{}"])
def test_broken_json_is_400(client, raw):
    response = post_callback(client, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "PAID", "external_id": "TDX-1"}, "id"),
        ({"id": "6748105a77f16ebe0cc583a7"}, "status"),
        ({"id": "", "status": "PAID"}, "id"),
        ({"id": {"nested": 1}, "status": "PAID"}, "id"),
        ({"id": "6748105a77f16ebe0cc583a7", "status": None}, "status"),
        ({"id": "x" * 65, "status": "PAID"}, "id"),
        # Another system on the same Xendit account: a longer external_id, an id in its own format.
        ({"id": "6748105a77f16ebe0cc583a7", "status": "PAID", "external_id": "shop-" + "9" * 80}, "external_id"),
        ({"id": "inv/2026/000042", "status": "PAID", "external_id": "invoice_123124123"}, "id"),
    ],
)
def test_an_authenticated_json_object_we_cannot_use_is_stored_unmatched_and_answered_200(client, body, field):
    # A 400 would make Xendit send it again for a day; it is not ours to act on.
    response = post_callback(client, body)

    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == WebhookOutcome.UNMATCHED
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.UNMATCHED and event.dedupe_key is None and event.payment is None
    assert field in event.outcome_detail and event.processed_at is not None
    assert event.raw_body == json.dumps(body)
    assert len(event.invoice_id) <= 64 and len(event.external_id) <= 64


def test_the_webhook_id_header_is_kept_on_the_stored_event(client):
    response = client.post(
        "/api/payment-callback",
        data=json.dumps(callback_body(**UNKNOWN)),
        content_type="application/json",
        headers={"x-callback-token": settings.XENDIT_CALLBACK_TOKEN, "webhook-id": "wh_5f1b2c3d4e"},
    )

    assert response.status_code == 200
    assert WebhookEvent.objects.get().webhook_id == "wh_5f1b2c3d4e"


def test_unknown_invoice_is_stored_unmatched_and_answered_200(client):
    body = callback_body(**UNKNOWN) | {"some_new_xendit_key": {"nested": [1, 2]}}

    response = post_callback(client, body, token="default")

    assert response.status_code == 200
    assert response.json()["outcome"] == WebhookOutcome.UNMATCHED
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.UNMATCHED
    assert (event.invoice_id, event.external_id, event.status) == (UNKNOWN["invoice_id"], "TDX-NOTOURS1", "PAID")
    assert event.dedupe_key == f"{UNKNOWN['invoice_id']}:PAID"
    assert event.request_id == response["X-Request-ID"]
    assert '"some_new_xendit_key"' in event.raw_body and event.payment is None
    assert event.processed_at is not None


def test_a_repeat_is_stored_as_duplicate_and_answered_200(client):
    body = callback_body(**UNKNOWN)
    post_callback(client, body)

    response = post_callback(client, body)

    assert response.status_code == 200
    assert response.json()["outcome"] == WebhookOutcome.DUPLICATE
    first, repeat = WebhookEvent.objects.order_by("pk")
    assert first.outcome == WebhookOutcome.UNMATCHED and first.dedupe_key
    assert repeat.outcome == WebhookOutcome.DUPLICATE and repeat.dedupe_key is None
    assert f"copy of event {first.pk}" in repeat.outcome_detail


def test_status_is_case_insensitive_for_dedupe(client):
    post_callback(client, callback_body(**UNKNOWN))
    response = post_callback(client, callback_body(**UNKNOWN) | {"status": "paid"})
    assert response.json()["outcome"] == WebhookOutcome.DUPLICATE


def test_statuses_we_do_not_act_on_are_stored_ignored(client):
    response = post_callback(client, callback_body(**UNKNOWN, status="PENDING"))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.IGNORED
    assert "PENDING" in event.outcome_detail


def test_only_post(client):
    response = client.get(CALLBACK_URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
