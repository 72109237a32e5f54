"""Order use cases. Every status change of an order is one function here that locks the
row, returns quietly when the order is already in the target state, refuses an illegal
move with `IllegalTransition`, and writes an `OrderEvent` in the same transaction."""

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services import notification_queue
from orders.errors import PaymentGatewayUnavailable, QuantityLimit
from orders.models import AttentionReason, Buyer, EventSource, IssuedTicket, Order, OrderEvent, OrderItem, OrderStatus
from payments.gateways.base import Customer, GatewayError, Invoice, InvoiceItem, InvoiceRequest, get_gateway
from payments.models import Payment
from tedxpay.core.errors import IllegalTransition, InvalidInput
from tedxpay.core.request_id import get_request_id
from tickets.errors import NotOnSale, SoldOut, TicketNotFound
from tickets.models import Ticket
from tickets.services import stock_release, stock_reserve


def order_event_record(
    *,
    order: Order,
    to_status: str,
    from_status: str = "",
    source: str,
    note: str = "",
    subject: str = OrderEvent.Subject.ORDER,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        subject=subject,
        from_status=from_status,
        to_status=to_status,
        source=source,
        request_id=get_request_id(),
        note=note,
    )


def order_lock(order_id: int) -> Order:
    """The order, locked for update until the surrounding transaction ends."""
    return Order.objects.select_for_update().get(pk=order_id)


def order_quantities(order: Order) -> dict[int, int]:
    return {item.ticket_id: item.quantity for item in order.items.all()}


def _order_set_status(*, order: Order, to_status: str, source: str, note: str = "") -> None:
    from_status = order.status
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    order_event_record(order=order, from_status=from_status, to_status=to_status, source=source, note=note)


@transaction.atomic
def order_cancel(*, order_id: int, source: str = EventSource.SYSTEM, note: str = "") -> Order:
    """PENDING → CANCELLED, giving the seats back."""
    order = order_lock(order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot be cancelled.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.CANCELLED, source=source, note=note)
    _payment_close(order=order, cancelled=True, source=source)
    # An invoice left open could still be paid for seats we just gave back: close it after
    # commit (a payment that beat us to it is recorded and flagged for a refund).
    from orders.invoice_expiry import invoice_expire_after_commit  # imports payments.services

    invoice_expire_after_commit(order_id=order.pk)
    return order


def _payment_close(*, order: Order, cancelled: bool, source: str) -> None:
    # payments.services imports this module; importing it here, at call time, breaks the cycle.
    from payments.models import Payment, PaymentStatus
    from payments.services import payment_expire, payment_fail

    payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING).first()
    if payment is None:
        return
    if cancelled:
        payment_fail(payment_id=payment.pk, source=source, note="order cancelled")
    else:
        payment_expire(payment_id=payment.pk, source=source)


def order_flag(*, order: Order, reason: str, note: str, source: str) -> None:
    """Ask finance to look at this order (shown in the admin), with an audit row."""
    order.needs_attention = True
    order.attention_reason = reason
    order.attention_note = note
    order.save(update_fields=["needs_attention", "attention_reason", "attention_note", "updated_at"])
    order_event_record(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        note=f"needs attention: {reason}: {note}",
    )


@transaction.atomic
def order_expire(*, order_id: int, source: str = EventSource.EXPIRY) -> Order:
    """PENDING → EXPIRED: seats back and the payment expired, in one transaction."""
    order = order_lock(order_id)
    if order.status == OrderStatus.EXPIRED:
        return order
    if order.status != OrderStatus.PENDING:
        raise IllegalTransition(f"Order {order.code} is {order.status} and cannot expire.")
    stock_release(quantities=order_quantities(order))
    _order_set_status(order=order, to_status=OrderStatus.EXPIRED, source=source)
    _payment_close(order=order, cancelled=False, source=source)
    notification_queue(order=order, kind=NotificationKind.ORDER_EXPIRED)
    if source != EventSource.WEBHOOK:
        # Close the invoice at Xendit too, after commit, so nobody pays for seats we just
        # gave back. Not when Xendit's own EXPIRED callback brought us here: it is closed.
        from orders.invoice_expiry import invoice_expire_after_commit  # imports payments.services

        invoice_expire_after_commit(order_id=order.pk)
    return order


def issued_tickets_create(*, order: Order) -> list[IssuedTicket]:
    """One e-ticket per seat. (order_item, seat_number) is unique, so a second call for the
    same order cannot make a second set; it returns the existing one."""
    existing = list(order.issued_tickets.all())
    if existing:
        return existing
    return IssuedTicket.objects.bulk_create(
        IssuedTicket(order=order, order_item=item, ticket_id=item.ticket_id, seat_number=seat)
        for item in order.items.all()
        for seat in range(1, item.quantity + 1)
    )


@transaction.atomic
def order_mark_paid(*, order_id: int, paid_amount: int, paid_at: datetime, source: str) -> Order:
    """The order takes a payment Xendit confirmed (the Payment row is already PAID).

    PENDING → PAID. A late payment (EXPIRED) takes its seats back when they are still
    there and becomes PAID; otherwise the order stays EXPIRED, flagged for a refund, and the
    buyer is told. Money on a CANCELLED order is flagged the same way. Never dropped.
    """
    order = order_lock(order_id)
    if order.status == OrderStatus.PAID:
        return order
    if order.status == OrderStatus.EXPIRED:
        try:
            # A savepoint: if the seats are gone, only this attempt is rolled back.
            with transaction.atomic():
                stock_reserve(quantities=order_quantities(order), now=paid_at, require_on_sale=False)
        except (SoldOut, NotOnSale) as error:
            order_flag(
                order=order,
                reason=AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK,
                source=source,
                note=f"{paid_amount} IDR received after expiry; seats gone ({error.message}). Refund.",
            )
            notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)
            return order
    elif order.status == OrderStatus.CANCELLED:
        order_flag(
            order=order,
            reason=AttentionReason.PAID_AFTER_CANCEL,
            source=source,
            note=f"{paid_amount} IDR received for a cancelled order. Refund.",
        )
        notification_queue(order=order, kind=NotificationKind.PAID_AFTER_EXPIRY)
        return order

    from_status = order.status
    order.status = OrderStatus.PAID
    order.paid_at = paid_at
    order.save(update_fields=["status", "paid_at", "updated_at"])
    note = "late payment, seats taken back" if from_status == OrderStatus.EXPIRED else ""
    order_event_record(order=order, from_status=from_status, to_status=OrderStatus.PAID, source=source, note=note)
    if paid_amount != order.total:
        order_flag(
            order=order,
            reason=AttentionReason.AMOUNT_MISMATCH,
            source=source,
            note=f"paid {paid_amount} IDR, total {order.total} IDR",
        )
    issued_tickets_create(order=order)
    notification_queue(order=order, kind=NotificationKind.ORDER_CONFIRMATION)
    return order


# --- Placing an order (DESIGN §6, §7) ---------------------------------------------------------

# Distinct phases in one order; an event has a handful, so more is a mistake or abuse.
MAX_LINES_PER_ORDER = 10
_place_log = logging.getLogger(__name__)
ORDER_LANGUAGES = ("en", "id")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# After the country code or trunk 0: an Indonesian mobile number, 8 then 8–11 digits.
# [0-9], not \d: \d also matches other scripts' digits, which Xendit and SMS gateways refuse.
_ID_MOBILE_NATIONAL = re.compile(r"8[0-9]{7,11}")


class OrderLineRequest(NamedTuple):
    ticket_id: int
    quantity: int


def phone_normalise(raw: str) -> str:
    """An Indonesian mobile number as E.164 (`+628…`). Accepts `08…`, `628…`, `+628…`, with
    spaces, dashes, dots or brackets; raises ValueError for anything else."""
    compact = _PHONE_SEPARATORS.sub("", raw or "")
    for prefix in ("+62", "62", "0"):
        if compact.startswith(prefix):
            national = compact[len(prefix) :]
            if _ID_MOBILE_NATIONAL.fullmatch(national):
                return "+62" + national
            break
    raise ValueError("Enter an Indonesian mobile number, e.g. 0812 3456 7890 or +62 812 3456 7890.")


def email_normalise(raw: str) -> str:
    """Stripped and lower-cased (one buyer, one spelling); raises ValueError when invalid."""
    email = (raw or "").strip().lower()
    if len(email) > 254:
        raise ValueError("An email address has at most 254 characters.")
    try:
        validate_email(email)
    except DjangoValidationError as error:
        raise ValueError("Enter a valid email address.") from error
    return email


def _buyer_clean(*, full_name: str, email: str, phone: str) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    full_name = " ".join((full_name or "").split())
    if not full_name:
        errors["full_name"] = ["Enter the buyer's full name."]
    elif len(full_name) > 200:
        errors["full_name"] = ["A name has at most 200 characters."]
    try:
        email = email_normalise(email)
    except ValueError as error:
        errors["email"] = [str(error)]
    try:
        phone = phone_normalise(phone)
    except ValueError as error:
        errors["phone"] = [str(error)]
    if errors:
        raise InvalidInput(details={"buyer": errors})
    return full_name, email, phone


def _lines_clean(items: Sequence[OrderLineRequest]) -> dict[int, int]:
    """{ticket_id: quantity}, refusing what no ticket could make valid."""
    if not items:
        raise InvalidInput(details={"items": ["Order at least one ticket."]})
    if len(items) > MAX_LINES_PER_ORDER:
        raise InvalidInput(details={"items": [f"At most {MAX_LINES_PER_ORDER} lines per order."]})
    quantities: dict[int, int] = {}
    for ticket_id, quantity in items:
        # bool is an int subclass: True must not pass as ticket 1.
        if type(ticket_id) is not int or type(quantity) is not int or ticket_id < 1:
            raise InvalidInput(details={"items": ["Each line needs a ticket_id and a quantity, both integers."]})
        if quantity < 1:
            raise InvalidInput(details={"items": [f"The quantity of ticket {ticket_id} must be at least 1."]})
        if ticket_id in quantities:
            raise InvalidInput(details={"items": [f"Ticket {ticket_id} appears twice; send one line per ticket."]})
        quantities[ticket_id] = quantity
    return quantities


def _tickets_for_order(quantities: dict[int, int]) -> dict[int, Ticket]:
    """The tickets, checked against what does not change with the moment: existence, one
    event, `max_per_order`. Being on sale and stock are the reserve's job, in the transaction."""
    tickets = Ticket.objects.select_related("event").in_bulk(list(quantities))
    for ticket_id in sorted(quantities):
        if ticket_id not in tickets:
            raise TicketNotFound(f"Ticket {ticket_id} does not exist.", details={"ticket_id": ticket_id})
    if len({ticket.event_id for ticket in tickets.values()}) > 1:
        raise InvalidInput(
            "All tickets of one order must be for the same event.",
            details={"items": ["All tickets of one order must be for the same event."]},
        )
    for ticket_id in sorted(quantities):
        ticket = tickets[ticket_id]
        if quantities[ticket_id] > ticket.max_per_order:
            raise QuantityLimit(
                f"At most {ticket.max_per_order} of '{ticket.name}' per order.",
                details={
                    "ticket_id": ticket_id,
                    "requested": quantities[ticket_id],
                    "max_per_order": ticket.max_per_order,
                },
            )
    return tickets


def order_place(
    *,
    full_name: str,
    email: str,
    phone: str,
    items: Sequence[OrderLineRequest],
    language: str = "en",
    source: str = EventSource.API,
) -> Order:
    """Reserve seats, record a PENDING order and open its Xendit invoice (DESIGN §7).

    Prices come from the tickets, never from the caller. Raises `InvalidInput`,
    `TicketNotFound`, `QuantityLimit`, `NotOnSale`, `SoldOut` (nothing written), or
    `PaymentGatewayUnavailable` (the order was written, then cancelled: no seat stays held).
    Must not run inside a transaction: the gateway call happens after the commit.
    """
    full_name, email, phone = _buyer_clean(full_name=full_name, email=email, phone=phone)
    if language not in ORDER_LANGUAGES:
        raise InvalidInput(details={"language": [f"One of: {', '.join(ORDER_LANGUAGES)}."]})
    quantities = _lines_clean(items)
    # Read before the transaction to refuse bad requests without touching the hot rows. The
    # price charged is this read, a moment before the reserve: the price the buyer was shown.
    tickets = _tickets_for_order(quantities)
    event = next(iter(tickets.values())).event
    total = sum(tickets[ticket_id].price * quantity for ticket_id, quantity in quantities.items())

    now = timezone.now()
    # durable: a caller's open transaction would keep the ticket rows locked through the
    # gateway call below, which is exactly what DESIGN §6 forbids.
    with transaction.atomic(durable=True):
        # The conditional UPDATEs first, the inserts after (DESIGN §6): inserting the lines
        # first takes shared locks on the ticket rows (FK checks) and deadlocks under load.
        stock_reserve(quantities=quantities, now=now)
        buyer = Buyer.objects.create(full_name=full_name, email=email, phone=phone)
        order = Order.objects.create(
            buyer=buyer,
            event=event,
            total=total,
            currency=settings.CURRENCY,
            language=language,
            expires_at=now + settings.ORDER_TTL,
        )
        OrderItem.objects.bulk_create(
            OrderItem(order=order, ticket_id=ticket_id, quantity=quantity, unit_price=tickets[ticket_id].price)
            for ticket_id, quantity in sorted(quantities.items())
        )
        payment = Payment.objects.create(order=order, external_id=order.code, amount=total)
        order_event_record(order=order, to_status=OrderStatus.PENDING, source=source)

    _order_invoice_open(
        order=order, payment_id=payment.pk, buyer=buyer, tickets=tickets, quantities=quantities, source=source
    )
    return (
        Order.objects.select_related("payment", "event", "buyer")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("ticket").order_by("ticket_id")))
        .get(pk=order.pk)
    )


def _order_invoice_open(
    *, order: Order, payment_id: int, buyer: Buyer, tickets: dict[int, Ticket], quantities: dict[int, int], source: str
) -> None:
    """Create the invoice, outside any transaction. A create that failed may still have
    made an invoice (reply lost): look it up once by our code before giving up."""
    from payments.services import payment_attach_invoice  # payments.services imports this module

    gateway = get_gateway()
    order_url = f"{settings.SITE_URL}/orders/{order.code}/"
    request = InvoiceRequest(
        external_id=order.code,
        amount=order.total,
        payer_email=buyer.email,
        description=f"{order.event.name} — order {order.code}",
        # Rounded down: the invoice closes no later than the order, so nobody pays for
        # seats the expiry sweep has just given back.
        invoice_duration=max(int((order.expires_at - timezone.now()).total_seconds()), 1),
        success_redirect_url=order_url,
        failure_redirect_url=order_url,
        currency=order.currency,
        items=tuple(
            InvoiceItem(name=tickets[ticket_id].name, price=tickets[ticket_id].price, quantity=quantity)
            for ticket_id, quantity in sorted(quantities.items())
        ),
        customer=Customer(given_names=buyer.full_name, email=buyer.email, mobile_number=buyer.phone),
        locale=order.language,
    )
    try:
        invoice = gateway.create_invoice(request)
    except GatewayError as create_error:
        _place_log.warning("invoice create failed for %s: %r; looking it up", order.code, create_error)
        invoice = _invoice_find_once(gateway=gateway, external_id=order.code)
        if invoice is None:
            # If the look-up failed too, an invoice may exist that nobody will ever see the
            # link of; a payment on it would reach a CANCELLED order and be flagged for refund.
            order_cancel(order_id=order.pk, source=source, note=f"Xendit invoice not created: {create_error.message}")
            raise PaymentGatewayUnavailable(retryable=create_error.retryable) from create_error
        _place_log.info("invoice %s for %s found after a failed create", invoice.id, order.code)
    payment_attach_invoice(payment_id=payment_id, invoice=invoice)


def _invoice_find_once(*, gateway, external_id: str) -> Invoice | None:
    try:
        invoices = gateway.find_invoices(external_id)
    except GatewayError as error:
        _place_log.warning("invoice look-up failed for %s: %r", external_id, error)
        return None
    # Newest first; an expired one cannot be paid and is no use to a fresh order.
    return next((invoice for invoice in invoices if not invoice.is_expired), None)


_expiry_log = logging.getLogger("tedxpay.orders.expiry")


def order_expire_stale(
    *, now: datetime | None = None, batch_size: int | None = None, limit: int | None = None
) -> list[int]:
    """Expire PENDING orders whose `expires_at` has passed; return the ids expired.

    Each order is claimed and expired in its own short transaction, so one failure (logged)
    does not undo the others and no lock outlives one order. The claim is
    `select_for_update(skip_locked=True)`: an order a webhook is processing right now is
    skipped (the webhook decides; the next sweep looks again), and two sweeps running at
    once take different orders. The status filter is evaluated again under the lock, so an
    order paid or expired meanwhile is left alone and its seats are released only once.
    At most `limit` orders per call, read in batches of `batch_size` so the task stays
    inside its time limit; the next sweep, a minute later, carries on.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ORDER_EXPIRY_BATCH_SIZE
    limit = limit or settings.ORDER_EXPIRY_MAX_PER_RUN
    stale = Order.objects.filter(status=OrderStatus.PENDING, expires_at__lte=now)
    expired: list[int] = []
    seen = 0
    last_id = 0
    while seen < limit:
        # Keyset pagination on id: skipped (locked) orders are not fetched again this run.
        batch = list(stale.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        for order_id in batch[: limit - seen]:
            seen += 1
            last_id = order_id
            try:
                if _order_expire_claimed(order_id=order_id, now=now):
                    expired.append(order_id)
            except Exception:
                _expiry_log.exception("could not expire order %s", order_id)
    if expired:
        _expiry_log.info("expired %d stale order(s)", len(expired))
    return expired


@transaction.atomic
def _order_expire_claimed(*, order_id: int, now: datetime) -> bool:
    claimed = (
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk=order_id, status=OrderStatus.PENDING, expires_at__lte=now)
        .values_list("pk", flat=True)
        .first()
    )
    if claimed is None:
        return False  # paid, expired or cancelled meanwhile, or locked by a webhook right now
    order_expire(order_id=order_id, source=EventSource.EXPIRY)
    return True
