from django import template
from django.utils.dateformat import format as date_format

from tickets.event_time import LONG, SHORT, event_local, event_time_text

register = template.Library()


@register.simple_tag
def event_time(value, event, length: str = "long") -> str:
    """`{% event_time order.expires_at order.event "short" %}`: in the event's zone, named;
    "date" gives the day alone ("5 Des 2026"), the day it was there."""
    if length == "date":
        return date_format(event_local(value, event), "j M Y") if value is not None else ""
    return event_time_text(value, event, SHORT if length == "short" else LONG)
