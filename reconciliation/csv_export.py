"""A report's rows as CSV for finance (one line per invoice, amounts in whole rupiah)."""

import csv
import io

from reconciliation.models import ReconciliationReport
from tedxpay.core.admin_records import spreadsheet_safe

COLUMNS = [
    ("invoice_id", "invoice_id"),
    ("external_id", "order_code"),
    ("invoice_created", "created_utc"),
    ("xendit_status", "xendit_status"),
    ("xendit_amount", "amount"),
    ("xendit_paid_amount", "paid_at_xendit"),
    ("fees_paid_amount", "fees"),
    ("adjusted_received_amount", "received_net"),
    ("payment_method", "payment_method"),
    ("payment_channel", "payment_channel"),
    ("our_status", "our_payment_status"),
    ("our_paid_amount", "paid_here"),
    ("refunded_amount", "refunded"),
    ("order_status", "order_status"),
    ("classification", "classification"),
    ("needs_attention", "needs_attention"),
    ("explanation", "explanation"),
    ("resolved_by", "resolved_by"),
    ("resolution_note", "resolution_note"),
]


def _cell(value):
    """Amounts stay numbers; any text (another system's order code, a note finance typed) is
    spreadsheet_safe: no formula at its start, nor after a separator a spreadsheet splits on."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    return spreadsheet_safe(str(value))


def report_csv(report: ReconciliationReport) -> str:
    out = io.StringIO()
    # Text quoted, as csv_download does: "shop;'=1" stays one cell where quotes are honoured.
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([header for _, header in COLUMNS])
    for row in report.rows.order_by("invoice_created", "id"):
        writer.writerow([_cell(getattr(row, field)) for field, _ in COLUMNS])
    writer.writerow([])
    for label, value in [
        ("invoices", report.invoices),
        ("matched", report.matched),
        ("explained", report.explained),
        ("needs attention", report.attention),
        ("gross", report.gross),
        ("fees", report.fees),
        ("refunds", report.refunds),
        ("net", report.net),
        ("recorded here", report.recorded),
        ("unexplained", report.unexplained),
    ]:
        writer.writerow([label, value])
    return out.getvalue()
