"""Reading a JSON body that may have been written by an attacker.

Python's json module, left alone, answers a hostile body with an exception the API would
turn into a 500: a body nested thousands deep overflows the parser's recursion
(RecursionError), and a number of thousands of digits exceeds the int conversion limit
(ValueError). It also accepts NaN and Infinity, which are not JSON. Every JSON body the API
reads (DRF's parser and the Xendit callback) comes through `json_body_parse`, which refuses
all of these with a 400 before or while parsing. The size is bounded before anything is
read (tedxpay/core/api_guard.py): 413.
"""

import json
import math
import re

from django.conf import settings
from rest_framework.parsers import JSONParser

from tedxpay.core.errors import MalformedRequest, RequestTooLarge

# No request of ours nests deeper than 4 (order → items → item → field); room to spare.
MAX_DEPTH = 32
# Far longer than any id, amount or quantity we accept (a BIGINT has 19 digits), so a
# number just out of range still gets a validation error naming its field.
MAX_NUMBER_LENGTH = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class _Refused(ValueError):
    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}  # only what the refusal is about


def _number(text: str, convert):
    if len(text) > MAX_NUMBER_LENGTH:
        raise _Refused(
            f"A number longer than {MAX_NUMBER_LENGTH} characters.", {"max_number_length": MAX_NUMBER_LENGTH}
        )
    value = convert(text)
    if convert is float and not math.isfinite(value):
        # 1e999 is valid JSON text but no number: Python reads it as infinity, which the
        # literal `Infinity` is refused for (_constant) and which no field of ours can hold.
        raise _Refused("A number out of range.")
    return value


def _constant(name: str):
    raise _Refused(f"{name} is not JSON.")


def _too_deep(text: str) -> bool:
    # Brackets inside strings do not nest: drop the strings, then count. A linear scan,
    # before the recursive parser sees the body.
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def json_body_parse(raw: bytes):
    """The parsed body, or MalformedRequest (400) / RequestTooLarge (413)."""
    if len(raw) > settings.API_MAX_BODY_BYTES:
        raise RequestTooLarge(details={"max_bytes": settings.API_MAX_BODY_BYTES})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequest("The body is not UTF-8.") from error
    if _too_deep(text):
        raise MalformedRequest(f"The body is nested deeper than {MAX_DEPTH} levels.", details={"max_depth": MAX_DEPTH})
    try:
        data = json.loads(
            text,
            parse_int=lambda value: _number(value, int),
            parse_float=lambda value: _number(value, float),
            parse_constant=_constant,
        )
    except _Refused as error:
        raise MalformedRequest(str(error), details=error.details) from error
    except (json.JSONDecodeError, RecursionError) as error:
        raise MalformedRequest() from error
    try:
        # "\ud800" alone is valid JSON but no character: the database driver would fail to
        # encode it later, mid-transaction.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedRequest("The body contains an unpaired surrogate.") from error
    return data


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, reading through json_body_parse."""

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the limit is enough to know it is too large.
        raw = stream.read(settings.API_MAX_BODY_BYTES + 1) if stream is not None else b""
        return json_body_parse(raw)
