"""The payment gateway boundary: what tedxpay asks of Xendit, in plain dataclasses.

Only `payments/gateways/xendit.py` imports the Xendit SDK. Everything else sees these
types and one `GatewayError`. Amounts here are whole rupiah (int); the float conversion
the SDK needs happens inside the Xendit module, at the call.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class InvoiceStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    SETTLED = "SETTLED"  # paid, and the money reached the balance: counts as PAID
    EXPIRED = "EXPIRED"


PAID_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.SETTLED})


@dataclass(frozen=True)
class InvoiceItem:
    name: str
    price: int
    quantity: int


@dataclass(frozen=True)
class Customer:
    given_names: str
    email: str
    mobile_number: str = ""
    surname: str = ""


@dataclass(frozen=True)
class InvoiceRequest:
    external_id: str
    amount: int
    payer_email: str
    description: str
    invoice_duration: int  # seconds
    success_redirect_url: str
    failure_redirect_url: str
    currency: str = "IDR"
    items: tuple[InvoiceItem, ...] = ()
    customer: Customer | None = None
    locale: str = "en"


@dataclass(frozen=True)
class Invoice:
    id: str
    external_id: str
    status: str  # an InvoiceStatus value; unknown values are kept as Xendit sent them
    amount: int
    invoice_url: str
    expiry_date: datetime | None = None
    paid_amount: int | None = None
    paid_at: datetime | None = None
    payment_method: str = ""
    payment_channel: str = ""
    currency: str = "IDR"
    created: datetime | None = None
    # What Xendit kept as its fee and what reached the balance, when it says (not every
    # channel or account reports them).
    fees_paid_amount: int | None = None
    adjusted_received_amount: int | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def is_expired(self) -> bool:
        return self.status == InvoiceStatus.EXPIRED


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RefundReason(StrEnum):
    # Xendit's list; `reason` is required on POST /refunds.
    FRAUDULENT = "FRAUDULENT"
    DUPLICATE = "DUPLICATE"
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"
    CANCELLATION = "CANCELLATION"
    OTHERS = "OTHERS"


# Xendit's answer when a channel (virtual accounts, retail outlets) cannot be refunded
# through the API: the money has to go back by hand (a bank transfer).
REFUND_NOT_SUPPORTED = "REFUND_NOT_SUPPORTED"


@dataclass(frozen=True)
class RefundRequest:
    invoice_id: str
    amount: int
    reason: str  # a RefundReason value
    reference_id: str  # ours: the refund row's reference, unique per attempt
    # Sent as the `idempotency-key` header: a retried create with the same key never
    # refunds twice at Xendit. One key per refund attempt (row), never per HTTP try.
    idempotency_key: str
    currency: str = "IDR"


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # a RefundStatus value; unknown values are kept as Xendit sent them
    amount: int
    reference_id: str = ""
    invoice_id: str = ""
    channel_code: str = ""
    failure_code: str = ""
    currency: str = "IDR"
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)


class GatewayError(Exception):
    """Any failure talking to the gateway.

    `retryable` says whether the same call may succeed later (timeouts, 5xx, connection
    errors) as opposed to a request the gateway refused (4xx). `code` is Xendit's error
    code when it sent one, `status` the HTTP status when there was a reply.
    """

    def __init__(self, message: str, *, retryable: bool, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"GatewayError({self.message!r}, retryable={self.retryable}, code={self.code!r}, status={self.status!r})"


class PaymentGateway(Protocol):
    # The longest one call can take, retries of a failed connect included: what time
    # budgets around gateway calls (the sweep, placement) are worked out from.
    worst_call: timedelta

    def create_invoice(self, request: InvoiceRequest) -> Invoice: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...

    def find_invoices(self, external_id: str, *, read_timeout: float | None = None) -> list[Invoice]:
        """Invoices with this external id, newest first (Xendit does not keep it unique).
        `read_timeout` overrides the configured one for this call."""
        ...

    def list_invoices(
        self,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        statuses: tuple[str, ...] = (),
        limit: int = 100,
        last_invoice: str | None = None,
    ) -> list[Invoice]:
        """One page of invoices, newest first; `last_invoice` (the last id of the previous
        page) asks for the next one."""
        ...

    def expire_invoice(self, invoice_id: str) -> Invoice: ...

    def refund_create(self, request: RefundRequest) -> Refund:
        """Refund (part of) a paid invoice. Refused channels raise GatewayError with code
        REFUND_NOT_SUPPORTED; a retry with the same idempotency key returns the first refund."""
        ...

    def refund_get(self, refund_id: str) -> Refund: ...


def get_gateway() -> PaymentGateway:
    """The configured gateway: the class named by `settings.PAYMENT_GATEWAY` (a dotted path,
    as Django's EMAIL_BACKEND), made by its `from_settings()`. There is one implementation,
    Xendit's; in development and tests its base URL points at the built-in simulator, so the
    real SDK runs either way. Chosen by name, this module does not import the gateway that
    imports it."""
    return import_string(settings.PAYMENT_GATEWAY).from_settings()
