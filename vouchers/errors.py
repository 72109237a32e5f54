"""Why a voucher cannot be used. Each is a 4xx with a stable code (docs/api.md)."""

from tedxpay.core.errors import ApplicationError


class VoucherInvalid(ApplicationError):
    """No such code for this event. A 400: the same request never succeeds."""

    code = "voucher_invalid"
    status_code = 400
    default_message = "This voucher code is not valid for this event."


class VoucherNotApplicable(ApplicationError):
    """The code exists but covers none of the ordered phases. A 400."""

    code = "voucher_not_applicable"
    status_code = 400
    default_message = "This voucher does not apply to the tickets in this order."


class VoucherExpired(ApplicationError):
    """Outside the voucher's validity window (over, or not open yet). A 409, like
    `not_on_sale`: the outcome of the moment."""

    code = "voucher_expired"
    status_code = 409
    default_message = "This voucher is not valid at this time."


class VoucherUsedUp(ApplicationError):
    """Not enough uses left for the seats it would cover. A 409, like `sold_out`."""

    code = "voucher_used_up"
    status_code = 409
    default_message = "This voucher has been used up."
