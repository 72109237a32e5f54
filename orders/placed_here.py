"""Which orders this browser placed: their codes in a signed cookie.

A buyer may hold one unpaid order per event (orders/holds.py), and a second checkout with
the same email address or phone number leads to the first order's payment, but only in
the browser that placed it. Anyone can type someone else's email address, and Xendit's
invoice page shows the buyer's name and what they owe; elsewhere the second checkout is
sent to the order's public page, which emails the private link to the address the order
was placed with (`orders/order_pages.py::order_lookup`).
"""

from django.conf import settings

from orders.models import Order

COOKIE_NAME = "tedxpay_orders"
_SALT = "orders.placed_here"
# An unpaid order lives ORDER_TTL (30 minutes); a day covers it with room to spare.
_MAX_AGE = 24 * 60 * 60
_KEEP = 10


def placed_here(request) -> list[str]:
    """The codes of the orders this browser placed, newest first (a forged or old cookie
    counts as none)."""
    value = request.get_signed_cookie(COOKIE_NAME, default="", salt=_SALT, max_age=_MAX_AGE)
    return [code for code in value.split(",") if code]


def remember_placed(request, response, order: Order) -> None:
    codes = [order.code, *(code for code in placed_here(request) if code != order.code)]
    response.set_signed_cookie(
        COOKIE_NAME,
        ",".join(codes[:_KEEP]),
        salt=_SALT,
        max_age=_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
