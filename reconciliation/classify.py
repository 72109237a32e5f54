"""How one Xendit invoice compares with our record of it: matched, or why not.

Pure: it looks at what Xendit says and at a snapshot of our payment (taken after the
report tried to heal what it could, see healing.py), and decides the row's
classification, its explanation and whether finance must look at it.
"""

import re
from dataclasses import dataclass

from payments.gateways.base import Invoice
from reconciliation.models import Classification
from tedxpay.core.money import format_rupiah

# Our order codes (orders.models.new_order_code): anything else is another system's.
OUR_CODE = re.compile(r"^TDX-[0-9A-Z]{8}$")


def is_ours(external_id: str) -> bool:
    return bool(OUR_CODE.match(external_id or ""))


@dataclass(frozen=True)
class OurPayment:
    payment_id: int
    invoice_id: str | None
    status: str  # PaymentStatus value
    paid_amount: int | None
    refunded_amount: int
    order_code: str
    order_status: str
    attention_reason: str = ""


@dataclass(frozen=True)
class Verdict:
    classification: str
    explanation: str
    needs_attention: bool


def paid_amount_at_xendit(invoice: Invoice) -> int | None:
    if not invoice.is_paid:
        return None
    return invoice.paid_amount if invoice.paid_amount is not None else invoice.amount


def classify(invoice: Invoice, ours: OurPayment | None, *, note: str = "") -> Verdict:
    """`ours`: our payment holding this invoice id, or None. `note`: what the report did
    about it just now (adopted it, recorded its payment, expired a duplicate)."""

    def verdict(classification: str, explanation: str, needs_attention: bool) -> Verdict:
        text = f"{note} {explanation}".strip() if note else explanation
        return Verdict(classification, text, needs_attention)

    paid_there = paid_amount_at_xendit(invoice)
    if ours is None:
        if not is_ours(invoice.external_id):
            return verdict(Classification.FOREIGN, "Another system's invoice on this Xendit account.", False)
        if paid_there is None:
            return verdict(
                Classification.UNKNOWN_OURS,
                f"An extra invoice for {invoice.external_id}, never paid ({invoice.status}): nothing to collect.",
                False,
            )
        return verdict(
            Classification.UNKNOWN_OURS,
            f"{format_rupiah(paid_there)} paid at Xendit on an invoice for {invoice.external_id} "
            "that no payment here holds: "
            "record it by hand or refund it.",
            True,
        )

    paid_here = ours.paid_amount if ours.status == "PAID" else None
    if paid_there is not None and paid_here is not None:
        if paid_there != paid_here:
            return verdict(
                Classification.AMOUNTS_DIFFER,
                f"Xendit says {format_rupiah(paid_there)} was paid, we recorded {format_rupiah(paid_here)}.",
                True,
            )
        flag = f" Order {ours.order_code} is flagged ({ours.attention_reason})." if ours.attention_reason else ""
        return verdict(Classification.MATCHED, flag.strip(), False)
    if paid_there is not None:
        return verdict(
            Classification.PAID_THERE_NOT_HERE,
            f"{format_rupiah(paid_there)} paid at Xendit; our payment is {ours.status} "
            f"(order {ours.order_code} {ours.order_status}).",
            True,
        )
    if paid_here is not None:
        return verdict(
            Classification.PAID_HERE_NOT_THERE,
            f"We recorded {format_rupiah(paid_here)} paid; Xendit says the invoice is {invoice.status}.",
            True,
        )
    still_open = invoice.status == "PENDING" and ours.status != "PENDING"
    return verdict(
        Classification.MATCHED,
        "Still open at Xendit although our order is closed: the payments sweep expires it." if still_open else "",
        False,
    )
