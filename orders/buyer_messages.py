"""What a buyer reads when the checkout refuses an order or a voucher, in the page's
language.

Services raise errors with an English message and a stable code (the API's JSON error
body: integrators read one language). The buyer's pages speak Indonesian or English, so
they do not show that message: they say the same thing from the code and its details, in
words translated in locale/id/LC_MESSAGES/django.po.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tedxpay.core.money import format_rupiah


def refusal_message(code: str, details: dict | None = None, *, ticket_name: str = "") -> str:
    """The buyer's words for a refusal; "" for a code the pages have no words for."""
    details = details or {}
    if code == "voucher_invalid":
        return _("This voucher code is not valid for this event.")
    if code == "voucher_not_applicable":
        return _("This voucher does not apply to the tickets you chose.")
    if code == "voucher_expired":
        return _("This voucher is not valid at this time.")
    if code == "voucher_used_up":
        remaining = details.get("remaining") or 0
        if remaining:
            return ngettext(
                "This voucher has only %(count)d use left, fewer than the tickets it would cover.",
                "This voucher has only %(count)d uses left, fewer than the tickets it would cover.",
                remaining,
            ) % {"count": remaining}
        return _("This voucher has been used up.")
    if code == "total_below_minimum":
        amounts = {"total": format_rupiah(details.get("total", 0)), "minimum": format_rupiah(details.get("minimum", 0))}
        if details.get("with_voucher"):
            return (
                _(
                    "With this voucher the order would cost %(total)s, less than the %(minimum)s a payment can be. "
                    "Choose more tickets, or leave the voucher out."
                )
                % amounts
            )
        return _("This order would cost %(total)s, less than the %(minimum)s a payment can be.") % amounts
    if code == "hold_limit":
        return _(
            "Too many seats are held unpaid from your connection. Pay for an open order, or wait until it "
            "expires, then try again."
        )
    if code == "pending_order_exists":
        return _("You already have an unpaid order for this event. Pay for it, or wait until it expires.")
    if code == "validation_error" and details.get("attendee_names"):
        return _("Give the name of each attendee: one per ticket you chose.")
    if code == "quantity_limit" and "min_per_order" in details:
        least = details["min_per_order"]
        return ngettext(
            "At least %(count)d %(ticket)s ticket per order.",
            "At least %(count)d %(ticket)s tickets per order.",
            least,
        ) % {"count": least, "ticket": ticket_name or _("this kind")}
    if code == "buyer_limit" and "max_per_buyer" in details:
        limit, held = details["max_per_buyer"], details.get("held_by_buyer", 0)
        words = {"limit": limit, "ticket": ticket_name or _("this kind"), "held": held}
        if held:
            return (
                ngettext(
                    "At most %(limit)d %(ticket)s ticket per buyer; your email or phone number already has %(held)d.",
                    "At most %(limit)d %(ticket)s tickets per buyer; your email or phone number already has %(held)d.",
                    limit,
                )
                % words
            )
        return (
            ngettext(
                "At most %(limit)d %(ticket)s ticket per buyer.",
                "At most %(limit)d %(ticket)s tickets per buyer.",
                limit,
            )
            % words
        )
    return ""
