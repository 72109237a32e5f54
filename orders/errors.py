from tedxpay.core.errors import ApplicationError


class QuantityLimit(ApplicationError):
    """More units of one phase than its `max_per_order`. A 400: the same request can never
    succeed, unlike `sold_out` (409), which depends on the moment."""

    code = "quantity_limit"
    status_code = 400
    default_message = "Too many tickets of one kind in one order."


class PaymentGatewayUnavailable(ApplicationError):
    """Xendit could not make the invoice. The order was cancelled and its seats given back;
    503 when a retry may work (timeout, Xendit 5xx), 502 when Xendit refused the request."""

    code = "payment_gateway_unavailable"
    status_code = 502
    default_message = (
        "The payment provider could not create the invoice; the order was cancelled and no seats are held."
    )

    def __init__(self, message: str | None = None, *, retryable: bool):
        super().__init__(message, status_code=503 if retryable else 502, details={"retryable": retryable})


class OrderCancelled(ApplicationError):
    """The order was cancelled (by finance, in the admin) while its Xendit invoice was being
    created. Its seats are back and the invoice is being expired at Xendit, so there is
    nothing to pay: a 409, like `sold_out`, the outcome of this moment."""

    code = "order_cancelled"
    status_code = 409
    default_message = (
        "The order was cancelled while its invoice was being created; nothing is to be paid and no seats are held."
    )


class TotalBelowMinimum(ApplicationError):
    """The order would cost more than 0 but less than any payment channel takes
    (`settings.MINIMUM_CHARGE`): a voucher that leaves a few rupiah. Xendit would refuse the
    invoice, so it is refused first, with nothing written. A 400: the same order never
    succeeds."""

    code = "total_below_minimum"
    status_code = 400
    default_message = "The order's total is above 0 but below the smallest amount the payment channels accept."


class TotalAboveMaximum(ApplicationError):
    """The order would cost more than Xendit takes in one invoice (`settings.MAXIMUM_CHARGE`).
    Refused before anything is written, like `TotalBelowMinimum`."""

    code = "total_above_maximum"
    status_code = 400
    default_message = "The order's total is above the largest amount the payment channels accept."
