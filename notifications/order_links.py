"""Emailing a buyer the private links of their orders ("find my tickets", "email me the
link" on an order code's page).

Not a Notification row: nothing about an order changed, nothing is owed; the buyer asked
and can ask again. Requests are limited per client address (an answer that says so) and
per email address (silently: the page must answer the same whether the address is known,
limited or not). The lookup and the send happen in a task, so the page's answer takes the
same time either way.
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from notifications.tasks import order_links_send_task
from orders.links import order_page_url
from orders.models import Order
from tedxpay.core.exact_text import text_equals

logger = logging.getLogger("tedxpay.notifications")

LIMIT_WINDOW_SECONDS = 60 * 60
# An address with more orders than this gets the newest ones (an email, not an archive).
MAX_ORDERS_PER_EMAIL = 50
SUBJECTS = {
    "id": "Tautan pesanan tiket Anda",
    "en": "The links to your ticket orders",
}


class OrderLinksThrottled(Exception):
    """This client asked too often; nothing was queued."""


def _within_limit(key: str, limit: int) -> bool:
    # add() then incr(): both atomic in Redis and in the local-memory cache, so concurrent
    # requests cannot all slip under the limit.
    cache.add(key, 0, LIMIT_WINDOW_SECONDS)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between the two calls: a fresh window
        cache.add(key, 1, LIMIT_WINDOW_SECONDS)
        return True


def order_links_request(*, email: str, language: str, client: str, order_codes: list[str] | None = None) -> None:
    """Queue the email with the links to the orders of `email` (only `order_codes` when
    given). Raises OrderLinksThrottled when `client` asked too often."""
    if not _within_limit(f"order-links:client:{client}", settings.ORDER_LINKS_PER_CLIENT_PER_HOUR):
        raise OrderLinksThrottled
    email = email.strip().lower()
    digest = hashlib.sha256(email.encode()).hexdigest()
    if not _within_limit(f"order-links:email:{digest}", settings.ORDER_LINKS_PER_EMAIL_PER_HOUR):
        logger.info("order links for %s… not sent: limit reached", digest[:12])
        return
    try:
        order_links_send_task.delay(email, language, order_codes)
    except Exception:
        # The buyer can ask again; the page must not fail because the broker is down.
        logger.exception("could not queue the order links email")


def order_links_send(*, email: str, language: str, order_codes: list[str] | None = None) -> int:
    """Send one email listing the orders of `email`; returns how many it listed (0: no
    email, the address has no orders)."""
    orders = Order.objects.filter(text_equals("buyer__email", email.strip().lower())).select_related("event")
    if order_codes:
        orders = orders.filter(code__in=order_codes)
    orders = list(orders.order_by("-created_at")[:MAX_ORDERS_PER_EMAIL])
    if not orders:
        return 0
    language = language if language in SUBJECTS else "id"
    context = {
        "orders": [{"order": order, "event": order.event, "url": order_page_url(order)} for order in orders],
        "language": language,
        "find_url": f"{settings.SITE_URL}/find-my-tickets/",
    }
    with translation.override(language):
        text = render_to_string(f"emails/order_links.{language}.txt", context)
        html = render_to_string(f"emails/order_links.{language}.html", context)
    message = EmailMultiAlternatives(subject=SUBJECTS[language], body=text, to=[email])
    message.attach_alternative(html, "text/html")
    message.send()
    return len(orders)
