"""The one idempotency mechanism: the API's `Idempotency-Key` header (docs/api.md,
"Idempotency") and the checkout form's one-time token (orders/form_submissions.py,
docs/buyer-pages.md, "Sent twice") both go through it. Stored in the database, so it holds
across gunicorn workers and restarts and needs no shared cache.

- A key lives in a scope (`api_key_scope(id)` for an API client, CHECKOUT_FORM_SCOPE for
  the checkout): keys of different owners never meet.
- A new key: a row is inserted *before* the work starts (unique per scope), the work runs,
  and its outcome (a status and a JSON body) is stored on the row.
- Same key, same request (the fingerprint: method, path and the body compared after
  parsing): the stored outcome is the answer.
- Same key, another request: `IdempotencyConflict` (422 `idempotency_conflict`).
- Same key while the first request still runs: `IdempotencyInFlight` (409
  `idempotency_in_flight`), at once: nothing waits for the first request. A row left in
  flight longer than IDEMPOTENCY_IN_FLIGHT_TIMEOUT (its worker died) is taken over.
- What is stored is the caller's choice. The API stores 2xx and 4xx (the outcome of that
  attempt: an order, or the reason there is none) and releases the key on a 5xx (nothing
  was kept, so retrying with the same key must be allowed to do the work).
- Rows live IDEMPOTENCY_KEY_TTL (24 h); an older row counts as absent and is replaced,
  and `idempotency_key_purge` deletes them in bulk.
"""

import functools
import hashlib
import json
import logging
import re
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from tedxpay.core.errors import ApplicationError, InvalidInput
from tedxpay.core.models import ApiKey, IdempotencyKey

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces: the key is logged and stored, and UUIDs fit.
_ACCEPTABLE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# The checkout form's tokens. An API client's scope always has a colon and a number, so
# no client key can land in it.
CHECKOUT_FORM_SCOPE = "checkout-form"
# The back office's "Issue complimentary tickets" form (orders/admin_comps.py).
COMPS_FORM_SCOPE = "comps-form"


def api_key_scope(api_key_id: int) -> str:
    return f"api-key:{api_key_id}"


class IdempotencyConflict(ApplicationError):
    code = "idempotency_conflict"
    status_code = 422
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyInFlight(ApplicationError):
    code = "idempotency_in_flight"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry in a moment."


def request_fingerprint(*, method: str, path: str, data) -> str:
    # Parsed and re-serialised with sorted keys: key order and whitespace are not a
    # different request, a different value is.
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def idempotency_claim(*, scope: str, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """(row, True) when this request now owns the key and must do the work; (row, False)
    when the key has a finished outcome: the caller answers with it. Raises
    `IdempotencyConflict` and `IdempotencyInFlight` itself."""
    now = timezone.now()
    for _ in range(3):
        try:
            # A savepoint: a duplicate must not break a surrounding transaction (tests).
            with transaction.atomic():
                record = IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
            return record, True
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if record is None:
            continue  # released by a failed first request in between: claim it again
        if _expired(record, now):
            IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        _refuse_another_request(record, fingerprint)
        if record.response_status is not None:
            return record, False
        if _abandoned(record, now) and _take_over(record, now):
            logger.warning("idempotency key %s (%s) was abandoned in flight; taken over", key, scope)
            return record, True
        raise IdempotencyInFlight(details={"idempotency_key": key})
    raise IdempotencyInFlight(details={"idempotency_key": key})


def idempotency_find(*, scope: str, key: str, fingerprint: str | None) -> IdempotencyKey | None:
    """Look without claiming: the row with a finished outcome to answer with, or None when
    the key is free (never used, expired, or abandoned in flight: `idempotency_claim` takes
    it). Raises `IdempotencyConflict` for another request (unless `fingerprint` is None:
    any request) and `IdempotencyInFlight` while the first one runs."""
    now = timezone.now()
    record = IdempotencyKey.objects.filter(scope=scope, key=key).first()
    if record is None or _expired(record, now):
        return None
    if fingerprint is not None:
        _refuse_another_request(record, fingerprint)
    if record.response_status is not None:
        return record
    if _abandoned(record, now):
        return None
    raise IdempotencyInFlight(details={"idempotency_key": key})


def _expired(record: IdempotencyKey, now: datetime) -> bool:
    return record.created_at <= now - settings.IDEMPOTENCY_KEY_TTL


def _abandoned(record: IdempotencyKey, now: datetime) -> bool:
    return record.created_at <= now - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT


def _refuse_another_request(record: IdempotencyKey, fingerprint: str) -> None:
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(details={"idempotency_key": record.key})


def _take_over(record: IdempotencyKey, now: datetime) -> bool:
    # Conditional on the old timestamp: of two requests finding the same dead row, one wins.
    won = IdempotencyKey.objects.filter(
        pk=record.pk, response_status__isnull=True, created_at=record.created_at
    ).update(created_at=now)
    record.created_at = now
    return won == 1


def idempotency_complete(*, record: IdempotencyKey, status: int, body) -> None:
    """Store the outcome the key answers with from now on (`body`: plain JSON)."""
    try:
        IdempotencyKey.objects.filter(pk=record.pk).update(
            response_status=status, response_body=body, completed_at=timezone.now()
        )
    except DatabaseError:
        # The answer still goes out; the row stays "in flight" until its timeout.
        logger.exception("could not store the outcome of idempotency key %s (%s)", record.key, record.scope)
    record.response_status, record.response_body = status, body


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Nothing was kept: the key is free, and the same request may do the work again."""
    try:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
    except DatabaseError:
        # The row stays "in flight" until its timeout; the caller's own error goes up.
        logger.exception("could not release idempotency key %s (%s)", record.key, record.scope)


def idempotency_key_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL (for a periodic task)."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent(view_method):
    """Decorate an APIView write method authenticated by an API key (request.auth)."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not _ACCEPTABLE_KEY.match(key):
            raise InvalidInput(details={IDEMPOTENCY_HEADER: ["1 to 255 printable ASCII characters, no spaces."]})
        if not isinstance(request.auth, ApiKey):
            raise RuntimeError("idempotent views must authenticate with an API key")
        # Parsing first: a body that is not JSON is refused without touching the key.
        fingerprint = request_fingerprint(method=request.method, path=request.path, data=request.data)
        record, owned = idempotency_claim(scope=api_key_scope(request.auth.pk), key=key, fingerprint=fingerprint)
        if not owned:
            return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})
        try:
            try:
                response = view_method(view, request, *args, **kwargs)
            except Exception as exc:
                # Rendered here, not in dispatch, so the error body can be stored and replayed.
                response = view.handle_exception(exc)
        except BaseException:
            idempotency_release(record=record)
            raise
        if response.status_code >= 500:
            idempotency_release(record=record)
        else:
            # Through DRF's encoder: dates, decimals and ErrorDetail become plain JSON once.
            idempotency_complete(
                record=record,
                status=response.status_code,
                body=json.loads(json.dumps(response.data, cls=JSONEncoder)),
            )
        return response

    return wrapper
