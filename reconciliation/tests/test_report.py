"""The daily reconciliation report against the simulator over real HTTP: every invoice of
the day listed (page by page), healed where it can be, classified, totalled; the command,
the daily task, the admin page and its CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import OrderStatus
from orders.services import order_pay
from payments.gateways.base import Invoice, InvoiceRequest
from payments.gateways.simulator.models import SimulatedInvoice
from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_with_payment
from reconciliation import services
from reconciliation.csv_export import report_csv
from reconciliation.models import Classification, ReconciliationReport, ReconciliationRow
from reconciliation.services import JAKARTA, reconciliation_report_create
from reconciliation.tasks import reconciliation_report_create_task

pytestmark = pytest.mark.django_db(transaction=True)


def today():
    return timezone.localtime(timezone.now(), JAKARTA).date()


def invoice_for(gateway, external_id: str, amount: int = 300_000) -> Invoice:
    return gateway.create_invoice(
        InvoiceRequest(
            external_id=external_id,
            amount=amount,
            payer_email="budi@example.com",
            description=f"order {external_id}",
            invoice_duration=1800,
            success_redirect_url="http://shop.test/ok",
            failure_redirect_url="http://shop.test/failed",
        )
    )


def claimed_paid(payment: Payment, amount: int) -> None:
    """Our record says paid (as a bug or a forged callback might leave it) whatever Xendit says."""
    order_pay(
        payment_id=payment.pk,
        invoice=Invoice(
            id=payment.invoice_id,
            external_id=payment.external_id,
            status="PAID",
            amount=payment.amount,
            invoice_url="",
            paid_amount=amount,
            paid_at=timezone.now(),
            payment_method="BANK_TRANSFER",
            payment_channel="BCA",
        ),
    )


def rows_by_invoice(report) -> dict[str, ReconciliationRow]:
    return {row.invoice_id: row for row in report.rows.all()}


def test_a_day_of_invoices_is_classified_healed_and_totalled(gateway, xendit_simulator, placed_order):
    matched = placed_order(quantity=2, price=150_000)
    xendit_simulator.pay(matched.invoice_id, channel="BCA")  # 300,000; fee 4,440
    expired = placed_order(quantity=1, price=100_000)
    xendit_simulator.expire(expired.invoice_id)
    lost = placed_order(quantity=1, price=200_000)
    xendit_simulator.pay(lost.invoice_id, channel="OVO", callback="none")  # the callback never came
    foreign = invoice_for(gateway, "INV/2026/other-system/00042", amount=75_000)
    xendit_simulator.pay(foreign.id, callback="none")
    duplicate = invoice_for(gateway, matched.external_id)  # a second invoice for a paid order
    orphan_payment = order_with_payment(quantity=1, price=120_000)  # its create's reply was lost
    orphan = invoice_for(gateway, orphan_payment.external_id, amount=120_000)
    xendit_simulator.pay(orphan.id, channel="QRIS", callback="none")
    phantom = placed_order(quantity=1, price=50_000)
    claimed_paid(phantom, 50_000)  # paid here, still PENDING at Xendit
    differ = placed_order(quantity=1, price=90_000)
    xendit_simulator.pay(differ.invoice_id, callback="none", amount=80_000)
    claimed_paid(differ, 90_000)

    report = reconciliation_report_create(day=today())

    rows = rows_by_invoice(report)
    assert report.invoices == len(rows) == 8
    assert rows[matched.invoice_id].classification == Classification.MATCHED
    assert rows[expired.invoice_id].classification == Classification.MATCHED
    healed = rows[lost.invoice_id]
    assert (healed.classification, healed.needs_attention) == (Classification.MATCHED, False)
    assert healed.explanation.startswith("Recorded by this report")
    lost.refresh_from_db()
    assert lost.status == PaymentStatus.PAID and lost.order.status == OrderStatus.PAID
    assert (rows[foreign.id].classification, rows[foreign.id].needs_attention) == (Classification.FOREIGN, False)
    second = rows[duplicate.id]
    assert (second.classification, second.needs_attention) == (Classification.UNKNOWN_OURS, False)
    assert "expired now" in second.explanation
    assert SimulatedInvoice.objects.get(pk=duplicate.id).status == "EXPIRED"
    adopted = rows[orphan.id]
    assert (adopted.classification, adopted.needs_attention) == (Classification.MATCHED, False)
    assert adopted.explanation.startswith("Adopted")
    orphan_payment.refresh_from_db()
    assert (orphan_payment.invoice_id, orphan_payment.status) == (orphan.id, PaymentStatus.PAID)
    assert (rows[phantom.invoice_id].classification, rows[phantom.invoice_id].needs_attention) == (
        Classification.PAID_HERE_NOT_THERE,
        True,
    )
    assert (rows[differ.invoice_id].classification, rows[differ.invoice_id].needs_attention) == (
        Classification.AMOUNTS_DIFFER,
        True,
    )

    assert (report.matched, report.explained, report.attention) == (4, 2, 2)
    # Gross: what Xendit holds on our invoices; it adds up with what we recorded.
    assert report.gross == 300_000 + 200_000 + 120_000 + 80_000
    assert report.foreign_gross == 75_000
    assert report.fees == sum(row.fees_paid_amount or 0 for row in rows.values() if row.external_id.startswith("TDX"))
    assert report.fees == 4_440 + 6_061 + 932 + 4_440 and report.fees_unreported == 0
    assert report.net == report.gross - report.fees - report.refunds
    assert report.recorded == 300_000 + 200_000 + 120_000  # the 80,000 differs from what we recorded
    assert report.unexplained == 80_000
    for row in rows.values():
        if row.fees_paid_amount is not None:
            assert row.adjusted_received_amount == row.xendit_paid_amount - row.fees_paid_amount


def test_the_list_is_read_page_by_page_and_only_the_day_counts(gateway, xendit_simulator, placed_order, monkeypatch):
    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    payments = [placed_order(quantity=1, price=100_000) for _ in range(5)]
    yesterday_invoice = invoice_for(gateway, "TDX-YSTRDAY2")
    SimulatedInvoice.objects.filter(pk=yesterday_invoice.id).update(created=timezone.now() - timedelta(days=2))

    report = reconciliation_report_create(day=today())

    assert set(rows_by_invoice(report)) == {payment.invoice_id for payment in payments}


def test_an_invoice_made_just_after_midnight_for_an_order_of_the_day_is_still_checked(
    gateway, xendit_simulator, placed_order
):
    payment = placed_order(quantity=1, price=100_000)
    xendit_simulator.pay(payment.invoice_id)
    _start, end = services.day_window(today())
    SimulatedInvoice.objects.filter(pk=payment.invoice_id).update(created=end + timedelta(seconds=2))

    report = reconciliation_report_create(day=today())

    (row,) = report.rows.all()
    assert (row.invoice_id, row.classification) == (payment.invoice_id, Classification.MATCHED)
    assert report.invoices == 0 and report.gross == 100_000


def test_the_command_and_the_daily_task(gateway, xendit_simulator, placed_order, capsys):
    payment = placed_order(quantity=1, price=100_000)
    xendit_simulator.pay(payment.invoice_id)

    call_command("reconcile_report", "--date", today().isoformat(), "--csv")

    out = capsys.readouterr().out
    assert f"reconciliation {today()}:" in out and "invoices=1 matched=1" in out and "unexplained=0" in out
    assert payment.invoice_id in out
    report_id = reconciliation_report_create_task()
    assert ReconciliationReport.objects.get(pk=report_id).date == today() - timedelta(days=1)


def test_the_admin_shows_the_report_and_exports_csv(admin_client, gateway, xendit_simulator, placed_order):
    payment = placed_order(quantity=1, price=100_000)
    xendit_simulator.pay(payment.invoice_id, channel="BCA")
    phantom = placed_order(quantity=1, price=50_000)
    claimed_paid(phantom, 50_000)
    report = reconciliation_report_create(day=today())

    listing = admin_client.get("/admin/reconciliation/reconciliationreport/")
    assert listing.status_code == 200 and b"CSV" in listing.content
    assert admin_client.get(f"/admin/reconciliation/reconciliationreport/{report.pk}/change/").status_code == 200
    attention = admin_client.get(
        f"/admin/reconciliation/reconciliationrow/?report__id__exact={report.pk}&needs_attention__exact=1"
    )
    assert attention.status_code == 200
    assert phantom.invoice_id.encode() in attention.content and payment.invoice_id.encode() not in attention.content

    exported = admin_client.get(f"/admin/reconciliation/reconciliationreport/{report.pk}/csv/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode())))
    assert lines[0][:3] == ["invoice_id", "order_code", "created_utc"]
    by_invoice = {line[0]: line for line in lines[1:] if line}
    assert by_invoice[payment.invoice_id][lines[0].index("fees")] == "4440"
    assert by_invoice[phantom.invoice_id][lines[0].index("classification")] == "paid_here_not_there"
    assert ["unexplained", "0"] in lines

    row = report.rows.get(invoice_id=phantom.invoice_id)
    resolved = admin_client.post(
        "/admin/reconciliation/reconciliationrow/", {"action": "resolve", "_selected_action": [row.pk]}
    )
    assert resolved.status_code == 302
    row.refresh_from_db()
    assert row.resolved_at is not None and row.resolved_by == "admin"


def test_csv_cells_cannot_run_as_formulas_after_a_separator_or_a_space():
    # Another system's order code, the explanation and a resolution note are text we do not
    # control; a spreadsheet may split a cell on ";" or "," (Indonesian Excel: ";").
    report = ReconciliationReport.objects.create(
        date=today(), window_start=timezone.now(), window_end=timezone.now(), net=-4440
    )
    ReconciliationRow.objects.create(
        report=report,
        invoice_id="inv_foreign",
        external_id="shop;=HYPERLINK(1)",
        xendit_status="PAID",
        xendit_amount=100_000,
        classification=Classification.FOREIGN,
        explanation=" -2+3",
        resolved_by="@siti",
        resolution_note="refunded,+628123",
    )

    body = report_csv(report)

    for piece in re.split(r"[;,\t\r\n]", body):
        assert not piece.strip().strip('"').strip().startswith(("=", "+", "@")), piece
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["order_code"] == "shop;'=HYPERLINK(1)"
    assert (rows[0]["explanation"], rows[0]["resolved_by"]) == (" '-2+3", "'@siti")
    assert rows[0]["resolution_note"] == "refunded,'+628123"
    assert rows[0]["amount"] == "100000"  # numbers stay numbers
    assert ["net", "-4440"] in list(csv.reader(io.StringIO(body)))  # a negative total too
