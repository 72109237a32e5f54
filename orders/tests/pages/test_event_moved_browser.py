"""The buyer of a moved event, on a phone (360 px) in Debian's Chromium: the order page says
where and when the event is now and until when they may cancel; ticking the box and
cancelling voids the e-tickets and starts the refund at Xendit (the simulator, over HTTP)."""

# ruff: noqa: F811

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.checkout.event_moves import event_move_record
from orders.models import OrderStatus
from payments.models import Refund
from payments.tests.conftest import placed_order  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def browser_context_args(browser_context_args):
    # bypass_csp: axe is injected as a script of the test's own.
    return {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True, "bypass_csp": True}


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]


# A virtual account (BCA) cannot be refunded through Xendit: the refund is a bank transfer by
# finance, and the page says so in a sentence.
@pytest.mark.parametrize("language, channel, refund_status", [("id", "BCA", "manual"), ("en", "OVO", "pending")])
def test_the_buyer_of_a_moved_event_cancels_for_a_refund_on_the_phone(
    page, live_server, xendit_simulator, placed_order, celery_eager, tmp_path, language, channel, refund_status
):
    payment = placed_order(quantity=2, price=150_000)
    xendit_simulator.pay(payment.invoice_id, channel=channel)
    order = payment.order
    order.language = language
    order.save(update_fields=["language"])
    event_move_record(
        event_id=order.event_id,
        starts_at=timezone.now() + timedelta(days=45),
        ends_at=None,
        venue="Sasana Budaya Ganesha (Sabuga), Jalan Tamansari 73",
        city="Bandung",
        refunds_until=timezone.now() + timedelta(days=14),
        message="Aula utama sedang direnovasi. / The main hall is being renovated.",
        requested_by="rina",
    )

    page.goto(f"{live_server.url}{order.get_absolute_url()}")

    moved = page.locator("#event-moved")
    expect(moved).to_contain_text("Sabuga")
    expect(moved).to_contain_text("Rp 300.000")
    expect(moved).to_contain_text("Acara dipindah" if language == "id" else "The event has moved")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert serious_violations(page) == []
    page.screenshot(path=str(tmp_path / f"moved-{language}-360.png"), full_page=True)

    page.click("#cancel-after-move-submit")  # the box is not ticked: the browser asks for it
    assert page.evaluate("document.querySelector('#confirm-cancel-after-move').validity.valueMissing")
    page.check("#confirm-cancel-after-move")
    page.click("#cancel-after-move-submit")

    expect(page.locator("#cancelled-after-move")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Dibatalkan" if language == "id" else "Cancelled")
    expect(page.locator("#refunds")).to_contain_text("Rp 300.000")
    expect(page.locator("#event-moved")).to_have_count(0)
    status = page.locator("#refunds .refund-status").bounding_box()
    assert status["x"] + status["width"] <= PHONE["width"]
    assert status["height"] < 80  # at most three lines: squeezed into a third column it took a word a line
    page.screenshot(path=str(tmp_path / f"cancelled-{language}-360.png"), full_page=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status) == (300_000, refund_status)
