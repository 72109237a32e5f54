"""Sales at a glance: seats, revenue, orders and paid orders per day, per event.

A fixed number of aggregate queries whatever the number of orders (one per kind of
number, grouped by event or ticket), so the page stays fast during a flash sale.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import IssuedTicket, Order, OrderItem, OrderStatus, needs_attention_q
from payments.models import Payment, PaymentStatus, refund_outstanding_sql
from tedxpay.core.admin_records import JAKARTA
from tickets.models import Event, Ticket

CHART_DAYS = 14
CHART_HEIGHT = 120  # px of the tallest bar
CHART_BAR_WIDTH = 28
CHART_GAP = 8


@dataclass
class PhaseSales:
    ticket: Ticket
    sold: int  # units in PAID orders
    held: int  # units in PENDING and PAID orders (Ticket.held)
    quota: int
    checked_in: int = 0  # e-tickets admitted at the door (current check-ins)

    @property
    def pending(self) -> int:
        # A late payment re-reserves before the order turns PAID, so held ≥ sold always.
        return max(self.held - self.sold, 0)

    @property
    def available(self) -> int:
        return max(self.quota - self.held, 0)

    @property
    def sold_percent(self) -> float:
        return round(100 * self.sold / self.quota, 1) if self.quota else 0.0

    @property
    def pending_percent(self) -> float:
        return round(100 * self.pending / self.quota, 1) if self.quota else 0.0


@dataclass
class DayBar:
    day: date
    orders: int
    revenue: int
    x: int = 0
    y: int = 0
    height: int = 0

    @property
    def center(self) -> int:
        return self.x + CHART_BAR_WIDTH // 2


@dataclass
class EventSales:
    event: Event
    phases: list[PhaseSales] = field(default_factory=list)
    revenue: int = 0  # net: paid amounts of PAID payments, less what was refunded
    gross: int = 0  # paid amounts of PAID payments
    refunded: int = 0  # refunds that succeeded (through Xendit, by transfer, or recorded)
    refunding: int = 0  # refunds under way (requested, pending at Xendit, manual)
    to_refund: int = 0  # of which still owed back on orders flagged for it (Payment.refund_outstanding)
    orders_by_status: dict[str, int] = field(default_factory=dict)
    needs_attention: int = 0
    discounts: int = 0  # what vouchers took off PAID orders (revenue is already after them)
    comps: int = 0  # complimentary tickets issued (one seat per comp order)
    days: list[DayBar] = field(default_factory=list)

    @property
    def seats_sold(self) -> int:
        return sum(phase.sold for phase in self.phases)

    @property
    def checked_in(self) -> int:
        return sum(phase.checked_in for phase in self.phases)

    @property
    def seats_quota(self) -> int:
        return sum(phase.quota for phase in self.phases)

    @property
    def status_rows(self) -> list[tuple[str, str, int]]:
        return [(status.value, status.label, self.orders_by_status.get(status.value, 0)) for status in OrderStatus]

    @property
    def paid_orders_in_chart(self) -> int:
        return sum(bar.orders for bar in self.days)

    @property
    def chart_width(self) -> int:
        return len(self.days) * (CHART_BAR_WIDTH + CHART_GAP)


@dataclass
class SalesOverview:
    events: list[EventSales]
    first_day: date
    last_day: date
    generated_at: datetime

    @property
    def revenue(self) -> int:
        return sum(event.revenue for event in self.events)

    @property
    def to_refund(self) -> int:
        return sum(event.to_refund for event in self.events)

    @property
    def gross(self) -> int:
        return sum(event.gross for event in self.events)

    @property
    def refunded(self) -> int:
        return sum(event.refunded for event in self.events)

    @property
    def refunding(self) -> int:
        return sum(event.refunding for event in self.events)

    @property
    def paid_orders(self) -> int:
        return sum(event.orders_by_status.get(OrderStatus.PAID, 0) for event in self.events)

    @property
    def needs_attention(self) -> int:
        return sum(event.needs_attention for event in self.events)

    @property
    def discounts(self) -> int:
        return sum(event.discounts for event in self.events)

    @property
    def comps(self) -> int:
        return sum(event.comps for event in self.events)


def _jakarta_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JAKARTA)


def _paid_per_day(first_day: date) -> dict[tuple[int, date], tuple[int, int]]:
    """{(event id, Jakarta day): (paid orders, their total)} since `first_day`.

    The day is taken in SQL by shifting paid_at by Jakarta's offset (UTC+7, no daylight
    saving) and truncating in UTC: TruncDate(tzinfo=Asia/Jakarta) would need MySQL's time
    zone tables, which a stock MariaDB does not have (CONVERT_TZ then returns NULL).
    """
    offset = _jakarta_day_start(first_day).utcoffset()
    jakarta_wall_time = ExpressionWrapper(F("paid_at") + offset, output_field=DateTimeField())
    rows = (
        Order.objects.filter(status=OrderStatus.PAID, paid_at__gte=_jakarta_day_start(first_day))
        .annotate(day=TruncDate(jakarta_wall_time, tzinfo=UTC))
        .values("event_id", "day")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by()
    )
    return {(row["event_id"], row["day"]): (row["orders"], row["revenue"] or 0) for row in rows}


def _chart_layout(days: list[DayBar]) -> None:
    tallest = max((bar.orders for bar in days), default=0) or 1
    for index, bar in enumerate(days):
        bar.height = round(CHART_HEIGHT * bar.orders / tallest)
        if bar.orders and bar.height < 2:
            bar.height = 2  # a day with one sale among hundreds still shows
        bar.x = index * (CHART_BAR_WIDTH + CHART_GAP)
        bar.y = 20 + CHART_HEIGHT - bar.height


def sales_overview(*, now: datetime | None = None, days: int = CHART_DAYS) -> SalesOverview:
    """Everything the dashboard shows, in seven queries."""
    now = now or timezone.now()
    last_day = timezone.localtime(now, JAKARTA).date()
    first_day = last_day - timedelta(days=days - 1)

    events = {event.pk: EventSales(event=event) for event in Event.objects.order_by("-starts_at", "pk")}

    sold = dict(
        OrderItem.objects.filter(order__status=OrderStatus.PAID)
        .values("ticket_id")
        .annotate(sold=Sum("quantity"))
        .order_by()
        .values_list("ticket_id", "sold")
    )
    # `checkins` is the check-in app's reverse relation; current=True: admitted, not undone.
    checked_in = dict(
        IssuedTicket.objects.filter(checkins__current=True)
        .values("ticket_id")
        .annotate(admitted=Count("id"))
        .order_by()
        .values_list("ticket_id", "admitted")
    )
    for ticket in Ticket.objects.order_by("event_id", "sort_order", "valid_from", "pk"):
        if ticket.event_id in events:
            events[ticket.event_id].phases.append(
                PhaseSales(
                    ticket=ticket,
                    sold=sold.get(ticket.pk, 0),
                    held=ticket.held,
                    quota=ticket.quota,
                    checked_in=checked_in.get(ticket.pk, 0),
                )
            )

    revenue_rows = (
        Payment.objects.filter(status=PaymentStatus.PAID)
        .values("order__event_id")
        .annotate(
            received=Sum("paid_amount"),
            refunded=Sum("refunded_amount"),
            refunding=Sum("refund_in_flight"),
            to_refund=Sum(refund_outstanding_sql()),
        )
        .order_by()
    )
    for row in revenue_rows:
        if row["order__event_id"] in events:
            sales = events[row["order__event_id"]]
            # Subtracted here, not in SQL: the amounts are UNSIGNED on MySQL.
            sales.revenue = (row["received"] or 0) - (row["refunded"] or 0)
            sales.gross, sales.refunded = row["received"] or 0, row["refunded"] or 0
            sales.refunding = row["refunding"] or 0
            sales.to_refund = row["to_refund"] or 0

    status_rows = (
        Order.objects.values("event_id", "status")
        .annotate(
            orders=Count("id"),
            flagged=Count("id", filter=needs_attention_q()),
            discounts=Sum("discount"),
            comps=Count("id", filter=Q(is_comp=True)),
        )
        .order_by()
    )
    for row in status_rows:
        if row["event_id"] in events:
            sales = events[row["event_id"]]
            sales.orders_by_status[row["status"]] = row["orders"]
            sales.needs_attention += row["flagged"]
            if row["status"] == OrderStatus.PAID:
                sales.discounts = row["discounts"] or 0
                sales.comps = row["comps"]

    per_day = _paid_per_day(first_day)
    for event_id, sales in events.items():
        sales.days = [
            DayBar(
                day=day, orders=per_day.get((event_id, day), (0, 0))[0], revenue=per_day.get((event_id, day), (0, 0))[1]
            )
            for day in (first_day + timedelta(days=offset) for offset in range(days))
        ]
        _chart_layout(sales.days)

    return SalesOverview(events=list(events.values()), first_day=first_day, last_day=last_day, generated_at=now)
