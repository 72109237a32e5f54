"""Invoice and callback bodies in Xendit's exact spelling.

The invoice reply must satisfy the SDK's strict model (every required field present and
non-null, enum strings spelled as Xendit does); the callback body follows docs/xendit.md, with
integer amounts as real IDR callbacks carry them.
"""

from datetime import UTC, datetime

from payments.gateways.simulator import channels, fees
from payments.gateways.simulator.models import SimulatedInvoice, SimulatedInvoiceStatus

MERCHANT_PROFILE_PICTURE_URL = "https://du8nwjtfkinx.cloudfront.net/xendit.png"


def xendit_time(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with milliseconds and a Z, as Xendit writes it."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _channel_fields(invoice: SimulatedInvoice) -> dict:
    """The per-family keys Xendit adds once an invoice is paid."""
    fields = {
        "payment_method": invoice.payment_method,
        "payment_channel": invoice.payment_channel,
    }
    if invoice.payment_method == channels.VIRTUAL_ACCOUNT:
        fields["bank_code"] = invoice.payment_channel
        fields["payment_destination"] = invoice.payment_destination
    elif invoice.payment_method == channels.EWALLET:
        fields["ewallet_type"] = invoice.payment_channel
    elif invoice.payment_method == channels.RETAIL_OUTLET:
        fields["retail_outlet_name"] = invoice.payment_channel
        fields["payment_destination"] = invoice.payment_destination
    elif invoice.payment_method == channels.QR_CODE:
        fields["payment_destination"] = invoice.payment_destination
    elif invoice.payment_method == channels.CREDIT_CARD:
        fields["credit_card_charge_id"] = invoice.payment_id
    return fields


def _is_paid(invoice: SimulatedInvoice) -> bool:
    return invoice.status in (SimulatedInvoiceStatus.PAID, SimulatedInvoiceStatus.SETTLED)


def invoice_json(invoice: SimulatedInvoice) -> dict:
    body = {
        "id": invoice.id,
        "external_id": invoice.external_id,
        "user_id": invoice.user_id,
        "status": invoice.status,
        "merchant_name": invoice.merchant_name,
        "merchant_profile_picture_url": MERCHANT_PROFILE_PICTURE_URL,
        "amount": invoice.amount,
        "payer_email": invoice.payer_email or None,
        "description": invoice.description or None,
        "expiry_date": xendit_time(invoice.expiry_date),
        "invoice_url": invoice.invoice_url,
        **channels.available_lists(invoice.amount, invoice.merchant_name),
        "should_exclude_credit_card": False,
        "should_send_email": False,
        "success_redirect_url": invoice.success_redirect_url or None,
        "failure_redirect_url": invoice.failure_redirect_url or None,
        "created": xendit_time(invoice.created),
        "updated": xendit_time(invoice.updated),
        "currency": invoice.currency,
        "locale": invoice.locale or None,
    }
    if invoice.items:
        body["items"] = invoice.items
    if invoice.customer:
        body["customer"] = invoice.customer
    if invoice.metadata:
        body["metadata"] = invoice.metadata
    if _is_paid(invoice):
        body.update(_channel_fields(invoice))
        body["paid_amount"] = invoice.paid_amount
        body["paid_at"] = xendit_time(invoice.paid_at)
        body["payment_id"] = invoice.payment_id
        body.update(_fee_fields(invoice))
    # Xendit leaves optional keys out rather than sending null.
    return {key: value for key, value in body.items() if value is not None}


def callback_body(invoice: SimulatedInvoice) -> dict:
    """The invoice callback for the invoice's current status (PAID or EXPIRED)."""
    body = {
        "id": invoice.id,
        "external_id": invoice.external_id,
        "user_id": invoice.user_id,
        "is_high": False,
        "status": "PAID" if _is_paid(invoice) else invoice.status,
        "merchant_name": invoice.merchant_name,
        "amount": invoice.amount,
        "payer_email": invoice.payer_email,
        "description": invoice.description,
        "currency": invoice.currency,
        "created": xendit_time(invoice.created),
        "updated": xendit_time(invoice.updated),
    }
    if invoice.success_redirect_url:
        body["success_redirect_url"] = invoice.success_redirect_url
    if invoice.failure_redirect_url:
        body["failure_redirect_url"] = invoice.failure_redirect_url
    if _is_paid(invoice):
        body.update(_channel_fields(invoice))
        body.update(
            paid_amount=invoice.paid_amount,
            paid_at=xendit_time(invoice.paid_at),
            payment_id=invoice.payment_id,
            initial_amount=invoice.amount,
        )
        body.update(_fee_fields(invoice))
    return body


def _fee_fields(invoice: SimulatedInvoice) -> dict:
    fee = fees.fee_for(invoice.payment_channel, invoice.paid_amount)
    return {"fees_paid_amount": fee, "adjusted_received_amount": invoice.paid_amount - fee}


def error_json(error_code: str, message: str) -> dict:
    return {"error_code": error_code, "message": message}
