"""Validation of Xendit's invoice callback body.

Our own serializer, not the SDK's `InvoiceCallback`: that model rejects integer amounts,
which real IDR callbacks carry. Only what we act on is validated; every other key (and
Xendit adds keys without notice) is accepted and kept in the raw body.
"""

from rest_framework import serializers


class InvoiceCallbackSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[A-Za-z0-9_.:-]+$", max_length=64, help_text="Xendit's invoice id.")
    status = serializers.RegexField(r"^[A-Za-z_]+$", max_length=20, help_text="PAID, SETTLED or EXPIRED.")
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
