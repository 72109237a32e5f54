"""Building blocks for records the back office shows but never edits: read-only admin
classes, how their fields are displayed (Jakarta time, rupiah, status badges), and the
per-row report of an action run on them. App-neutral: no app's models are imported here;
each app's admin says which of its statuses gets which badge colour, and which of its
errors an action reports as a refusal.

Records that money or the state machine own (orders, payments, webhook events, emails)
are never edited in a form: the admin shows them and offers actions that call services
(docs/architecture.md: a status changes only through its service function).
`has_change_permission` is therefore False everywhere here, which makes Django render
the detail page read-only; the actions ask for permissions of their
own: "operate" is the model's `operate_<model>` permission, and the actions that matter
more (cancel, refund, export personal data, replay callbacks) have one each.
"""

import csv
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html

from tedxpay.core.errors import ApplicationError
from tedxpay.core.money import format_rupiah

logger = logging.getLogger("tedxpay.admin")

JAKARTA = ZoneInfo("Asia/Jakarta")


class Tone:
    """Colours of the status badges."""

    GOOD = "#1e7e34"  # money in, email sent, callback processed
    WAITING = "#b26a00"  # pending, being sent
    CLOSED = "#6c757d"  # expired, duplicate, ignored
    ALERT = "#a71d2a"  # something finance may have to act on
    NEUTRAL = "#495057"


def jakarta_time(value: datetime | None) -> str:
    """An aware datetime as Jakarta wall time, e.g. "2026-11-28 13:41 WIB"; "—" for none."""
    if value is None:
        return "—"
    return timezone.localtime(value, JAKARTA).strftime("%Y-%m-%d %H:%M WIB")


def jakarta_time_short(value: datetime | None) -> str:
    """For list columns, whose header says WIB: "22/11/2026 13:41" (day first, as in
    Indonesia; four-digit years, never ambiguous)."""
    if value is None:
        return "—"
    return timezone.localtime(value, JAKARTA).strftime("%d/%m/%Y %H:%M")


def rupiah(amount: int | None) -> str:
    return "—" if amount is None else format_rupiah(amount)


def status_badge(label: str, tone: str = Tone.NEUTRAL):
    return format_html(
        '<span class="tdx-badge" style="background:{};color:#fff;border-radius:9px;padding:1px 8px;'
        'font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        tone,
        label,
    )


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """A record the admin shows but never writes: no add, no edit form, no delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request) -> bool:
        """May run this admin's operational actions (`@admin.action(permissions=["operate"])`)."""
        return self.has_own_permission(request, get_permission_codename("operate", self.opts))

    def has_own_permission(self, request, codename: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")


class ReadOnlyInlineMixin:
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyInlineMixin, admin.TabularInline):
    pass


class ActionReport:
    """Collects what an action did to each selected row and tells the user, one message
    per level: done, skipped (nothing to do), failed (with the reason)."""

    def __init__(self, verb: str):
        self.verb = verb
        self.done: list[str] = []
        self.skipped: list[str] = []
        self.failed: list[str] = []

    def ok(self, label: str, detail: str = "") -> None:
        self.done.append(f"{label} ({detail})" if detail else label)

    def skip(self, label: str, reason: str) -> None:
        self.skipped.append(f"{label}: {reason}")

    def fail(self, label: str, reason: str) -> None:
        self.failed.append(f"{label}: {reason}")

    def send(self, model_admin: admin.ModelAdmin, request) -> None:
        if self.done:
            model_admin.message_user(
                request, f"{self.verb} {len(self.done)}: {', '.join(self.done)}.", messages.SUCCESS
            )
        for line in self.skipped:
            model_admin.message_user(request, f"Skipped {line}", messages.WARNING)
        for line in self.failed:
            model_admin.message_user(request, f"Failed {line}", messages.ERROR)
        if not (self.done or self.skipped or self.failed):
            model_admin.message_user(request, "Nothing was selected.", messages.WARNING)


# How an expected error that is not an ApplicationError is told to the user, by its type
# (e.g. the payments admin passes {GatewayError: "Xendit: …"}).
KnownErrors = Mapping[type[Exception], Callable[[Exception], str]]


def run_per_row(
    report: ActionReport,
    rows: Iterable,
    label: Callable[[object], str],
    apply: Callable[[object], None],
    *,
    known_errors: KnownErrors | None = None,
) -> ActionReport:
    """Call `apply(row)` for each row; an error on one row is reported and the rest go on.

    Services raise our ApplicationErrors for refusals; `known_errors` describes other
    expected ones. Anything else is unexpected, logged with its traceback and reported
    without one.
    """
    known = tuple((known_errors or {}).items())
    for row in rows:
        try:
            apply(row)
        except ApplicationError as error:
            report.fail(label(row), error.message)
        except Exception as error:
            describe = next((describe for kind, describe in known if isinstance(error, kind)), None)
            if describe is not None:
                report.fail(label(row), describe(error))
                continue
            logger.exception("admin action %r failed on %s", report.verb, label(row))
            report.fail(label(row), f"unexpected error ({type(error).__name__}); see the logs")
    return report


# --- CSV downloads ------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer streaming."""

    def write(self, value: str) -> str:
        return value


# A formula start at the beginning of the cell or after any separator a spreadsheet may
# split on: Indonesian Excel splits on ";", others on "," or tab, and a newline starts a row.
_FORMULA_START = re.compile(r"(^|[,;\t\r\n])(\s*)([=+\-@])")


def spreadsheet_safe(value: str) -> str:
    """Text a buyer typed must not run as a formula when the file is opened in a spreadsheet
    (OWASP "CSV injection"): every piece that would start with = + - @ gets a leading
    apostrophe, which makes it text. Besides, csv_download quotes every text cell, so a
    program that honours quotes keeps "Budi;=1+1" in one cell."""
    return _FORMULA_START.sub(r"\1\2'\3", value)


def csv_download(*, name: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """A streamed CSV attachment `tedxpay-<name>-<Jakarta time>.csv`, with a byte order mark
    so Excel reads it as UTF-8 (names like "Ni Luh Putu Ayu")."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_NONNUMERIC)

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.localtime(timezone.now(), JAKARTA).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tedxpay-{name}-{stamp}.csv"'
    return response


def page_refusal(request, form, message: str, *, back_to: str) -> HttpResponseRedirect | None:
    """A back-office page that cannot do its work for this object (nothing left to refund):
    said on its form when the form was sent; when the page is only opened, said on the page
    it came from (`back_to`), since a form not sent has nothing to show an error on (Django's
    `add_error` needs a cleaned form). None: the form carries it, render the page."""
    if form.is_bound:
        form.add_error(None, message)
        return None
    messages.warning(request, message)
    return HttpResponseRedirect(back_to)
