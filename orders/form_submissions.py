"""One order per checkout form, however often it is sent (docs/buyer-pages.md, "Sent twice").

A double click, a reload of the POST, the back button from Xendit's page or two tabs of the
same page send the same form twice. Each rendering of the checkout carries a random one-time
token (a hidden field; no JavaScript, no session: a flash sale's page views write nothing,
and tabs cannot overwrite each other's tokens), signed so only tokens we issued count. The
token is the form's idempotency key in the mechanism the API uses for its
`Idempotency-Key` (tedxpay/core/idempotency.py), in a scope of its own: a row in the
database, written before the order is placed, that then records the outcome. So a repeat
gets the first submission's outcome in any worker, after a restart, with no shared cache.

What a token's row answers with (`FormOutcome`):
- the order it placed (or the buyer's unpaid order it led to): the repeat goes there too;
- the refusal (sold out, a voucher's, the gateway's: every `ApplicationError`): shown again
  on the form, which comes back with a new token for a deliberate new attempt;
- nothing yet: the first submission is still placing the order. The repeat is told so at
  once and sent to a page that asks again every second until the outcome is there
  (orders/views.py::checkout_placing): no request thread waits for another.
"""

import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from rest_framework.utils.encoders import JSONEncoder

from orders.models import Order
from tedxpay.core.errors import ApplicationError
from tedxpay.core.idempotency import (
    CHECKOUT_FORM_SCOPE,
    idempotency_claim,
    idempotency_complete,
    idempotency_find,
    request_fingerprint,
)
from tedxpay.core.models import IdempotencyKey

CHECKOUT_TOKEN_FIELD = "checkout_token"
CHECKOUT_TOKEN_SIGNER = signing.TimestampSigner(salt="tedxpay.checkout-token")
# Not what the buyer asks for: the CSRF token, the token itself, and the flag the checkout
# script sets (the same form sent with and without it is the same order).
_NOT_THE_REQUEST = frozenset({"csrfmiddlewaretoken", CHECKOUT_TOKEN_FIELD, "confirmed"})
# The status a placed order's row is stored with (the answer is "see that order").
_PLACED = 303


@dataclass(frozen=True)
class FormOutcome:
    """What a submitted form came to: an order, or a refusal as `ApplicationError` words it
    (`error`: code, message, details)."""

    order: Order | None = None
    error: dict | None = None


def checkout_token_issue() -> str:
    return CHECKOUT_TOKEN_SIGNER.sign(secrets.token_urlsafe(24))


def checkout_token_key(token: str) -> str | None:
    """The idempotency key of a token, or None when we did not issue it or it is older than
    its outcome is kept (a form left open for days, a forged field)."""
    max_age = settings.IDEMPOTENCY_KEY_TTL.total_seconds()
    try:
        return CHECKOUT_TOKEN_SIGNER.unsign(token, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired included
        return None


def submission_fingerprint(*, path: str, form_data) -> str:
    """The form's fields as sent (before any validation: after the first submission took
    the last seats, the same choice is no longer on offer, yet it is the same request)."""
    fields = {name: values for name, values in form_data.lists() if name not in _NOT_THE_REQUEST}
    return request_fingerprint(method="POST", path=path, data=fields)


def submission_find(*, key: str, fingerprint: str | None) -> FormOutcome | None:
    """The outcome of an earlier submission of this form, or None when there is none (or it
    can be claimed again). Raises `IdempotencyConflict` when the token came with other
    fields (None: any fields) and `IdempotencyInFlight` while the first one runs."""
    record = idempotency_find(scope=CHECKOUT_FORM_SCOPE, key=key, fingerprint=fingerprint)
    return None if record is None else _outcome_of(record)


def submission_claim(*, key: str, fingerprint: str) -> tuple[IdempotencyKey, FormOutcome | None]:
    """(row, None) when this submission owns the token and places the order; (row, outcome)
    when another submission got there first and finished. Raises as `submission_find`."""
    record, owned = idempotency_claim(scope=CHECKOUT_FORM_SCOPE, key=key, fingerprint=fingerprint)
    return record, None if owned else _outcome_of(record)


def submission_placed(*, record: IdempotencyKey, order: Order) -> None:
    idempotency_complete(record=record, status=_PLACED, body={"order": order.code})


def submission_refused(*, record: IdempotencyKey, error: ApplicationError) -> FormOutcome:
    error_body = {"code": error.code, "message": error.message, "details": error.details}
    # Through DRF's encoder, as the API's bodies: lazy translations and the like become
    # plain JSON once.
    body = {"error": json.loads(json.dumps(error_body, cls=JSONEncoder))}
    idempotency_complete(record=record, status=error.status_code, body=body)
    return FormOutcome(error=body["error"])


def submission_failed(*, record: IdempotencyKey) -> None:
    """Something unexpected (a bug, the database) ended the submission: a repeat is told it
    went wrong rather than placing a second order after one that may have been written."""
    body = {"error": {"code": "internal_error", "message": "", "details": {}}}
    idempotency_complete(record=record, status=500, body=body)


def _outcome_of(record: IdempotencyKey) -> FormOutcome:
    body = record.response_body or {}
    if record.response_status == _PLACED:
        return FormOutcome(order=Order.objects.select_related("payment").get(code=body["order"]))
    return FormOutcome(error=body.get("error") or {})
