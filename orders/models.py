import secrets

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.ticket_codes import new_short_code, new_ticket_secret, short_code_display
from tickets.event_time import Clock
from tickets.models import EventTimeZone

# Crockford-like alphabet: no 0/O, 1/I/L, so a code read out over the phone survives.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_order_code() -> str:
    return "TDX-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def new_link_secret() -> str:
    """The secret part of an order's private link: 256 random bits (43 characters)."""
    return secrets.token_urlsafe(32)


def normalise_order_code(raw: str) -> str:
    """Codes are read out over the phone and typed by hand: case does not matter."""
    return (raw or "").strip().upper()


def new_issued_ticket_code() -> str:
    # Kept under this name for migration 0001; the rules are in orders/ticket_codes.py.
    return new_ticket_secret()


class Buyer(models.Model):
    """Who bought, as entered at checkout (one row per order: a snapshot, not an account)."""

    full_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, db_index=True)
    # Indexed: the per-buyer limit (orders/buyer_limits.py) finds a buyer's orders by email
    # or by phone while placing.
    phone = models.CharField(max_length=20, db_index=True, help_text="E.164, e.g. +6281234567890. Empty for a comp.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending payment")
    PAID = "PAID", _("Paid")
    EXPIRED = "EXPIRED", _("Expired")
    CANCELLED = "CANCELLED", _("Cancelled")


class AttentionReason(models.TextChoices):
    AMOUNT_MISMATCH = "amount_mismatch", "Paid amount differs from the total"
    PAID_AFTER_EXPIRY_NO_STOCK = "paid_after_expiry_no_stock", "Paid after expiry, no stock — refund"
    PAID_AFTER_CANCEL = "paid_after_cancel", "Paid after cancellation — refund"
    # A cancelled order's refund failed at Xendit: the money is still here and still owed.
    REFUND_FAILED = "refund_failed", "Refund failed — refund again"


# Flags that mean "money came for seats this order no longer has": the whole payment is owed
# back (recorded, flagged for finance to refund).
NO_SEATS_REASONS = (AttentionReason.PAID_AFTER_EXPIRY_NO_STOCK, AttentionReason.PAID_AFTER_CANCEL)
# Flags under which the whole payment is owed back (less refunds done and under way): the
# above, and a cancelled order whose refund failed.
WHOLE_PAYMENT_OWED_REASONS = (*NO_SEATS_REASONS, AttentionReason.REFUND_FAILED)


def needs_attention_q(prefix: str = "") -> Q:
    """`Order.needs_attention` in a query: `Order.objects.filter(needs_attention_q())`, or
    from a related model with `prefix="order__"`."""
    return ~Q(**{f"{prefix}attention_reason": ""})


class Order(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_order_code, editable=False)
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders")
    event = models.ForeignKey("tickets.Event", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING, editable=False)
    total = models.PositiveBigIntegerField(help_text="Whole rupiah, after the voucher's discount.")
    discount = models.PositiveBigIntegerField(default=0, help_text="Whole rupiah the voucher took off.")
    voucher = models.ForeignKey(
        "vouchers.Voucher", on_delete=models.PROTECT, null=True, blank=True, related_name="orders", editable=False
    )
    # Seats the voucher covers in this order: what it took from `Voucher.used`, and gives
    # back if the order expires or is cancelled.
    voucher_uses = models.PositiveSmallIntegerField(default=0, editable=False)
    is_comp = models.BooleanField(
        default=False, editable=False, help_text="A complimentary ticket issued by finance (speaker, sponsor…)."
    )
    currency = models.CharField(max_length=3, default="IDR")
    language = models.CharField(max_length=5, default="id", help_text="Of the invoice page and emails: id or en.")
    # Whoever has the link sees the order (buyer details, e-tickets): it goes only to the
    # buyer (emails, Xendit's redirect). The code alone opens nothing personal.
    link_secret = models.CharField(max_length=64, default=new_link_secret, editable=False)
    # The API client that placed it (none: the checkout page). Only that client reads it
    # back through GET /api/orders/<code>.
    api_key = models.ForeignKey(
        "core.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", editable=False
    )
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by `order_flag`, cleared by `order_attention_resolve`: while there is a reason, the
    # order needs finance's attention (`needs_attention`, derived, never stored apart).
    attention_reason = models.CharField(max_length=40, choices=AttentionReason.choices, blank=True, db_index=True)
    attention_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who placed it, for the hoarding caps (orders/holds.py) and for finance to see who
    # holds what: the checkout's client address, or the API key of an API order.
    # (`api_key` above is the other half.)
    client_address = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        # What a role may do beyond viewing, one permission per thing that matters (granted
        # through the groups made in migration 0005_finance_roles; docs/back-office.md).
        # Moving money back is not "change order": finance grants these on their own.
        permissions = [
            ("operate_order", "Can run the operational actions on orders (sync, resend, resolve, buyer contact)"),
            ("cancel_order", "Can cancel orders"),
            ("refund_order", "Can record or make refunds, and cancel paid orders with a refund through Xendit"),
            ("cancel_event", "Can cancel an event and refund every order"),
            ("export_personal_data", "Can export buyers' personal data (CSV)"),
            ("issue_comps", "Can issue complimentary (free, paid) tickets"),
            ("move_event", "Can move an event (new date or venue) and tell its buyers"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="order_status_expiry"),
            models.Index(fields=["client_address", "status"], name="order_client_address_status"),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        """The buyer's private order page (a path; `orders.links.order_page_url` for a full
        URL). Only for the buyer: it shows their details and e-tickets."""
        return reverse("order-detail", args=[self.code, self.link_secret])

    def get_public_url(self) -> str:
        """The page of the bare code: nothing personal, an offer to email the link."""
        return reverse("order-lookup", args=[self.code])

    @property
    def needs_attention(self) -> bool:
        """Finance has something to look at: the order has an attention reason."""
        return bool(self.attention_reason)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveSmallIntegerField()
    unit_price = models.PositiveIntegerField(help_text="Copied from the ticket when ordered.")
    unit_discount = models.PositiveIntegerField(default=0, help_text="What the voucher took off each unit.")
    # One name per unit, in seat order, when the buyer gave them (the event asks for them);
    # copied onto the e-tickets when they are issued.
    attendee_names = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.UniqueConstraint(fields=["order", "ticket"], name="order_item_ticket_once"),
            models.CheckConstraint(
                condition=Q(unit_discount__lte=F("unit_price")), name="order_item_discount_within_price"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.ticket_id}"

    @property
    def unit_charged(self) -> int:
        return self.unit_price - self.unit_discount

    @property
    def subtotal(self) -> int:
        return self.quantity * self.unit_charged


class EventSource(models.TextChoices):
    API = "api", "API"
    CHECKOUT = "checkout", "Checkout"
    WEBHOOK = "webhook", "Xendit callback"
    RECONCILE = "reconcile", "Reconciliation"
    EXPIRY = "expiry", "Expiry"
    ADMIN = "admin", "Admin"
    DOOR = "door", "Door check-in"
    SYSTEM = "system", "System"
    BUYER = "buyer", "Buyer (order page)"


class OrderEvent(models.Model):
    """Audit trail: one row per status change of an order or its payment, written in the
    same transaction as the change (and for other notable facts, with from == to)."""

    class Subject(models.TextChoices):
        ORDER = "order", "Order"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    subject = models.CharField(max_length=10, choices=Subject.choices, default=Subject.ORDER)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    source = models.CharField(max_length=12, choices=EventSource.choices)
    request_id = models.CharField(max_length=128, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.subject} {self.from_status or '∅'} → {self.to_status}"


class IssuedTicket(models.Model):
    """One e-ticket per seat of a paid order. `code` is the secret the QR code carries;
    `short_code` is the same ticket typed by hand (orders/ticket_codes.py).

    (order_item, seat_number) is unique, so issuing twice cannot make a second set.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="issued_tickets")
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="issued_tickets")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="issued")
    seat_number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=32, unique=True, default=new_issued_ticket_code, editable=False)
    short_code = models.CharField(max_length=10, unique=True, default=new_short_code, editable=False)
    # Who this seat is for, when the event asks each attendee's name; blank: the buyer.
    attendee_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the order is cancelled (refunded): the ticket is refused at the door and
    # shown void on the order page. Only `tickets_void` (orders/services.py) writes it.
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["order_item_id", "seat_number"]
        constraints = [
            models.UniqueConstraint(fields=["order_item", "seat_number"], name="issued_ticket_seat_once"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def holder_name(self) -> str:
        """The name at the door and on the ticket: the attendee's, else the buyer's."""
        return self.attendee_name or self.order.buyer.full_name

    @property
    def short_code_display(self) -> str:
        return short_code_display(self.short_code)

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class EventCancellationStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


class EventCancellation(models.Model):
    """ "Cancel event and refund everyone": at most one per event (so a second click cannot
    start a second run), worked through by a Celery task in batches (orders/checkout/event_cancellation.py).

    Progress is read from the orders and refunds themselves, not from counters here, so a
    run killed half-way leaves nothing to repair: the next run carries on where the
    database says it stopped.
    """

    event = models.OneToOneField("tickets.Event", on_delete=models.PROTECT, related_name="cancellation")
    status = models.CharField(
        max_length=10, choices=EventCancellationStatus.choices, default=EventCancellationStatus.RUNNING, editable=False
    )
    note = models.TextField(blank=True)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    paid_orders_at_start = models.PositiveIntegerField(default=0)
    # Last sign of life of a run: a cancellation still running with an old heartbeat lost its
    # worker, and the resume sweep starts it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        # The admin's page title and breadcrumb: finance knows an event by its name.
        return f"Cancellation of {self.event.name} ({self.get_status_display().lower()})"


class EventMove(models.Model):
    """“Event moved”: a new date or venue for an event, told to every buyer of a paid order
    (one email each), with until when they may ask for their money back from their order
    page (orders/checkout/event_moves.py). The row is the record of the change: who moved
    the event, from what to what, and what buyers were promised."""

    event = models.ForeignKey("tickets.Event", on_delete=models.PROTECT, related_name="moves")
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    old_starts_at = models.DateTimeField()
    old_ends_at = models.DateTimeField(null=True, blank=True)
    old_venue = models.CharField(max_length=300)
    old_city = models.CharField(max_length=100, blank=True)
    new_starts_at = models.DateTimeField()
    new_ends_at = models.DateTimeField(null=True, blank=True)
    new_venue = models.CharField(max_length=300)
    new_city = models.CharField(max_length=100, blank=True)
    # The clocks the times above are on: a move to another island may change the event's
    # zone (Jakarta's 09:00 WIB, then Bali's 10:00 WITA), and each time is shown on its own.
    old_time_zone = models.CharField(max_length=32, choices=EventTimeZone.choices, default=EventTimeZone.WIB)
    new_time_zone = models.CharField(max_length=32, choices=EventTimeZone.choices, default=EventTimeZone.WIB)
    # In every email, in both languages: why it moved, in the organisers' words.
    message = models.TextField(blank=True)
    # Buyers of orders paid before the move may cancel theirs for a full refund until then.
    refunds_until = models.DateTimeField()
    paid_orders_told = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        # The admin's page title and breadcrumb: finance knows an event by its name.
        if self.requested_at is None:
            return self.event.name
        return f"{self.event.name} moved ({timezone.localtime(self.requested_at):%Y-%m-%d})"  # Jakarta's date

    @property
    def old_clock(self) -> Clock:
        """For `event_time`: the old times on the clock they were given on."""
        return Clock(self.old_time_zone)

    @property
    def new_clock(self) -> Clock:
        return Clock(self.new_time_zone)

    @property
    def reference(self) -> str:
        """What its emails are filed under (`Notification.refund_reference`): one per order and move."""
        return f"move-{self.pk}"
