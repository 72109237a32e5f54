"""Links to attendee pages that leave the site: Xendit's redirects and emails need them
absolute. The path itself comes from the URLconf (`Order.get_absolute_url`)."""

from django.conf import settings

from orders.models import Order


def order_page_url(order: Order) -> str:
    """The order's status page as an absolute URL on SITE_URL."""
    return f"{settings.SITE_URL.rstrip('/')}{order.get_absolute_url()}"


def order_public_page_url(order: Order) -> str:
    """The bare code's page as an absolute URL: nothing personal, it emails the private link
    to the buyer (for places a link may be seen by others, such as a calendar)."""
    return f"{settings.SITE_URL.rstrip('/')}{order.get_public_url()}"
