"""Xendit invoice gateway: the one module that imports the Xendit SDK (xendit-python 7.0.0).

Everything that crosses this boundary is a dataclass from `base.py`; every failure, whatever
the SDK or urllib3 raised, leaves as one `GatewayError` that says whether a retry may help.
Quirks handled here (docs/xendit.md):

- `ApiClient(Configuration(host=...))` instead of `xendit.set_api_key()`, which silently
  resets the host to the public API and would bypass the simulator.
- The SDK has no default timeout: every call passes `_request_timeout=(connect, read)`.
- Money fields go out as floats, as the SDK's own models send them; tedxpay keeps whole
  rupiah as int and converts only at the call and back on the reply.
- The SDK's request and reply models are not built: they cost more CPU than the rest of
  an order placement's Python (building, validating and serialising the request model;
  deserialising and validating every field of the reply, `available_banks` and all). The
  SDK's `ApiClient.call_api` still makes every call (its configuration, Basic auth,
  headers, urllib3 pool and retries, its `XenditSdkException` for a non-2xx reply), with
  a plain JSON body and `_preload_content=False`; the reply is parsed here and only the
  fields tedxpay uses are read and checked (`_invoice_from_json`).
- Refunds use the SDK's `RefundApi` with its `idempotency_key` (the `idempotency-key`
  header). Its `Refund` model has no typed `status`: it is read from the raw reply.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import urllib3
from django.conf import settings
from xendit import ApiClient, Configuration
from xendit.exceptions import OpenApiException, XenditSdkException
from xendit.refund import RefundApi
from xendit.refund.model.create_refund import CreateRefund

from payments.gateways.base import GatewayError, Invoice, InvoiceRequest, Refund, RefundRequest

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Connection failures are retried twice inside urllib3 (the request never left, so it is
# safe even for a create). Reads are never retried here: a create that timed out may have
# made an invoice, and the caller decides what to do (list by external_id, docs/architecture.md, "Placing an order");
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
    """`PaymentGateway` backed by Xendit's invoice API (`/v2/invoices`) and refund API
    (`/refunds`)."""

    def __init__(self, *, secret_key: str, base_url: str, connect_timeout: float, read_timeout: float):
        configuration = Configuration(api_key=secret_key, host=base_url.rstrip("/"))
        configuration.retries = _RETRIES
        self._client = ApiClient(configuration)
        # Refunds go through the SDK's RefundApi (its models included: refunds are rare, so
        # their cost does not matter), on the same client and connection pool.
        self._refunds = RefundApi(self._client)
        self._timeout = (connect_timeout, read_timeout)
        self.base_url = base_url
        # Not connect + read: urllib3 tries a failed connect up to three times (_RETRIES),
        # so 3 × 3.05 s + 15 s ≈ 24 s with the defaults.
        self.worst_call = timedelta(seconds=(1 + _RETRIES.connect) * connect_timeout + read_timeout)

    def close(self) -> None:
        self._client.rest_client.pool_manager.clear()

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
        # The SDK's path, with its trailing slash.
        reply = self._call("create_invoice", "POST", "/v2/invoices/", body=_create_body(request))
        return self._read("create_invoice", reply, _invoice_from_json)

    def get_invoice(self, invoice_id: str) -> Invoice:
        reply = self._call("get_invoice", "GET", "/v2/invoices/{invoice_id}", path={"invoice_id": invoice_id})
        return self._read("get_invoice", reply, _invoice_from_json)

    def find_invoices(self, external_id: str, *, read_timeout: float | None = None) -> list[Invoice]:
        """`read_timeout` overrides the configured one for this call: order placement's one
        look-up after a failed create keeps it short so the whole request stays inside the
        web server's timeout."""
        timeout = self._timeout if read_timeout is None else (self._timeout[0], read_timeout)
        reply = self._call(
            "find_invoices", "GET", "/v2/invoices", query=[("external_id", external_id)], timeout=timeout
        )

        return self._read("find_invoices", reply, _invoice_list_from_json)

    def list_invoices(
        self,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        statuses: tuple[str, ...] = (),
        limit: int = 100,
        last_invoice: str | None = None,
    ) -> list[Invoice]:
        """One page of invoices (newest first, at most `limit`, which Xendit caps at 100);
        `last_invoice` is the id of the last invoice of the previous page."""
        query: list[tuple[str, Any]] = [("limit", limit)]
        if created_after is not None:
            query.append(("created_after", created_after.isoformat()))
        if created_before is not None:
            query.append(("created_before", created_before.isoformat()))
        query.extend(("statuses", str(status)) for status in statuses)
        if last_invoice:
            query.append(("last_invoice", last_invoice))
        reply = self._call("list_invoices", "GET", "/v2/invoices", query=query)
        return self._read("list_invoices", reply, _invoice_list_from_json)

    def expire_invoice(self, invoice_id: str) -> Invoice:
        reply = self._call("expire_invoice", "POST", "/invoices/{invoice_id}/expire!", path={"invoice_id": invoice_id})
        return self._read("expire_invoice", reply, _invoice_from_json)

    def refund_create(self, request: RefundRequest) -> Refund:
        """`POST /refunds` with the `idempotency-key` header: a create that timed out is
        retried by the caller with the same key, and Xendit answers the first refund
        instead of making a second one."""

        def call():
            return self._refunds.create_refund(
                idempotency_key=request.idempotency_key,
                create_refund=CreateRefund(
                    invoice_id=request.invoice_id,
                    reference_id=request.reference_id,
                    amount=float(request.amount),  # float for the SDK, as for invoices
                    currency=request.currency,
                    reason=request.reason,
                ),
                _request_timeout=self._timeout,
            )

        return self._sdk_call("refund_create", call, _to_refund)

    def refund_get(self, refund_id: str) -> Refund:
        def call():
            return self._refunds.get_refund(refund_id, _request_timeout=self._timeout)

        return self._sdk_call("refund_get", call, _to_refund)

    # --- error mapping ----------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        resource_path: str,
        *,
        path: dict | None = None,
        query: list | None = None,
        body: dict | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> Any:
        """Make the call through the SDK's client; the reply's JSON, parsed. Any failure
        (no reply, a non-2xx reply, a reply that is not JSON) is one GatewayError."""
        try:
            response = self._client.call_api(
                resource_path,
                method,
                path_params=path,
                query_params=query,
                header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body=body,
                _preload_content=False,
                _request_timeout=timeout or self._timeout,
            )
            try:
                return json.loads(response.data)
            finally:
                response.release_conn()
        except Exception as exc:
            raise self._logged(operation, _gateway_error(exc)) from exc

    def _sdk_call(self, operation: str, call: Callable[[], Any], convert: Callable[[Any], T]) -> T:
        """A call through one of the SDK's API classes (refunds), its reply read by
        `convert`; any failure of either is one GatewayError, as for `_call`."""
        try:
            reply = call()
        except Exception as exc:
            raise self._logged(operation, _gateway_error(exc)) from exc
        try:
            return convert(reply)
        except Exception as exc:
            raise self._logged(
                operation,
                GatewayError(f"Xendit's reply could not be read: {exc!r}", retryable=False, code="MALFORMED_REPLY"),
            ) from exc

    def _read(self, operation: str, reply: Any, convert: Callable[[Any], T]) -> T:
        try:
            return convert(reply)
        except Exception as exc:
            # A 2xx whose body does not read as an invoice: without what every invoice has
            # (a proxy's JSON, an API change) or with a field that does not read (`paid_at`
            # that is not a date). Nothing we sent was at fault, and the next reply may
            # well be whole (a GET or an expire is safe to make again), so retryable: a
            # callback's read-back answers 503 and Xendit delivers it again. Inside the
            # mapping, so no caller ever sees a bare ValueError from a gateway call.
            raise self._logged(
                operation,
                GatewayError(f"Xendit's reply could not be read: {exc!r}", retryable=True, code="MALFORMED_REPLY"),
            ) from exc

    @staticmethod
    def _logged(operation: str, error: GatewayError) -> GatewayError:
        logger.warning(
            "xendit %s failed: %s (retryable=%s code=%s status=%s)",
            operation,
            error.message,
            error.retryable,
            error.code,
            error.status,
        )
        return error


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


def _create_body(request: InvoiceRequest) -> dict:
    """The create request as the SDK's CreateInvoiceRequest would send it (same keys,
    money as floats, empty optional fields left out)."""
    body: dict[str, Any] = {
        "external_id": request.external_id,
        "amount": float(request.amount),  # IDR has no decimals at Xendit
        "payer_email": request.payer_email,
        "description": request.description,
        "invoice_duration": float(request.invoice_duration),
        "currency": request.currency,
        "success_redirect_url": request.success_redirect_url,
        "failure_redirect_url": request.failure_redirect_url,
        "locale": request.locale,
    }
    if request.items:
        body["items"] = [
            {"name": item.name, "price": float(item.price), "quantity": float(item.quantity)} for item in request.items
        ]
    if request.customer:
        customer = {
            "given_names": request.customer.given_names,
            "surname": request.customer.surname,
            "email": request.customer.email,
            "mobile_number": request.customer.mobile_number,
        }
        body["customer"] = {key: value for key, value in customer.items() if value}
    return {key: value for key, value in body.items() if value not in (None, "")}


class _NotAnInvoice(ValueError):
    def __init__(self, expected: str, got: Any):
        super().__init__(f"{expected} (got {str(got)[:200]})")


# What every invoice reply carries and tedxpay reads, with its JSON type.
_REQUIRED = {"id": str, "external_id": str, "status": str, "amount": (int, float), "invoice_url": str}


def _invoice_from_json(data: Any) -> Invoice:
    if not isinstance(data, dict):
        raise _NotAnInvoice("an invoice", data)
    for key, kind in _REQUIRED.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise _NotAnInvoice(f"an invoice: {key!r} missing or not a {getattr(kind, '__name__', 'number')}", data)
    return Invoice(
        id=data["id"],
        external_id=data["external_id"],
        status=data["status"],
        amount=_rupiah(data["amount"]),
        invoice_url=data["invoice_url"],
        expiry_date=_datetime(data.get("expiry_date")),
        paid_amount=_rupiah(data.get("paid_amount")),
        paid_at=_datetime(data.get("paid_at")),
        payment_method=data.get("payment_method") or "",
        payment_channel=data.get("payment_channel") or "",
        currency=data.get("currency") or "IDR",
        created=_datetime(data.get("created")),
        fees_paid_amount=_rupiah(data.get("fees_paid_amount")),
        adjusted_received_amount=_rupiah(data.get("adjusted_received_amount")),
        raw=data,
    )


def _invoice_list_from_json(items: Any) -> list[Invoice]:
    if not isinstance(items, list):
        raise _NotAnInvoice("a list of invoices", items)
    invoices = [_invoice_from_json(item) for item in items]
    # Xendit answers newest first; sort anyway so callers can rely on it.
    return sorted(invoices, key=lambda inv: inv.raw.get("created") or "", reverse=True)


def _to_refund(sdk_refund: Any) -> Refund:
    raw = ApiClient.sanitize_for_serialization(sdk_refund)
    # The SDK's Refund model has no typed `status` (nor `invoice_id`): they are extra keys,
    # reachable through the raw reply only.
    # What every refund Xendit makes has: without one of these the reply is no refund (a
    # proxy's JSON, an API change), and taking it for one would record a refund that may
    # not exist, or miss one that does (refund_submit leaves such a refund requested).
    status, refund_id, amount = raw.get("status"), raw.get("id"), raw.get("amount")
    if not status or not refund_id or amount is None:
        raise ValueError("refund reply without its id, status or amount")
    return Refund(
        id=str(refund_id),
        status=str(status),
        amount=_rupiah(amount),
        reference_id=raw.get("reference_id") or "",
        invoice_id=raw.get("invoice_id") or "",
        channel_code=raw.get("channel_code") or "",
        failure_code=raw.get("failure_code") or "",
        currency=raw.get("currency") or "IDR",
        raw=raw,
    )


def _rupiah(value: Any) -> int | None:
    if value is None:
        return None
    return round(float(value))


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
