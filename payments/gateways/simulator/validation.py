"""Validation of a create-invoice body, with Xendit's error codes."""

import re
from dataclasses import dataclass

from payments.gateways.simulator import channels

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DURATION_SECONDS = 31_536_000  # Xendit's limit: one year
MAX_METADATA_KEYS = 50


@dataclass
class XenditError(Exception):
    status: int
    error_code: str
    message: str


def _validation(message: str) -> XenditError:
    return XenditError(400, "API_VALIDATION_ERROR", message)


def _whole_number(value, field: str) -> int:
    # JSON numbers arrive as float from the SDK (300000.0); IDR has no minor unit at Xendit,
    # so decimals are dropped like Xendit does. Strings and booleans are refused.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _validation(f'"{field}" must be a number')
    return int(value)


def validate_create(body) -> dict:
    """The cleaned create request, or raises XenditError."""
    if not isinstance(body, dict):
        raise _validation('"value" must be an object')
    external_id = body.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        raise _validation('"external_id" is required')
    if len(external_id) > 255:
        raise _validation('"external_id" length must be less than or equal to 255 characters long')
    if body.get("amount") is None:
        raise _validation('"amount" is required')
    amount = _whole_number(body["amount"], "amount")
    if amount < 1:
        raise _validation('"amount" must be greater than or equal to 1')
    if amount > channels.MAXIMUM_AMOUNT:
        raise XenditError(400, "MAXIMUM_TRANSFER_AMOUNT_ERROR", f"The maximum amount is {channels.MAXIMUM_AMOUNT} IDR")
    currency = body.get("currency") or "IDR"
    if currency != "IDR":
        raise XenditError(400, "UNSUPPORTED_CURRENCY", f"Currency {currency} is not supported for this business")
    if not channels.channels_for(amount):
        raise XenditError(400, "NO_COLLECTION_METHODS_ERROR", "There is no payment channel available for this amount")
    emails = [body.get("payer_email"), (body.get("customer") or {}).get("email")]
    for email in emails:
        if email is not None and (not isinstance(email, str) or not EMAIL_RE.match(email)):
            raise XenditError(400, "EMAIL_FORMAT_ERROR", "Invalid email format")
    duration = body.get("invoice_duration", 86_400)
    duration = _whole_number(duration, "invoice_duration")
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise _validation(f'"invoice_duration" must be between 1 and {MAX_DURATION_SECONDS}')
    items = body.get("items") or []
    if not isinstance(items, list):
        raise _validation('"items" must be an array')
    clean_items = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name"):
            raise _validation(f'"items[{index}].name" is required')
        clean_items.append(
            {
                **item,
                "price": _whole_number(item.get("price"), f"items[{index}].price"),
                "quantity": _whole_number(item.get("quantity"), f"items[{index}].quantity"),
            }
        )
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS):
        raise _validation(f'"metadata" must be an object with at most {MAX_METADATA_KEYS} keys')
    customer = body.get("customer")
    if customer is not None and not isinstance(customer, dict):
        raise _validation('"customer" must be an object')
    return {
        "external_id": external_id,
        "amount": amount,
        "currency": currency,
        "payer_email": body.get("payer_email") or "",
        "description": str(body.get("description") or ""),
        "invoice_duration": duration,
        "success_redirect_url": str(body.get("success_redirect_url") or ""),
        "failure_redirect_url": str(body.get("failure_redirect_url") or ""),
        "locale": str(body.get("locale") or ""),
        "items": clean_items,
        "customer": customer,
        "metadata": metadata,
    }
