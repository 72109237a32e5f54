"""Building the reconciliation report of one day (docs/reliability.md).

Every invoice Xendit created in the window (the list API with `created_after` /
`created_before`, page by page) is set beside our payment holding it, after the report
heals what it can (healing.py), and classified (classify.py). Our payments created in the
window whose invoice the list did not show (its creation fell just across midnight) are
read one by one and added. Totals add up: gross (paid at Xendit on our invoices) = what we
recorded + the unexplained rest; net = gross - fees - refunds.
"""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from payments.gateways.base import GatewayError, Invoice, PaymentGateway, get_gateway
from payments.models import Payment
from reconciliation import healing
from reconciliation.classify import OurPayment, classify, is_ours, paid_amount_at_xendit
from reconciliation.models import Classification, ReconciliationReport, ReconciliationRow

logger = logging.getLogger("tedxpay.reconciliation")

JAKARTA = ZoneInfo("Asia/Jakarta")
PAGE_SIZE = 100  # Xendit's maximum


def day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=JAKARTA)
    return start, start + timedelta(days=1)


def invoices_created_between(*, gateway: PaymentGateway, start: datetime, end: datetime) -> list[Invoice]:
    """Every invoice created in [start, end), through the list API's pages."""
    found: list[Invoice] = []
    cursor = None
    # Xendit's created_before includes its bound; a millisecond before the end keeps the
    # next day's first invoice out (its ids carry milliseconds).
    before = end - timedelta(milliseconds=1)
    while True:
        page = gateway.list_invoices(created_after=start, created_before=before, limit=PAGE_SIZE, last_invoice=cursor)
        found.extend(invoice for invoice in page if invoice.created is None or start <= invoice.created < end)
        if len(page) < PAGE_SIZE:
            return found
        cursor = page[-1].id


def _snapshot(payment: Payment | None) -> OurPayment | None:
    if payment is None:
        return None
    payment = Payment.objects.select_related("order").get(pk=payment.pk)
    order = payment.order
    return OurPayment(
        payment_id=payment.pk,
        invoice_id=payment.invoice_id,
        status=payment.status,
        paid_amount=payment.paid_amount,
        refunded_amount=payment.refunded_amount,
        order_code=order.code,
        order_status=order.status,
        attention_reason=order.attention_reason if order.needs_attention else "",
    )


def _row(invoice: Invoice, *, gateway: PaymentGateway) -> ReconciliationRow:
    payment = Payment.objects.filter(invoice_id=invoice.id).first()
    note = ""
    if payment is None and is_ours(invoice.external_id):
        payment, note = healing.invoice_adopt(invoice=invoice, gateway=gateway)
    elif payment is not None:
        note = healing.payment_record_if_paid(payment=payment, invoice=invoice)
    ours = _snapshot(payment)
    verdict = classify(invoice, ours, note=note)
    return ReconciliationRow(
        invoice_id=invoice.id,
        external_id=invoice.external_id,
        invoice_created=invoice.created,
        xendit_status=invoice.status,
        xendit_amount=invoice.amount,
        xendit_paid_amount=paid_amount_at_xendit(invoice),
        fees_paid_amount=invoice.fees_paid_amount if invoice.is_paid else None,
        adjusted_received_amount=invoice.adjusted_received_amount if invoice.is_paid else None,
        payment_method=invoice.payment_method,
        payment_channel=invoice.payment_channel,
        payment_id=ours.payment_id if ours else None,
        our_status=ours.status if ours else "",
        our_paid_amount=ours.paid_amount if ours else None,
        refunded_amount=ours.refunded_amount if ours else 0,
        order_status=ours.order_status if ours else "",
        classification=verdict.classification,
        explanation=verdict.explanation,
        needs_attention=verdict.needs_attention,
    )


def reconciliation_report_create(
    *, day: date, gateway: PaymentGateway | None = None, window: tuple[datetime, datetime] | None = None
) -> ReconciliationReport:
    """List, heal, classify and total one day (Jakarta time; `window` overrides it, for a
    chaos run). Raises GatewayError when Xendit cannot be listed: no half report is kept."""
    gateway = gateway or get_gateway()
    start, end = window or day_window(day)
    invoices = invoices_created_between(gateway=gateway, start=start, end=end)
    rows = [_row(invoice, gateway=gateway) for invoice in invoices]
    listed = {invoice.id for invoice in invoices}
    # Ours from the window whose invoice was made just across the window's edge.
    missing = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end, invoice_id__isnull=False)
        .exclude(invoice_id__in=listed)
        .values_list("invoice_id", flat=True)
    )
    for invoice_id in missing:
        try:
            rows.append(_row(gateway.get_invoice(invoice_id), gateway=gateway))
        except GatewayError as error:
            if error.status != 404:
                raise
            payment = Payment.objects.get(invoice_id=invoice_id)
            rows.append(_row_unknown_at_xendit(payment))
    return _report_save(day=day, start=start, end=end, rows=rows, invoices=len(invoices))


def _row_unknown_at_xendit(payment: Payment) -> ReconciliationRow:
    ours = _snapshot(payment)
    paid = ours.status == "PAID"
    return ReconciliationRow(
        invoice_id=payment.invoice_id,
        external_id=payment.external_id,
        xendit_status="UNKNOWN",
        payment_id=payment.pk,
        our_status=ours.status,
        our_paid_amount=ours.paid_amount,
        refunded_amount=ours.refunded_amount,
        order_status=ours.order_status,
        classification=Classification.PAID_HERE_NOT_THERE if paid else Classification.MATCHED,
        explanation="Xendit does not know this invoice (404).",
        needs_attention=paid,
    )


@transaction.atomic
def _report_save(*, day: date, start: datetime, end: datetime, rows: list, invoices: int) -> ReconciliationReport:
    ours = [row for row in rows if row.classification != Classification.FOREIGN]
    paid_ours = [row for row in ours if row.xendit_paid_amount is not None]
    gross = sum(row.xendit_paid_amount for row in paid_ours)
    fees = sum(row.fees_paid_amount or 0 for row in paid_ours)
    refunds = sum(row.refunded_amount for row in ours)
    report = ReconciliationReport.objects.create(
        date=day,
        window_start=start,
        window_end=end,
        invoices=invoices,
        matched=sum(1 for row in rows if row.classification == Classification.MATCHED),
        explained=sum(1 for row in rows if row.classification != Classification.MATCHED and not row.needs_attention),
        attention=sum(1 for row in rows if row.needs_attention),
        gross=gross,
        fees=fees,
        fees_unreported=sum(1 for row in paid_ours if row.fees_paid_amount is None),
        refunds=refunds,
        net=gross - fees - refunds,
        # What our records account for: the same money recorded on the matching payment.
        recorded=sum(
            row.xendit_paid_amount
            for row in paid_ours
            if row.our_status == "PAID" and row.our_paid_amount == row.xendit_paid_amount
        ),
        foreign_gross=sum(row.xendit_paid_amount or 0 for row in rows if row.classification == Classification.FOREIGN),
    )
    for row in rows:
        row.report = report
    ReconciliationRow.objects.bulk_create(rows)
    logger.info(
        "reconciliation %s: %d invoices, %d matched, %d explained, %d need attention; gross %d, net %d",
        day,
        report.invoices,
        report.matched,
        report.explained,
        report.attention,
        report.gross,
        report.net,
    )
    return report


def reconciliation_row_resolve(*, row_id: int, resolved_by: str, note: str) -> ReconciliationRow:
    """Finance has dealt with a row that needed attention (refunded, recorded by hand…)."""
    with transaction.atomic():
        row = ReconciliationRow.objects.select_for_update().get(pk=row_id)
        if row.resolved_at is None:
            row.resolved_at = timezone.now()
            row.resolved_by = resolved_by
            row.resolution_note = note
            row.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
    return row
