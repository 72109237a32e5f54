"""Prometheus metrics, read from the database at scrape time.

Gauges computed from the tables rather than counters kept in memory: with several gunicorn
workers and Celery processes, only the database knows the totals, and a restart loses
nothing. Each family is one aggregate query.
"""

from collections.abc import Iterable, Iterator

from django.db.models import Count, F, Sum

from notifications.models import Notification
from orders.models import Order, needs_attention_q
from payments.models import Payment, WebhookEvent
from tickets.models import Ticket


def _escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, help_text: str, samples: Iterable[tuple[dict, int]]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} gauge"
    for labels, value in samples:
        label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
        yield f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}"


def metrics_text() -> str:
    lines: list[str] = []
    lines += _family(
        "tedxpay_orders",
        "Orders by status.",
        (({"status": row["status"]}, row["n"]) for row in Order.objects.values("status").annotate(n=Count("id"))),
    )
    lines += _family(
        "tedxpay_orders_needing_attention",
        "Orders flagged for finance, by reason.",
        (
            ({"reason": row["attention_reason"]}, row["n"])
            for row in Order.objects.filter(needs_attention_q()).values("attention_reason").annotate(n=Count("id"))
        ),
    )
    lines += _family(
        "tedxpay_payments",
        "Payments by status.",
        (({"status": row["status"]}, row["n"]) for row in Payment.objects.values("status").annotate(n=Count("id"))),
    )
    paid = Payment.objects.filter(status="PAID").aggregate(total=Sum("paid_amount"))["total"] or 0
    lines += _family("tedxpay_paid_amount_rupiah", "Sum of paid amounts (IDR).", [({}, paid)])
    lines += _family(
        "tedxpay_webhook_events",
        "Xendit callbacks stored, by outcome.",
        (
            ({"outcome": row["outcome"]}, row["n"])
            for row in WebhookEvent.objects.values("outcome").annotate(n=Count("id"))
        ),
    )
    lines += _family(
        "tedxpay_notifications",
        "Emails owed to buyers, by status.",
        (
            ({"status": row["status"]}, row["n"])
            for row in Notification.objects.values("status").annotate(n=Count("id"))
        ),
    )
    tickets = list(
        Ticket.objects.filter(is_active=True).values("id", "name", event_slug=F("event__slug"), held_=F("held"))
    )
    lines += _family(
        "tedxpay_ticket_held",
        "Units held (PENDING + PAID orders) per active ticket phase.",
        (({"event": t["event_slug"], "ticket": t["name"], "ticket_id": t["id"]}, t["held_"]) for t in tickets),
    )
    return "\n".join(lines) + "\n"
