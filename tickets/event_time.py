"""An event's times in its own zone (WIB, WITA or WIT), for pages, emails, PDFs and exports.

Times are stored in UTC; a buyer in Jakarta buying for a Bali event must read the time the
doors open in Bali, with the zone's name beside it so nobody has to guess.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

from tickets.models import TIME_ZONE_ABBREVIATIONS

LONG = "l, j F Y, H:i"
SHORT = "j M Y, H:i"


@dataclass(frozen=True)
class Clock:
    """A zone standing in for an event where these functions take one: a time shown on a
    clock the event has since left (an event moved from Jakarta to Bali was at 09:00 WIB)."""

    time_zone: str

    @property
    def time_zone_abbreviation(self) -> str:
        return TIME_ZONE_ABBREVIATIONS.get(self.time_zone, self.time_zone)


def event_zone(event) -> ZoneInfo:
    return ZoneInfo(event.time_zone)


def event_local(value: datetime, event) -> datetime:
    return timezone.localtime(value, event_zone(event))


def event_time_text(value: datetime | None, event, fmt: str = LONG) -> str:
    """ "Sabtu, 5 Desember 2026, 10:00 WITA" (day and month names in the active language)."""
    if value is None:
        return ""
    return f"{date_format(event_local(value, event), fmt)} {event.time_zone_abbreviation}"


def event_csv_time(value: datetime | None, event) -> str:
    """ "2026-12-05 10:00:00" on the event's wall clock, for a CSV cell a spreadsheet reads as
    a date; the export names the zone in a column of its own. Empty for no time."""
    return event_local(value, event).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""
