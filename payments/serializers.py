"""Validation of Xendit's invoice callback body.

Our own serializer, not the SDK's `InvoiceCallback`: that model rejects integer amounts,
which real IDR callbacks carry. Only what we act on is validated; every other key (and
Xendit adds keys without notice) is accepted and kept in the raw body.
"""

import re

from rest_framework import serializers

_INVOICE_ID = r"[A-Za-z0-9_.:-]+"
_STATUS = r"[A-Za-z_]+"


class InvoiceCallbackSerializer(serializers.Serializer):
    id = serializers.RegexField(rf"^{_INVOICE_ID}$", max_length=64, help_text="Xendit's invoice id.")
    status = serializers.RegexField(rf"^{_STATUS}$", max_length=20, help_text="PAID, SETTLED or EXPIRED.")
    external_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="Our order code.",
    )

    def validate_status(self, value: str) -> str:
        return value.upper()

    def validate_external_id(self, value: str | None) -> str:
        return value or ""


_PLAIN_INVOICE_ID = re.compile(f"{_INVOICE_ID}")
_PLAIN_STATUS = re.compile(f"{_STATUS}")
_PLAIN_EXTERNAL_ID = re.compile(r"[!-~]*")  # printable ASCII without spaces: our order codes


def well_formed_invoice_callback(payload: dict) -> dict | None:
    """The validated data `InvoiceCallbackSerializer` gives for a callback that is plainly
    right (strings of the lengths and characters it takes, nothing to strip or coerce), or
    None for anything else, which then goes through the serializer and its errors.

    Why: every delivery of every callback, and every copy, is validated; the serializer
    builds its fields anew each time, at about as much CPU as a copy's whole storing. A
    test holds the two readings together."""
    invoice_id, status = payload.get("id"), payload.get("status")
    external_id = payload.get("external_id", "")
    if type(invoice_id) is not str or type(status) is not str:
        return None
    if external_id is None:
        external_id = ""
    elif type(external_id) is not str:
        return None
    if len(invoice_id) > 64 or len(status) > 20 or len(external_id) > 64:
        return None
    if not (
        _PLAIN_INVOICE_ID.fullmatch(invoice_id)
        and _PLAIN_STATUS.fullmatch(status)
        and _PLAIN_EXTERNAL_ID.fullmatch(external_id)
    ):
        return None
    return {"id": invoice_id, "status": status.upper(), "external_id": external_id}


class CallbackReceiptSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    event_id = serializers.IntegerField()
    outcome = serializers.CharField()


class RefundCallbackDataSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[A-Za-z0-9_.:-]+$", max_length=64, help_text="Xendit's refund id.")
    invoice_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True, default="")
    reference_id = serializers.CharField(
        max_length=255, required=False, allow_blank=True, allow_null=True, default="", help_text="Our reference."
    )
    status = serializers.CharField(max_length=20, required=False, allow_blank=True)


class RefundCallbackSerializer(serializers.Serializer):
    """Xendit's refund webhook: `{"event", "business_id", "created", "data": {...}}`. Only
    what we act on is validated; the rest is kept in the raw body."""

    event = serializers.RegexField(r"^[a-z_.]+$", max_length=40, help_text="refund.succeeded or refund.failed.")
    data = RefundCallbackDataSerializer()
