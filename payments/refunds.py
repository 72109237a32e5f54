"""Refund rows: one per attempt to give money back, and every move of their status.

Each status change is one function here that locks the payment and then the refund row,
returns quietly when the refund is already in the target state, refuses an illegal move
with `IllegalTransition`, and writes an audit row (`OrderEvent`, subject "refund") in the
same transaction. These functions touch Payment and Refund rows only; talking to Xendit,
the order (cancel, flags) and the buyer's emails belong to the layer above
(`orders/checkout/refunds.py`).

Lock order: the order, then the payment, then the refund (each function takes all three).

The money rule lives on the payment: `refund_in_flight` holds the amounts of refunds
requested, pending at Xendit or waiting for finance's transfer, `refunded_amount` the ones
done, and a check constraint keeps their sum within `paid_amount`. A new refund is checked
against that under the payment's row lock, so two refunds asked for at the same moment can
never add up to more than was paid.

    requested ──► pending ──► succeeded
        │            └──────► failed
        ├──► succeeded | failed        (Xendit answered final at once)
        └──► manual ──► succeeded      (the channel cannot be refunded through Xendit;
                                        finance transfers and marks it done)
"""

from django.db import transaction
from django.utils import timezone

from orders.models import EventSource, Order, OrderEvent
from payments.gateways.base import Refund as GatewayRefund
from payments.gateways.base import RefundStatus as GatewayRefundStatus
from payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from tedxpay.core.errors import Conflict, IllegalTransition, InvalidInput
from tedxpay.core.money import format_rupiah
from tedxpay.core.request_id import get_request_id

_ALLOWED = {
    RefundStatus.PENDING: {RefundStatus.REQUESTED},
    RefundStatus.MANUAL: {RefundStatus.REQUESTED},
    RefundStatus.SUCCEEDED: {RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.MANUAL},
    RefundStatus.FAILED: {RefundStatus.REQUESTED, RefundStatus.PENDING},
}

REFUND_NOTE_MAX_LENGTH = 1000


class RefundNotPossible(Conflict):
    code = "refund_not_possible"
    default_message = "This payment cannot be refunded."


class RefundTooLarge(InvalidInput):
    code = "refund_too_large"
    default_message = "The refund is more than what can still be refunded."


def _lock_order(order_id: int) -> None:
    # The order's row first, even though only the payment and the refund change here: the
    # audit row's foreign key takes a shared lock on the order, and a flow holding the order
    # while it waits for this payment would deadlock with us (measured on MariaDB).
    Order.objects.select_for_update().only("pk").get(pk=order_id)


def _locked(refund_id: int) -> tuple[Payment, Refund]:
    payment_id, order_id = Refund.objects.values_list("payment_id", "order_id").get(pk=refund_id)
    _lock_order(order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    return payment, refund


def _audit(*, payment: Payment, refund: Refund, from_status: str, source: str, note: str) -> None:
    OrderEvent.objects.create(
        order_id=payment.order_id,
        subject=OrderEvent.Subject.REFUND,
        from_status=from_status,
        to_status=refund.status,
        source=source,
        request_id=get_request_id(),
        note=f"{refund.reference} ({format_rupiah(refund.amount)}): {note}"
        if note
        else f"{refund.reference} ({format_rupiah(refund.amount)})",
    )


def _set_status(*, payment: Payment, refund: Refund, to_status: str, source: str, note: str, fields=()) -> bool:
    """Move the refund; False (and nothing written) when it is already there."""
    from_status = refund.status
    if from_status == to_status:
        return False
    if from_status not in _ALLOWED[to_status]:
        raise IllegalTransition(
            f"Refund {refund.reference} is {from_status} and cannot become {to_status}.",
            details={"from": from_status, "to": to_status},
        )
    refund.status = to_status
    refund.save(update_fields=["status", "updated_at", *fields])
    _audit(payment=payment, refund=refund, from_status=from_status, source=source, note=note)
    return True


@transaction.atomic
def refund_request(
    *,
    payment_id: int,
    amount: int | None,
    requested_by: str,
    owed_only: bool = False,
    reason: str = RefundReason.CANCELLATION,
    note: str = "",
    source: str = EventSource.ADMIN,
) -> Refund:
    """A new refund of `amount` rupiah, `requested`: reserved on the payment, Xendit not
    asked yet (the caller does that after commit, with no lock held).

    Refused: an amount that is not a whole positive number (`InvalidInput`); more than is
    still refundable, counting refunds under way (`RefundTooLarge`); a payment that received
    no money (`RefundNotPossible`). Checked under the payment's row lock. `amount=None`:
    everything still refundable; `owed_only`: what a flagged order is owed back.
    """
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
        raise InvalidInput(details={"amount": ["Enter the amount to refund, in whole rupiah, more than 0."]})
    if reason not in RefundReason.values:
        raise InvalidInput(details={"reason": [f"One of {', '.join(RefundReason.values)}."]})
    note = (note or "").strip()
    if len(note) > REFUND_NOTE_MAX_LENGTH:
        raise InvalidInput(details={"note": [f"At most {REFUND_NOTE_MAX_LENGTH} characters."]})
    _lock_order(Payment.objects.values_list("order_id", flat=True).get(pk=payment_id))
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != PaymentStatus.PAID or not payment.paid_amount:
        raise RefundNotPossible(
            f"Payment {payment.external_id} is {payment.status}: no money was received, nothing to refund.",
            details={"status": payment.status},
        )
    if owed_only:
        # What a flagged order is owed back (the whole payment with no seats for it, the
        # excess of an overpayment; `refund_owed_sql`), less refunds done and under way:
        # read under the locks, so two clicks at once cannot both refund an overpayment's
        # excess.
        payment.order = Order.objects.get(pk=payment.order_id)
        amount = min(payment.refund_outstanding, payment.refundable)
        if not amount:
            raise RefundNotPossible(
                f"Order {payment.order.code} is owed nothing back (or its refund is under way).",
                details={"refundable": payment.refundable},
            )
    if amount is None:
        amount = payment.refundable
        if not amount:
            raise RefundTooLarge(
                f"Nothing of {payment.external_id} is left to refund: "
                f"{format_rupiah(payment.refunded_amount)} refunded, "
                f"{format_rupiah(payment.refund_in_flight)} being refunded.",
                details={"refundable": 0},
            )
    if amount > payment.refundable:
        raise RefundTooLarge(
            f"At most {format_rupiah(payment.refundable)} of {payment.external_id} can be refunded: "
            f"{format_rupiah(payment.paid_amount)} received, {format_rupiah(payment.refunded_amount)} refunded, "
            f"{format_rupiah(payment.refund_in_flight)} being refunded.",
            details={
                "amount": [f"At most {format_rupiah(payment.refundable)} can still be refunded."],
                "refundable": payment.refundable,
            },
        )
    payment.refund_in_flight += amount
    payment.save(update_fields=["refund_in_flight", "updated_at"])
    refund = Refund.objects.create(
        payment=payment, order_id=payment.order_id, amount=amount, reason=reason, note=note, requested_by=requested_by
    )
    _audit(
        payment=payment,
        refund=refund,
        from_status="",
        source=source,
        note=f"requested by {requested_by} ({reason}){': ' + note if note else ''}",
    )
    return refund


@transaction.atomic
def refund_mark_pending(*, refund_id: int, gateway_refund: GatewayRefund, source: str = EventSource.SYSTEM) -> Refund:
    """Xendit accepted the refund and is waiting for the channel: remember its id.
    Quiet when the refund is pending already or has moved on (its webhook came first)."""
    payment, refund = _locked(refund_id)
    if refund.status != RefundStatus.REQUESTED:
        return refund
    refund.gateway_refund_id = gateway_refund.id
    _set_status(
        payment=payment,
        refund=refund,
        to_status=RefundStatus.PENDING,
        source=source,
        note=f"accepted by Xendit as {gateway_refund.id} ({gateway_refund.channel_code or 'channel unknown'})",
        fields=["gateway_refund_id"],
    )
    return refund


@transaction.atomic
def refund_mark_succeeded(
    *,
    refund_id: int,
    completed_by: str,
    gateway_refund_id: str | None = None,
    transfer_reference: str = "",
    source: str = EventSource.SYSTEM,
) -> tuple[Refund, bool]:
    """The money is back with the buyer: the amount moves from `refund_in_flight` to
    `refunded_amount`. Returns (refund, changed): changed is False when it had succeeded
    already (a second webhook, a reconcile after the webhook)."""
    payment, refund = _locked(refund_id)
    if refund.status == RefundStatus.SUCCEEDED:
        return refund, False
    refund.completed_by = completed_by
    refund.completed_at = timezone.now()
    if gateway_refund_id and not refund.gateway_refund_id:
        refund.gateway_refund_id = gateway_refund_id
    refund.transfer_reference = transfer_reference
    via = f"bank transfer {transfer_reference}" if transfer_reference else "Xendit"
    _set_status(
        payment=payment,
        refund=refund,
        to_status=RefundStatus.SUCCEEDED,
        source=source,
        note=f"done ({via}), marked by {completed_by}",
        fields=["completed_by", "completed_at", "gateway_refund_id", "transfer_reference"],
    )
    payment.refund_in_flight -= refund.amount
    payment.refunded_amount += refund.amount
    payment.refunded_at = refund.completed_at
    payment.save(update_fields=["refund_in_flight", "refunded_amount", "refunded_at", "updated_at"])
    return refund, True


@transaction.atomic
def refund_mark_failed(
    *, refund_id: int, failure_code: str, message: str = "", source: str = EventSource.SYSTEM
) -> tuple[Refund, bool]:
    """Xendit refused or could not complete the refund: its amount is free again, so the
    order can be refunded anew. Returns (refund, changed)."""
    payment, refund = _locked(refund_id)
    if refund.status == RefundStatus.FAILED:
        return refund, False
    refund.failure_code = (failure_code or "UNKNOWN")[:64]
    refund.failure_message = message
    refund.completed_at = timezone.now()
    _set_status(
        payment=payment,
        refund=refund,
        to_status=RefundStatus.FAILED,
        source=source,
        note=f"failed: {refund.failure_code}{' — ' + message if message else ''}",
        fields=["failure_code", "failure_message", "completed_at"],
    )
    payment.refund_in_flight -= refund.amount
    payment.save(update_fields=["refund_in_flight", "updated_at"])
    return refund, True


@transaction.atomic
def refund_mark_manual(*, refund_id: int, why: str, source: str = EventSource.SYSTEM) -> tuple[Refund, bool]:
    """Xendit cannot refund this channel (virtual accounts, retail outlets): the refund
    becomes a task for finance, who transfer the money and mark it done
    (`refund_manual_complete`). The amount stays reserved. Returns (refund, changed)."""
    payment, refund = _locked(refund_id)
    if refund.status == RefundStatus.MANUAL:
        return refund, False
    refund.failure_code = "REFUND_NOT_SUPPORTED"
    changed = _set_status(
        payment=payment,
        refund=refund,
        to_status=RefundStatus.MANUAL,
        source=source,
        note=f"to be transferred by hand by finance: {why}",
        fields=["failure_code"],
    )
    return refund, changed


def refund_manual_complete(
    *, refund_id: int, completed_by: str, transfer_reference: str, source: str = EventSource.ADMIN
) -> tuple[Refund, bool]:
    """Finance transferred a manual refund: it succeeds, with who and the transfer's
    reference. Only a `manual` refund can be marked done this way."""
    transfer_reference = " ".join((transfer_reference or "").split())
    if not transfer_reference:
        raise InvalidInput(details={"transfer_reference": ["Enter the bank transfer's reference."]})
    if len(transfer_reference) > 200:
        raise InvalidInput(details={"transfer_reference": ["At most 200 characters."]})
    with transaction.atomic():
        _payment, refund = _locked(refund_id)
        if refund.status == RefundStatus.SUCCEEDED and refund.transfer_reference:
            return refund, False  # marked done already (a double click, a colleague)
        if refund.status != RefundStatus.MANUAL:
            raise IllegalTransition(
                f"Refund {refund.reference} is {refund.status}: only a manual refund is marked done by hand.",
                details={"status": refund.status},
            )
        return refund_mark_succeeded(
            refund_id=refund_id, completed_by=completed_by, transfer_reference=transfer_reference, source=source
        )


def refund_apply_gateway(*, refund_id: int, gateway_refund: GatewayRefund, source: str) -> tuple[Refund, bool]:
    """Move the refund to what Xendit says about it (read by the caller from Xendit, never
    taken from a webhook body). Returns (refund, changed)."""
    if gateway_refund.status == GatewayRefundStatus.SUCCEEDED:
        return refund_mark_succeeded(
            refund_id=refund_id, completed_by="Xendit", gateway_refund_id=gateway_refund.id, source=source
        )
    if gateway_refund.status == GatewayRefundStatus.FAILED:
        return refund_mark_failed(
            refund_id=refund_id, failure_code=gateway_refund.failure_code or "REFUND_FAILED", source=source
        )
    before = Refund.objects.values_list("status", flat=True).get(pk=refund_id)
    refund = refund_mark_pending(refund_id=refund_id, gateway_refund=gateway_refund, source=source)
    return refund, refund.status != before
