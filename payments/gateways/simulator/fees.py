"""What Xendit keeps of a payment, per channel, in the shape of its Indonesian price list:
a fixed fee per transaction (virtual accounts, retail outlets), a percentage (e-wallets,
QRIS), or both (cards), plus 11 % VAT on the fee. The figures are typical public prices,
not a quote: what matters to tedxpay is that a PAID invoice reports `fees_paid_amount`
and `adjusted_received_amount` (the net that reaches the balance) and that they add up.
"""

from dataclasses import dataclass

VAT_PERCENT = 11


@dataclass(frozen=True)
class Fee:
    fixed: int = 0  # rupiah per transaction
    basis_points: int = 0  # 1/100 of a percent of the amount paid


FEES = {
    **dict.fromkeys(["BCA", "BNI", "BRI", "MANDIRI", "PERMATA", "BSI"], Fee(fixed=4_000)),
    "OVO": Fee(basis_points=273),
    "DANA": Fee(basis_points=150),
    "SHOPEEPAY": Fee(basis_points=200),
    "LINKAJA": Fee(basis_points=150),
    "QRIS": Fee(basis_points=70),
    "ALFAMART": Fee(fixed=5_000),
    "INDOMARET": Fee(fixed=5_000),
    "CREDIT_CARD": Fee(fixed=2_000, basis_points=290),
}


def fee_for(channel_code: str, paid_amount: int) -> int:
    """Whole rupiah Xendit keeps of `paid_amount` paid through this channel (never more
    than was paid). Integer arithmetic, rounded half up."""
    fee = FEES.get(channel_code, Fee())
    before_vat_x10000 = fee.fixed * 10_000 + paid_amount * fee.basis_points
    with_vat_x1000000 = before_vat_x10000 * (100 + VAT_PERCENT)
    return min((with_vat_x1000000 + 500_000) // 1_000_000, paid_amount)
