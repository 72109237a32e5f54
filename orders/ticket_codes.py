"""The two ways an e-ticket is presented at the door.

- The **secret** (`IssuedTicket.code`) is what the QR code carries: 18 random bytes,
  URL-safe base64 (24 characters, 144 bits). Nobody types it.
- The **short code** (`IssuedTicket.short_code`) is for typing when a QR will not scan:
  10 characters of Crockford's base32 (50 random bits), shown grouped as `K7Q2-M9XD-4F`.
  Crockford's alphabet has no I, L, O or U, and reading is forgiving: case does not matter,
  dashes and spaces are ignored, O reads as 0 and I or L as 1. 50 bits is far beyond
  guessing at a door or through the throttled API (10,000 tickets among 2^50 codes: one
  chance in 10^11 per guess).
"""

import re
import secrets

SECRET_BYTES = 18
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{24}$")

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_CODE_LENGTH = 10
# How it is shown: 4-4-2.
SHORT_CODE_GROUPS = (4, 4, 2)
_SHORT_CODE_PATTERN = re.compile(rf"^[{CROCKFORD_ALPHABET}]{{{SHORT_CODE_LENGTH}}}$")
# What a person may type around or instead of the real symbols.
_SEPARATORS = re.compile(r"[\s\-_.]+")
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_ticket_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def new_short_code() -> str:
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def short_code_display(short_code: str) -> str:
    """`K7Q2M9XD4F` → `K7Q2-M9XD-4F`."""
    parts, start = [], 0
    for size in SHORT_CODE_GROUPS:
        parts.append(short_code[start : start + size])
        start += size
    return "-".join(part for part in parts if part)


def short_code_normalize(typed: str) -> str | None:
    """The stored form of a typed short code, or None when it cannot be one."""
    if not typed.isascii():
        return None
    candidate = _SEPARATORS.sub("", typed).upper().translate(_READ_AS)
    return candidate if _SHORT_CODE_PATTERN.match(candidate) else None


def is_ticket_secret(text: str) -> bool:
    return bool(SECRET_PATTERN.match(text))
