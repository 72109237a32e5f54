"""Buyer input rules, once: the languages an order can have, and how a name, an email and
an Indonesian mobile number are cleaned. Used when an order is placed (API and checkout
form) and when finance corrects a buyer's contact details. Ground floor: no service here."""

import re
import unicodedata

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

# The languages of the invoice page and the emails, with their names for the checkout form.
ORDER_LANGUAGE_NAMES = {"en": "English", "id": "Bahasa Indonesia"}
ORDER_LANGUAGES = tuple(ORDER_LANGUAGE_NAMES)

FULL_NAME_MAX_LENGTH = 200
ATTENDEE_NAME_MAX_LENGTH = 200
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# After the country code or trunk 0: an Indonesian mobile number, 8 then 8–11 digits.
# [0-9], not \d: \d also matches other scripts' digits, which Xendit and SMS gateways refuse.
_ID_MOBILE_NATIONAL = re.compile(r"8[0-9]{7,11}")


# In a name: control characters (a NUL, an escape) and the bidirectional overrides,
# embeddings and isolates, which make a name print in another order than it was typed
# ("‮Budi" shows reversed on the e-ticket, the door list and the admin). The plain
# direction marks (U+200E, U+200F) and the joiners emoji and Indic scripts need stay.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def person_name_text(raw: str) -> str:
    """A person's name as it is kept: Unicode NFC (one spelling of "é"), inner runs of
    whitespace made one space, no edge spaces; "" for nothing. Raises ValueError for
    control or direction-override characters."""
    name = " ".join(unicodedata.normalize("NFC", raw or "").split())
    if _NOT_IN_NAMES.search(name):
        raise ValueError(_("A name cannot contain control or text-direction characters."))
    if not any(unicodedata.category(char)[0] not in "CZ" for char in name):
        # Only invisible characters (zero-width spaces, joiners): a blank name on the
        # e-ticket and the door list, so as good as none.
        return ""
    return name


def full_name_normalise(raw: str) -> str:
    """`person_name_text`; raises ValueError when empty, too long, or with characters a
    name cannot have."""
    name = person_name_text(raw)
    if not name:
        raise ValueError(_("Enter the buyer's full name."))
    if len(name) > FULL_NAME_MAX_LENGTH:
        raise ValueError(_("A name has at most %(count)d characters.") % {"count": FULL_NAME_MAX_LENGTH})
    return name


def phone_normalise(raw: str) -> str:
    """An Indonesian mobile number as E.164 (`+628…`). Accepts `08…`, `628…`, `+628…`, with
    spaces, dashes, dots or brackets; raises ValueError for anything else."""
    compact = _PHONE_SEPARATORS.sub("", raw or "")
    for prefix in ("+62", "62", "0"):
        if compact.startswith(prefix):
            national = compact[len(prefix) :]
            if _ID_MOBILE_NATIONAL.fullmatch(national):
                return "+62" + national
            break
    # In the active language: the page's on the checkout, English on the API and in the admin.
    raise ValueError(_("Enter an Indonesian mobile number, e.g. 0812 3456 7890 or +62 812 3456 7890."))


# Django's validator also takes `name@localhost`, which no buyer has and Xendit refuses
# (EMAIL_FORMAT_ERROR): the order would be placed, then cancelled as a gateway failure.
validate_email = EmailValidator(allowlist=())


def email_normalise(raw: str) -> str:
    """Stripped and lower-cased (one buyer, one spelling); raises ValueError when invalid."""
    email = (raw or "").strip().lower()
    if len(email) > 254:
        raise ValueError(_("An email address has at most 254 characters."))
    try:
        validate_email(email)
    except DjangoValidationError as error:
        raise ValueError(_("Enter a valid email address.")) from error
    return email


_NORMALISERS = {"full_name": full_name_normalise, "email": email_normalise, "phone": phone_normalise}


def buyer_contact_clean(**fields: str | None) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Clean the given contact fields (`full_name`, `email`, `phone`; `None` is skipped).
    Returns (cleaned values, error messages per field); the caller decides how to refuse."""
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, value in fields.items():
        if value is None:
            continue
        try:
            cleaned[field] = _NORMALISERS[field](value)
        except ValueError as error:
            errors[field] = [str(error)]
    return cleaned, errors
