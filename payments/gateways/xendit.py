"""Xendit invoice gateway: the one module that imports the Xendit SDK (xendit-python 7.0.0).

Everything that crosses this boundary is a dataclass from `base.py`; every failure, whatever
the SDK or urllib3 raised, leaves as one `GatewayError` that says whether a retry may help.
Quirks handled here (see /docs and XENDIT.md):

- `ApiClient(Configuration(host=...))` instead of `xendit.set_api_key()`, which silently
  resets the host to the public API and would bypass the simulator.
- The SDK has no default timeout: every call passes `_request_timeout=(connect, read)`.
- Money fields must be floats for the SDK (an int raises ApiTypeError before sending);
  tedxpay keeps whole rupiah as int and converts only at the call and back on the reply.
- `invoice.status` is an enum object; extra keys (`paid_at`, `paid_amount`,
  `payment_channel`) are only reachable through `invoice.get(...)`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import urllib3
from django.conf import settings
from xendit import ApiClient, Configuration
from xendit.exceptions import OpenApiException, XenditSdkException
from xendit.invoice import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest
from xendit.invoice.model.customer_object import CustomerObject
from xendit.invoice.model.invoice_item import InvoiceItem as SdkInvoiceItem

from payments.gateways.base import GatewayError, Invoice, InvoiceRequest

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Connection failures are retried twice inside urllib3 (the request never left, so it is
# safe even for a create). Reads are never retried here: a create that timed out may have
# made an invoice, and the caller decides what to do (list by external_id, DESIGN §7.4);
# a hidden retry of a slow GET would also multiply the read timeout.
_RETRIES = urllib3.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0, raise_on_status=False)


_gateways: dict[tuple, XenditGateway] = {}
_gateways_lock = threading.Lock()


def _gateway_for(secret_key: str, base_url: str, connect_timeout: float, read_timeout: float) -> XenditGateway:
    # One gateway (and so one urllib3 connection pool, which is thread-safe) per
    # configuration: connections to Xendit are reused across calls instead of a new pool,
    # and new idle keep-alive sockets, for every call.
    config = (secret_key, base_url, connect_timeout, read_timeout)
    with _gateways_lock:
        if config not in _gateways:
            _gateways[config] = XenditGateway(
                secret_key=secret_key, base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout
            )
        return _gateways[config]


def gateways_close() -> None:
    """Close the pooled connections of every gateway made so far (the next call makes a new
    one). Tests call it before their live server stops, so no idle keep-alive connection
    outlives the server's request threads."""
    with _gateways_lock:
        for gateway in _gateways.values():
            gateway.close()
        _gateways.clear()


class XenditGateway:
    """`PaymentGateway` backed by Xendit's invoice API (`/v2/invoices`)."""

    def __init__(self, *, secret_key: str, base_url: str, connect_timeout: float, read_timeout: float):
        configuration = Configuration(api_key=secret_key, host=base_url.rstrip("/"))
        configuration.retries = _RETRIES
        self._api = InvoiceApi(ApiClient(configuration))
        self._timeout = (connect_timeout, read_timeout)
        self.base_url = base_url

    def close(self) -> None:
        self._api.api_client.rest_client.pool_manager.clear()

    @classmethod
    def from_settings(cls) -> XenditGateway:
        return _gateway_for(
            settings.XENDIT_SECRET_KEY,
            settings.XENDIT_BASE_URL,
            settings.XENDIT_CONNECT_TIMEOUT,
            settings.XENDIT_READ_TIMEOUT,
        )

    # --- PaymentGateway -------------------------------------------------------------------

    def create_invoice(self, request: InvoiceRequest) -> Invoice:
        def call():
            return self._api.create_invoice(
                create_invoice_request=_sdk_create_request(request), _request_timeout=self._timeout
            )

        return self._call("create_invoice", call, _to_invoice)

    def get_invoice(self, invoice_id: str) -> Invoice:
        def call():
            return self._api.get_invoice_by_id(invoice_id, _request_timeout=self._timeout)

        return self._call("get_invoice", call, _to_invoice)

    def find_invoices(self, external_id: str, *, read_timeout: float | None = None) -> list[Invoice]:
        """`read_timeout` overrides the configured one for this call: order placement's one
        look-up after a failed create keeps it short so the whole request stays inside the
        web server's timeout."""
        timeout = self._timeout if read_timeout is None else (self._timeout[0], read_timeout)

        def call():
            return self._api.get_invoices(external_id=external_id, _request_timeout=timeout)

        def convert(reply) -> list[Invoice]:
            invoices = [_to_invoice(item) for item in reply]
            # Xendit answers newest first; sort anyway so callers can rely on it.
            return sorted(invoices, key=lambda inv: inv.raw.get("created") or "", reverse=True)

        return self._call("find_invoices", call, convert)

    def expire_invoice(self, invoice_id: str) -> Invoice:
        def call():
            return self._api.expire_invoice(invoice_id, _request_timeout=self._timeout)

        return self._call("expire_invoice", call, _to_invoice)

    # --- error mapping ----------------------------------------------------------------------

    def _call(self, operation: str, call: Callable[[], Any], convert: Callable[[Any], T]) -> T:
        """Make the SDK call and read its reply; any failure of either is one GatewayError."""
        try:
            try:
                reply = call()
            except Exception as exc:
                raise _gateway_error(exc) from exc
            try:
                return convert(reply)
            except Exception as exc:
                # The SDK accepted the reply but it does not read as an invoice (an extra
                # key such as paid_at in a shape we do not know). The same call would get
                # the same reply: not retryable. Inside the mapping, so no caller ever sees
                # a bare ValueError from a gateway call.
                raise GatewayError(
                    f"Xendit's reply could not be read: {exc!r}", retryable=False, code="MALFORMED_REPLY"
                ) from exc
        except GatewayError as error:
            logger.warning(
                "xendit %s failed: %s (retryable=%s code=%s status=%s)",
                operation,
                error.message,
                error.retryable,
                error.code,
                error.status,
            )
            raise


def _gateway_error(exc: Exception) -> GatewayError:
    """One GatewayError for every way a call can fail; `retryable` = may a retry succeed."""
    if isinstance(exc, XenditSdkException):
        status = int(exc.status) if str(exc.status).isdigit() else None
        # status "0" is what the SDK reports for an SSL failure: no reply at all.
        retryable = status is None or status == 0 or status >= 500 or status in (408, 429)
        message = exc.errorMessage or f"Xendit answered HTTP {exc.status}"
        return GatewayError(message, retryable=retryable, code=exc.errorCode or None, status=status or None)
    if isinstance(exc, json.JSONDecodeError):
        # The SDK parses error bodies as JSON: a proxy's HTML page or a cut-off reply ends
        # here. Something between us and Xendit is unwell; that tends to pass.
        return GatewayError("Xendit sent a reply that is not JSON", retryable=True, code="NON_JSON_REPLY")
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return _network_error(exc.reason or exc)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return _network_error(exc)
    if isinstance(exc, OpenApiException | TypeError | ValueError | KeyError | AttributeError):
        # The SDK refused our request or Xendit's reply (a missing field, a wrong type):
        # the same call would fail the same way, so not retryable.
        return GatewayError(f"Xendit SDK rejected the data: {exc}", retryable=False, code="SDK_VALIDATION_ERROR")
    return GatewayError(f"Unexpected error calling Xendit: {exc!r}", retryable=False, code="UNEXPECTED_ERROR")


def _network_error(reason: BaseException) -> GatewayError:
    # Checked first: urllib3 2.x makes NewConnectionError a subclass of ConnectTimeoutError,
    # but "connection refused" is not a timeout.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return GatewayError(f"Could not reach Xendit: {reason}", retryable=True, code="CONNECTION_ERROR")
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return GatewayError(f"Xendit did not answer in time: {reason}", retryable=True, code="TIMEOUT")
    return GatewayError(f"Could not reach Xendit: {reason}", retryable=True, code="CONNECTION_ERROR")


# --- conversions ------------------------------------------------------------------------


def _sdk_create_request(request: InvoiceRequest) -> CreateInvoiceRequest:
    optional: dict[str, Any] = {
        "payer_email": request.payer_email,
        "description": request.description,
        "invoice_duration": float(request.invoice_duration),
        "currency": request.currency,
        "success_redirect_url": request.success_redirect_url,
        "failure_redirect_url": request.failure_redirect_url,
        "locale": request.locale,
    }
    if request.items:
        optional["items"] = [
            SdkInvoiceItem(name=item.name, price=float(item.price), quantity=float(item.quantity))
            for item in request.items
        ]
    if request.customer:
        customer = {
            "given_names": request.customer.given_names,
            "email": request.customer.email,
            "surname": request.customer.surname,
            "mobile_number": request.customer.mobile_number,
        }
        optional["customer"] = CustomerObject(**{key: value for key, value in customer.items() if value})
    return CreateInvoiceRequest(
        external_id=request.external_id,
        amount=float(request.amount),  # the SDK insists on float; IDR has no decimals at Xendit
        **{key: value for key, value in optional.items() if value not in (None, "")},
    )


def _to_invoice(sdk_invoice: Any) -> Invoice:
    raw = ApiClient.sanitize_for_serialization(sdk_invoice)
    payment_method = sdk_invoice.get("payment_method")
    return Invoice(
        id=sdk_invoice.get("id") or "",
        external_id=sdk_invoice.external_id,
        status=sdk_invoice.status.value,
        amount=_rupiah(sdk_invoice.amount),
        invoice_url=sdk_invoice.invoice_url,
        expiry_date=sdk_invoice.expiry_date,
        paid_amount=_rupiah(sdk_invoice.get("paid_amount")),
        paid_at=_datetime(sdk_invoice.get("paid_at")),
        payment_method=getattr(payment_method, "value", payment_method) or "",
        payment_channel=sdk_invoice.get("payment_channel") or "",
        currency=getattr(sdk_invoice.get("currency"), "value", None) or "IDR",
        raw=raw,
    )


def _rupiah(value: Any) -> int | None:
    if value is None:
        return None
    return round(float(value))


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
