"""Placing an order (docs/architecture.md, "Stock without oversell" and "Placing an order"):
validate, reserve seats and write a PENDING order in one short transaction, then open its
Xendit invoice outside any transaction.

Whatever fails after the commit, the order does not stay PENDING behind an error: it gets
its invoice, or it is cancelled (seats back) and the caller gets
`payment_gateway_unavailable`. An order cancelled by someone else (finance, in the admin)
while Xendit was creating its invoice gets the invoice recorded and expired at Xendit, and the caller
gets `order_cancelled`: nobody is sent to pay for seats that were given back. An order whose
total is 0 needs no invoice: it is confirmed (PAID, e-tickets, confirmation email) in the
placing transaction itself.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from orders.audit import order_event_record
from orders.buyer_limits import buyer_limits_check
from orders.buyers import ATTENDEE_NAME_MAX_LENGTH, ORDER_LANGUAGES, buyer_contact_clean, person_name_text
from orders.errors import OrderCancelled, PaymentGatewayUnavailable, QuantityLimit
from orders.links import order_page_url
from orders.models import Buyer, EventSource, Order, OrderItem, OrderStatus
from orders.pricing import order_payable_check, order_pricing
from orders.services import invoice_expire_after_commit, order_cancel, order_pay
from orders.tasks import invoice_expire_task
from payments.gateways.base import (
    Customer,
    GatewayError,
    Invoice,
    InvoiceItem,
    InvoiceRequest,
    InvoiceStatus,
    PaymentGateway,
    get_gateway,
)
from payments.models import Payment, PaymentStatus
from payments.services import payment_attach_invoice, payment_attach_invoice_to_pending, payment_invoice_unknown
from tedxpay.core.errors import InvalidInput
from tickets.errors import TicketNotFound
from tickets.models import Ticket
from tickets.selectors import tickets_with_event
from tickets.services import stock_reserve
from vouchers.services import voucher_redeem

logger = logging.getLogger(__name__)

# Distinct phases in one order; an event has a handful, so more is a mistake or abuse.
MAX_LINES_PER_ORDER = 10
# The one look-up after a failed create reads a short list: it gets at most this long to
# answer, so a slow Xendit cannot stretch a request past the web server's timeout (the
# worst case is worked out in docs/architecture.md, "Time budget").
INVOICE_LOOKUP_READ_TIMEOUT = 5.0
# An invoice our create may have made unseen lives until the order's expiry time (its
# duration is the order's remaining time when the create was sent); Xendit may start that
# clock a little later than we sent the request. Looked up by our code until then plus this.
UNKNOWN_INVOICE_LOOKUP_MARGIN = timedelta(minutes=10)
# `Payment.method` of an order that cost nothing and so never went to Xendit.
FREE_PAYMENT_METHOD = "FREE"


class OrderLineRequest(NamedTuple):
    ticket_id: int
    quantity: int
    # One name per unit, for an event that asks each attendee's name (else may be empty).
    attendees: tuple[str, ...] = ()


def _buyer_clean(*, full_name: str, email: str, phone: str) -> tuple[str, str, str]:
    cleaned, errors = buyer_contact_clean(full_name=full_name or "", email=email or "", phone=phone or "")
    if errors:
        raise InvalidInput(details={"buyer": errors})
    return cleaned["full_name"], cleaned["email"], cleaned["phone"]


def _lines_clean(items: Sequence[OrderLineRequest]) -> dict[int, int]:
    """{ticket_id: quantity}, refusing what no ticket could make valid."""
    if not items:
        raise InvalidInput(details={"items": ["Order at least one ticket."]})
    if len(items) > MAX_LINES_PER_ORDER:
        raise InvalidInput(details={"items": [f"At most {MAX_LINES_PER_ORDER} lines per order."]})
    quantities: dict[int, int] = {}
    for ticket_id, quantity, _ in items:
        # bool is an int subclass: True must not pass as ticket 1.
        if type(ticket_id) is not int or type(quantity) is not int or ticket_id < 1:
            raise InvalidInput(details={"items": ["Each line needs a ticket_id and a quantity, both integers."]})
        if quantity < 1:
            raise InvalidInput(details={"items": [f"The quantity of ticket {ticket_id} must be at least 1."]})
        if ticket_id in quantities:
            raise InvalidInput(details={"items": [f"Ticket {ticket_id} appears twice; send one line per ticket."]})
        quantities[ticket_id] = quantity
    return quantities


def _attendees_clean(items: Sequence[OrderLineRequest], *, required: bool) -> dict[int, list[str]]:
    """{ticket_id: one name per unit}. Required when the event asks each attendee's name;
    when names are sent anyway, the count must still be right."""
    names: dict[int, list[str]] = {}
    problems = []
    unnamed = []  # the phases whose names are missing or wrong, for the pages to say so
    for line in items:
        given, unreadable = _attendee_names_text(line.attendees)
        if not any(given) and not unreadable and not required:
            continue
        if len(given) != line.quantity:
            problems.append(
                f"Ticket {line.ticket_id}: give one attendee name per ticket ({line.quantity}), not {len(given)}."
            )
        elif unreadable:
            problems.append(f"Ticket {line.ticket_id}: a name cannot contain control or text-direction characters.")
        elif not all(given) or any(len(name) > ATTENDEE_NAME_MAX_LENGTH for name in given):
            problems.append(
                f"Ticket {line.ticket_id}: every attendee needs a name of 1 to {ATTENDEE_NAME_MAX_LENGTH} characters."
            )
        else:
            names[line.ticket_id] = given
            continue
        unnamed.append(line.ticket_id)
    if problems:
        raise InvalidInput(" ".join(problems), details={"items": problems, "attendee_names": unnamed})
    return names


def _attendee_names_text(raw: Sequence) -> tuple[list[str], bool]:
    """Each name as a buyer's is kept (`person_name_text`; "" for a non-string), and
    whether any had characters a name cannot have."""
    names, unreadable = [], False
    for name in raw:
        try:
            names.append(person_name_text(name) if isinstance(name, str) else "")
        except ValueError:
            names.append("")
            unreadable = True
    return names, unreadable


def _tickets_for_order(quantities: dict[int, int]) -> dict[int, Ticket]:
    """The tickets, checked against what does not change with the moment: existence, one
    event. Being on sale and stock are the reserve's job, in the transaction."""
    tickets = tickets_with_event(quantities)
    for ticket_id in sorted(quantities):
        if ticket_id not in tickets:
            raise TicketNotFound(f"Ticket {ticket_id} does not exist.", details={"ticket_id": ticket_id})
    if len({ticket.event_id for ticket in tickets.values()}) > 1:
        raise InvalidInput(
            "All tickets of one order must be for the same event.",
            details={"items": ["All tickets of one order must be for the same event."]},
        )
    return tickets


def _order_limits_check(tickets: dict[int, Ticket], quantities: dict[int, int], exempt: frozenset[int]) -> None:
    """Each phase's minimum and maximum per order; `exempt`: phases a voucher frees from
    the maximum (the minimum is what the phase is sold as, e.g. a pair)."""
    for ticket_id in sorted(quantities):
        ticket, quantity = tickets[ticket_id], quantities[ticket_id]
        if quantity > ticket.max_per_order and ticket_id not in exempt:
            raise QuantityLimit(
                f"At most {ticket.max_per_order} of '{ticket.name}' per order.",
                details={"ticket_id": ticket_id, "requested": quantity, "max_per_order": ticket.max_per_order},
            )
        if quantity < ticket.min_per_order:
            raise QuantityLimit(
                f"At least {ticket.min_per_order} of '{ticket.name}' per order.",
                details={"ticket_id": ticket_id, "requested": quantity, "min_per_order": ticket.min_per_order},
            )


def order_request_check(
    *, full_name: str, email: str, phone: str, items: Sequence[OrderLineRequest], language: str, voucher: str = ""
) -> dict[int, int]:
    """What `order_place` refuses before touching stock (InvalidInput, TicketNotFound,
    QuantityLimit, the voucher errors), for a caller that must check its own limits after
    these (the hoarding caps, orders/holds.py). Returns {ticket_id: quantity}. No query for
    tickets this process has read a moment ago."""
    _buyer_clean(full_name=full_name, email=email, phone=phone)
    if language not in ORDER_LANGUAGES:
        raise InvalidInput(details={"language": [f"One of: {', '.join(ORDER_LANGUAGES)}."]})
    quantities = _lines_clean(items)
    tickets = _tickets_for_order(quantities)
    pricing = order_pricing(tickets=tickets, quantities=quantities, voucher_code=voucher, now=timezone.now())
    _order_limits_check(tickets, quantities, pricing.limits_exempt)
    order_payable_check(pricing)
    return quantities


def order_place(
    *,
    full_name: str,
    email: str,
    phone: str,
    items: Sequence[OrderLineRequest],
    language: str = "en",
    source: str = EventSource.API,
    voucher: str = "",
    client_address: str | None = None,
    api_key_id: int | None = None,
) -> Order:
    """Reserve seats, record a PENDING order and open its Xendit invoice (docs/architecture.md, "Placing an order").

    Prices come from the tickets, never from the caller; `voucher` is a code ("" for none)
    whose discount and uses are applied here (orders/pricing.py). Raises `InvalidInput`,
    `TicketNotFound`, `QuantityLimit`, `NotOnSale`, `SoldOut`, `BuyerLimit`, the voucher
    errors (nothing written),
    `PaymentGatewayUnavailable` (the order was written, then cancelled: no seat stays held),
    or `OrderCancelled` (cancelled by someone else while its invoice was being created; the
    invoice is expired at Xendit). An order whose total is 0 comes back PAID, with no invoice.
    Must not run inside a transaction: the gateway call happens after the commit.
    `client_address` (checkout) and `api_key_id` (API) record who placed it, for the hoarding
    caps (orders/holds.py).
    """
    full_name, email, phone = _buyer_clean(full_name=full_name, email=email, phone=phone)
    if language not in ORDER_LANGUAGES:
        raise InvalidInput(details={"language": [f"One of: {', '.join(ORDER_LANGUAGES)}."]})
    quantities = _lines_clean(items)
    # Read before the transaction to refuse bad requests without touching the hot rows. The
    # price charged is this read, a moment before the reserve: the price the buyer was shown.
    tickets = _tickets_for_order(quantities)
    event = next(iter(tickets.values())).event
    attendees = _attendees_clean(items, required=event.ask_attendee_names)
    now = timezone.now()
    pricing = order_pricing(tickets=tickets, quantities=quantities, voucher_code=voucher, now=now)
    _order_limits_check(tickets, quantities, pricing.limits_exempt)
    order_payable_check(pricing)
    total = pricing.priced.total

    # durable: a caller's open transaction would keep the ticket rows locked through the
    # gateway call below, which is exactly what docs/architecture.md, "Stock without
    # oversell", forbids.
    with transaction.atomic(durable=True):
        # The conditional UPDATEs first, the inserts after (docs/architecture.md, "Stock
        # without oversell"): inserting the lines first takes shared locks on the ticket rows
        # (FK checks) and deadlocks under load.
        stock_reserve(quantities=quantities, now=now)
        if pricing.voucher is not None:
            # Ticket rows, then the voucher row: the lock order everywhere (vouchers/services.py).
            voucher_redeem(voucher_id=pricing.voucher.pk, uses=pricing.priced.voucher_uses, now=now)
        # Counted while this transaction holds the ticket rows: see orders/buyer_limits.py.
        buyer_limits_check(
            tickets=tickets, quantities=quantities, email=email, phone=phone, exempt=pricing.limits_exempt
        )
        buyer = Buyer.objects.create(full_name=full_name, email=email, phone=phone)
        order = Order.objects.create(
            buyer=buyer,
            event=event,
            total=total,
            discount=pricing.priced.discount,
            voucher=pricing.voucher,
            voucher_uses=pricing.priced.voucher_uses if pricing.voucher else 0,
            currency=settings.CURRENCY,
            language=language,
            expires_at=now + settings.ORDER_TTL,
            client_address=client_address,
            api_key_id=api_key_id,
        )
        lines = OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                ticket=tickets[line.ticket_id],
                quantity=line.quantity,
                unit_price=line.unit_price,
                unit_discount=line.unit_discount,
                attendee_names=attendees.get(line.ticket_id, []),
            )
            for line in pricing.priced.lines
        )
        payment = Payment.objects.create(order=order, external_id=order.code, amount=total)
        order_event_record(order=order, to_status=OrderStatus.PENDING, source=source)
        if total == 0:
            # Same transaction: a free order is never seen PENDING, and there is no
            # gateway step left to fail after the commit.
            order_confirm_free(order=order, payment_id=payment.pk, now=now, source=source)

    if total == 0:
        # Confirmed in the transaction (PAID, its e-tickets): read back as it now is.
        return _order_read(order.pk)
    invoice = _order_invoice_open(order=order, payment_id=payment.pk, buyer=buyer, lines=lines, source=source)
    if invoice is not None:
        # The order as placed, from memory: the rows were just written and the invoice
        # recorded on a payment that was PENDING at that moment (a cancel after it is
        # someone else's, and expires the invoice itself). No read back: in a sale, that was
        # two queries and more CPU than the writes.
        payment.invoice_id, payment.invoice_url = invoice.id, invoice.invoice_url
        payment.gateway_status = invoice.status
        _lines_remember(order, lines)
        return order
    placed = _order_read(order.pk)
    if placed.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        # Closed by someone else while Xendit was creating the invoice; `_order_invoice_open`
        # expired it at Xendit. Nothing to pay: the caller must not send the buyer to the invoice page.
        raise _order_closed_error(placed)
    return placed


def _order_read(order_id: int) -> Order:
    return (
        Order.objects.select_related("payment", "event", "buyer", "voucher")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("ticket").order_by("ticket_id")))
        .get(pk=order_id)
    )


def _lines_remember(order: Order, lines: list[OrderItem]) -> None:
    """`order.items.all()` answers with the lines in memory (each with its ticket) instead
    of a query: the result a `prefetch_related("items")` would have left."""
    items = order.items.all()
    items._result_cache = lines
    items._prefetch_done = True
    order._prefetched_objects_cache = {"items": items}


def _order_closed_error(order: Order) -> OrderCancelled:
    details = {"code": order.code, "status": order.status}
    if order.status == OrderStatus.EXPIRED:
        # Only when ORDER_TTL is shorter than Xendit took to answer: the same answer, told straight.
        return OrderCancelled(
            "The order expired while its invoice was being created; nothing is to be paid and no seats are held.",
            details=details,
        )
    return OrderCancelled(details=details)


def order_confirm_free(*, order: Order, payment_id: int, now, source: str, method: str = FREE_PAYMENT_METHOD) -> None:
    """Nothing to pay: confirm through the same transitions a paid invoice takes
    (`order_pay`: the payment PAID, then the order: e-tickets, confirmation email on commit).

    Xendit refuses a 0 IDR invoice (the amount must be at least 1, and no channel takes 0),
    so the "invoice" here is our own statement that nothing is owed: no id, method FREE.
    With no invoice id the payment is never reconciled or expired at Xendit.
    """
    nothing_owed = Invoice(
        id="",
        external_id=order.code,
        status=InvoiceStatus.PAID,
        amount=0,
        invoice_url="",
        paid_amount=0,
        paid_at=now,
        payment_method=method,
        currency=order.currency,
    )
    order_pay(payment_id=payment_id, invoice=nothing_owed, source=source)


def _order_invoice_open(
    *, order: Order, payment_id: int, buyer: Buyer, lines: list[OrderItem], source: str
) -> Invoice | None:
    """Create the invoice, outside any transaction, and attach it to the payment. A create
    that failed may still have made an invoice (reply lost): look it up once by our code
    before giving up. Returns the invoice when it was recorded on the payment while PENDING
    (one conditional UPDATE); None when the payment had moved on meanwhile (the invoice is
    recorded all the same, and closed if the order was closed); raises when the order was
    cancelled for want of an invoice."""
    gateway = get_gateway()
    order_url = order_page_url(order)
    request = InvoiceRequest(
        external_id=order.code,
        amount=order.total,
        payer_email=buyer.email,
        description=f"{order.event.name} — order {order.code}",
        # Rounded down: the invoice expires no later than the order, so nobody pays for
        # seats the expiry sweep has just given back.
        invoice_duration=max(int((order.expires_at - timezone.now()).total_seconds()), 1),
        success_redirect_url=order_url,
        failure_redirect_url=order_url,
        currency=order.currency,
        # The price charged per ticket, after the voucher: the items add up to the amount.
        items=tuple(
            InvoiceItem(name=_invoice_item_name(order, line), price=line.unit_charged, quantity=line.quantity)
            for line in lines
        ),
        customer=Customer(given_names=buyer.full_name, email=buyer.email, mobile_number=buyer.phone),
        locale=order.language,
    )
    try:
        invoice = gateway.create_invoice(request)
    except GatewayError as create_error:
        if not create_error.retryable and create_error.status is not None:
            # Xendit answered with a refusal (4xx: a field it does not accept): it created
            # nothing, so a look-up could only find nothing, slowly (up to its read timeout).
            logger.warning("invoice create refused for %s: %r", order.code, create_error)
            invoice = None
        else:
            # A timeout, a 5xx, a dropped connection or a reply we could not read: the
            # invoice may exist with its reply lost.
            logger.warning("invoice create failed for %s: %r; looking it up", order.code, create_error)
            invoice = _invoice_find_once(gateway=gateway, external_id=order.code)
        if invoice is None:
            order_cancel(order_id=order.pk, source=source, note=f"Xendit invoice not created: {create_error.message}")
            if create_error.retryable or create_error.status is None:
                # The create's outcome is unknown: Xendit may make the invoice after our
                # look-up (a create that took 17 s against our 15 s), and a buyer may pay it
                # with its callback lost. Keep looking it up by our code until any invoice
                # it made has expired (orders/checkout/unknown_invoices.py).
                payment_invoice_unknown(payment_id=payment_id, until=order.expires_at + UNKNOWN_INVOICE_LOOKUP_MARGIN)
            raise PaymentGatewayUnavailable(retryable=create_error.retryable) from create_error
        logger.info("invoice %s for %s found after a failed create", invoice.id, order.code)
    try:
        # One conditional UPDATE in the usual case; the locking attach only when it says no
        # (the order was closed meanwhile, or an invoice is there already).
        if payment_attach_invoice_to_pending(payment_id=payment_id, invoice=invoice):
            return invoice
        payment = payment_attach_invoice(payment_id=payment_id, invoice=invoice)
    except Exception as attach_error:
        _order_cancel_invoice_unrecorded(
            order=order, payment_id=payment_id, invoice=invoice, error=attach_error, source=source
        )
        raise PaymentGatewayUnavailable(retryable=True) from attach_error
    if payment.status != PaymentStatus.PENDING:
        _invoice_expire_orphan(order=order, payment=payment, invoice=invoice)
    return None


def _invoice_item_name(order: Order, line: OrderItem) -> str:
    if line.unit_discount and order.voucher_id:
        return f"{line.ticket.name} (voucher {order.voucher.code})"
    return line.ticket.name


def _invoice_expire_orphan(*, order: Order, payment: Payment, invoice: Invoice) -> None:
    """The order was cancelled (or expired) while Xendit was creating its invoice.

    That transition committed first and found no invoice id, so it expired nothing at
    Xendit. Both lock the payment row, and the cancel reads the invoice id after taking that
    lock, so whichever comes second sees the other: here the attach did, and expiring the
    invoice is ours. The invoice id is recorded (just now, by the attach), so the webhook and
    the sweep know it; the expiry runs after commit (at once here, outside any transaction)
    through the same task as any other, which records a payment that beat it as a late one,
    flagged for a refund.
    """
    logger.warning(
        "order %s became %s while invoice %s was being created; expiring the invoice",
        order.code,
        payment.status,
        invoice.id,
    )
    try:
        invoice_expire_after_commit(order_id=order.pk)
    except Exception:
        # Our database failed us just now. Nobody gets the invoice's link (order_place
        # raises), and it expires by itself at the order's expiry time; a payment before
        # that reaches a CANCELLED order and is flagged for a refund.
        logger.exception("could not queue expiring invoice %s of %s", invoice.id, order.code)


def _order_cancel_invoice_unrecorded(
    *, order: Order, payment_id: int, invoice: Invoice, error: Exception, source: str
) -> None:
    """The invoice exists at Xendit but could not be recorded (the database failed us).

    The buyer will not be sent to it, so: cancel the order (seats back at once rather than
    at expiry) and expire the invoice at Xendit. The expiry is a task that first records the
    invoice id on the payment (retrying until the database answers), so the webhook and
    the sweep know the invoice; a payment that beat the expiry is recorded, and flagged for a
    refund, never lost. If the cancel fails too, its error goes up (a database error: 503
    `service_unavailable`), the order stays PENDING until the expiry sweep gives its seats
    back, and the invoice id is in the log and in the task.
    """
    logger.error("invoice %s for %s created but not recorded: %r", invoice.id, order.code, error)
    try:
        order_cancel(order_id=order.pk, source=source, note=f"Xendit invoice {invoice.id} created but not recorded")
    finally:
        try:
            invoice_expire_task.delay(payment_id, invoice.id)
        except Exception:
            # The broker is down too. The invoice expires by itself at the order's expiry
            # time; a payment before that arrives as a callback, is matched by our code
            # and, the order being cancelled, flagged for a refund.
            logger.exception("could not queue expiring invoice %s of %s", invoice.id, order.code)


def _invoice_find_once(*, gateway: PaymentGateway, external_id: str) -> Invoice | None:
    try:
        # A short read timeout: see INVOICE_LOOKUP_READ_TIMEOUT.
        read_timeout = min(settings.XENDIT_READ_TIMEOUT, INVOICE_LOOKUP_READ_TIMEOUT)
        invoices = gateway.find_invoices(external_id, read_timeout=read_timeout)
    except GatewayError as error:
        logger.warning("invoice look-up failed for %s: %r", external_id, error)
        return None
    # Newest first; an expired one cannot be paid and is no use to a fresh order.
    return next((invoice for invoice in invoices if not invoice.is_expired), None)
