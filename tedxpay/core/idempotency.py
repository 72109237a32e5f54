"""`Idempotency-Key` for API writes (docs/api.md, "Idempotency"), stored in the database so it holds
across gunicorn workers.

- A new key: a row is inserted *before* the work starts (unique per API key), the view
  runs, and its response (status + JSON body) is stored on the row.
- Same key, same request (method, path, JSON body compared after parsing): the stored
  response is replayed, status and body as they were (the body's `request_id` included),
  with the header `Idempotent-Replayed: true`.
- Same key, another request: 422 `idempotency_conflict`.
- Same key while the first request still runs: 409 `idempotency_in_flight`. A row left in
  flight longer than IDEMPOTENCY_IN_FLIGHT_TIMEOUT (its worker died) is taken over.
- What is stored: 2xx and 4xx (the outcome of that attempt: an order, or the reason there
  is none). A 5xx (gateway down, database busy, a bug) deletes the row: nothing was kept,
  so retrying with the same key must be allowed to do the work.
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


def idempotency_claim(*, api_key: ApiKey, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """(row, True) when this request now owns the key and must do the work; (row, False)
    when the key is known: the caller replays or refuses. Raises the refusals itself."""
    now = timezone.now()
    for _ in range(3):
        try:
            # A savepoint: a duplicate must not break a surrounding transaction (tests).
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    api_key=api_key, key=key, fingerprint=fingerprint, created_at=now
                )
            return record, True
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
        if record is None:
            continue  # released by a failed first request in between: claim it again
        if record.created_at <= now - settings.IDEMPOTENCY_KEY_TTL:
            IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != fingerprint:
            raise IdempotencyConflict(details={"idempotency_key": key})
        if record.response_status is not None:
            return record, False
        if record.created_at <= now - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT and _take_over(record, now):
            logger.warning("idempotency key %s was abandoned in flight; taken over", key)
            return record, True
        raise IdempotencyInFlight(details={"idempotency_key": key})
    raise IdempotencyInFlight(details={"idempotency_key": key})


def _take_over(record: IdempotencyKey, now: datetime) -> bool:
    # Conditional on the old timestamp: of two requests finding the same dead row, one wins.
    won = IdempotencyKey.objects.filter(
        pk=record.pk, response_status__isnull=True, created_at=record.created_at
    ).update(created_at=now)
    record.created_at = now
    return won == 1


def idempotency_complete(*, record: IdempotencyKey, response: Response) -> None:
    try:
        if response.status_code >= 500:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            return
        # Through DRF's encoder: dates, decimals and ErrorDetail become plain JSON once.
        body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        IdempotencyKey.objects.filter(pk=record.pk).update(
            response_status=response.status_code, response_body=body, completed_at=timezone.now()
        )
    except DatabaseError:
        # The answer still goes out; the row stays "in flight" until its timeout.
        logger.exception("could not store the response of idempotency key %s", record.key)


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
        record, owned = idempotency_claim(api_key=request.auth, key=key, fingerprint=fingerprint)
        if not owned:
            return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})
        try:
            try:
                response = view_method(view, request, *args, **kwargs)
            except Exception as exc:
                # Rendered here, not in dispatch, so the error body can be stored and replayed.
                response = view.handle_exception(exc)
        except BaseException:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            raise
        idempotency_complete(record=record, response=response)
        return response

    return wrapper
