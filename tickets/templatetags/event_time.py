from django import template

from tickets.event_time import LONG, SHORT, event_time_text

register = template.Library()


@register.simple_tag
def event_time(value, event, length: str = "long") -> str:
    """`{% event_time order.expires_at order.event "short" %}`: in the event's zone, named."""
    return event_time_text(value, event, SHORT if length == "short" else LONG)
