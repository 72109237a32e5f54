"""Giving money back: the flows that talk to Xendit's refund API and touch an order, its
payment and its refunds together. Admin actions, the refund webhook, the event
cancellation and the Celery sweeps call these; they call the transitions below them
(`orders/services.py` for the order, `payments/refunds.py` for the refund rows).

The shape of every refund, whoever starts it:

1. One short transaction: lock the order (then, inside, the payment), cancel the order when
   asked (tickets void, seats back), and write a `requested` refund that reserves its amount
   on the payment. Two requests at once queue on the order's lock; the second finds the
   money reserved and is refused, so the refunds never add up to more than was paid.
2. After commit, with no lock held: `POST /refunds` with the refund's reference as the
   idempotency key. Xendit's answer moves the refund (pending, succeeded, failed), or
   REFUND_NOT_SUPPORTED makes it a manual task for finance. A timeout or a 5xx leaves it
   `requested`: `refunds_resume` (beat) asks again with the same key, so a lost answer is
   never a second refund.
3. Xendit's webhook, or `refunds_resume` polling a pending refund, settles it; the refund is
   always re-read from Xendit before it moves.

The buyer is emailed at each step (cancelled, refund started with the time its channel
takes, refund done, refund by bank transfer), each email written in the transaction of its
change and sent after commit.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services import notification_queue
from orders.models import AttentionReason, EventSource, Order, OrderStatus
from orders.services import order_attention_resolve, order_cancel_paid, order_flag, order_lock
from payments.gateways.base import REFUND_NOT_SUPPORTED, GatewayError, RefundRequest, get_gateway
from payments.gateways.base import Refund as GatewayRefund
from payments.models import Payment, Refund, RefundReason, RefundStatus
from payments.refunds import (
    refund_apply_gateway,
    refund_manual_complete,
    refund_mark_failed,
    refund_mark_manual,
)
from payments.refunds import refund_request as refund_row_request
from tedxpay.core.errors import Conflict
from tedxpay.core.money import format_rupiah

logger = logging.getLogger(__name__)

# Which email tells the buyer about a refund that just reached this status.
_EMAIL_FOR_STATUS = {
    RefundStatus.PENDING: NotificationKind.REFUND_STARTED,
    RefundStatus.SUCCEEDED: NotificationKind.REFUND_DONE,
    RefundStatus.MANUAL: NotificationKind.REFUND_MANUAL,
}


def order_refund(
    *,
    order_id: int,
    requested_by: str,
    amount: int | None = None,
    reason: str = RefundReason.CANCELLATION,
    note: str = "",
    cancel: bool = False,
    release_seats: bool = True,
    owed_only: bool = False,
    source: str = EventSource.ADMIN,
    gateway=None,
    expected_refunds: int | None = None,
) -> Refund:
    """Refund `amount` rupiah of the order's payment (None: everything still refundable)
    through Xendit; with `cancel`, cancel the paid order first in the same transaction
    (e-tickets void; seats back on sale unless `release_seats` is False). A partial refund
    without `cancel` leaves the order PAID and its tickets valid.

    `expected_refunds`: what the person asking saw as refunded and being refunded; when
    that is no longer true (the same form sent twice, a colleague in another tab), nothing
    is done (`Conflict`): a second refund must be a deliberate one.

    Raises (nothing written) `RefundTooLarge`, `RefundNotPossible`, `InvalidInput`,
    `Conflict` or `IllegalTransition` (cancelling an order that is not paid). Returns the refund as it is
    after Xendit's answer: `pending`, `succeeded`, `failed`, `manual`, or still `requested`
    when Xendit could not be reached (it is asked again later with the same key).
    """
    with transaction.atomic():
        order = order_lock(order_id)
        # Every refund request takes the order's lock first (payments/refunds.py), so these
        # amounts cannot move under this check.
        payment = Payment.objects.get(order=order)
        if expected_refunds is not None and expected_refunds != payment.refunded_or_in_flight:
            raise Conflict(
                f"Meanwhile a refund was asked for or recorded on {order.code}: "
                f"{format_rupiah(payment.refunded_amount)} refunded and "
                f"{format_rupiah(payment.refund_in_flight)} being refunded now. Check them before refunding again.",
                details={"refunded_amount": payment.refunded_amount, "refund_in_flight": payment.refund_in_flight},
            )
        if cancel:
            order_cancel_paid(order_id=order.pk, release_seats=release_seats, source=source, note=note)
        refund = refund_row_request(
            payment_id=payment.pk,
            amount=amount,
            owed_only=owed_only,
            requested_by=requested_by,
            reason=reason,
            note=note,
            source=source,
        )
    return refund_submit(refund_id=refund.pk, gateway=gateway, source=source)


def order_refund_owed(*, order_id: int, requested_by: str, source: str = EventSource.ADMIN, gateway=None) -> Refund:
    """Refund what a flagged order is owed back (`Payment.refund_outstanding`: the whole
    payment when it has no seats for it, the excess of an overpayment) less refunds
    already under way. The order's status does not change."""
    payment = Payment.objects.select_related("order").get(order_id=order_id)
    # A paid order keeps its seats and is owed an overpayment back; any other owes it all.
    reason = RefundReason.OTHERS if payment.order.status == OrderStatus.PAID else RefundReason.CANCELLATION
    return order_refund(
        order_id=order_id,
        requested_by=requested_by,
        owed_only=True,  # the amount is worked out under the locks
        reason=reason,
        note=f"owed back: {payment.order.get_attention_reason_display() or 'flagged'}",
        source=source,
        gateway=gateway,
    )


def refund_submit(*, refund_id: int, gateway=None, source: str = EventSource.SYSTEM) -> Refund:
    """Ask Xendit for a `requested` refund (again): `POST /refunds` keyed by the refund's
    reference, so a repeat after a lost answer returns the first refund. Any other status:
    nothing to do. Never raises GatewayError: the outcome is on the returned row."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.REQUESTED:
        return refund
    payment = refund.payment
    if not payment.invoice_id:
        return _refund_to_manual(refund=refund, why="no Xendit invoice for this payment", source=source)
    request = RefundRequest(
        invoice_id=payment.invoice_id,
        amount=refund.amount,
        reason=refund.reason,
        reference_id=refund.reference,
        idempotency_key=refund.reference,
    )
    try:
        answer = (gateway or get_gateway()).refund_create(request)
    except GatewayError as error:
        if error.code == REFUND_NOT_SUPPORTED:
            return _refund_to_manual(refund=refund, why=error.message, source=source)
        if error.retryable:
            logger.warning("refund %s: Xendit could not be asked (%r); left requested", refund.reference, error)
            return refund
        if error.status is None or not 400 <= error.status < 500:
            # No refusal from Xendit: a reply we could not read (a 2xx whose body is not a
            # refund), or the SDK failing on it. Xendit may have made the refund; marking it
            # failed would free the amount for a second one. Left requested, the sweep asks
            # again with the same idempotency key, which returns the first if it was made.
            logger.error("refund %s: outcome unknown (%r); left requested", refund.reference, error)
            return refund
        logger.warning("refund %s refused by Xendit: %r", refund.reference, error)
        failed, _ = refund_mark_failed(
            refund_id=refund.pk, failure_code=error.code or f"HTTP_{error.status}", message=error.message, source=source
        )
        return failed
    return refund_apply(refund_id=refund.pk, gateway_refund=answer, source=source)


def refund_apply(*, refund_id: int, gateway_refund: GatewayRefund, source: str) -> Refund:
    """Move the refund to what Xendit says (read from Xendit by the caller) and tell the
    buyer, in one transaction. The one copy of this rule: the create's answer, the webhook
    and the sweep all come here."""
    with transaction.atomic():
        refund, changed = refund_apply_gateway(refund_id=refund_id, gateway_refund=gateway_refund, source=source)
        if changed:
            _after_change(refund=refund, source=source)
    return refund


def refund_complete_manual(
    *, refund_id: int, completed_by: str, transfer_reference: str, source: str = EventSource.ADMIN
) -> Refund:
    """Finance transferred a manual refund by hand: mark it done (who, when, the transfer's
    reference) and tell the buyer."""
    with transaction.atomic():
        refund, changed = refund_manual_complete(
            refund_id=refund_id, completed_by=completed_by, transfer_reference=transfer_reference, source=source
        )
        if changed:
            _after_change(refund=refund, source=source)
    return refund


def _refund_to_manual(*, refund: Refund, why: str, source: str) -> Refund:
    with transaction.atomic():
        manual, changed = refund_mark_manual(refund_id=refund.pk, why=why, source=source)
        if changed:
            _after_change(refund=manual, source=source)
    return manual


def _after_change(*, refund: Refund, source: str) -> None:
    order = Order.objects.select_related("buyer").get(pk=refund.payment.order_id)
    kind = _EMAIL_FOR_STATUS.get(refund.status)
    if kind:
        notification_queue(order=order, kind=kind, refund_reference=refund.reference)
    if refund.status == RefundStatus.FAILED and order.status == OrderStatus.CANCELLED:
        _flag_failed_refund(order_id=order.pk, refund=refund, source=source)
    if refund.status == RefundStatus.SUCCEEDED:
        payment = Payment.objects.select_related("order").get(pk=refund.payment_id)
        owed = payment.refund_owed
        if owed and payment.refunded_amount >= owed:
            order_attention_resolve(
                order_id=order.pk,
                source=source,
                note=f"refunds of {format_rupiah(payment.refunded_amount)} cover the {format_rupiah(owed)} owed "
                f"({refund.reference})",
            )


def _flag_failed_refund(*, order_id: int, refund: Refund, source: str) -> None:
    """A cancelled order keeps no tickets, so once its refund fails the money it paid is
    owed and nothing else says so: flag it (the dashboard's "to refund", the order list's
    needs-attention filter) until a refund succeeds or finance resolves it. A flag already
    raised (paid after expiry…) already says the money is owed."""
    order = order_lock(order_id)
    if order.needs_attention:
        return
    order_flag(
        order=order,
        reason=AttentionReason.REFUND_FAILED,
        note=f"refund {refund.reference} of {format_rupiah(refund.amount)} failed"
        + (f" ({refund.failure_code})" if refund.failure_code else "")
        + ": refund again from the order page",
        source=source,
    )


# --- healing: asking again, polling what Xendit has not reported ------------------------

# A refund still `requested` this long after it was written lost its create call (timeout,
# 5xx, a killed process): ask again, with the same key.
RESUBMIT_AFTER = timedelta(minutes=1)
# A refund `pending` this long without a webhook is read from Xendit.
POLL_AFTER = timedelta(minutes=30)


def refunds_resume(*, gateway=None, limit: int = 100, now=None) -> dict:
    """One pass of the refund sweep (beat): submit `requested` refunds again, read
    `pending` ones whose webhook has not come. Failures are logged and counted."""
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    counts = {"resubmitted": 0, "polled": 0, "failed": 0}
    requested = Refund.objects.filter(status=RefundStatus.REQUESTED, updated_at__lte=now - RESUBMIT_AFTER)
    for refund_id in requested.order_by("updated_at").values_list("pk", flat=True)[:limit]:
        try:
            refund_submit(refund_id=refund_id, gateway=gateway)
            counts["resubmitted"] += 1
        except Exception:
            logger.exception("refund sweep: resubmitting refund %s failed", refund_id)
            counts["failed"] += 1
    pending = Refund.objects.filter(
        status=RefundStatus.PENDING, gateway_refund_id__isnull=False, updated_at__lte=now - POLL_AFTER
    )
    for refund_id, gateway_refund_id in pending.order_by("updated_at").values_list("pk", "gateway_refund_id")[:limit]:
        try:
            refund_apply(
                refund_id=refund_id, gateway_refund=gateway.refund_get(gateway_refund_id), source=EventSource.RECONCILE
            )
            Refund.objects.filter(pk=refund_id, status=RefundStatus.PENDING).update(updated_at=timezone.now())
            counts["polled"] += 1
        except Exception:
            logger.exception("refund sweep: reading refund %s failed", refund_id)
            counts["failed"] += 1
    return counts
