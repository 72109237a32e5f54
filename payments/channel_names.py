"""Payment channels as people know them: "BCA Virtual Account", "OVO", "QRIS", "Alfamart".

Xendit reports a category (`payment_method`, e.g. BANK_TRANSFER) and a channel code
(`payment_channel`, e.g. BCA). Buyers and finance read the name on their banking app or
the shop's counter instead; a code we do not know yet is shown as it came.
"""

from django.utils.translation import gettext_lazy as _

_VIRTUAL_ACCOUNT_METHODS = {"BANK_TRANSFER", "CALLBACK_VIRTUAL_ACCOUNT", "POOL"}
_BANKS = {
    "BCA": "BCA",
    "BNI": "BNI",
    "BRI": "BRI",
    "MANDIRI": "Mandiri",
    "PERMATA": "Permata",
    "BSI": "BSI",
    "BJB": "BJB",
    "CIMB": "CIMB Niaga",
    "SAHABAT_SAMPOERNA": "Bank Sahabat Sampoerna",
}
_CHANNELS = {
    "OVO": "OVO",
    "DANA": "DANA",
    "SHOPEEPAY": "ShopeePay",
    "LINKAJA": "LinkAja",
    "ASTRAPAY": "AstraPay",
    "GOPAY": "GoPay",
    "QRIS": "QRIS",
    "ALFAMART": "Alfamart",
    "INDOMARET": "Indomaret",
    "CREDIT_CARD": _("Credit or debit card"),
    "FREE": _("Free (nothing to pay)"),
}
_METHODS = {
    "CREDIT_CARD": _("Credit or debit card"),
    "QR_CODE": "QRIS",
    "QRIS": "QRIS",
    "EWALLET": _("E-wallet"),
    "RETAIL_OUTLET": _("Retail outlet"),
    "DIRECT_DEBIT": _("Direct debit"),
    "PAYLATER": _("Pay later"),
    "FREE": _("Free (nothing to pay)"),
}


def channel_name(*, method: str, channel: str) -> str:
    """The name of the way a payment was made, e.g. ("BANK_TRANSFER", "BCA") → "BCA Virtual
    Account". Empty when neither is known."""
    method, channel = (method or "").upper(), (channel or "").upper()
    if channel in _BANKS and (method in _VIRTUAL_ACCOUNT_METHODS or not method):
        return f"{_BANKS[channel]} Virtual Account"
    if channel in _CHANNELS:
        return str(_CHANNELS[channel])
    if channel:
        return channel.replace("_", " ").title()
    return str(_METHODS.get(method, method.replace("_", " ").title()))
