"""Complimentary tickets: finance gives named, free tickets (speakers, sponsors,
volunteers) from the admin.

Each person gets an order of their own (one seat, total 0, `is_comp`), so each gets their
own confirmation email and e-ticket, exactly like a buyer, through the same transitions a
paid order takes (`order_pay`: PAID, e-ticket, email on commit). The seats come out of the
phase's quota with the usual conditional UPDATE (sold out means nobody in the list gets
one: the batch is all or nothing), but not its sale window: finance may give seats before
the sale opens or in a hidden phase. Comps never count towards a buyer's per-buyer cap.
The audit row names who issued it.
"""

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.audit import order_event_record
from orders.buyers import ORDER_LANGUAGES, email_normalise
from orders.checkout.placing import order_confirm_free
from orders.models import Buyer, EventSource, Order, OrderItem, OrderStatus
from payments.models import Payment
from tedxpay.core.errors import InvalidInput
from tickets.models import Ticket
from tickets.services import stock_reserve

# `Payment.method` of a comp: no money, no invoice.
COMP_PAYMENT_METHOD = "COMP"
# One batch is one transaction holding the phase's row: keep it short.
MAX_COMPS_PER_BATCH = 300


@dataclass(frozen=True)
class CompRecipient:
    full_name: str
    email: str


def comp_recipients_parse(text: str) -> list[CompRecipient]:
    """People from pasted text or a CSV file: one per line, `name,email` (also `;` or tab
    separated, or `Name <email>`), a header line and blank lines ignored. Raises
    `InvalidInput` listing every line it cannot read, so finance fixes the list in one go."""
    people: list[CompRecipient] = []
    errors: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, email = _name_and_email(line)
        if not people and not errors and "@" not in line and "mail" in line.lower():
            continue  # a header: "name,email"
        name = " ".join(name.split())
        try:
            email = email_normalise(email)
        except ValueError as error:
            errors.append(f"line {number} ({line.strip()[:60]}): {error}")
            continue
        if not name or len(name) > 200:
            errors.append(f"line {number} ({line.strip()[:60]}): enter a name of at most 200 characters.")
            continue
        people.append(CompRecipient(full_name=name, email=email))
    if errors:
        raise InvalidInput("Some lines could not be read.", details={"recipients": errors})
    if not people:
        raise InvalidInput("Nobody in the list.", details={"recipients": ["Enter at least one name and email."]})
    return people


def _name_and_email(line: str) -> tuple[str, str]:
    line = line.strip().lstrip("\ufeff")
    if line.endswith(">") and "<" in line:
        name, _, email = line[:-1].rpartition("<")
        return name.strip().strip('"'), email
    # The separator that leaves one field looking like an address: names may hold commas
    # ("Santoso, Budi";budi@…), and lists come as "email,name" too.
    for delimiter in ("\t", ";", ","):
        fields = [field.strip() for field in next(csv.reader(io.StringIO(line), delimiter=delimiter))]
        at = next((index for index, field in enumerate(fields) if "@" in field and " " not in field), None)
        if len(fields) >= 2 and at is not None:
            return " ".join(field for index, field in enumerate(fields) if index != at), fields[at]
    return "", line


def comps_issue(
    *,
    ticket_id: int,
    recipients: list[CompRecipient],
    issued_by: str,
    language: str = "id",
    note: str = "",
    source: str = EventSource.ADMIN,
) -> list[Order]:
    """One PAID, free order of one seat per recipient, in one transaction; raises `SoldOut`
    (nothing issued) when the phase has fewer seats left than people in the list."""
    if not 1 <= len(recipients) <= MAX_COMPS_PER_BATCH:
        raise InvalidInput(details={"recipients": [f"Between 1 and {MAX_COMPS_PER_BATCH} people per batch."]})
    if language not in ORDER_LANGUAGES:
        raise InvalidInput(details={"language": [f"One of: {', '.join(ORDER_LANGUAGES)}."]})
    ticket = Ticket.objects.select_related("event").get(pk=ticket_id)
    now = timezone.now()
    audit = f"complimentary ticket issued by {issued_by}" + (f": {note}" if note else "")
    orders = []
    with transaction.atomic(durable=True):
        # The ticket row first, then the inserts (docs/architecture.md, "Stock without oversell"); not the sale window.
        stock_reserve(quantities={ticket.pk: len(recipients)}, now=now, require_on_sale=False)
        for person in recipients:
            buyer = Buyer.objects.create(full_name=person.full_name, email=person.email, phone="")
            order = Order.objects.create(
                buyer=buyer,
                event=ticket.event,
                total=0,
                currency=settings.CURRENCY,
                language=language,
                expires_at=now,
                is_comp=True,
            )
            OrderItem.objects.create(order=order, ticket=ticket, quantity=1, unit_price=0)
            payment = Payment.objects.create(order=order, external_id=order.code, amount=0)
            order_event_record(order=order, to_status=OrderStatus.PENDING, source=source, note=audit)
            order_confirm_free(order=order, payment_id=payment.pk, now=now, source=source, method=COMP_PAYMENT_METHOD)
            orders.append(order)
    return orders
