"""Indonesian payment channels as Xendit's invoice presents them.

Each channel has a family (how Xendit names it in `payment_method` and which extra key the
callback carries) and an amount range: like Xendit, the simulator hides channels the
amount does not fit and refuses to pay through them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    code: str  # payment_channel
    label: str
    payment_method: str  # Xendit's category, as in the callback's `payment_method`
    minimum: int
    maximum: int

    def fits(self, amount: int) -> bool:
        return self.minimum <= amount <= self.maximum


VIRTUAL_ACCOUNT = "BANK_TRANSFER"
EWALLET = "EWALLET"
RETAIL_OUTLET = "RETAIL_OUTLET"
QR_CODE = "QR_CODE"
CREDIT_CARD = "CREDIT_CARD"

CHANNELS: dict[str, Channel] = {
    channel.code: channel
    for channel in [
        Channel("BCA", "BCA Virtual Account", VIRTUAL_ACCOUNT, 10_000, 50_000_000_000),
        Channel("BNI", "BNI Virtual Account", VIRTUAL_ACCOUNT, 10_000, 50_000_000_000),
        Channel("BRI", "BRI Virtual Account", VIRTUAL_ACCOUNT, 10_000, 50_000_000_000),
        Channel("MANDIRI", "Mandiri Virtual Account", VIRTUAL_ACCOUNT, 10_000, 50_000_000_000),
        Channel("PERMATA", "Permata Virtual Account", VIRTUAL_ACCOUNT, 10_000, 9_999_999_999),
        Channel("BSI", "BSI Virtual Account", VIRTUAL_ACCOUNT, 10_000, 50_000_000_000),
        Channel("OVO", "OVO", EWALLET, 100, 2_000_000),
        Channel("DANA", "DANA", EWALLET, 100, 2_000_000),
        Channel("SHOPEEPAY", "ShopeePay", EWALLET, 100, 2_000_000),
        Channel("LINKAJA", "LinkAja", EWALLET, 100, 2_000_000),
        Channel("QRIS", "QRIS", QR_CODE, 1_500, 10_000_000),
        Channel("ALFAMART", "Alfamart", RETAIL_OUTLET, 10_000, 2_500_000),
        Channel("INDOMARET", "Indomaret", RETAIL_OUTLET, 10_000, 5_000_000),
        Channel("CREDIT_CARD", "Credit / debit card", CREDIT_CARD, 5_000, 200_000_000),
    ]
}

# Largest amount any channel takes: above it Xendit answers MAXIMUM_TRANSFER_AMOUNT_ERROR.
MAXIMUM_AMOUNT = max(channel.maximum for channel in CHANNELS.values())


def channels_for(amount: int) -> list[Channel]:
    return [channel for channel in CHANNELS.values() if channel.fits(amount)]


def available_lists(amount: int, merchant_name: str) -> dict[str, list[dict]]:
    """The `available_*` lists of an invoice, in the shapes the SDK's models require."""
    fitting = channels_for(amount)
    return {
        "available_banks": [
            {
                "bank_code": channel.code,
                "collection_type": "POOL",
                "transfer_amount": amount,
                "bank_branch": "Virtual Account",
                "account_holder_name": merchant_name.upper(),
                "identity_amount": 0,
            }
            for channel in fitting
            if channel.payment_method == VIRTUAL_ACCOUNT
        ],
        "available_retail_outlets": [
            {"retail_outlet_name": channel.code, "transfer_amount": amount, "merchant_name": merchant_name}
            for channel in fitting
            if channel.payment_method == RETAIL_OUTLET
        ],
        "available_ewallets": [
            {"ewallet_type": channel.code} for channel in fitting if channel.payment_method == EWALLET
        ],
        "available_qr_codes": [
            {"qr_code_type": channel.code} for channel in fitting if channel.payment_method == QR_CODE
        ],
        "available_direct_debits": [],
        "available_paylaters": [],
    }
