"""Payment use cases. Each status change of a Payment is one function here that locks the
row, returns quietly when it is already in the target state, refuses an illegal move with
`IllegalTransition`, and writes an audit row (`OrderEvent`, subject "payment") in the same
transaction.

Lock order, everywhere: the Order row first, then its Payment row. The expiry sweep and
the webhook touch both; taking them in one order means they queue instead of deadlocking.
"""

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orders.models import EventSource, OrderEvent, OrderStatus
from orders.services import order_event_record, order_expire, order_lock, order_mark_paid
from payments.gateways.base import Invoice, InvoiceStatus, get_gateway
from payments.models import Payment, PaymentStatus
from tedxpay.core.errors import Conflict, IllegalTransition
from tedxpay.core.time_limits import caused_by_soft_time_limit

logger = logging.getLogger(__name__)

# Which moves are legal (DESIGN §5). PAID is final: nothing moves a paid payment backwards.
# FAILED → PAID and EXPIRED → PAID exist because money that arrives is never dropped: the
# order decides whether it gets its seats or is flagged for a refund.
_ALLOWED = {
    PaymentStatus.PAID: {PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.FAILED},
    PaymentStatus.EXPIRED: {PaymentStatus.PENDING},
    PaymentStatus.FAILED: {PaymentStatus.PENDING},
}


def payment_lock(payment_id: int) -> Payment:
    """The payment, locked until the surrounding transaction ends."""
    return Payment.objects.select_for_update().get(pk=payment_id)


def _payment_set_status(*, payment: Payment, to_status: str, source: str, note: str = "", fields=()) -> None:
    from_status = payment.status
    if from_status not in _ALLOWED[to_status]:
        raise IllegalTransition(
            f"Payment {payment.external_id} is {from_status} and cannot become {to_status}.",
            details={"from": from_status, "to": to_status},
        )
    payment.status = to_status
    payment.save(update_fields=["status", "updated_at", *fields])
    order_event_record(
        order=payment.order,
        subject=OrderEvent.Subject.PAYMENT,
        from_status=from_status,
        to_status=to_status,
        source=source,
        note=note,
    )


@transaction.atomic
def payment_attach_invoice(*, payment_id: int, invoice: Invoice) -> Payment:
    """Remember the Xendit invoice created for this payment (its id and hosted page)."""
    payment = payment_lock(payment_id)
    if payment.invoice_id and payment.invoice_id != invoice.id:
        raise Conflict(
            f"Payment {payment.external_id} already has invoice {payment.invoice_id}.",
            details={"invoice_id": payment.invoice_id},
        )
    payment.invoice_id = invoice.id
    payment.invoice_url = invoice.invoice_url
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    payment.save(update_fields=["invoice_id", "invoice_url", "gateway_status", "last_synced_at", "updated_at"])
    return payment


@transaction.atomic
def payment_mark_paid(*, payment_id: int, invoice: Invoice, source: str = EventSource.WEBHOOK) -> Payment:
    """Record the money Xendit says was paid, then let the order take it (PAID, or a late
    payment flagged for finance). `invoice` must come from the gateway, not a callback."""
    if not invoice.is_paid:
        raise IllegalTransition(f"Invoice {invoice.id} is {invoice.status}, not paid.")
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    order_lock(order_id)
    payment = payment_lock(payment_id)
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    if payment.status == PaymentStatus.PAID:
        payment.save(update_fields=["gateway_status", "last_synced_at", "updated_at"])
        return payment
    payment.paid_amount = invoice.paid_amount if invoice.paid_amount is not None else invoice.amount
    payment.paid_at = invoice.paid_at or timezone.now()
    payment.method = invoice.payment_method
    payment.channel = invoice.payment_channel
    _payment_set_status(
        payment=payment,
        to_status=PaymentStatus.PAID,
        source=source,
        note=f"{payment.paid_amount} {invoice.currency} via {invoice.payment_channel or 'unknown channel'}",
        fields=["paid_amount", "paid_at", "method", "channel", "gateway_status", "last_synced_at"],
    )
    order_mark_paid(order_id=order_id, paid_amount=payment.paid_amount, paid_at=payment.paid_at, source=source)
    return payment


@transaction.atomic
def payment_expire(*, payment_id: int, source: str = EventSource.EXPIRY) -> Payment:
    """PENDING → EXPIRED. The caller holds the order's lock (see order_expire)."""
    payment = payment_lock(payment_id)
    if payment.status == PaymentStatus.EXPIRED:
        return payment
    _payment_set_status(payment=payment, to_status=PaymentStatus.EXPIRED, source=source)
    return payment


@transaction.atomic
def payment_fail(*, payment_id: int, source: str = EventSource.SYSTEM, note: str = "") -> Payment:
    """PENDING → FAILED: the order was cancelled before it could be paid."""
    payment = payment_lock(payment_id)
    if payment.status == PaymentStatus.FAILED:
        return payment
    _payment_set_status(payment=payment, to_status=PaymentStatus.FAILED, source=source, note=note)
    return payment


@transaction.atomic
def payment_record_gateway_status(*, payment_id: int, invoice: Invoice) -> Payment:
    """Remember what Xendit last said about the invoice, without moving our status."""
    payment = payment_lock(payment_id)
    payment.gateway_status = invoice.status
    payment.last_synced_at = timezone.now()
    payment.save(update_fields=["gateway_status", "last_synced_at", "updated_at"])
    return payment


def payment_note_asked(*, payment_id: int) -> None:
    """Remember that Xendit was asked about this payment, even in vain (it failed or timed
    out): the sweeps take the least recently asked first, so one invoice Xendit keeps
    failing on does not take every pass's time budget while the others wait."""
    Payment.objects.filter(pk=payment_id).update(last_synced_at=timezone.now())


def payment_reconcile(*, payment_id: int, gateway=None, source: str = EventSource.RECONCILE) -> str:
    """Read the payment's invoice at Xendit and apply what it says, through the same
    transitions as the webhook. Heals a callback that never came. Returns what happened:
    "paid", "expired" or "unchanged". Raises GatewayError when Xendit cannot be asked."""
    payment = Payment.objects.get(pk=payment_id)
    if not payment.invoice_id:
        return "unchanged"
    # The network call happens before any lock is taken.
    invoice = (gateway or get_gateway()).get_invoice(payment.invoice_id)
    return payment_apply_invoice(payment_id=payment.pk, invoice=invoice, source=source)


def payment_apply_invoice(*, payment_id: int, invoice: Invoice, source: str = EventSource.RECONCILE) -> str:
    """Apply what Xendit just said about the payment's invoice (read by the caller, outside
    any transaction), through the same transitions as the webhook. The one copy of this
    rule, shared by reconciliation and the invoice expiry after our own expiry or cancel.

    PAID/SETTLED and our payment is not PAID: the money is recorded (`payment_mark_paid`;
    a late payment takes its seats back or is flagged for a refund) → "paid". EXPIRED and
    the order still PENDING: the order expires, seats back, without asking Xendit to close
    what it already closed (`close_invoice=False`) → "expired". Anything else only records
    Xendit's status → "unchanged". Each transition locks and re-checks its rows, so a
    webhook or another pass applying the same invoice at the same time changes nothing twice.
    """
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if invoice.is_paid and payment.status != PaymentStatus.PAID:
        payment_mark_paid(payment_id=payment.pk, invoice=invoice, source=source)
        return "paid"
    if invoice.is_expired and payment.order.status == OrderStatus.PENDING:
        order_expire(order_id=payment.order_id, source=source, close_invoice=False)
        payment_record_gateway_status(payment_id=payment.pk, invoice=invoice)
        return "expired"
    payment_record_gateway_status(payment_id=payment.pk, invoice=invoice)
    return "unchanged"


def payments_to_reconcile(*, late_window: timedelta, limit: int) -> list[int]:
    """Ids of payments worth asking Xendit about, least recently asked first.

    PENDING payments with an invoice, and payments of orders that expired or were cancelled
    within `late_window` whose invoice Xendit has not yet called expired: a buyer can still
    pay those (the expire call after our own expiry may have failed) and the callback can be
    lost. An invoice Xendit reports EXPIRED can no longer be paid, so it drops out.
    """
    since = timezone.now() - late_window
    rows = Payment.objects.filter(invoice_id__isnull=False).filter(
        Q(status=PaymentStatus.PENDING)
        | (
            Q(status__in=[PaymentStatus.EXPIRED, PaymentStatus.FAILED], order__expires_at__gte=since)
            & ~Q(gateway_status=InvoiceStatus.EXPIRED)
        )
    )
    ordered = rows.order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    return list(ordered.values_list("pk", flat=True)[:limit])


# How long one reconciliation pass may start new look-ups. A look-up started just before
# the budget ends can take the worst case of one gateway call: the SDK retries a connect
# that fails twice, so 3 × XENDIT_CONNECT_TIMEOUT (3.05 s) + XENDIT_READ_TIMEOUT (15 s)
# ≈ 24 s. 30 s + 24 s stays below the task's 60 s soft time limit (CELERY_TASK_SOFT_TIME_LIMIT).
RECONCILE_TIME_BUDGET = timedelta(seconds=30)


def payments_reconcile(
    *,
    limit: int = 200,
    late_window: timedelta = timedelta(hours=48),
    gateway=None,
    time_budget: timedelta = RECONCILE_TIME_BUDGET,
) -> dict:
    """One reconciliation pass over at most `limit` payments, starting no new look-up once
    `time_budget` has passed (the rest, least recently synced first, wait for the next
    pass). A failure on one payment is logged and counted; the rest are still done.
    Returns counts per result.

    Celery's SoftTimeLimitExceeded is re-raised, never counted as one payment's failure:
    the task must stop when told, not carry on into the hard limit that kills the worker
    process. The Xendit gateway may have wrapped it in a GatewayError.
    """
    counts = {"checked": 0, "paid": 0, "expired": 0, "unchanged": 0, "failed": 0}
    gateway = gateway or get_gateway()
    deadline = time.monotonic() + time_budget.total_seconds()
    for payment_id in payments_to_reconcile(late_window=late_window, limit=limit):
        if time.monotonic() >= deadline:
            logger.warning("reconcile: time budget of %s spent; the rest waits for the next pass", time_budget)
            break
        counts["checked"] += 1
        try:
            counts[payment_reconcile(payment_id=payment_id, gateway=gateway)] += 1
        except SoftTimeLimitExceeded:
            logger.warning("reconcile: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
            raise
        except Exception as error:
            if caused_by_soft_time_limit(error):
                logger.warning("reconcile: soft time limit hit at payment %s; stopping (%s)", payment_id, counts)
                raise SoftTimeLimitExceeded() from error
            logger.exception("reconcile: payment %s failed", payment_id)
            payment_note_asked(payment_id=payment_id)
            counts["failed"] += 1
    logger.info("reconcile: %s", counts)
    return counts


# --- refunds made outside tedxpay ------------------------------------------------------------

REFUND_REFERENCE_MAX_LENGTH = 200


@transaction.atomic
def payment_refund_record(
    *,
    payment_id: int,
    amount: int,
    reference: str,
    requested_by: str,
    expected_refunded_amount: int | None = None,
    source: str = EventSource.ADMIN,
) -> Payment:
    """Record money finance gave back outside tedxpay (Xendit's dashboard, a bank transfer):
    tedxpay never moves money back itself. Adds `amount` to the payment's refunded amount,
    with an audit row (payment, status unchanged) naming amount, reference and who.

    Refused: an amount that is not a whole positive number of rupiah or is more than was
    received and not refunded yet (`InvalidInput`, details per field); a payment with no
    money received (`Conflict`); `expected_refunded_amount` (what the person saw as already
    refunded) that is no longer true, so a double click or two people recording the same
    refund count it once (`Conflict`).

    When the order is flagged for a refund (`Payment.refund_owed`: no seats for the money,
    or an overpayment) and the refunds now cover what was owed, the flag is resolved
    (`order_attention_resolve`, its own audit row). A partial refund leaves it raised.
    Recording a refund never changes a status: a PAID order keeps its e-tickets.
    """
    # At call time: this section is appended to the module without touching its imports.
    from orders.services import order_attention_resolve
    from tedxpay.core.errors import InvalidInput

    errors: dict[str, list[str]] = {}
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = ["Enter the amount refunded, in whole rupiah, more than 0."]
    reference = " ".join((reference or "").split())
    if not reference:
        errors["reference"] = ["Enter the refund's reference (Xendit refund id or bank transfer reference)."]
    elif len(reference) > REFUND_REFERENCE_MAX_LENGTH:
        errors["reference"] = [f"A reference has at most {REFUND_REFERENCE_MAX_LENGTH} characters."]
    if errors:
        raise InvalidInput(details=errors)

    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    # Lock order: the Order row, then its Payment (module docstring).
    order = order_lock(order_id)
    payment = payment_lock(payment_id)
    payment.order = order
    if payment.status != PaymentStatus.PAID or payment.paid_amount is None:
        raise Conflict(
            f"Payment {payment.external_id} is {payment.status}: no money was received, nothing to refund.",
            details={"status": payment.status},
        )
    if expected_refunded_amount is not None and expected_refunded_amount != payment.refunded_amount:
        raise Conflict(
            f"Meanwhile another refund was recorded for {payment.external_id}: {payment.refunded_amount} IDR "
            "refunded in all now. Check the audit trail before recording this one.",
            details={"refunded_amount": payment.refunded_amount},
        )
    if amount > payment.refundable:
        raise InvalidInput(
            details={
                "amount": [
                    f"At most {payment.refundable} IDR can be refunded: {payment.paid_amount} IDR received, "
                    f"{payment.refunded_amount} IDR already refunded."
                ]
            }
        )

    owed = payment.refund_owed  # before the flag may be cleared below
    payment.refunded_amount += amount
    payment.refunded_at = timezone.now()
    payment.save(update_fields=["refunded_amount", "refunded_at", "updated_at"])
    order_event_record(
        order=order,
        subject=OrderEvent.Subject.PAYMENT,
        from_status=payment.status,
        to_status=payment.status,
        source=source,
        note=(
            f"refund recorded by {requested_by}: {amount} IDR, reference {reference}; "
            f"{payment.refunded_amount} of {payment.paid_amount} IDR received refunded in all"
        ),
    )
    if owed and payment.refunded_amount >= owed:
        order_attention_resolve(
            order_id=order.pk,
            source=source,
            note=f"refunds of {payment.refunded_amount} IDR cover the {owed} IDR owed (recorded by {requested_by})",
        )
    return payment
