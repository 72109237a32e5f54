"""The door page in Debian's Chromium on a phone-sized screen: a volunteer signs in, types a
short code, scans a QR code with the camera; finance sees the check-in on the order page."""

import re
from datetime import timedelta

import pytest
import segno
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from checkin.models import CheckIn
from checkin.services import MAX_UNDO_REASON_LENGTH
from conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def watch_for_errors(page) -> list[str]:
    """Content-Security-Policy violations and script errors seen on the page (none expected:
    the door page's scripts are static files, as the policy demands)."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def sign_in(page, live_server, username="gate-a", password="door-pass-123"):
    page.goto(f"{live_server.url}/checkin/")
    expect(page).to_have_url(re.compile(r"/checkin/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login")
    expect(page).to_have_url(re.compile(r"/checkin/$"))


def test_typed_short_code_green_then_red_and_finance_sees_it(browser, live_server, door_user, paid_order):
    order = paid_order(quantity=2, email="siti@example.com")
    ticket = order.issued_tickets.first()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_for_errors(page)
    sign_in(page, live_server)
    expect(page.locator("#count")).to_contain_text("0 / 2")

    page.fill("#gate", "Gate B")
    page.fill("#code", ticket.short_code.lower())  # lower case, no dashes
    page.click("#check")
    result = page.locator("#result")
    expect(result).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-name")).to_have_text("Siti Rahma")
    expect(page.locator("#result-ticket")).to_have_text("Regular")
    expect(page.locator("#count-admitted")).to_have_text("1")
    expect(page.locator("#code")).to_have_value("")

    page.fill("#code", ticket.short_code.lower())
    page.click("#check")
    expect(result).to_have_class(re.compile(r"\bred\b"))
    expect(page.locator("#result-title")).to_have_text("Sudah masuk")
    expect(page.locator("#result-detail")).to_contain_text("Gate B")
    assert CheckIn.objects.get().gate == "Gate B"
    # Nothing on the door page that a volunteer should not see.
    # (The visible text: the page's HTML also holds a random CSRF token.)
    text = page.inner_text("body")
    assert "siti@example.com" not in text and "Rp" not in text and "350" not in text
    assert errors == []
    context.close()

    finance = get_user_model().objects.create_user(username="rina", password="finance-pass-1", is_staff=True)
    finance.user_permissions.set(
        Permission.objects.filter(codename__in=["view_order", "view_issuedticket", "view_checkin"])
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = context.new_page()
    admin.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/{order.pk}/change/")
    admin.fill("#id_username", "rina")
    admin.fill("#id_password", "finance-pass-1")
    admin.click("input[type=submit]")
    checkins = admin.locator("#checkins-group")
    expect(checkins).to_contain_text(ticket.short_code_display)
    expect(checkins).to_contain_text("Gate B")
    expect(checkins).to_contain_text("Checked in")
    expect(admin.locator("#issued_tickets-group")).to_contain_text("by gate-a")
    context.close()


def test_undo_at_the_door_says_what_happened_in_the_volunteers_language(browser, live_server, door_user, paid_order):
    first, second = paid_order(quantity=2).issued_tickets.all()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    reasons = iter(["x" * (MAX_UNDO_REASON_LENGTH + 1), "salah pindai", "terlambat"])
    page.on("dialog", lambda dialog: dialog.accept(next(reasons)))
    sign_in(page, live_server)

    page.fill("#code", first.short_code)
    page.click("#check")
    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    page.click("#undo")  # a reason longer than allowed: refused, and the page says so
    expect(page.locator("#result-title")).to_have_text("Tidak dibatalkan")
    assert first.checkins.get().current

    page.fill("#code", second.short_code)
    page.click("#check")
    expect(page.locator("#count-admitted")).to_have_text("2")
    page.click("#undo")
    expect(page.locator("#result-title")).to_have_text("Check-in dibatalkan")
    expect(page.locator("#count-admitted")).to_have_text("1")
    assert not second.checkins.get().current

    # The page left open: a wrong scan is undone right after it, not a quarter of an hour later.
    page.fill("#code", second.short_code)
    page.click("#check")
    expect(page.locator("#count-admitted")).to_have_text("2")
    CheckIn.objects.filter(ticket=second, current=True).update(checked_in_at=timezone.now() - timedelta(minutes=15))
    page.click("#undo")
    expect(page.locator("#result-title")).to_have_text("Tidak dibatalkan")
    expect(page.locator("#result-detail")).to_contain_text("Minta tim keuangan membatalkannya")
    assert second.checkins.filter(current=True).exists()
    context.close()


def qr_y4m(data: str, path, *, width=640, height=480, frames=10) -> None:
    """A still video of the QR code for `data`, as Chromium's fake camera reads it: YUV4MPEG2,
    4:2:0, black modules on white (luma only; the chroma planes are neutral grey)."""
    matrix = [list(row) for row in segno.make(data, error="m", micro=False).matrix]
    border = 4
    modules = len(matrix) + 2 * border
    scale = (min(width, height) - 40) // modules
    size = modules * scale
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xff" * (width * height))
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            if not dark:
                continue
            y0 = top + (row_index + border) * scale
            x0 = left + (column_index + border) * scale
            for y in range(y0, y0 + scale):
                luma[y * width + x0 : y * width + x0 + scale] = b"\x00" * scale
    chroma = b"\x80" * ((width // 2) * (height // 2))
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def test_camera_scan_of_a_real_eticket_qr(browser_type, live_server, door_user, paid_order, tmp_path):
    order = paid_order(buyer_name="Andi Wijaya")
    ticket = order.issued_tickets.get()
    video = tmp_path / "eticket.y4m"
    qr_y4m(ticket.code, video)  # what the e-ticket's QR carries (notifications/qr.py)

    browser = browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(**PHONE)
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        errors = watch_for_errors(page)
        sign_in(page, live_server)
        # Headless Chromium on Linux has no native BarcodeDetector: this is jsQR at work.
        assert page.evaluate("'BarcodeDetector' in window") is False
        page.click("#camera-start")
        expect(page.locator("#camera-panel")).to_be_visible()
        expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"), timeout=15_000)
        expect(page.locator("#result-name")).to_have_text("Andi Wijaya")
        # The QR stays in front of the camera: it is not taken for a second scan.
        page.wait_for_timeout(1500)
        expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
        assert CheckIn.objects.filter(ticket=ticket, current=True).count() == 1
        page.click("#camera-stop")
        expect(page.locator("#camera-panel")).to_be_hidden()
        assert errors == []
    finally:
        browser.close()


def test_while_a_code_is_checked_the_last_answer_is_not_shown(browser, live_server, door_user, paid_order):
    # A slow connection at the door: the scan's answer is held back. Meanwhile the screen
    # must not still show the previous guest's green, and a code typed meanwhile waits.
    first, second = paid_order(quantity=2).issued_tickets.order_by("pk")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server)
    page.fill("#code", first.short_code)
    page.click("#check")
    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    held = []
    page.route("**/checkin/scan", lambda route: held.append(route))

    page.fill("#code", second.short_code)
    page.click("#check")

    expect(page.locator("#result")).to_have_class(re.compile(r"\bchecking\b"))
    expect(page.locator("#result")).not_to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#result-title")).to_have_text("Memeriksa…")
    expect(page.locator("#result-name")).to_have_text(second.short_code)
    expect(page.locator("#check")).to_be_disabled()
    expect(page.locator("#undo")).to_be_hidden()
    page.fill("#code", "NEXT-GUEST")  # typed while waiting: kept for its own check
    for _ in range(100):  # the held request reaches the handler while the page waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#result")).to_have_class(re.compile(r"\bgreen\b"))
    expect(page.locator("#check")).to_be_enabled()
    expect(page.locator("#code")).to_have_value("NEXT-GUEST")
    context.close()
